"""Error bodies of the REST API, for the OpenAPI schema only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from ..fields import NamedChoiceField
from ..models import AbstractExportJob, AbstractImportJob
from .parts import EXPORT_STATUS_ENUM, IMPORT_STATUS_ENUM


@extend_schema_serializer(component_name="JobErrorDetail")
class ErrorDetailSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """``{"detail": "..."}``: 401, 403, 404."""

    detail = serializers.CharField()


@extend_schema_serializer(component_name="JobFileTooLarge")
class FileTooLargeSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """413 body."""

    detail = serializers.CharField()
    code = NamedChoiceField(["file_too_large"], enum_name="JobFileTooLargeCodeEnum")


class BaseStatusConflictSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """409 body: the job's current status."""

    status_enum: ClassVar[str] = ""
    status_choices: ClassVar[Sequence[tuple[str, Any]]] = ()

    detail = serializers.CharField()
    code = NamedChoiceField(["invalid_status"], enum_name="JobStatusConflictCodeEnum")

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
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


class ValidationErrorSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """400 body: ``{"field": ["message", ...]}`` or ``{"detail": "..."}``.
    Documented as a free-form object by the schema extension."""
