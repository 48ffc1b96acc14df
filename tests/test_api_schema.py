"""The OpenAPI schema: valid, without generator warnings, stable names, and
unchanged unless reviewed (golden file).

After reviewing a deliberate change of the API, regenerate the golden file::

    make schema

(``manage.py spectacular --urlconf tests.api_urls`` with the test settings).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
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
        assert set(paths[f"{prefix}/imports/{{id}}/revert/"]) == {"post"}
        assert set(paths[f"{prefix}/imports/{{id}}/errors/"]) == {"get"}
        assert set(paths[f"{prefix}/imports/{{id}}/errors/file/"]) == {"get"}
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
    revert = _responses(schema, imports + "{id}/revert/", "post")
    assert _ref(revert["409"]) == "ImportJobStatusConflict"
    assert _ref(revert["404"]) == "JobErrorDetail"
    assert _ref(revert["202"]) == "BookImportJob"
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
    for action in ("confirm", "cancel", "revert"):
        assert "requestBody" not in paths[f"/api/books/imports/{{id}}/{action}/"]["post"]


BINARY = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}


def test_files_are_binary_and_have_their_own_operations(schema):
    download = _responses(schema, "/api/books/exports/{id}/download/", "get")
    assert download["200"]["content"] == BINARY
    assert _ref(download["409"]) == "ExportJobStatusConflict"
    assert _ref(download["404"]) == "JobErrorDetail"
    report = schema["paths"]["/api/books/imports/{id}/errors/file/"]["get"]
    assert report["responses"]["200"]["content"] == BINARY
    assert report["operationId"] == "bookImportsErrorsFile"
    errors = schema["paths"]["/api/books/imports/{id}/errors/"]["get"]
    assert list(errors["responses"]["200"]["content"]) == ["application/json"]
    assert _ref(errors["responses"]["200"]) == "PaginatedImportJobRowErrorList"
    for operation in (report, errors, schema["paths"]["/api/books/exports/{id}/download/"]["get"]):
        names = {parameter["name"] for parameter in operation.get("parameters", [])}
        assert "format" not in names, names
        for response in operation["responses"].values():
            assert len(response.get("content", {})) <= 1


def test_every_success_has_one_media_type_and_every_response_a_description(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for code, response in operation["responses"].items():
                assert response["description"], (path, method, code)
                assert len(response.get("content", {})) <= 1, (path, method, code)


def test_error_messages_are_a_named_component(schema):
    components = schema["components"]["schemas"]
    assert components["JobValidationError"]["additionalProperties"] == {
        "$ref": "#/components/schemas/JobErrorMessages"
    }
    assert components["JobErrorMessages"]["oneOf"] == [
        {"type": "array", "items": {"type": "string"}},
        {"type": "string"},
    ]


def _walk(node: Any, where: str = "") -> Any:
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from _walk(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{where}/{index}")


def test_nullable_always_stands_beside_a_type(schema):
    for where, node in _walk(schema):
        if node.get("nullable"):
            assert "type" in node, where
    totals = schema["components"]["schemas"]["BookImportJob"]["properties"]["totals"]
    assert totals == {
        "oneOf": [
            {"$ref": "#/components/schemas/ImportJobTotals"},
            {"type": "object", "nullable": True, "enum": [None]},
        ],
        "readOnly": True,
    }


def test_a_reference_with_a_help_text_stays_a_plain_reference(schema):
    """``allOf`` around one reference with only a description is typed as Any
    by some generators (``file_format`` of an upload)."""
    upload = schema["components"]["schemas"]["BookImportJobCreateRequest"]["properties"]
    assert upload["file_format"] == {"$ref": "#/components/schemas/BookImportFormatEnum"}
    for where, node in _walk(schema):
        if "allOf" in node:
            assert set(node) - {"allOf", "description"}, where


def test_operation_ids_summaries_servers_and_license(schema):
    operations = {
        (path, method): operation
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    }
    ids = [operation["operationId"] for operation in operations.values()]
    assert len(ids) == len(set(ids))
    assert all(id_.isalnum() and id_[0].islower() for id_ in ids), ids
    books = {
        operation["operationId"]
        for (path, _method), operation in operations.items()
        if path.startswith("/api/books/")
    }
    assert books == {
        "bookImportsList", "bookImportsCreate", "bookImportsRetrieve", "bookImportsDelete",
        "bookImportsConfirm", "bookImportsCancel", "bookImportsRevert", "bookImportsErrors",
        "bookImportsErrorsFile",
        "bookExportsList", "bookExportsCreate", "bookExportsRetrieve", "bookExportsDelete",
        "bookExportsCancel", "bookExportsDownload", "bookImportsReparse",
        "bookImportsMappingsList", "bookImportsMappingsCreate", "bookImportsMappingsRetrieve",
        "bookImportsMappingsDelete",
        "bookImportsEvents", "bookExportsEvents",
    }  # fmt: skip
    assert all(operation.get("summary") for operation in operations.values())
    assert schema["servers"] and all(server["url"] for server in schema["servers"])
    assert schema["info"]["license"]["name"] == "MIT"


def test_operation_ids_follow_the_viewset_not_the_url():
    from tests.testapp.views import BookImportViewSet

    class Renamed(BookImportViewSet):
        schema_operation_id_prefix = "novels"

    assert BookImportViewSet().get_schema_operation_id_prefix() == "bookImports"
    assert Renamed().get_schema_operation_id_prefix() == "novels"


def test_every_operation_lists_its_client_errors(schema):
    expected = {
        ("", "get"): {"400", "401", "403", "404", "406", "429"},
        ("", "post"): {"400", "401", "403", "406", "415", "429"},
        ("{id}/", "get"): {"401", "403", "404", "406", "429"},
        ("{id}/", "delete"): {"401", "403", "404", "406", "409", "429"},
        ("{id}/cancel/", "post"): {"401", "403", "404", "406", "409", "429"},
        ("{id}/confirm/", "post"): {"401", "403", "404", "406", "409", "429"},
        ("{id}/revert/", "post"): {"401", "403", "404", "406", "409", "429"},
        ("{id}/errors/", "get"): {"401", "403", "404", "406", "429"},
        ("{id}/errors/file/", "get"): {"401", "403", "404", "429"},
        ("{id}/download/", "get"): {"401", "403", "404", "409", "429"},
        ("{id}/reparse/", "post"): {"400", "401", "403", "404", "406", "409", "415", "429"},
        ("mappings/", "get"): {"401", "403", "406", "429"},
        ("mappings/", "post"): {"400", "401", "403", "406", "415", "429"},
        ("mappings/{mapping_id}/", "get"): {"401", "403", "404", "406", "429"},
        ("mappings/{mapping_id}/", "delete"): {"401", "403", "404", "406", "429"},
        ("{id}/events/", "get"): {"400", "401", "403", "404", "429"},
    }
    for path, item in schema["paths"].items():
        if path.startswith("/api/webhook-deliveries/"):
            continue  # test_the_staff_list_of_webhook_deliveries
        rest = path.split("ports/", 1)[1]
        for method, operation in item.items():
            codes = {code for code in operation["responses"] if code.startswith("4")}
            want = set(expected[(rest, method)])
            if path.endswith("/imports/") and method == "post":
                want.add("413")
            assert codes == want, (path, method)


def test_export_filters_are_typed_per_resource(schema):
    components = schema["components"]["schemas"]
    book = components["BookExportFilters"]
    assert book["properties"] == {
        "price__gte": {"type": "number", "nullable": True},
        "price__lte": {"type": "number", "nullable": True},
        "in_stock": {"type": "boolean", "nullable": True},
        "author__name": {"type": "string", "nullable": True},
    }
    assert components["AuthorExportFilters"]["properties"] == {}
    assert components["AuthorExportFilters"]["additionalProperties"] is False
    for prefix in ("Book", "Author"):
        ref = {"$ref": f"#/components/schemas/{prefix}ExportFilters"}
        create = components[f"{prefix}ExportJobCreateRequest"]["properties"]["filters"]
        assert create == ref
        # The job shows the filters as stored (any scalar a filter accepts).
        assert components[f"{prefix}ExportJob"]["properties"]["filters"]["type"] == "object"


def test_status_filter_refers_to_the_status_enum(schema):
    parameters = schema["paths"]["/api/books/imports/"]["get"]["parameters"]
    status = next(p for p in parameters if p["name"] == "status")
    assert status["schema"]["items"] == {"$ref": "#/components/schemas/ImportJobStatusEnum"}


def generated_example(schema: dict[str, Any], node: dict[str, Any]) -> Any:
    """The example a schema viewer builds when the schema gives none, as Swagger
    UI does: a field's ``example`` if any, else an enum's first value, else a
    number's maximum (or minimum, or 0)."""
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[1]
        return generated_example(schema, schema["components"]["schemas"][name])
    if "allOf" in node:
        return generated_example(schema, node["allOf"][0])
    if "example" in node:
        return node["example"]
    if "enum" in node:
        return node["enum"][0]
    if node.get("type") == "object":
        return {
            name: generated_example(schema, prop)
            for name, prop in node.get("properties", {}).items()
        }
    if node.get("type") == "integer":
        return node.get("maximum", node.get("minimum", 0))
    return None


@pytest.mark.parametrize("component", ["ImportJobProgress", "ExportJobProgress"])
def test_generated_progress_examples_are_a_job_that_can_exist(schema, component):
    """A new job (status "created") has no total yet and so no percent."""
    progress = schema["components"]["schemas"][component]
    example = generated_example(schema, progress)
    assert example == {"state": "created", "info": {"current": 0, "total": None}, "percent": None}


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
    example = yaml.safe_load(text)
    # The schema view is no operation of the API (with its 100-value ``lang``).
    assert "/api/schema/" not in example["paths"]
    assert "name: lang" not in text
    token = example["paths"]["/api/auth/token/"]["post"]
    assert set(token["responses"]) == {"200", "400"}
    assert token["operationId"] == "authTokenCreate" and token["summary"]
    assert token["security"] == [{}]  # no credentials needed
    assert example["info"]["license"]["name"] == "MIT"
    assert example["servers"][0]["url"] == "http://127.0.0.1:8000"
    for item in example["paths"].values():
        for operation in item.values():
            assert operation["summary"], operation["operationId"]
            assert any(code.startswith("4") for code in operation["responses"])


def test_the_revert_results_are_typed(schema):
    components = schema["components"]["schemas"]
    job = components["BookImportJob"]["properties"]
    assert job["revert"]["oneOf"][0] == {"$ref": "#/components/schemas/ImportJobRevertResult"}
    result = components["ImportJobRevertResult"]
    assert set(result["properties"]) == {"totals", "rows"}
    assert set(components["ImportJobRevertTotals"]["properties"]) == {"reverted", "kept", "failed"}
    row = components["ImportJobRevertRow"]["properties"]
    assert set(row) == {"model", "pk", "action", "outcome", "reason", "chunk"}
    assert components["ImportJobRevertOutcomeEnum"]["enum"] == ["kept", "failed"]
    statuses = components["ImportJobStatusEnum"]["enum"]
    assert {"revert_requested", "reverting", "reverted", "revert_error"} <= set(statuses)


def test_the_staff_list_of_webhook_deliveries(schema):
    listing = schema["paths"]["/api/webhook-deliveries/"]["get"]
    detail = schema["paths"]["/api/webhook-deliveries/{id}/"]["get"]
    assert listing["operationId"] == "webhookDeliveriesList"
    assert detail["operationId"] == "webhookDeliveriesRetrieve"
    assert set(listing["responses"]) == {"200", "400", "401", "403", "404", "406", "429"}
    assert set(detail["responses"]) == {"200", "401", "403", "404", "406", "429"}
    assert _ref(detail["responses"]["200"]) == "JobWebhookDelivery"
    delivery = schema["components"]["schemas"]["JobWebhookDelivery"]
    assert "#/components/schemas/JobWebhookPayload" in json.dumps(
        delivery["properties"]["payload"]
    )
