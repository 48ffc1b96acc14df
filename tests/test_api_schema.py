"""The OpenAPI schema: valid, without generator warnings, stable names, and
unchanged unless reviewed (golden file).

After reviewing a deliberate change of the API, regenerate the golden file::

    make schema

(``manage.py spectacular --urlconf tests.api_urls`` with the test settings).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiYamlRenderer
from drf_spectacular.validation import validate_schema

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "schema" / "openapi.yaml"


def generate(urlconf: str = "tests.api_urls") -> dict[str, Any]:
    GENERATOR_STATS.reset()
    schema = SchemaGenerator(urlconf=urlconf).get_schema(request=None, public=True)
    warnings = dict(GENERATOR_STATS._warn_cache)
    errors = dict(GENERATOR_STATS._error_cache)
    GENERATOR_STATS.reset()
    assert not warnings and not errors, (warnings, errors)
    return schema


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return generate()


def test_the_schema_is_valid_openapi_without_warnings(schema):
    validate_schema(schema)


def test_the_schema_matches_the_reviewed_golden_file(schema):
    text = OpenApiYamlRenderer().render(schema, renderer_context={}).decode()
    assert GOLDEN.exists(), "tests/schema/openapi.yaml is missing: run `make schema`."
    assert text == GOLDEN.read_text(), (
        "The OpenAPI schema changed. Review the difference "
        "(`make schema && git diff tests/schema/openapi.yaml`) and commit the new file if "
        "the change is intended."
    )


def test_routes_and_methods(schema):
    paths = schema["paths"]
    for prefix in ("/api/books", "/api/authors"):
        assert set(paths[f"{prefix}/imports/"]) == {"get", "post"}
        assert set(paths[f"{prefix}/imports/{{id}}/"]) == {"get", "delete"}
        assert set(paths[f"{prefix}/imports/{{id}}/confirm/"]) == {"post"}
        assert set(paths[f"{prefix}/imports/{{id}}/cancel/"]) == {"post"}
        assert set(paths[f"{prefix}/imports/{{id}}/errors/"]) == {"get"}
        assert set(paths[f"{prefix}/exports/"]) == {"get", "post"}
        assert set(paths[f"{prefix}/exports/{{id}}/"]) == {"get", "delete"}
        assert set(paths[f"{prefix}/exports/{{id}}/cancel/"]) == {"post"}
        assert set(paths[f"{prefix}/exports/{{id}}/download/"]) == {"get"}


def test_component_names_are_per_resource_and_stable(schema):
    names = set(schema["components"]["schemas"])
    for prefix in ("Book", "Author"):
        assert {
            f"{prefix}ImportJob",
            f"{prefix}ImportJobCreateRequest",
            f"{prefix}ExportJob",
            f"{prefix}ExportJobCreateRequest",
            f"{prefix}ImportFormatEnum",
            f"{prefix}ExportFormatEnum",
            f"{prefix}ExportFieldEnum",
            f"{prefix}ExportOrderingEnum",
            f"Paginated{prefix}ImportJobList",
            f"Paginated{prefix}ExportJobList",
        } <= names
    assert {
        "ImportJobStatusEnum",
        "ExportJobStatusEnum",
        "JobValidationError",
        "JobErrorDetail",
        "ImportJobStatusConflict",
        "ExportJobStatusConflict",
        "JobFileTooLarge",
    } <= names
    # no enum named after a property by drf-spectacular's fallback naming
    assert not {name for name in names if name in ("StatusEnum", "FileFormatEnum", "CodeEnum")}
    book_fields = schema["components"]["schemas"]["BookExportFieldEnum"]["enum"]
    assert book_fields == [
        "isbn",
        "title",
        "author",
        "price",
        "published",
        "pages",
        "in_stock",
        "description",
    ]
    assert schema["components"]["schemas"]["AuthorExportFieldEnum"]["enum"] == ["name"]


def _responses(schema: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    return schema["paths"][path][method]["responses"]


def _ref(response: dict[str, Any], media: str = "application/json") -> str:
    return response["content"][media]["schema"]["$ref"].rsplit("/", 1)[-1]


def test_every_error_response_has_a_component(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for code, response in operation["responses"].items():
                if code.startswith(("4", "5")):
                    assert "$ref" in response["content"]["application/json"]["schema"], (
                        path,
                        method,
                        code,
                    )
            codes = set(operation["responses"])
            assert {"401", "403"} <= codes, (path, method)
    imports = "/api/books/imports/"
    assert _ref(_responses(schema, imports, "post")["413"]) == "JobFileTooLarge"
    assert _ref(_responses(schema, imports, "post")["400"]) == "JobValidationError"
    assert _ref(_responses(schema, imports, "post")["415"]) == "JobErrorDetail"
    assert _ref(_responses(schema, imports, "get")["404"]) == "JobErrorDetail"
    confirm = _responses(schema, imports + "{id}/confirm/", "post")
    assert _ref(confirm["409"]) == "ImportJobStatusConflict"
    assert _ref(confirm["404"]) == "JobErrorDetail"
    assert _ref(confirm["202"]) == "BookImportJob"
    delete = _responses(schema, "/api/books/exports/{id}/", "delete")
    assert _ref(delete["409"]) == "ExportJobStatusConflict"


def test_uploads_are_binary_multipart_and_other_bodies_json_only(schema):
    paths = schema["paths"]
    create = paths["/api/books/imports/"]["post"]["requestBody"]["content"]
    assert list(create) == ["multipart/form-data"]
    component = schema["components"]["schemas"]["BookImportJobCreateRequest"]
    assert component["properties"]["file"] == {
        "type": "string",
        "format": "binary",
        "writeOnly": True,
    }
    assert component["properties"]["resource_kwargs"]["type"] == "object"
    export = paths["/api/books/exports/"]["post"]["requestBody"]["content"]
    assert list(export) == ["application/json"]
    for path in ("/api/books/imports/{id}/confirm/", "/api/books/imports/{id}/cancel/"):
        assert "requestBody" not in paths[path]["post"]


def test_downloads_are_binary(schema):
    download = _responses(schema, "/api/books/exports/{id}/download/", "get")
    assert download["200"]["content"] == {
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
    }
    assert _ref(download["409"]) == "ExportJobStatusConflict"
    errors = _responses(schema, "/api/books/imports/{id}/errors/", "get")
    assert _ref(errors["200"]) == "PaginatedImportJobRowErrorList"
    assert errors["200"]["content"]["text/csv"]["schema"] == {
        "type": "string",
        "format": "binary",
    }


def test_status_filter_refers_to_the_status_enum(schema):
    parameters = schema["paths"]["/api/books/imports/"]["get"]["parameters"]
    status = next(p for p in parameters if p["name"] == "status")
    assert status["schema"]["items"] == {"$ref": "#/components/schemas/ImportJobStatusEnum"}


def test_two_resources_with_one_prefix_and_different_choices_is_a_warning():
    """Component names would collide: ``--fail-on-warn`` catches it (the cure
    is a distinct ``schema_component_prefix``)."""
    GENERATOR_STATS.reset()
    SchemaGenerator(urlconf="tests.schema_collision_urls").get_schema(request=None, public=True)
    warnings = " ".join(GENERATOR_STATS._warn_cache)
    GENERATOR_STATS.reset()
    assert 'identical names "BookExportJob"' in warnings


@pytest.mark.slow
def test_the_example_project_schema_validates_without_warnings(tmp_path):
    """``manage.py spectacular --validate --fail-on-warn`` in example_project/."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE")
    }
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "spectacular",
            "--validate",
            "--fail-on-warn",
            "--file",
            str(tmp_path / "schema.yaml"),
        ],
        cwd=ROOT / "example_project",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    text = (tmp_path / "schema.yaml").read_text()
    for path in ("/api/books/imports/", "/api/books/exports/", "/api/authors/imports/"):
        assert f"  {path}:" in text
    assert "basicAuth" in text
