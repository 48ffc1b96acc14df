"""Serializer fields of the REST API.

``NamedChoiceField`` is a choice field whose enum gets a stable component name
in the OpenAPI schema (see :mod:`drf_import_export_jobs.schema`);
``JSONObjectField`` takes a JSON object from a JSON body, a multipart text part
or a multipart file part of type ``application/json`` (``ExportFiltersField``
is one documented per resource); ``ColumnMappingField`` is a
``{header: field}`` column mapping; ``JobLinkField`` is the absolute URL of
one of the job's routes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, cast

from django.core.files.uploadedfile import UploadedFile
from django.urls import NoReverseMatch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .conf import jobs_settings

# Largest JSON option part accepted in a multipart upload, in bytes.
MAX_JSON_PART_SIZE = 64 * 1024


class NamedChoiceField(serializers.ChoiceField):
    """A ``ChoiceField`` documented as the enum component ``enum_name``.

    The name is chosen by the code that builds the field (for example
    ``BookImportFormatEnum``), so it is stable and never depends on the
    property name or on ``ENUM_NAME_OVERRIDES``.
    """

    def __init__(self, choices: Iterable[Any], *, enum_name: str, **kwargs: Any) -> None:
        self.enum_name = enum_name
        super().__init__(cast("Sequence[Any]", choices), **kwargs)  # any iterable works


class FlatListField(serializers.ListField):
    """A ``ListField`` whose item errors are one flat list of messages
    (``["Item 2: ..."]``) instead of a dict keyed by index, so every 400 body
    maps a field to a list of strings."""

    def run_child_validation(self, data: list[Any]) -> list[Any]:
        result = []
        messages: list[str] = []
        for index, item in enumerate(data):
            try:
                result.append(self.child.run_validation(item))
            except serializers.ValidationError as exc:
                details = exc.detail if isinstance(exc.detail, list) else [exc.detail]
                messages += [f"Item {index + 1}: {message}" for message in details]
        if messages:
            raise serializers.ValidationError(messages)
        return result


class JSONObjectField(serializers.Field):  # type: ignore[type-arg]
    """A JSON object (a dict). In a multipart request the object may come as a
    text part holding JSON, or as a file part (a browser ``Blob`` of type
    ``application/json``) of at most ``MAX_JSON_PART_SIZE`` bytes."""

    default_error_messages = {
        "invalid_json": "Not valid JSON: {error}.",
        "not_an_object": "Expected a JSON object, got {type}.",
        "too_large": "The JSON part is larger than {max} bytes.",
    }

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, UploadedFile):
            raw = data.read(MAX_JSON_PART_SIZE + 1)
            if len(raw) > MAX_JSON_PART_SIZE:
                self.fail("too_large", max=MAX_JSON_PART_SIZE)
            data = raw.decode("utf-8", errors="replace")
        if isinstance(data, bytes):
            data = data.decode("utf-8", errors="replace")
        if isinstance(data, str):
            if not data.strip():
                return {}
            try:
                data = json.loads(data)
            except (ValueError, RecursionError) as exc:
                self.fail("invalid_json", error=exc)
        if not isinstance(data, dict):
            self.fail("not_an_object", type=type(data).__name__)
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class ExportFiltersField(JSONObjectField):
    """The ``filters`` of an export: a JSON object documented as the component
    ``component_name`` with one property per filter of ``filterset_class``
    (the resource's django-filter ``FilterSet``; ``None``: no filters)."""

    def __init__(self, *, filterset_class: Any, component_name: str, **kwargs: Any) -> None:
        self.filterset_class = filterset_class
        self.component_name = component_name
        super().__init__(**kwargs)


@extend_schema_field(OpenApiTypes.URI)
class JobLinkField(serializers.Field):  # type: ignore[type-arg]
    """The absolute URL of the job's ``route`` (``detail``, ``download``,
    ``errors``...) on the viewset that renders it, reversed with the router's
    basename and the request's namespace. ``None`` when ``available(job)`` is
    false or the route is not registered."""

    def __init__(self, route: str, available: Any = None, **kwargs: Any) -> None:
        self.route = route
        self.available = available
        kwargs["read_only"] = True
        kwargs["source"] = "*"
        super().__init__(**kwargs)

    def to_representation(self, job: Any) -> str | None:
        if self.available is not None and not self.available(job):
            return None
        view = self.context.get("view")
        if view is None or not hasattr(view, "reverse_action"):
            return None
        try:
            return str(view.reverse_action(self.route, kwargs={"pk": job.pk}))
        except NoReverseMatch:
            return None


# Longest header a column mapping may name, in characters.
MAX_MAPPED_HEADER_LENGTH = 1000


class ColumnMappingField(JSONObjectField):
    """A column mapping: a JSON object ``{header: field}`` whose keys are the
    file's header names and whose values name the resource's import fields.

    Checked here: an object of at most ``MAX_COLUMNS`` entries, non-empty
    header names of at most ``MAX_MAPPED_HEADER_LENGTH`` characters, field
    names as strings, no field named twice. Whether the fields exist is for
    the serializer, which knows the resource. ``example`` is the schema's."""

    default_error_messages = {
        **JSONObjectField.default_error_messages,
        "too_many": "The mapping has {count} entries; at most {max} (MAX_COLUMNS) are accepted.",
        "bad_header": "Header names must be non-empty strings of at most {max} characters.",
        "not_a_field_name": "Header {header!r}: the field must be a string, got {type}.",
        "field_twice": "Field {field!r} is mapped from more than one header: {headers}.",
    }

    def __init__(self, *, example: dict[str, str] | None = None, **kwargs: Any) -> None:
        self.example = example if example is not None else {}
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> dict[str, str]:
        mapping = super().to_internal_value(data)
        limit = int(jobs_settings.MAX_COLUMNS)
        if len(mapping) > limit:
            self.fail("too_many", count=len(mapping), max=limit)
        targets: dict[str, list[str]] = {}
        for header, target in mapping.items():
            if not header.strip() or len(header) > MAX_MAPPED_HEADER_LENGTH:
                self.fail("bad_header", max=MAX_MAPPED_HEADER_LENGTH)
            if not isinstance(target, str):
                self.fail("not_a_field_name", header=header[:100], type=type(target).__name__)
            targets.setdefault(target, []).append(header)
        for target, headers in targets.items():
            if len(headers) > 1:
                names = ", ".join(repr(h[:100]) for h in headers[:5])
                self.fail("field_twice", field=target[:100], headers=names)
        return {str(header): str(target) for header, target in mapping.items()}
