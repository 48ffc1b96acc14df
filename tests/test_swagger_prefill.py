"""Swagger UI's "Try it out" works on the first try: every create operation,
with each field as Swagger UI pre-fills it from the schema, answers 201.

Swagger UI fills a request body from the schema: a field's ``example``, else
its ``default``, else a sample by type (``"string"``, ``0``, ``true``, the
first enum value, one item per array, ``additionalProp1..3`` for
``additionalProperties``). :func:`prefill` follows those rules; only the file
of an upload is the user's own (a small file in the pre-filled format).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import tablib
from django.core.files.uploadedfile import SimpleUploadedFile

from drf_import_export_jobs.models import ExportJob, ImportJob, SavedColumnMapping
from tests.test_api_schema import generate

pytestmark = pytest.mark.usefixtures("empty_job_storage")

FILE = object()  # a binary field: the user picks the file


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def prefill(schema: dict[str, Any], node: dict[str, Any]) -> Any:
    """The value Swagger UI pre-fills for ``node`` in a request body."""
    node = resolve(schema, node)
    if "example" in node:
        return node["example"]
    if "default" in node:
        return node["default"]
    if "allOf" in node:
        merged: dict[str, Any] = {}
        for part in node["allOf"]:
            merged.update(resolve(schema, part))
        merged.update({k: v for k, v in node.items() if k != "allOf"})
        return prefill(schema, merged)
    for key in ("oneOf", "anyOf"):
        if key in node:
            return prefill(schema, node[key][0])
    if "enum" in node:
        return node["enum"][0]
    kind = node.get("type")
    if kind == "object" or "properties" in node or "additionalProperties" in node:
        value = {
            name: prefill(schema, prop)
            for name, prop in node.get("properties", {}).items()
            if not resolve(schema, prop).get("readOnly")
        }
        extra = node.get("additionalProperties")
        if extra is not None and extra is not False:
            extra = extra if isinstance(extra, dict) and extra else {"type": "string"}
            for index in (1, 2, 3):
                value[f"additionalProp{index}"] = prefill(schema, extra)
        return value
    if kind == "array":
        return [prefill(schema, node.get("items", {}))]
    if kind == "string":
        return {
            "binary": FILE,
            "date": "2019-08-24",
            "date-time": "2019-08-24T14:15:22Z",
            "uri": "https://example.com",
        }.get(node.get("format", ""), "string")
    if kind in ("integer", "number"):
        return 0
    if kind == "boolean":
        return True
    return "string"


def sample_file(file_format: str) -> SimpleUploadedFile:
    data = tablib.Dataset(["1", "Dune"], headers=["isbn", "title"])
    content = data.export(file_format)
    if isinstance(content, str):
        content = content.encode()
    return SimpleUploadedFile(f"books.{file_format}", content)


def create_operations() -> list[tuple[str, dict[str, Any]]]:
    schema = generate()
    return [
        (path, item["post"])
        for path, item in schema["paths"].items()
        if "post" in item and "{" not in path
    ]


SCHEMA = generate()
CREATES = create_operations()


def test_every_create_operation_is_checked():
    assert {path for path, _operation in CREATES} == {
        "/api/books/imports/",
        "/api/books/exports/",
        "/api/authors/imports/",
        "/api/authors/exports/",
        "/api/books/imports/mappings/",
        "/api/authors/imports/mappings/",
    }


@pytest.mark.parametrize(("path", "operation"), CREATES, ids=[path for path, _o in CREATES])
def test_the_pre_filled_body_of_every_create_operation_is_a_201(api, path, operation):
    content = operation["requestBody"]["content"]
    media_type, body = next(iter(content.items()))
    values = prefill(SCHEMA, body["schema"])
    if media_type == "multipart/form-data":
        # A multipart form: objects are sent as JSON text, the file is chosen.
        form: dict[str, Any] = {}
        for name, value in values.items():
            if value is None:
                continue  # a form field left empty is not sent
            if value is FILE:
                form[name] = sample_file(values.get("file_format", "csv"))
            elif isinstance(value, (dict, list)):
                form[name] = json.dumps(value)
            elif isinstance(value, bool):
                form[name] = "true" if value else "false"
            else:
                form[name] = value
        response = api.post(path, form, format="multipart")
        model: Any = SavedColumnMapping if path.endswith("/mappings/") else ImportJob
    else:
        assert media_type == "application/json"
        response = api.post(path, values, format="json")
        model = SavedColumnMapping if path.endswith("/mappings/") else ExportJob
    assert response.status_code == 201, (values, response.json())
    assert model.objects.filter(pk=response.json()["id"]).exists()


def test_prefill_follows_swagger_for_free_objects():
    """What Swagger UI sent before free objects had an example: a 400."""
    free = {"type": "object", "additionalProperties": {}}
    assert prefill(SCHEMA, free) == {
        "additionalProp1": "string",
        "additionalProp2": "string",
        "additionalProp3": "string",
    }
    assert prefill(SCHEMA, {**free, "example": {}}) == {}
