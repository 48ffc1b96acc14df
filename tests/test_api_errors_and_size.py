"""REST API: the errors route of imports, and job representations that stay
small however big the job."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.test import override_settings

from drf_import_export_jobs.models import ExportJob, ImportJob
from tests.conftest import BOOK_RESOURCE

pytestmark = pytest.mark.usefixtures("empty_job_storage")

URL = "/api/books/imports/"


def report_bytes(count: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["row", "field", "message"])
    for i in range(1, count + 1):
        writer.writerow([i, "price" if i % 2 else "", f"error {i}, with a comma"])
    writer.writerow(["", "", "'=not a formula"])
    return out.getvalue().encode()


def make_job(user: Any, errors: int = 0, **fields: Any) -> ImportJob:
    job = ImportJob(resource_path=BOOK_RESOURCE, file_format_name="csv", created_by=user, **fields)
    job.data_file.save("upload.csv", ContentFile(b"isbn\n1\n"), save=False)
    if errors:
        job.error_report.save("r.csv", ContentFile(report_bytes(errors)), save=False)
    job.parse_result = {
        "totals": {"invalid": errors},
        "rows": errors,
        "error_count": errors + (1 if errors else 0),
        "errors": [],
    }
    job.save()
    ImportJob.objects.filter(pk=job.pk).update(status="input_error" if errors else "parsed")
    return job


# -- errors -----------------------------------------------------------------------


@override_settings(DRF_IMPORT_EXPORT_JOBS={"API_ERRORS_PAGE_SIZE": 100})
def test_errors_are_paginated_from_the_report(api, user):
    job = make_job(user, errors=250)
    first = api.get(f"{URL}{job.pk}/errors/")
    assert first.status_code == 200
    body = first.json()
    assert body["count"] == 251
    assert body["previous"] is None
    assert body["next"] == f"http://testserver{URL}{job.pk}/errors/?page=2"
    assert len(body["results"]) == 100
    assert body["results"][0] == {"row": 1, "field": "price", "message": "error 1, with a comma"}
    assert body["results"][1] == {"row": 2, "field": None, "message": "error 2, with a comma"}
    second = api.get(body["next"]).json()
    assert second["results"][0]["row"] == 101
    assert second["previous"] == f"http://testserver{URL}{job.pk}/errors/"
    last = api.get(f"{URL}{job.pk}/errors/", {"page": 3}).json()
    assert len(last["results"]) == 51
    assert last["next"] is None
    assert last["previous"].endswith("/errors/?page=2")
    # the entry not tied to a row, written escaped in the report, is shown as it was
    assert last["results"][-1] == {"row": None, "field": None, "message": "=not a formula"}
    assert api.get(f"{URL}{job.pk}/errors/", {"page": 4}).status_code == 404
    assert api.get(f"{URL}{job.pk}/errors/", {"page": "x"}).status_code == 404


def test_errors_of_a_job_without_errors_is_an_empty_page(api, user):
    job = make_job(user)
    body = api.get(f"{URL}{job.pk}/errors/").json()
    assert body == {"count": 0, "next": None, "previous": None, "results": []}


@pytest.mark.parametrize(
    "accept", [None, "application/octet-stream", "text/csv", "*/*", "application/json"]
)
def test_the_errors_file_is_the_whole_report_whatever_accept_says(api, user, accept):
    job = make_job(user, errors=250)
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    response = api.get(f"{URL}{job.pk}/errors/file/", **headers)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == f'attachment; filename="import-{job.pk}-errors.csv"'
    assert b"".join(response.streaming_content) == report_bytes(250)


def test_the_errors_file_without_errors_is_a_header(api, user):
    job = make_job(user)
    response = api.get(f"{URL}{job.pk}/errors/file/", HTTP_ACCEPT="text/csv")
    assert response.status_code == 200
    assert response.content == b"row,field,message\r\n"


@pytest.mark.parametrize("accept", ["text/csv", "application/octet-stream", "*/*"])
def test_the_errors_file_of_another_users_job_is_a_json_404(api, other_user, accept):
    job = make_job(other_user, errors=3)
    response = api.get(f"{URL}{job.pk}/errors/file/", HTTP_ACCEPT=accept)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert b"error 1" not in response.content


def test_the_errors_route_is_json_only(api, user):
    job = make_job(user, errors=3)
    response = api.get(f"{URL}{job.pk}/errors/", {"format": "csv"})
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


# -- big jobs stay small ----------------------------------------------------------------


MILLION = 1_000_000


@pytest.fixture
def no_file_reads(monkeypatch):
    """Fail the test if anything opens a stored file."""

    def refuse(self, name, mode="rb"):
        raise AssertionError(f"{name} was opened")

    monkeypatch.setattr(FileSystemStorage, "_open", refuse)


def million_row_import(user: Any) -> ImportJob:
    errors = [
        {"row": i, "field": "price", "message": "Enter a number. " * 5} for i in range(1, 101)
    ]
    result = {
        "totals": {"new": MILLION - 100, "invalid": 100},
        "rows": MILLION,
        "error_count": MILLION // 2,
        "errors": errors,
    }
    job = make_job(user, errors=3)
    ImportJob.objects.filter(pk=job.pk).update(
        parse_result=result,
        import_result=result,
        progress_current=MILLION,
        progress_total=MILLION,
        status="import_error",
    )
    return job


def test_list_and_detail_of_million_row_jobs_stay_small(
    api, user, no_file_reads, django_assert_num_queries
):
    jobs = [million_row_import(user) for _ in range(20)]
    with django_assert_num_queries(2):  # count + page
        response = api.get(URL)
    assert response.status_code == 200
    assert len(response.content) < 45_000  # about 2 KB a job, most of it the 10 errors shown
    body = response.json()
    assert body["count"] == 20
    first = body["results"][0]
    assert first["totals"]["new"] == MILLION - 100
    assert first["error_count"] == MILLION // 2
    assert len(first["errors"]) == 10
    assert first["progress"]["percent"] == 100
    with django_assert_num_queries(1):
        detail = api.get(f"{URL}{jobs[0].pk}/")
    assert detail.status_code == 200
    assert len(detail.content) < 3_000
    assert json.loads(detail.content)["id"] == jobs[0].pk


def test_list_and_detail_of_a_million_row_export_stay_small(
    api, user, no_file_reads, django_assert_num_queries
):
    job = ExportJob.objects.create(
        resource_path=BOOK_RESOURCE,
        file_format_name="csv",
        created_by=user,
    )
    ExportJob.objects.filter(pk=job.pk).update(
        status="exported",
        data_file="import_export_jobs/exports/big.csv",
        progress_current=MILLION,
        progress_total=MILLION,
    )
    with django_assert_num_queries(2):
        response = api.get("/api/books/exports/")
    assert len(response.content) < 3_000
    with django_assert_num_queries(1):
        detail = api.get(f"/api/books/exports/{job.pk}/")
    assert detail.json()["download_url"].endswith(f"/{job.pk}/download/")
