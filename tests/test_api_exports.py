"""REST API: export jobs (create, list, download, cancel, delete)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.base import ContentFile

from drf_import_export_jobs.models import ExportJob
from tests.conftest import BOOK_RESOURCE
from tests.conftest import stored_job_files as stored_files

pytestmark = pytest.mark.usefixtures("empty_job_storage")

URL = "/api/books/exports/"


def make_job(user: Any, status: str = "created", content: bytes | None = None, **fields: Any):
    job = ExportJob(resource_path=BOOK_RESOURCE, file_format_name="csv", created_by=user, **fields)
    job.save()
    if content is not None:
        job.data_file.save("export.csv", ContentFile(content), save=False)
        ExportJob.objects.filter(pk=job.pk).update(data_file=job.data_file.name)
    ExportJob.objects.filter(pk=job.pk).update(status=status)
    job.status = status
    return job


# -- create -----------------------------------------------------------------------


def test_create_stores_the_options_and_sends_the_export_task(
    api, user, django_capture_on_commit_callbacks, sent_tasks
):
    payload = {
        "file_format": "xlsx",
        "fields": ["isbn", "title", "price"],
        "filters": {"in_stock": True, "price__lte": "20"},
        "ordering": ["-price", "title"],
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(URL, payload, format="json")
    assert response.status_code == 201, response.json()
    job = ExportJob.objects.get()
    body = response.json()
    assert body["id"] == job.pk
    assert body["url"] == f"http://testserver{URL}{job.pk}/"
    assert body["download_url"] is None
    assert body["status"] == "created"
    assert body["file_format"] == "xlsx"
    assert body["fields"] == payload["fields"]
    assert body["filters"] == payload["filters"]
    assert body["ordering"] == payload["ordering"]
    assert body["filename"].startswith(f"books-export-{job.pk}-") and body["filename"].endswith(
        ".xlsx"
    )
    assert (job.filters, job.ordering, job.fields) == (
        payload["filters"],
        payload["ordering"],
        payload["fields"],
    )
    assert (job.created_by, job.resource_path, job.file_format_name) == (
        user,
        BOOK_RESOURCE,
        "xlsx",
    )
    assert sent_tasks.names() == ["drf_import_export_jobs.export_job_data"]
    assert sent_tasks[0][2]["task_id"] == job.export_task_id


def test_create_with_only_a_format_exports_everything(api, db):
    response = api.post(URL, {"file_format": "csv"}, format="json")
    assert response.status_code == 201
    job = ExportJob.objects.get()
    assert (job.filters, job.ordering, job.fields) == ({}, [], [])


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({}, "file_format", "This field is required."),
        ({"file_format": "pdf"}, "file_format", '"pdf" is not a valid choice.'),
        ({"file_format": "xls"}, "file_format", '"xls" is not a valid choice.'),
        (
            {"file_format": "csv", "fields": ["isbn", "nope"]},
            "fields",
            'Item 2: "nope" is not a valid choice.',
        ),
        (
            {"file_format": "csv", "ordering": ["-nope"]},
            "ordering",
            'Item 1: "-nope" is not a valid choice.',
        ),
        ({"file_format": "csv", "ordering": "price"}, "ordering", "Expected a list"),
        ({"file_format": "csv", "filters": {"nope": 1}}, "filters", "Unknown filter(s): nope."),
        (
            {"file_format": "csv", "filters": {"price__gte": "cheap"}},
            "filters",
            "price__gte: Enter a number.",
        ),
        ({"file_format": "csv", "filters": ["in_stock"]}, "filters", "Expected a JSON object"),
        (
            {"file_format": "csv", "fields": ["isbn", "title", "isbn", "price", "title"]},
            "fields",
            "Duplicate field(s): isbn, title. Name each field once.",
        ),
    ],
)
def test_bad_export_options_are_a_400_and_no_job_is_created(api, payload, field, message):
    response = api.post(URL, payload, format="json")
    assert response.status_code == 400
    assert message in " ".join(response.json()[field]), response.json()
    assert not ExportJob.objects.exists()


def test_the_create_route_takes_json_only(api, db):
    response = api.post(URL, {"file_format": "csv"}, format="multipart")
    assert response.status_code == 415
    assert not ExportJob.objects.exists()


def test_filters_on_a_resource_without_filterset_are_a_400(api, db):
    response = api.post(
        "/api/authors/exports/", {"file_format": "csv", "filters": {"name": "x"}}, format="json"
    )
    assert response.status_code == 400
    assert "declares no filterset_class" in response.json()["filters"][0]


def test_get_export_filters_narrows_what_the_worker_exports(api, db):
    response = api.post(
        "/extra/in-stock/exports/",
        {"file_format": "csv", "filters": {"in_stock": False, "price__gte": "5"}},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert ExportJob.objects.get().filters == {"in_stock": True, "price__gte": "5"}
    assert response.json()["url"].startswith("http://testserver/extra/in-stock/exports/")


# -- list and retrieve ----------------------------------------------------------------


def test_list_shows_own_jobs_filtered_by_status(api, user, other_user):
    done = make_job(user, "exported", content=b"a\n")
    make_job(user, "export_error")
    make_job(other_user, "exported", content=b"b\n")
    assert api.get(URL).json()["count"] == 2
    body = api.get(URL, {"status": "exported"}).json()
    assert [job["id"] for job in body["results"]] == [done.pk]
    assert api.get(URL, {"status": "parsed"}).status_code == 400


def test_retrieve_links_the_download_once_exported(api, user):
    job = make_job(user, "exported", content=b"isbn\n1\n", progress_current=1, progress_total=1)
    body = api.get(f"{URL}{job.pk}/").json()
    assert body["download_url"] == f"http://testserver{URL}{job.pk}/download/"
    assert body["progress"] == {
        "state": "exported",
        "info": {"current": 1, "total": 1},
        "percent": 100,
    }


def test_an_export_error_shows_its_message_and_traceback_to_staff_only(api, user):
    job = make_job(user, "export_error", error_message="boom", traceback="Traceback ...")
    body = api.get(f"{URL}{job.pk}/").json()
    assert (body["error_message"], body["traceback"], body["download_url"]) == ("boom", "", None)


# -- download -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "accept",
    [
        None,
        "application/octet-stream",
        "*/*",
        "application/json",
        "text/csv",
        "text/csv, application/json;q=0.5",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ],
)
def test_download_sends_the_file_as_an_attachment(api, user, accept):
    content = b"isbn,title\r\n1,Dune\r\n"
    job = make_job(user, "exported", content=content)
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    response = api.get(f"{URL}{job.pk}/download/", **headers)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == content
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == f'attachment; filename="{job.export_filename}"'
    assert response["Content-Length"] == str(len(content))


@pytest.mark.parametrize("status", ["created", "exporting", "export_error", "cancelled"])
@pytest.mark.parametrize("accept", ["application/octet-stream", "application/json", "text/csv"])
def test_download_before_the_export_is_done_is_a_json_409(api, user, status, accept):
    job = make_job(user, status)
    response = api.get(f"{URL}{job.pk}/download/", HTTP_ACCEPT=accept)
    assert response.status_code == 409
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert (body["code"], body["status"]) == ("invalid_status", status)
    assert "can be downloaded only when 'exported'" in body["detail"]


@pytest.mark.parametrize("accept", ["application/octet-stream", "text/csv", "*/*", "image/png"])
def test_download_of_another_users_job_is_a_json_404(api, other_user, accept):
    job = make_job(other_user, "exported", content=b"secret\n")
    response = api.get(f"{URL}{job.pk}/download/", HTTP_ACCEPT=accept)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert b"secret" not in response.content


def test_download_anonymous_is_a_json_401(anon, user):
    job = make_job(user, "exported", content=b"secret\n")
    response = anon.get(f"{URL}{job.pk}/download/", HTTP_ACCEPT="application/octet-stream")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"


def test_download_of_a_file_missing_from_storage_is_a_404(api, user):
    job = make_job(user, "exported", content=b"x\n")
    job.refresh_from_db()
    job.data_file.storage.delete(job.data_file.name)
    response = api.get(f"{URL}{job.pk}/download/")
    assert response.status_code == 404
    assert "missing" in response.json()["detail"]


# -- cancel and delete ----------------------------------------------------------------


def test_cancel_an_export(api, user, django_capture_on_commit_callbacks, sent_tasks):
    job = make_job(user, "exporting")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{URL}{job.pk}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert sent_tasks.app.revoked == [job.export_task_id]


@pytest.mark.parametrize("status", ["exported", "export_error", "cancelled"])
def test_cancel_a_finished_export_is_a_409(api, user, status):
    job = make_job(user, status)
    response = api.post(f"{URL}{job.pk}/cancel/")
    assert response.status_code == 409
    assert response.json()["status"] == status


@pytest.mark.parametrize(("method", "suffix"), [("post", "cancel/"), ("delete", ""), ("get", "")])
def test_another_users_export_is_a_404(api, other_user, method, suffix):
    job = make_job(other_user, "exported", content=b"x\n")
    assert getattr(api, method)(f"{URL}{job.pk}/{suffix}").status_code == 404
    assert ExportJob.objects.get(pk=job.pk).status == "exported"


def test_delete_removes_the_export_and_its_file(api, user, django_capture_on_commit_callbacks):
    job = make_job(user, "exported", content=b"x\n")
    assert len(stored_files()) == 1
    with django_capture_on_commit_callbacks(execute=True):
        response = api.delete(f"{URL}{job.pk}/")
    assert response.status_code == 204
    assert not ExportJob.objects.exists()
    assert stored_files() == []


@pytest.mark.parametrize("status", ["created", "exporting"])
def test_delete_a_running_export_is_a_409(api, user, status):
    job = make_job(user, status)
    response = api.delete(f"{URL}{job.pk}/")
    assert response.status_code == 409
    assert response.json()["status"] == status
    assert ExportJob.objects.filter(pk=job.pk).exists()


@pytest.mark.parametrize(
    "url", ["/api/books/exports/", "/api/books/imports/", "/api/authors/exports/"]
)
def test_the_browsable_api_renders_the_lists_and_forms(api, user, url):
    response = api.get(url, HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"<form" in response.content


def test_the_browsable_api_renders_a_job(api, user):
    job = make_job(user, "exported", content=b"x\n")
    response = api.get(f"{URL}{job.pk}/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert f"{URL}{job.pk}/download/".encode() in response.content


def test_every_answer_of_the_download_route_is_declared_in_the_schema(api, anon, user, other_user):
    """Status and media type of each answer, for every Accept header, are in
    the schema's responses of the route."""
    from tests.test_api_schema import generate

    declared = generate()["paths"]["/api/books/exports/{id}/download/"]["get"]["responses"]
    jobs = {
        "exported": make_job(user, "exported", content=b"isbn\r\n1\r\n"),
        "created": make_job(user, "created"),
        "other": make_job(other_user, "exported", content=b"isbn\r\n1\r\n"),
    }
    accepts = [None, "*/*", "text/csv", "application/json", "application/octet-stream", "x/y"]
    seen = set()
    for client in (api, anon):
        for name, job in [*jobs.items(), ("missing", None)]:
            for accept in accepts:
                headers = {"HTTP_ACCEPT": accept} if accept else {}
                pk = job.pk if job is not None else 999_999
                response = client.get(f"{URL}{pk}/download/", **headers)
                code = str(response.status_code)
                media_type = response["Content-Type"].split(";")[0]
                assert code in declared, (name, accept, code)
                assert media_type in declared[code]["content"], (name, accept, code, media_type)
                seen.add(code)
    assert seen == {"200", "401", "404", "409"}


@pytest.mark.parametrize("path", ["", "{pk}/"])
def test_a_json_route_asked_for_another_media_type_is_a_declared_json_406(api, user, path):
    job = make_job(user)
    response = api.get(URL + path.format(pk=job.pk), HTTP_ACCEPT="text/csv")
    assert response.status_code == 406
    assert response["Content-Type"] == "application/json"
    assert "Accept" in response.json()["detail"]
