"""REST API: import jobs (create, list, retrieve, confirm, cancel, delete)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from drf_import_export_jobs.conf import jobs_settings
from drf_import_export_jobs.models import ImportJob
from tests.conftest import BOOK_RESOURCE, book_rows, csv_bytes
from tests.conftest import stored_job_files as stored_files

URL = "/api/books/imports/"
AUTHOR_RESOURCE = "tests.testapp.resources.AuthorResource"


pytestmark = pytest.mark.usefixtures("empty_job_storage")


def upload(client: Any, data: bytes, name: str = "books.csv", url: str = URL, **fields: Any):
    headers = {key: fields.pop(key) for key in list(fields) if key.startswith("HTTP_")}
    payload = {"file": SimpleUploadedFile(name, data, content_type="text/csv"), **fields}
    return client.post(url, payload, format="multipart", **headers)


def make_job(user: Any, status: str = "created", **fields: Any) -> ImportJob:
    job = ImportJob(
        resource_path=fields.pop("resource_path", BOOK_RESOURCE),
        file_format_name="csv",
        created_by=user,
        **fields,
    )
    job.data_file.save("upload.csv", ContentFile(csv_bytes(book_rows(2))), save=False)
    job.save()
    ImportJob.objects.filter(pk=job.pk).update(status=status)
    job.status = status
    return job


# -- create -----------------------------------------------------------------------


def test_create_stores_the_file_under_a_generated_name_and_sends_the_parse_task(
    api, user, authors, django_capture_on_commit_callbacks, sent_tasks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(api, csv_bytes(book_rows(3)), name="../../etc/My Books.csv")
    assert response.status_code == 201, response.json()
    body = response.json()
    job = ImportJob.objects.get()
    assert body["id"] == job.pk
    assert body["status"] == "created"
    assert body["url"] == f"http://testserver{URL}{job.pk}/"
    assert response["Location"] == body["url"]
    assert body["errors_url"] == f"http://testserver{URL}{job.pk}/errors/"
    assert body["file_format"] == "csv"
    assert body["original_filename"] == "My Books.csv"
    assert body["progress"] == {
        "state": "created",
        "info": {"current": 0, "total": None},
        "percent": None,
    }
    assert job.created_by == user
    assert job.resource_path == BOOK_RESOURCE
    assert job.original_filename == "My Books.csv"
    assert job.data_file.name.startswith(f"{jobs_settings.FILES_DIR}/imports/")
    assert "Books" not in job.data_file.name and ".." not in job.data_file.name
    with job.data_file.open("rb") as fh:
        assert fh.read() == csv_bytes(book_rows(3))
    assert sent_tasks.names() == ["drf_import_export_jobs.parse_import_job"]
    assert sent_tasks[0][2]["task_id"] == job.parse_task_id


def test_create_takes_the_options(api, db):
    response = upload(
        api,
        csv_bytes(book_rows(1)),
        name="data.bin",
        file_format="csv",
        skip_parse_step="true",
        skip_invalid_rows="true",
    )
    assert response.status_code == 201, response.json()
    job = ImportJob.objects.get()
    assert (job.file_format_name, job.skip_parse_step, job.skip_invalid_rows) == (
        "csv",
        True,
        True,
    )
    assert response.json()["skip_parse_step"] is True


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({}, "file", "No file was submitted."),
        ({"file": SimpleUploadedFile("books.csv", b"")}, "file", "The submitted file is empty."),
        ({"file": SimpleUploadedFile("books.pdf", b"x,y\n")}, "file_format", "Cannot tell"),
        (
            {"file": SimpleUploadedFile("books.csv", b"x\n"), "file_format": "pdf"},
            "file_format",
            '"pdf" is not a valid choice.',
        ),
        (
            {"file": SimpleUploadedFile("books.csv", b"x\n"), "resource_kwargs": "{nope"},
            "resource_kwargs",
            "Not valid JSON",
        ),
        (
            {"file": SimpleUploadedFile("books.csv", b"x\n"), "resource_kwargs": "[1, 2]"},
            "resource_kwargs",
            "Expected a JSON object, got list.",
        ),
        (
            {"file": SimpleUploadedFile("books.csv", b"x\n"), "resource_kwargs": '{"a": 1}'},
            "resource_kwargs",
            "Unknown argument(s): a. Accepted: none (BookImportViewSet.allowed_resource_kwargs).",
        ),
        (
            {"file": SimpleUploadedFile("books.csv", b"x\n"), "skip_parse_step": "maybe"},
            "skip_parse_step",
            "Must be a valid boolean.",
        ),
    ],
)
def test_bad_input_is_a_400_and_nothing_is_stored(api, payload, field, message):
    response = api.post(URL, payload, format="multipart")
    assert response.status_code == 400
    assert message in " ".join(response.json()[field])
    assert not ImportJob.objects.exists()
    assert stored_files() == []


def test_a_format_the_resource_does_not_accept_is_a_400(api, db):
    response = upload(api, b"x", name="books.xlsx", url="/extra/csv-books/imports/")
    assert response.status_code == 400
    assert response.json() == {
        "file_format": ["Files of format 'xlsx' are not accepted here; accepted: csv."]
    }
    response = upload(
        api, b"x", name="books.csv", url="/extra/csv-books/imports/", file_format="xlsx"
    )
    assert response.status_code == 400
    assert response.json() == {"file_format": ['"xlsx" is not a valid choice.']}
    assert not ImportJob.objects.exists()
    assert stored_files() == []


def test_the_create_route_takes_multipart_only(api, db):
    response = api.post(URL, {"file_format": "csv"}, format="json")
    assert response.status_code == 415
    assert not ImportJob.objects.exists()


# -- resource kwargs ------------------------------------------------------------------


def test_resource_kwargs_as_a_text_part_pass_through_get_resource_kwargs(api, user):
    response = upload(
        api, b"isbn\n1\n", url="/extra/kwargs-books/imports/", resource_kwargs='{"batch": "b1"}'
    )
    assert response.status_code == 201, response.json()
    assert ImportJob.objects.get().resource_kwargs == {"batch": "b1", "user_id": user.pk}


def test_resource_kwargs_as_a_json_blob_part(api, user):
    blob = SimpleUploadedFile("blob", b'{"batch": "b2"}', content_type="application/json")
    response = upload(api, b"isbn\n1\n", url="/extra/kwargs-books/imports/", resource_kwargs=blob)
    assert response.status_code == 201, response.json()
    assert ImportJob.objects.get().resource_kwargs == {"batch": "b2", "user_id": user.pk}


def test_a_bad_json_blob_part_is_a_400(api, db):
    blob = SimpleUploadedFile("blob", b'"text"', content_type="application/json")
    response = upload(api, b"isbn\n1\n", url="/extra/kwargs-books/imports/", resource_kwargs=blob)
    assert response.status_code == 400
    assert response.json() == {"resource_kwargs": ["Expected a JSON object, got str."]}
    assert stored_files() == []


def test_resource_kwargs_not_allowed_by_the_viewset_are_a_400(api, db):
    response = upload(
        api, b"isbn\n1\n", url="/extra/kwargs-books/imports/", resource_kwargs='{"user_id": 9}'
    )
    assert response.status_code == 400
    assert "Unknown argument(s): user_id. Accepted: batch" in response.json()["resource_kwargs"][0]


# -- size limit -----------------------------------------------------------------------


@override_settings(DRF_IMPORT_EXPORT_JOBS={"MAX_UPLOAD_SIZE": 1000})
def test_a_file_over_max_upload_size_is_a_413_and_nothing_is_stored(api, db):
    response = upload(api, b"x" * 1001)
    assert response.status_code == 413
    body = response.json()
    assert body["code"] == "file_too_large"
    assert "MAX_UPLOAD_SIZE" in body["detail"]
    assert not ImportJob.objects.exists()
    assert stored_files() == []


@override_settings(DRF_IMPORT_EXPORT_JOBS={"MAX_UPLOAD_SIZE": 1000})
def test_a_file_at_max_upload_size_is_accepted(api, db):
    response = upload(api, b"isbn\n" + b"1" * 995)
    assert response.status_code == 201, response.json()


@override_settings(DRF_IMPORT_EXPORT_JOBS={"MAX_UPLOAD_SIZE": 10})
def test_a_body_declared_far_over_the_limit_is_refused_before_it_is_read(api, db, monkeypatch):
    from django.http.multipartparser import MultiPartParser

    def never(*args, **kwargs):
        raise AssertionError("the body was parsed")

    monkeypatch.setattr(MultiPartParser, "parse", never)
    response = upload(api, b"x" * (1024 * 1024 + 100))
    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    assert stored_files() == []


def test_the_upload_handler_stops_at_the_limit():
    from django.core.files.uploadhandler import StopUpload

    from drf_import_export_jobs.uploads import UploadSizeLimitHandler

    handler = UploadSizeLimitHandler(None, max_size=10)
    assert handler.receive_data_chunk(b"12345", 0) == b"12345"
    assert handler.receive_data_chunk(b"67890", 5) == b"67890"
    with pytest.raises(StopUpload):
        handler.receive_data_chunk(b"1", 10)
    assert handler.exceeded


# -- list and retrieve ----------------------------------------------------------------


def test_list_shows_the_callers_jobs_of_this_resource_newest_first(api, user, other_user):
    mine = [make_job(user) for _ in range(3)]
    make_job(other_user)
    make_job(user, resource_path=AUTHOR_RESOURCE)
    response = api.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert [job["id"] for job in body["results"]] == [job.pk for job in reversed(mine)]


@override_settings(DRF_IMPORT_EXPORT_JOBS={"API_PAGE_SIZE": 2})
def test_list_is_paginated(api, user):
    for _ in range(5):
        make_job(user)
    body = api.get(URL).json()
    assert body["count"] == 5
    assert len(body["results"]) == 2
    assert body["next"] == f"http://testserver{URL}?page=2"
    assert len(api.get(URL, {"page": 3}).json()["results"]) == 1
    assert len(api.get(URL, {"page_size": 5}).json()["results"]) == 5
    assert api.get(URL, {"page": 9}).status_code == 404


def test_list_filters_by_status(api, user):
    parsed = make_job(user, "parsed")
    failed = make_job(user, "input_error")
    make_job(user, "created")
    assert [j["id"] for j in api.get(URL, {"status": "parsed"}).json()["results"]] == [parsed.pk]
    ids = {j["id"] for j in api.get(f"{URL}?status=parsed&status=input_error").json()["results"]}
    assert ids == {parsed.pk, failed.pk}


def test_an_unknown_status_filter_is_a_400(api, user):
    response = api.get(URL, {"status": "exported"})
    assert response.status_code == 400
    assert "status" in response.json()


@override_settings(DRF_IMPORT_EXPORT_JOBS={"API_ERRORS_PREVIEW": 2})
def test_retrieve_shows_totals_and_the_first_errors_of_the_latest_run(api, user):
    errors = [{"row": i, "field": "price", "message": f"bad {i}"} for i in range(1, 6)]
    job = make_job(
        user,
        "input_error",
        parse_result={
            "totals": {"new": 5, "invalid": 5},
            "rows": 10,
            "error_count": 5,
            "errors": errors,
        },
        progress_current=5,
        progress_total=10,
        error_message="5 error(s) in the data",
    )
    body = api.get(f"{URL}{job.pk}/").json()
    assert body["totals"] == {
        "new": 5,
        "update": 0,
        "delete": 0,
        "skip": 0,
        "error": 0,
        "invalid": 5,
    }
    assert body["error_count"] == 5
    assert body["errors"] == errors[:2]
    assert body["error_message"] == "5 error(s) in the data"
    assert body["progress"] == {
        "state": "input_error",
        "info": {"current": 5, "total": 10},
        "percent": 50,
    }
    ImportJob.objects.filter(pk=job.pk).update(
        import_result={"totals": {"new": 7}, "error_count": 0, "errors": []}
    )
    body = api.get(f"{URL}{job.pk}/").json()
    assert (body["totals"]["new"], body["error_count"], body["errors"]) == (7, 0, [])


def test_traceback_is_shown_to_staff_only(api, user, staff_user):
    from rest_framework.test import APIClient

    mine = make_job(user, "parse_error", traceback="Traceback (most recent call last): ...")
    theirs = make_job(
        staff_user, "parse_error", traceback="Traceback (most recent call last): ..."
    )
    assert api.get(f"{URL}{mine.pk}/").json()["traceback"] == ""
    staff = APIClient()
    staff.force_authenticate(staff_user)
    assert staff.get(f"{URL}{theirs.pk}/").json()["traceback"].startswith("Traceback")
    assert staff.get(URL).json()["results"][0]["traceback"].startswith("Traceback")


# -- access ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", ""),
        ("post", "confirm/"),
        ("post", "cancel/"),
        ("get", "errors/"),
        ("delete", ""),
    ],
)
def test_another_users_job_is_a_404_for_every_route(api, other_user, method, suffix):
    job = make_job(other_user, "parsed")
    response = getattr(api, method)(f"{URL}{job.pk}/{suffix}")
    assert response.status_code == 404
    assert response.json() == {"detail": "No ImportJob matches the given query."}
    job.refresh_from_db()
    assert job.status == "parsed"


def test_a_job_of_another_resource_is_a_404(api, user):
    job = make_job(user, resource_path=AUTHOR_RESOURCE)
    assert api.get(f"{URL}{job.pk}/").status_code == 404
    assert api.get(f"/api/authors/imports/{job.pk}/").status_code == 200


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("get", ""), ("post", ""), ("get", "1/"), ("post", "1/confirm/"), ("delete", "1/")],
)
def test_anonymous_requests_are_a_401(anon, user, method, suffix):
    make_job(user, "parsed")
    response = getattr(anon, method)(f"{URL}{suffix}")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")
    assert ImportJob.objects.get().status == "parsed"


def test_anonymous_is_a_403_when_session_authentication_comes_first(anon, db):
    assert anon.get("/extra/session/imports/").status_code == 403


def test_a_permission_class_can_refuse_an_authenticated_user_with_403(api, db):
    response = api.get("/extra/staff/imports/")
    assert response.status_code == 403
    assert "detail" in response.json()


# -- confirm and cancel ---------------------------------------------------------------


def test_confirm_a_parsed_import(api, user, django_capture_on_commit_callbacks, sent_tasks):
    job = make_job(user, "parsed")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{URL}{job.pk}/confirm/")
    assert response.status_code == 202
    assert response.json()["status"] == "import_confirmed"
    job.refresh_from_db()
    assert job.status == "import_confirmed"
    assert job.confirmed_at is not None
    assert sent_tasks.names()[-1] == "drf_import_export_jobs.import_job_data"


@pytest.mark.parametrize("status", ["created", "input_error", "imported", "cancelled"])
def test_confirm_in_another_status_is_a_409_with_the_status(api, user, status):
    job = make_job(user, status)
    response = api.post(f"{URL}{job.pk}/confirm/")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "invalid_status"
    assert body["status"] == status
    assert f"its status is '{status}'" in body["detail"]
    job.refresh_from_db()
    assert job.status == status


def test_cancel(api, user, django_capture_on_commit_callbacks, sent_tasks):
    job = make_job(user, "created")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{URL}{job.pk}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["cancelled_at"] is not None
    assert sent_tasks.app.revoked == [job.parse_task_id]


@pytest.mark.parametrize("status", ["parsed", "imported", "cancelled", "parse_error"])
def test_cancel_a_finished_import_is_a_409(api, user, status):
    job = make_job(user, status)
    response = api.post(f"{URL}{job.pk}/cancel/")
    assert response.status_code == 409
    assert response.json()["status"] == status


# -- delete ---------------------------------------------------------------------------


def test_delete_removes_the_job_and_its_files(api, user, django_capture_on_commit_callbacks):
    job = make_job(user, "input_error")
    job.error_report.save("report.csv", ContentFile(b"row,field,message\n1,,bad\n"))
    files = stored_files()
    assert len(files) == 2
    with django_capture_on_commit_callbacks(execute=True):
        response = api.delete(f"{URL}{job.pk}/")
    assert response.status_code == 204
    assert not ImportJob.objects.filter(pk=job.pk).exists()
    assert stored_files() == []


@pytest.mark.parametrize("status", ["created", "parsing", "import_confirmed", "importing"])
def test_delete_an_active_job_is_a_409_and_keeps_it(
    api, user, status, django_capture_on_commit_callbacks
):
    job = make_job(user, status)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.delete(f"{URL}{job.pk}/")
    assert response.status_code == 409
    assert response.json()["status"] == status
    assert ImportJob.objects.filter(pk=job.pk, status=status).exists()
    assert len(stored_files()) == 1


def test_delete_checks_the_stored_status_not_the_loaded_one(api, user, monkeypatch):
    """A job that starts running after it was loaded is not deleted."""
    from drf_import_export_jobs import mixins

    job = make_job(user, "parsed")
    loaded = ImportJob.objects.get(pk=job.pk)
    ImportJob.objects.filter(pk=job.pk).update(status="importing")
    monkeypatch.setattr(mixins.ImportJobMixin, "get_object", lambda self: loaded, raising=False)
    response = api.delete(f"{URL}{job.pk}/")
    assert response.status_code == 409
    assert response.json()["status"] == "importing"
    assert ImportJob.objects.filter(pk=job.pk).exists()
    assert len(stored_files()) == 1


@override_settings(DRF_IMPORT_EXPORT_JOBS={"MAX_UPLOAD_SIZE": 1000})
def test_the_limit_holds_when_session_authentication_reads_the_body(user, db, monkeypatch):
    """The CSRF check of session authentication parses the body before the
    view does; the size limit is already in place then, so the handler that
    would keep the file never receives a byte of it."""
    from django.core.files.uploadhandler import MemoryFileUploadHandler
    from django.middleware.csrf import _get_new_csrf_string, _mask_cipher_secret
    from rest_framework.test import APIClient

    received: list[int] = []
    keep = MemoryFileUploadHandler.receive_data_chunk

    def record(self, raw_data, start):
        received.append(len(raw_data))
        return keep(self, raw_data, start)

    monkeypatch.setattr(MemoryFileUploadHandler, "receive_data_chunk", record)

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    secret = _get_new_csrf_string()
    client.cookies["csrftoken"] = secret
    headers = {"HTTP_X_CSRFTOKEN": _mask_cipher_secret(secret)}
    url = "/extra/session/imports/"
    big = {"file": SimpleUploadedFile("books.csv", b"x" * 5000)}
    response = client.post(url, big, format="multipart", **headers)
    assert response.status_code == 413
    assert received == []
    assert not ImportJob.objects.exists()
    assert stored_files() == []
    small = {"file": SimpleUploadedFile("books.csv", b"isbn\n1\n")}
    assert client.post(url, small, format="multipart", **headers).status_code == 201
    assert client.post(url, small, format="multipart").status_code == 403


@override_settings(DRF_IMPORT_EXPORT_JOBS={"IMPORT_JOB_MODEL": "testapp.TenantImportJob"})
def test_perform_create_can_fill_a_custom_job_models_fields(api, user):
    from tests.testapp.models import TenantImportJob

    url = "/extra/tenant/imports/"
    response = upload(api, b"isbn\n1\n", url=url, HTTP_X_TENANT="acme")
    assert response.status_code == 201, response.json()
    job = TenantImportJob.objects.get()
    assert (job.tenant.name, job.created_by) == ("acme", user)
    assert not ImportJob.objects.exists()
    assert api.get(f"{url}{job.pk}/", HTTP_X_TENANT="acme").status_code == 200
    assert api.get(f"{url}{job.pk}/", HTTP_X_TENANT="other").status_code == 404


def test_a_json_blob_part_over_64_kib_is_a_400(api, db):
    blob = SimpleUploadedFile(
        "blob", b'{"batch": "' + b"x" * 70_000 + b'"}', content_type="application/json"
    )
    response = upload(api, b"isbn\n1\n", url="/extra/kwargs-books/imports/", resource_kwargs=blob)
    assert response.status_code == 400
    assert response.json() == {"resource_kwargs": ["The JSON part is larger than 65536 bytes."]}
    assert stored_files() == []


@override_settings(DRF_IMPORT_EXPORT_JOBS={"API_PAGE_SIZE": 2, "API_MAX_PAGE_SIZE": 3})
def test_page_size_is_capped(api, user):
    for _ in range(5):
        make_job(user)
    assert len(api.get(URL, {"page_size": 50}).json()["results"]) == 3


def test_a_wider_queryset_with_the_creator_permission(api, user, other_user):
    """A viewset showing everyone's jobs lets others read them but not act."""
    theirs = make_job(other_user, "parsed")
    mine = make_job(user, "parsed")
    url = "/extra/team/imports/"
    assert {j["id"] for j in api.get(url).json()["results"]} == {theirs.pk, mine.pk}
    assert api.get(f"{url}{theirs.pk}/").status_code == 200
    for method, suffix in [("post", "confirm/"), ("post", "cancel/"), ("delete", "")]:
        response = getattr(api, method)(f"{url}{theirs.pk}/{suffix}")
        assert response.status_code == 403, (method, suffix)
        assert response.json() == {"detail": "Only the user who created this job may change it."}
    assert ImportJob.objects.get(pk=theirs.pk).status == "parsed"
    assert api.post(f"{url}{mine.pk}/confirm/").status_code == 202
