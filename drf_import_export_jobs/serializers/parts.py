"""Nested parts of the job representations: progress, totals, row errors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from ..fields import NamedChoiceField
from ..models import AbstractExportJob, AbstractImportJob

IMPORT_STATUS_ENUM = "ImportJobStatusEnum"
EXPORT_STATUS_ENUM = "ExportJobStatusEnum"


def fields_in_order(fields: dict[str, Any], first: Sequence[str]) -> dict[str, Any]:
    """``fields`` with the names in ``first`` moved to the front, in that order."""
    ordered = {name: fields[name] for name in first if name in fields}
    ordered.update((name, field) for name, field in fields.items() if name not in ordered)
    return ordered


# -- nested parts ----------------------------------------------------------------

# Examples of the progress numbers, as a job has them when it is created: a
# generated example (Swagger UI takes an enum's first value, "created", and a
# bounded number's maximum) then shows a job that could exist.
PERCENT_SCHEMA = {
    "type": "integer",
    "minimum": 0,
    "maximum": 100,
    "nullable": True,
    "example": None,
}
TOTAL_SCHEMA = {"type": "integer", "nullable": True, "example": None}


@extend_schema_field(TOTAL_SCHEMA)
class RowTotalField(serializers.IntegerField):
    """The number of rows in total: ``null`` while unknown."""


@extend_schema_serializer(component_name="JobProgressInfo")
class ProgressInfoSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """Rows done and the total (``null`` while unknown)."""

    current = serializers.IntegerField(source="progress_current", read_only=True)
    total = RowTotalField(source="progress_total", read_only=True, allow_null=True)


class BaseProgressSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """``{"state": status, "info": {"current", "total"}, "percent"}``."""

    status_enum: ClassVar[str] = ""
    status_choices: ClassVar[Sequence[tuple[str, Any]]] = ()

    info = ProgressInfoSerializer(source="*", read_only=True)
    percent = serializers.SerializerMethodField()

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        fields["state"] = NamedChoiceField(
            self.status_choices, enum_name=self.status_enum, source="status", read_only=True
        )
        return fields_in_order(fields, ["state", "info", "percent"])

    @extend_schema_field(PERCENT_SCHEMA)
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
class TotalsSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """Rows per outcome."""

    new = serializers.IntegerField()
    update = serializers.IntegerField()  # type: ignore[assignment]  # a field, not the method
    delete = serializers.IntegerField()
    skip = serializers.IntegerField()
    error = serializers.IntegerField()
    invalid = serializers.IntegerField()


@extend_schema_serializer(component_name="ImportJobEngine")
class EngineSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """Which import engine ran the rows and why: ``bulk`` (chunks written in
    bulk) or ``rows`` (the resource's own per-row import)."""

    name = NamedChoiceField(
        [("bulk", "bulk"), ("rows", "rows")], enum_name="ImportJobEngineEnum", read_only=True
    )
    reason = serializers.CharField(read_only=True)


@extend_schema_serializer(component_name="ImportJobRevertTotals")
class RevertTotalsSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """Rows of a revert per outcome: ``reverted`` (0 when the revert failed
    and was rolled back), ``kept`` (changed or deleted by someone else since
    the import, left as they are) and ``failed`` (refused by the database)."""

    reverted = serializers.IntegerField()
    kept = serializers.IntegerField()
    failed = serializers.IntegerField()


@extend_schema_serializer(component_name="ImportJobRevertRow")
class RevertRowSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """A row the revert kept or could not write: its model, primary key (as
    text), what the revert had to do, the outcome and why."""

    model = serializers.CharField()
    pk = serializers.CharField(allow_null=True)
    action = NamedChoiceField(
        ["delete", "restore", "recreate", "check"], enum_name="ImportJobRevertActionEnum"
    )
    outcome = NamedChoiceField(["kept", "failed"], enum_name="ImportJobRevertOutcomeEnum")
    reason = serializers.CharField()
    chunk = serializers.IntegerField(allow_null=True)


@extend_schema_serializer(component_name="ImportJobRevertResult")
class RevertResultSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """The results of a revert: the totals and the kept or failed rows
    (the first 1000)."""

    totals = RevertTotalsSerializer()
    rows = RevertRowSerializer(many=True)


@extend_schema_serializer(component_name="ImportJobRowError")
class RowErrorSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """One error: the data row (from 1, header excluded), the field, the message."""

    row = serializers.IntegerField(allow_null=True)
    field = serializers.CharField(allow_null=True)
    message = serializers.CharField()


@extend_schema_serializer(component_name="PaginatedImportJobRowErrorList")
class RowErrorPageSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """A page of an import's row errors."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = RowErrorSerializer(many=True)
