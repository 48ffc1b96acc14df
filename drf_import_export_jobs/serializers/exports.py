"""Serializers of export jobs: the representation and the JSON input."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from ..fields import FlatListField, JobLinkField, JSONObjectField, NamedChoiceField
from ..models import AbstractExportJob
from ..querysets import check_export_options
from ..swapping import get_export_job_model
from .base import ResourceBoundSerializer, StaffOnlyTraceback
from .parts import EXPORT_STATUS_ENUM, ExportProgressSerializer, fields_in_order


class ExportJobSerializer(StaffOnlyTraceback, ResourceBoundSerializer):
    """An export job: status, progress, options and the download link."""

    component_suffix = "ExportJob"

    id = serializers.IntegerField(read_only=True)
    url = JobLinkField("detail")
    status = NamedChoiceField(
        AbstractExportJob.ExportStatus.choices, enum_name=EXPORT_STATUS_ENUM, read_only=True
    )
    progress = ExportProgressSerializer(source="*", read_only=True)
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

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        prefix = self.component_prefix
        fields["file_format"] = NamedChoiceField(
            self.file_formats,
            enum_name=f"{prefix}ExportFormatEnum",
            source="file_format_name",
            read_only=True,
        )
        # As stored: the client's values (any JSON scalar a filter accepts,
        # "20" for a number) merged with get_export_filters()'s.
        fields["filters"] = JSONObjectField(read_only=True)
        fields["fields"] = FlatListField(
            child=NamedChoiceField(self.field_names, enum_name=f"{prefix}ExportFieldEnum"),
            read_only=True,
        )
        fields["ordering"] = FlatListField(
            child=NamedChoiceField(self.ordering_names, enum_name=f"{prefix}ExportOrderingEnum"),
            read_only=True,
        )
        return fields_in_order(
            fields, ["id", "url", "status", "progress", "file_format", "fields", "filters"]
        )

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return self.hide_traceback(super().to_representation(instance))


class ExportJobCreateSerializer(ResourceBoundSerializer):
    """JSON input of a new export job. ``filters`` pass through the viewset's
    ``get_export_filters()`` and are checked, with ``ordering`` and ``fields``,
    against the resource before the job is created."""

    component_suffix = "ExportJobCreate"

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        prefix = self.component_prefix
        fields["filters"] = self.filters_field(required=False, help_text=self.filters_help())
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
        return fields_in_order(fields, ["file_format", "fields", "filters", "ordering"])

    def get_job_model(self) -> type[AbstractExportJob]:
        """The model of the new job: the viewset's ``get_job_model()``, else
        ``DRF_IMPORT_EXPORT_JOBS["EXPORT_JOB_MODEL"]``."""
        view = self.context.get("view")
        if view is not None and hasattr(view, "get_job_model"):
            return view.get_job_model()  # type: ignore[no-any-return]
        return get_export_job_model()

    def filters_help(self) -> str:
        """The help text of ``filters``, naming the filters the resource takes."""
        if not self.filter_names:
            return "Filters: this resource takes none (it declares no filterset_class)."
        return (
            "Values for the resource's django-filter filterset_class, by filter name: "
            + ", ".join(self.filter_names)
            + "."
        )

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
        model = self.get_job_model()
        job = model(file_format_name=data.pop("file_format"), **data)
        job.save()
        return job
