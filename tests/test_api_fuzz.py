"""Every API operation fuzzed by schemathesis in-process (Django's WSGI app,
no server), authenticated as a user: no server error, every status code
documented, every body and content type as the schema says.

Tasks never reach the broker here: the autouse ``sent_tasks`` fixture records
them (and the test's transaction never commits, so none is even sent).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.urls import Resolver404, resolve
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
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


def load_schema() -> Any:
    """The job API's schema (tests.api_urls) bound to Django's WSGI app."""
    document = SchemaGenerator(urlconf="tests.api_urls").get_schema(request=None, public=True)
    raw = json.loads(OpenApiJsonRenderer().render(document, renderer_context={}))
    loaded = schemathesis.openapi.from_dict(raw)
    loaded.app = WSGIHandler()
    return loaded


# Loaded at collection (pytest-django has set Django up by then) rather than
# through schemathesis.pytest.from_fixture(), whose lazy tests fail on pytest 9
# (they read the removed ``Function._nodeid``).
schema = load_schema()
OWN_JOB_IDS: list[int] = []


@schema.hook("flatmap_path_parameters")
def own_jobs(context: Any, path_parameters: dict[str, Any]) -> Any:
    """Path ids drawn from the user's own jobs as often as from random integers."""
    if not path_parameters or "id" not in path_parameters or not OWN_JOB_IDS:
        return st.just(path_parameters)
    return st.one_of(
        st.just(path_parameters),
        st.sampled_from(OWN_JOB_IDS).map(lambda pk: {**path_parameters, "id": pk}),
    )


@pytest.fixture
def api_user_jobs(db: Any, settings: Any) -> Iterator[list[int]]:
    """The user the requests authenticate as, with jobs in several states."""
    # Every request authenticates with HTTP Basic: keep PBKDF2 out of the budget.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # An event stream of a job that is not final lasts EVENTS_MAX_SECONDS.
    settings.DRF_IMPORT_EXPORT_JOBS = {
        **settings.DRF_IMPORT_EXPORT_JOBS,
        "EVENTS_POLL_SECONDS": 0.02,
        "EVENTS_MAX_SECONDS": 0.1,
    }
    user = get_user_model().objects.create_user(USERNAME, password=PASSWORD)
    OWN_JOB_IDS[:] = _jobs_of(user)
    # As Django's test client does: the handler's request signals must not
    # close the connection that holds the test's transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield OWN_JOB_IDS
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
        OWN_JOB_IDS.clear()


BASIC = "Basic " + base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()


@pytest.mark.slow
@schema.parametrize()
@hypothesis_settings(
    max_examples=20,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case: Any, api_user_jobs: list[int]) -> None:
    headers = {"Authorization": BASIC}
    response = case.call(headers=headers)
    checks = CHECKS
    if not routed(case.formatted_path):
        # An invalid path parameter (``0.5``: the router's lookup takes no dot)
        # matches no URL pattern, so Django's own 404 page answers, not the API.
        checks = [not_a_server_error, status_code_conformance]
    elif is_event_stream(response):
        # The schema of a text/event-stream answer is that of each event's JSON
        # data (what generated SSE readers yield); schemathesis would check it
        # against the whole event object (OpenAPI 3.2's itemSchema): the data
        # is checked here instead.
        checks = [c for c in checks if c is not response_schema_conformance]
        assert_events_match(case, response)
    case.validate_response(response, checks=checks, headers=headers)


def test_a_download_has_a_documented_content_type(api_user_jobs: list[int]) -> None:
    exported = ExportJob.objects.get(status="exported")
    operation = schema["/api/books/exports/{id}/download/"]["GET"]
    case = operation.Case(path_parameters={"id": exported.pk})
    headers = {"Authorization": BASIC}
    response = case.call(headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == ["application/octet-stream"]
    case.validate_response(response, checks=[content_type_conformance], headers=headers)


def is_event_stream(response: Any) -> bool:
    kind = response.headers.get("content-type", [""])
    return response.status_code == 200 and kind[0].startswith("text/event-stream")


def assert_events_match(case: Any, response: Any) -> None:
    """Each event's ``data`` is JSON with exactly the component's properties,
    its ``event:`` is the data's ``event`` and its ``id:`` the data's ``id``."""
    content = case.operation.definition.raw["responses"]["200"]["content"]
    ref = content["text/event-stream"]["schema"]["$ref"]
    component = schema.raw_schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    for block in response.content.decode().split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if not line.startswith(":")
        )
        if "data" not in fields:
            continue
        data = json.loads(fields["data"])
        assert set(data) == set(component["properties"]), data
        assert fields["event"] == data["event"] in ("status", "progress")
        assert fields.get("id") == (None if data["id"] is None else str(data["id"]))


def routed(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True
