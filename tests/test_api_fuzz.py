"""Every API operation fuzzed by schemathesis in-process (Django's WSGI app,
no server), authenticated as a user: no server error, every status code
documented, every body and content type as the schema says.

Tasks never reach the broker here: the autouse ``sent_tasks`` fixture records
them (and the test's transaction never commits, so none is even sent).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.handlers.wsgi import WSGIHandler
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from drf_import_export_jobs.models import ExportJob, ImportJob
from tests.conftest import BOOK_RESOURCE, book_rows, csv_bytes

USERNAME, PASSWORD = "fuzzer", "fuzz-password"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _jobs_of(user: Any) -> list[int]:
    """Jobs of ``user`` in states every action can act on (or refuse with 409),
    so that generated ids also reach past the 404 of unknown jobs."""
    ids = []
    for status in ("created", "parsed", "input_error", "imported"):
        job = ImportJob(
            resource_path=BOOK_RESOURCE, file_format_name="csv", created_by=user, status=status
        )
        job.data_file.save("books.csv", ContentFile(csv_bytes(book_rows(3))), save=False)
        job.save()
        ids.append(job.pk)
    for status in ("created", "exported", "export_error"):
        export = ExportJob(
            resource_path=BOOK_RESOURCE, file_format_name="csv", created_by=user, status=status
        )
        if status == "exported":
            export.data_file.save("books.csv", ContentFile(csv_bytes(book_rows(3))), save=False)
        export.save()
        ids.append(export.pk)
    return ids


@pytest.fixture
def api_schema(db: Any) -> Any:
    """The schema the project serves, bound to the WSGI app, with path ids
    drawn from the user's own jobs as often as from random integers."""
    user = get_user_model().objects.create_user(USERNAME, password=PASSWORD)
    ids = _jobs_of(user)
    document = SchemaGenerator().get_schema(request=None, public=True)
    raw = json.loads(OpenApiJsonRenderer().render(document, renderer_context={}))
    schema = schemathesis.openapi.from_dict(raw)
    schema.app = WSGIHandler()

    @schema.hook("flatmap_path_parameters")
    def own_jobs(context: Any, path_parameters: dict[str, Any]) -> Any:
        if "id" not in path_parameters:
            return st.just(path_parameters)
        return st.one_of(st.just(path_parameters), st.sampled_from(ids)).map(
            lambda value: value if isinstance(value, dict) else {**path_parameters, "id": value}
        )

    return schema


schema = schemathesis.pytest.from_fixture("api_schema")
BASIC = "Basic " + base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case: Any) -> None:
    case.call_and_validate(headers={"Authorization": BASIC}, checks=CHECKS)
