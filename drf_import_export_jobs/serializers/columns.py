"""Serializers of column mapping: the dry run's column report, reparse
input, and saved mappings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from ..conf import jobs_settings
from ..fields import (
    MAX_MAPPED_HEADER_LENGTH,
    ColumnMappingField,
    FlatListField,
    NamedChoiceField,
)
from ..models import SavedColumnMapping
from ..pipeline.imports.columns import MATCH_KINDS, ImportField, header_signature
from .base import ResourceBoundSerializer

MAPPING_EXAMPLE = {"ISBN-13": "isbn", "Book title": "title"}


# -- the column report -------------------------------------------------------------


@extend_schema_serializer(component_name="ImportJobColumnSuggestion")
class ColumnSuggestionSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """The field closest to an unmatched header and how close (0 to 1, the
    ``difflib`` ratio). Reported only: send it in a column mapping to use it."""

    field = serializers.CharField()
    score = serializers.FloatField(min_value=0, max_value=1)


@extend_schema_serializer(component_name="ImportJobColumnMatch")
class ColumnMatchSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """One header of the file: the field it is read as and how it was matched
    (``null`` for both when no field took it), or a suggestion."""

    header = serializers.CharField()
    field = serializers.CharField(allow_null=True)
    match = NamedChoiceField(
        [(kind, kind) for kind in MATCH_KINDS],
        enum_name="ImportJobColumnMatchEnum",
        allow_null=True,
    )
    suggestion = ColumnSuggestionSerializer(allow_null=True)


@extend_schema_serializer(component_name="ImportJobUnmatchedField")
class UnmatchedFieldSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """An import field no header was matched to; ``required``: a file should
    have it (one of ``import_id_fields``, or a model field that is not null,
    not blank and has no default)."""

    field = serializers.CharField()
    column_name = serializers.CharField()
    required = serializers.BooleanField()  # type: ignore[assignment]  # a field


@extend_schema_serializer(component_name="ImportJobSavedMappingMatch")
class SavedMappingMatchSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """A mapping the job's creator saved for files with these headers, and
    whether the dry run applied it."""

    id = serializers.IntegerField()
    name = serializers.CharField(allow_blank=True)
    applied = serializers.BooleanField()


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "description": "`{header: field}`: each file header named here is read as that "
        "import field.",
        "example": MAPPING_EXAMPLE,
    }
)
class MappingOutputField(serializers.DictField):
    """A column mapping as stored: header to field name."""

    child = serializers.CharField()


@extend_schema_serializer(component_name="ImportJobColumns")
class ColumnReportSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """How the dry run matched the file's headers to the resource's fields."""

    headers = ColumnMatchSerializer(many=True)
    unmatched_fields = UnmatchedFieldSerializer(many=True)
    mapping = MappingOutputField(help_text="The column mapping the dry run applied.")
    unknown_headers = serializers.ListField(
        child=serializers.CharField(),
        help_text="Headers the column mapping names that the file does not have.",
    )
    signature = serializers.CharField(help_text="The file's header signature.")
    saved_mapping = SavedMappingMatchSerializer(allow_null=True)


def column_report(job: Any) -> dict[str, Any] | None:
    """The column report of the job's latest dry run (``None`` before its
    header was read)."""
    result = job.parse_result if isinstance(job.parse_result, dict) else {}
    columns = result.get("columns")
    if not isinstance(columns, dict):
        return None
    return {
        "headers": list(columns.get("headers") or []),
        "unmatched_fields": list(columns.get("unmatched_fields") or []),
        "mapping": dict(columns.get("mapping") or {}),
        "unknown_headers": list(columns.get("unknown_headers") or []),
        "signature": str(columns.get("signature", "")),
        "saved_mapping": columns.get("saved_mapping"),
    }


def report_headers(job: Any) -> list[str] | None:
    """The file headers the job's latest dry run read (``None``: unknown)."""
    report = column_report(job)
    if report is None:
        return None
    return [str(entry.get("header", "")) for entry in report["headers"]]


# -- checking a mapping against a resource ------------------------------------------


def check_mapping(
    mapping: dict[str, str],
    fields: Sequence[ImportField],
    headers: Sequence[str] | None = None,
) -> dict[str, str]:
    """``mapping`` with each value the name of an import field (a column name
    is accepted too). Raises ``ValidationError`` naming every unknown field,
    a field mapped twice, and headers not in ``headers`` (when known)."""
    by_name = {f.name: f.name for f in fields}
    by_name.update({f.column_name: f.name for f in fields if f.column_name not in by_name})
    unknown = sorted({target for target in mapping.values() if target not in by_name})
    messages = []
    if unknown:
        names = ", ".join(repr(name[:100]) for name in unknown[:20])
        accepted = ", ".join(f.name for f in fields)
        messages.append(f"Unknown field(s): {names}. Accepted: {accepted}.")
    resolved = {header: by_name.get(target, target) for header, target in mapping.items()}
    seen: dict[str, str] = {}
    for header, name in resolved.items():
        if name in seen and not unknown:
            messages.append(
                f"Field {name!r} is mapped from more than one header: "
                f"{seen[name][:100]!r} and {header[:100]!r}."
            )
        seen.setdefault(name, header)
    if headers is not None:
        known = {str(h) for h in headers} | {str(h).strip() for h in headers}
        missing = [header for header in mapping if header not in known]
        if missing:
            names = ", ".join(repr(h[:100]) for h in missing[:20])
            messages.append(f"Header(s) not in the file: {names}.")
    if messages:
        raise serializers.ValidationError(messages)
    return resolved


# -- reparse -------------------------------------------------------------------------


@extend_schema_field({"type": "integer", "minimum": 1, "nullable": True, "example": None})
class SavedMappingIdField(serializers.IntegerField):
    """The id of a saved column mapping; ``null`` or absent: none (so a form
    left empty sends none)."""


class MappingChoiceSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """``column_mapping`` or ``column_mapping_id`` (a saved mapping of the
    caller for this resource), checked against the resource's import fields.
    The context carries ``import_fields`` and ``saved_mappings`` (a queryset)."""

    column_mapping = ColumnMappingField(
        required=False,
        help_text="`{header: field}`: read each header named here as that import field.",
    )
    column_mapping_id = SavedMappingIdField(
        required=False,
        allow_null=True,
        min_value=1,
        help_text="The id of a saved column mapping to use instead of `column_mapping`.",
    )

    def known_headers(self) -> list[str] | None:
        """The file's headers when known before parsing (``None``: not known)."""
        return None

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        mapping = attrs.get("column_mapping") or {}
        saved_id = attrs.get("column_mapping_id")
        if mapping and saved_id is not None:
            raise serializers.ValidationError(
                {"column_mapping_id": ["Send column_mapping or column_mapping_id, not both."]}
            )
        fields = self.context.get("import_fields")
        attrs["saved_mapping"] = None
        if fields is None:
            if mapping or saved_id is not None:
                raise serializers.ValidationError(
                    {"column_mapping": ["This view takes no column mapping."]}
                )
            attrs["column_mapping"] = {}
            return attrs
        if saved_id is not None:
            saved = self.context["saved_mappings"].filter(pk=saved_id).first()
            if saved is None:
                raise serializers.ValidationError(
                    {"column_mapping_id": [f"You have no saved column mapping {saved_id} here."]}
                )
            headers = self.known_headers()
            if headers is not None and saved.header_signature != header_signature(headers):
                raise serializers.ValidationError(
                    {
                        "column_mapping_id": [
                            f"Saved column mapping {saved_id} was saved for a file with other "
                            "headers; its header signature does not match this file's."
                        ]
                    }
                )
            try:
                check_mapping(dict(saved.mapping), fields)
            except serializers.ValidationError as exc:
                raise serializers.ValidationError({"column_mapping_id": exc.detail}) from exc
            attrs["saved_mapping"] = saved
            mapping = dict(saved.mapping)
        elif mapping:
            try:
                mapping = check_mapping(mapping, fields, self.known_headers())
            except serializers.ValidationError as exc:
                raise serializers.ValidationError({"column_mapping": exc.detail}) from exc
        attrs["column_mapping"] = mapping
        return attrs


@extend_schema_serializer(component_name="ImportJobReparse")
class ReparseSerializer(MappingChoiceSerializer):
    """Input of ``reparse``: the new mapping (none: headers are matched
    automatically), and whether to save it for files with the same headers."""

    save_mapping = serializers.BooleanField(
        default=False,
        help_text="Also save the mapping for the next file with the same headers.",
    )
    mapping_name = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text="Name of the saved mapping (with `save_mapping`).",
    )

    def known_headers(self) -> list[str] | None:
        return report_headers(self.context["job"])

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        if attrs.get("save_mapping"):
            headers = self.known_headers()
            if headers is None:
                raise serializers.ValidationError(
                    {
                        "save_mapping": [
                            "The file's headers are not known (its dry run never read them); "
                            "nothing can be saved."
                        ]
                    }
                )
            if not attrs["column_mapping"]:
                raise serializers.ValidationError(
                    {"save_mapping": ["There is no column mapping to save."]}
                )
            attrs["headers"] = headers
        return attrs


# -- saved mappings ------------------------------------------------------------------


@extend_schema_serializer(component_name="SavedColumnMapping")
class SavedColumnMappingSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """A saved column mapping: used for the caller's files of this resource
    whose headers have ``header_signature``."""

    column_mapping = MappingOutputField(source="mapping", read_only=True)
    headers = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = SavedColumnMapping
        fields = ("id", "name", "headers", "header_signature", "column_mapping", "created_at")
        read_only_fields = fields


class SavedColumnMappingCreateSerializer(ResourceBoundSerializer):
    """Input of a new saved mapping: the file's headers and the mapping,
    checked against the resource's import fields (``import_fields`` in the
    context)."""

    component_suffix = "SavedColumnMappingCreate"

    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        example = self.mapping_example()
        fields["headers"] = HeaderListField(
            child=serializers.CharField(
                max_length=MAX_MAPPED_HEADER_LENGTH, trim_whitespace=False
            ),
            example=list(example),
            help_text="The file's headers, in any order.",
        )
        fields["column_mapping"] = ColumnMappingField(
            example=example,
            help_text="`{header: field}`: each header named here is read as that import field.",
        )
        return fields

    def mapping_example(self) -> dict[str, str]:
        """A mapping of the resource's first field, as the schema's example."""
        name = next(iter(self.field_names), "")
        return {name: name} if name else {}

    def validate_headers(self, headers: list[str]) -> list[str]:
        limit = int(jobs_settings.MAX_COLUMNS)
        if len(headers) > limit:
            raise serializers.ValidationError(
                f"{len(headers)} headers; at most {limit} (MAX_COLUMNS) are accepted."
            )
        if not headers:
            raise serializers.ValidationError("Send the file's headers.")
        return headers

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        try:
            attrs["column_mapping"] = check_mapping(
                attrs["column_mapping"], self.context["import_fields"], attrs["headers"]
            )
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"column_mapping": exc.detail}) from exc
        if not attrs["column_mapping"]:
            raise serializers.ValidationError({"column_mapping": ["The mapping is empty."]})
        return attrs


class HeaderListField(FlatListField):
    """A list of header names, documented with an ``example`` (the mapping's
    headers); item errors are one flat list of messages."""

    def __init__(self, *, example: list[str], **kwargs: Any) -> None:
        self.example = example
        super().__init__(**kwargs)
