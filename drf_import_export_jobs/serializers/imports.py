"""Serializers of import jobs: the representation and the multipart input."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..api_exceptions import FileTooLarge
from ..conf import jobs_settings
from ..fields import JobLinkField, JSONObjectField, NamedChoiceField
from ..files import clean_display_name
from ..formats import format_from_filename
from ..models import AbstractImportJob
from ..models.chunked import CommitMode
from ..pipeline.imports.results import ROW_TYPES
from ..swapping import get_import_job_model
from .base import ResourceBoundSerializer, StaffOnlyTraceback
from .columns import (
    ColumnReportSerializer,
    MappingChoiceSerializer,
    MappingOutputField,
    column_report,
)
from .parts import (
    IMPORT_STATUS_ENUM,
    EngineSerializer,
    ImportProgressSerializer,
    RevertResultSerializer,
    RowErrorSerializer,
    TotalsSerializer,
    fields_in_order,
)

# The commit modes' enum component, shared by the input and the representation.
COMMIT_MODE_ENUM = "ImportCommitModeEnum"
ROLLBACK_STATUSES = [("import_error", "Import error"), ("cancelled", "Cancelled")]


class ImportJobSerializer(StaffOnlyTraceback, ResourceBoundSerializer):
    """An import job: status, progress, results summary and links. Nothing
    here reads a file or counts rows."""

    component_suffix = "ImportJob"

    id = serializers.IntegerField(read_only=True)
    url = JobLinkField("detail")
    status = NamedChoiceField(
        AbstractImportJob.ImportStatus.choices, enum_name=IMPORT_STATUS_ENUM, read_only=True
    )
    progress = ImportProgressSerializer(source="*", read_only=True)
    original_filename = serializers.CharField(read_only=True)
    skip_parse_step = serializers.BooleanField(read_only=True)
    skip_invalid_rows = serializers.BooleanField(read_only=True)
    column_mapping = MappingOutputField(
        read_only=True, help_text="The column mapping the job was created or reparsed with."
    )
    columns = serializers.SerializerMethodField()
    totals = serializers.SerializerMethodField()
    engine = serializers.SerializerMethodField()
    error_count = serializers.SerializerMethodField()
    errors = serializers.SerializerMethodField()  # type: ignore[assignment]  # a field
    error_message = serializers.CharField(read_only=True)
    traceback = serializers.CharField(read_only=True)
    errors_url = JobLinkField("errors")
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    parse_started_at = serializers.DateTimeField(read_only=True, allow_null=True)
    parse_finished_at = serializers.DateTimeField(read_only=True, allow_null=True)
    confirmed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    import_started_at = serializers.DateTimeField(read_only=True, allow_null=True)
    import_finished_at = serializers.DateTimeField(read_only=True, allow_null=True)
    cancelled_at = serializers.DateTimeField(read_only=True, allow_null=True)
    revert = serializers.SerializerMethodField()
    revert_requested_at = serializers.DateTimeField(read_only=True, allow_null=True)
    revert_started_at = serializers.DateTimeField(read_only=True, allow_null=True)
    revert_finished_at = serializers.DateTimeField(read_only=True, allow_null=True)
    commit_mode = NamedChoiceField(
        CommitMode.choices,
        enum_name=COMMIT_MODE_ENUM,
        read_only=True,
        allow_null=True,
        help_text="How the import commits (null until chosen at the import's start).",
    )
    rollback_status = NamedChoiceField(
        ROLLBACK_STATUSES,
        enum_name="ImportRollbackStatusEnum",
        read_only=True,
        allow_null=True,
        help_text="The status a chunked import's rollback (rolling_back: its committed "
        "chunks compensated) ends or ended in; null when it was never rolled back.",
    )

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        fields["file_format"] = NamedChoiceField(
            self.file_formats,
            enum_name=f"{self.component_prefix}ImportFormatEnum",
            source="file_format_name",
            read_only=True,
        )
        return fields_in_order(fields, ["id", "url", "status", "progress", "file_format"])

    @staticmethod
    def latest_result(job: Any) -> dict[str, Any] | None:
        """The results of the latest phase that produced any."""
        result = job.import_result if job.import_result is not None else job.parse_result
        return result if isinstance(result, dict) else None

    @extend_schema_field(ColumnReportSerializer(allow_null=True))
    def get_columns(self, job: Any) -> dict[str, Any] | None:
        """How the dry run matched the file's headers (null before it read them)."""
        return column_report(job)

    @extend_schema_field(TotalsSerializer(allow_null=True))
    def get_totals(self, job: Any) -> dict[str, int] | None:
        result = self.latest_result(job)
        if result is None:
            return None
        totals = result.get("totals") or {}
        return {key: int(totals.get(key, 0)) for key in ROW_TYPES}

    @extend_schema_field(EngineSerializer(allow_null=True))
    def get_engine(self, job: Any) -> dict[str, str] | None:
        """The engine of the latest phase that ran rows (null before any did)."""
        result = self.latest_result(job)
        if not result or not result.get("engine"):
            return None
        return {"name": str(result["engine"]), "reason": str(result.get("engine_reason", ""))}

    @extend_schema_field(serializers.IntegerField())
    def get_error_count(self, job: Any) -> int:
        result = self.latest_result(job)
        return int(result.get("error_count", 0)) if result else 0

    @extend_schema_field(RowErrorSerializer(many=True))
    def get_errors(self, job: Any) -> list[dict[str, Any]]:
        result = self.latest_result(job)
        if not result:
            return []
        preview = int(jobs_settings.API_ERRORS_PREVIEW)
        return [
            {"row": e.get("row"), "field": e.get("field"), "message": e.get("message", "")}
            for e in (result.get("errors") or [])[:preview]
        ]

    @extend_schema_field(RevertResultSerializer(allow_null=True))
    def get_revert(self, job: Any) -> dict[str, Any] | None:
        """The results of the latest revert (null until one ended)."""
        result = getattr(job, "revert_result", None)
        if not isinstance(result, dict):
            return None
        totals = result.get("totals") or {}
        return {
            "totals": {k: int(totals.get(k, 0)) for k in ("reverted", "kept", "failed")},
            "rows": [
                {
                    "model": str(row.get("model", "")),
                    "pk": None if row.get("pk") is None else str(row["pk"]),
                    "action": row.get("action"),
                    "outcome": row.get("outcome"),
                    "reason": str(row.get("reason", "")),
                    "chunk": row.get("chunk"),
                }
                for row in result.get("rows") or []
            ],
        }

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = self.hide_traceback(super().to_representation(instance))
        for name in ("commit_mode", "rollback_status"):
            data[name] = data.get(name) or None
        return data


class ImportJobCreateSerializer(MappingChoiceSerializer, ResourceBoundSerializer):
    """Multipart input of a new import job. ``resource_kwargs`` is passed
    through the viewset's ``get_resource_kwargs()``; the file is checked for
    size before it is stored, and stored under a generated name. A column
    mapping (``column_mapping`` or a saved one's ``column_mapping_id``) is
    checked against the resource's fields; whether its headers are in the
    file is for the dry run (which ends in parse_error if not)."""

    component_suffix = "ImportJobCreate"

    file = serializers.FileField(allow_empty_file=False, use_url=False, write_only=True)
    skip_parse_step = serializers.BooleanField(default=False)
    skip_invalid_rows = serializers.BooleanField(default=False)
    resource_kwargs = JSONObjectField(required=False)
    commit_mode = NamedChoiceField(
        CommitMode.choices,
        enum_name=COMMIT_MODE_ENUM,
        required=False,
        allow_null=True,
        help_text="atomic: the import is one transaction; chunked: each chunk commits on "
        "its own (a failure or cancel compensates the committed chunks, a lost worker "
        "resumes). Null or absent: the viewset's or resource's mode, else COMMIT_MODE.",
    )

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        fields["file_format"] = NamedChoiceField(
            self.file_formats,
            enum_name=f"{self.component_prefix}ImportFormatEnum",
            required=False,
            help_text="Format of the file; by default taken from the file name's extension.",
        )
        # New options go last: clients generated with positional arguments
        # keep their order.
        return fields_in_order(
            fields,
            ["file", "file_format", "skip_parse_step", "skip_invalid_rows", "resource_kwargs"],
        )  # then column_mapping, column_mapping_id, commit_mode

    def get_job_model(self) -> type[AbstractImportJob]:
        """The model of the new job: the viewset's ``get_job_model()``, else
        ``DRF_IMPORT_EXPORT_JOBS["IMPORT_JOB_MODEL"]``."""
        view = self.context.get("view")
        if view is not None and hasattr(view, "get_job_model"):
            return view.get_job_model()  # type: ignore[no-any-return]
        return get_import_job_model()

    def validate_file(self, upload: Any) -> Any:
        max_size = int(jobs_settings.MAX_UPLOAD_SIZE)
        if upload.size is not None and upload.size > max_size:
            raise FileTooLarge(max_size)
        return upload

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        upload = attrs["file"]
        name = attrs.get("file_format") or format_from_filename(upload.name or "")
        allowed = list(self.file_formats)
        if name is None:
            raise serializers.ValidationError(
                {
                    "file_format": [
                        f"Cannot tell the format from the file name {upload.name!r}; "
                        f"send file_format, one of: {', '.join(allowed)}."
                    ]
                }
            )
        if name not in allowed:
            raise serializers.ValidationError(
                {
                    "file_format": [
                        f"Files of format {name!r} are not accepted here; "
                        f"accepted: {', '.join(allowed)}."
                    ]
                }
            )
        attrs["file_format"] = name
        view = self.context.get("view")
        mode = attrs.get("commit_mode")
        if view is not None and hasattr(view, "get_commit_mode"):
            mode = view.get_commit_mode(mode)
        attrs["commit_mode"] = mode or ""
        requested = attrs.get("resource_kwargs") or {}
        if view is not None and hasattr(view, "get_resource_kwargs"):
            attrs["resource_kwargs"] = view.get_resource_kwargs(requested)
        elif requested:
            raise serializers.ValidationError({"resource_kwargs": ["No arguments are accepted."]})
        else:
            attrs["resource_kwargs"] = {}
        return super().validate(attrs)

    def create(self, validated_data: dict[str, Any]) -> Any:
        """A new job from the input plus what ``save(**kwargs)`` adds
        (``created_by``, ``resource_path``, fields of a custom job model...)."""
        data = dict(validated_data)
        upload = data.pop("file")
        data.pop("column_mapping_id", None)
        data["saved_column_mapping"] = data.pop("saved_mapping", None)
        model = self.get_job_model()
        job = model(
            file_format_name=data.pop("file_format"),
            original_filename=clean_display_name(upload.name),
            **data,
        )
        # The storage name is generated by upload_to; the client's name is not used.
        job.data_file.save("upload", upload, save=False)
        try:
            with transaction.atomic(using=model._default_manager.db):
                job.save()
        except BaseException:
            if job.data_file.name:
                job.data_file.storage.delete(job.data_file.name)
            raise
        return job
