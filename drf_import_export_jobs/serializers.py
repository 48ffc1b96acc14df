"""Serializers of the REST API.

The job serializers are read-only views of a job; the create serializers
validate a new job's input and create it. Fields whose choices depend on the
resource (file formats, export fields, ordering) are built in ``get_fields()``
from class attributes that :func:`for_resource` fills in, so each viewset
gets its own subclass (component ``BookImportJob``, enum
``BookImportFormatEnum``...) without anything being built at import time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from django.db import transaction
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from .api_exceptions import FileTooLarge
from .conf import jobs_settings
from .fields import FlatListField, JobLinkField, JSONObjectField, NamedChoiceField
from .files import clean_display_name
from .formats import format_from_filename
from .models import AbstractExportJob, AbstractImportJob
from .pipeline.results import ROW_TYPES
from .querysets import check_export_options
from .swapping import get_export_job_model, get_import_job_model

IMPORT_STATUS_ENUM = "ImportJobStatusEnum"
EXPORT_STATUS_ENUM = "ExportJobStatusEnum"


def _in_order(fields: dict[str, Any], first: Sequence[str]) -> dict[str, Any]:
    """``fields`` with the names in ``first`` moved to the front, in that order."""
    ordered = {name: fields[name] for name in first if name in fields}
    ordered.update((name, field) for name, field in fields.items() if name not in ordered)
    return ordered  # type: ignore[return-value]


# -- nested parts ----------------------------------------------------------------


@extend_schema_serializer(component_name="JobProgressInfo")
class ProgressInfoSerializer(serializers.Serializer):
    """Rows done and the total (``null`` while unknown)."""

    current = serializers.IntegerField(source="progress_current", read_only=True)
    total = serializers.IntegerField(source="progress_total", read_only=True, allow_null=True)


class BaseProgressSerializer(serializers.Serializer):
    """``{"state": status, "info": {"current", "total"}, "percent"}``."""

    status_enum: ClassVar[str] = ""
    status_choices: ClassVar[Sequence[tuple[str, Any]]] = ()

    info = ProgressInfoSerializer(source="*", read_only=True)
    percent = serializers.SerializerMethodField()

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["state"] = NamedChoiceField(
            self.status_choices, enum_name=self.status_enum, source="status", read_only=True
        )
        return _in_order(fields, ["state", "info", "percent"])

    @extend_schema_field(serializers.IntegerField(allow_null=True, min_value=0, max_value=100))
    def get_percent(self, job: Any) -> int | None:
        total = job.progress_total
        if total is None:
            return None
        if total <= 0:
            return 100
        return min(100, int(job.progress_current * 100 // total))


@extend_schema_serializer(component_name="ImportJobProgress")
class ImportProgressSerializer(BaseProgressSerializer):
    """Progress of an import job."""

    status_enum = IMPORT_STATUS_ENUM
    status_choices = AbstractImportJob.ImportStatus.choices


@extend_schema_serializer(component_name="ExportJobProgress")
class ExportProgressSerializer(BaseProgressSerializer):
    """Progress of an export job."""

    status_enum = EXPORT_STATUS_ENUM
    status_choices = AbstractExportJob.ExportStatus.choices


@extend_schema_serializer(component_name="ImportJobTotals")
class TotalsSerializer(serializers.Serializer):
    """Rows per outcome."""

    new = serializers.IntegerField()
    update = serializers.IntegerField()
    delete = serializers.IntegerField()
    skip = serializers.IntegerField()
    error = serializers.IntegerField()
    invalid = serializers.IntegerField()


@extend_schema_serializer(component_name="ImportJobRowError")
class RowErrorSerializer(serializers.Serializer):
    """One error: the data row (from 1, header excluded), the field, the message."""

    row = serializers.IntegerField(allow_null=True)
    field = serializers.CharField(allow_null=True)
    message = serializers.CharField()


@extend_schema_serializer(component_name="PaginatedImportJobRowErrorList")
class RowErrorPageSerializer(serializers.Serializer):
    """A page of an import's row errors."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = RowErrorSerializer(many=True)


# -- error bodies (documentation only) --------------------------------------------------


@extend_schema_serializer(component_name="JobErrorDetail")
class ErrorDetailSerializer(serializers.Serializer):
    """``{"detail": "..."}``: 401, 403, 404."""

    detail = serializers.CharField()


@extend_schema_serializer(component_name="JobFileTooLarge")
class FileTooLargeSerializer(serializers.Serializer):
    """413 body."""

    detail = serializers.CharField()
    code = NamedChoiceField(["file_too_large"], enum_name="JobFileTooLargeCodeEnum")


class BaseStatusConflictSerializer(serializers.Serializer):
    """409 body: the job's current status."""

    status_enum: ClassVar[str] = ""
    status_choices: ClassVar[Sequence[tuple[str, Any]]] = ()

    detail = serializers.CharField()
    code = NamedChoiceField(["invalid_status"], enum_name="JobStatusConflictCodeEnum")

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["status"] = NamedChoiceField(self.status_choices, enum_name=self.status_enum)
        return fields


@extend_schema_serializer(component_name="ImportJobStatusConflict")
class ImportStatusConflictSerializer(BaseStatusConflictSerializer):
    """409 body of import routes."""

    status_enum = IMPORT_STATUS_ENUM
    status_choices = AbstractImportJob.ImportStatus.choices


@extend_schema_serializer(component_name="ExportJobStatusConflict")
class ExportStatusConflictSerializer(BaseStatusConflictSerializer):
    """409 body of export routes."""

    status_enum = EXPORT_STATUS_ENUM
    status_choices = AbstractExportJob.ExportStatus.choices


class ValidationErrorSerializer(serializers.Serializer):
    """400 body: ``{"field": ["message", ...]}`` or ``{"detail": "..."}``.
    Documented as a free-form object by the schema extension."""


# -- per-resource base ------------------------------------------------------------


class ResourceBoundSerializer(serializers.Serializer):
    """Base of the serializers whose choices depend on the viewset's resource.

    :func:`for_resource` makes a subclass with these attributes set.
    """

    component_prefix: ClassVar[str] = ""
    file_formats: ClassVar[Sequence[str]] = ()
    field_names: ClassVar[Sequence[str]] = ()
    ordering_names: ClassVar[Sequence[str]] = ()
    #: Component name after the prefix, e.g. ``ImportJob`` -> ``BookImportJob``.
    component_suffix: ClassVar[str] = ""


def for_resource(
    base: type[ResourceBoundSerializer],
    prefix: str,
    file_formats: Sequence[str] = (),
    field_names: Sequence[str] = (),
    ordering_names: Sequence[str] = (),
) -> type[ResourceBoundSerializer]:
    """A subclass of ``base`` for one resource, named ``<prefix><component_suffix>``
    in the schema. Viewsets call it (through a cache) when a request or the
    schema needs a serializer."""
    suffix = base.component_suffix or base.__name__.removesuffix("Serializer")
    attrs = {
        "__module__": base.__module__,
        "__doc__": base.__doc__,
        "component_prefix": prefix,
        "file_formats": tuple(file_formats),
        "field_names": tuple(field_names),
        "ordering_names": tuple(ordering_names),
    }
    cls = type(f"{prefix}{base.__name__}", (base,), attrs)
    return extend_schema_serializer(component_name=f"{prefix}{suffix}")(cls)


class _StaffOnlyTraceback:
    def hide_traceback(self, data: dict[str, Any]) -> dict[str, Any]:
        request = self.context.get("request")  # type: ignore[attr-defined]
        user = getattr(request, "user", None)
        if "traceback" in data and not getattr(user, "is_staff", False):
            data["traceback"] = ""
        return data


# -- imports ------------------------------------------------------------------------


class ImportJobSerializer(_StaffOnlyTraceback, ResourceBoundSerializer):
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
    totals = serializers.SerializerMethodField()
    error_count = serializers.SerializerMethodField()
    errors = serializers.SerializerMethodField()
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

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["file_format"] = NamedChoiceField(
            self.file_formats,
            enum_name=f"{self.component_prefix}ImportFormatEnum",
            source="file_format_name",
            read_only=True,
        )
        return _in_order(fields, ["id", "url", "status", "progress", "file_format"])

    @staticmethod
    def latest_result(job: Any) -> dict[str, Any] | None:
        """The results of the latest phase that produced any."""
        result = job.import_result if job.import_result is not None else job.parse_result
        return result if isinstance(result, dict) else None

    @extend_schema_field(TotalsSerializer(allow_null=True))
    def get_totals(self, job: Any) -> dict[str, int] | None:
        result = self.latest_result(job)
        if result is None:
            return None
        totals = result.get("totals") or {}
        return {key: int(totals.get(key, 0)) for key in ROW_TYPES}

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

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return self.hide_traceback(super().to_representation(instance))


class ImportJobCreateSerializer(ResourceBoundSerializer):
    """Multipart input of a new import job. ``resource_kwargs`` is passed
    through the viewset's ``get_resource_kwargs()``; the file is checked for
    size before it is stored, and stored under a generated name."""

    component_suffix = "ImportJobCreate"

    file = serializers.FileField(allow_empty_file=False, use_url=False, write_only=True)
    skip_parse_step = serializers.BooleanField(default=False)
    skip_invalid_rows = serializers.BooleanField(default=False)
    resource_kwargs = JSONObjectField(required=False)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["file_format"] = NamedChoiceField(
            self.file_formats,
            enum_name=f"{self.component_prefix}ImportFormatEnum",
            required=False,
            help_text="Format of the file; by default taken from the file name's extension.",
        )
        return _in_order(fields, ["file", "file_format"])

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
        requested = attrs.get("resource_kwargs") or {}
        if view is not None and hasattr(view, "get_resource_kwargs"):
            attrs["resource_kwargs"] = view.get_resource_kwargs(requested)
        elif requested:
            raise serializers.ValidationError({"resource_kwargs": ["No arguments are accepted."]})
        else:
            attrs["resource_kwargs"] = {}
        return attrs

    def create(self, validated_data: dict[str, Any]) -> Any:
        """A new job from the input plus what ``save(**kwargs)`` adds
        (``created_by``, ``resource_path``, fields of a custom job model...)."""
        data = dict(validated_data)
        upload = data.pop("file")
        model = get_import_job_model()
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


# -- exports ------------------------------------------------------------------------


class ExportJobSerializer(_StaffOnlyTraceback, ResourceBoundSerializer):
    """An export job: status, progress, options and the download link."""

    component_suffix = "ExportJob"

    id = serializers.IntegerField(read_only=True)
    url = JobLinkField("detail")
    status = NamedChoiceField(
        AbstractExportJob.ExportStatus.choices, enum_name=EXPORT_STATUS_ENUM, read_only=True
    )
    progress = ExportProgressSerializer(source="*", read_only=True)
    filters = JSONObjectField(read_only=True)
    filename = serializers.CharField(source="export_filename", read_only=True)
    download_url = JobLinkField(
        "download",
        available=lambda job: job.status == AbstractExportJob.ExportStatus.EXPORTED,
        allow_null=True,
    )
    error_message = serializers.CharField(read_only=True)
    traceback = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    export_started_at = serializers.DateTimeField(read_only=True, allow_null=True)
    export_finished_at = serializers.DateTimeField(read_only=True, allow_null=True)
    cancelled_at = serializers.DateTimeField(read_only=True, allow_null=True)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        prefix = self.component_prefix
        fields["file_format"] = NamedChoiceField(
            self.file_formats,
            enum_name=f"{prefix}ExportFormatEnum",
            source="file_format_name",
            read_only=True,
        )
        fields["fields"] = FlatListField(
            child=NamedChoiceField(self.field_names, enum_name=f"{prefix}ExportFieldEnum"),
            read_only=True,
        )
        fields["ordering"] = FlatListField(
            child=NamedChoiceField(self.ordering_names, enum_name=f"{prefix}ExportOrderingEnum"),
            read_only=True,
        )
        return _in_order(
            fields, ["id", "url", "status", "progress", "file_format", "fields", "filters"]
        )

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return self.hide_traceback(super().to_representation(instance))


class ExportJobCreateSerializer(ResourceBoundSerializer):
    """JSON input of a new export job. ``filters`` pass through the viewset's
    ``get_export_filters()`` and are checked, with ``ordering`` and ``fields``,
    against the resource before the job is created."""

    component_suffix = "ExportJobCreate"

    filters = JSONObjectField(
        required=False,
        help_text="Values for the resource's django-filter filterset_class.",
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        prefix = self.component_prefix
        fields["file_format"] = NamedChoiceField(
            self.file_formats, enum_name=f"{prefix}ExportFormatEnum"
        )
        fields["fields"] = FlatListField(
            child=NamedChoiceField(self.field_names, enum_name=f"{prefix}ExportFieldEnum"),
            required=False,
            help_text="Resource fields to export, in this order; empty or absent: all.",
        )
        fields["ordering"] = FlatListField(
            child=NamedChoiceField(self.ordering_names, enum_name=f"{prefix}ExportOrderingEnum"),
            required=False,
            help_text="Sort keys; a leading '-' sorts descending.",
        )
        return _in_order(fields, ["file_format", "fields", "filters", "ordering"])

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        view = self.context["view"]
        attrs["resource_kwargs"] = view.get_resource_kwargs({})
        attrs["filters"] = view.get_export_filters(dict(attrs.get("filters") or {}))
        attrs["fields"] = list(attrs.get("fields") or [])
        attrs["ordering"] = list(attrs.get("ordering") or [])
        resource = view.get_resource(**attrs["resource_kwargs"])
        problems = check_export_options(
            resource, attrs["filters"], attrs["ordering"], attrs["fields"]
        )
        if problems:
            raise serializers.ValidationError(problems)
        return attrs

    def create(self, validated_data: dict[str, Any]) -> Any:
        """A new job from the input plus what ``save(**kwargs)`` adds."""
        data = dict(validated_data)
        model = get_export_job_model()
        job = model(file_format_name=data.pop("file_format"), **data)
        job.save()
        return job
