"""REST API: a viewset whose ``get_job_model()`` returns another concrete job
model keeps its jobs there, on every route, while the settings name the
default models."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from drf_import_export_jobs import tasks
from drf_import_export_jobs.models import ExportJob, ImportJob
from tests.conftest import BOOK_RESOURCE, book_rows, csv_bytes
from tests.testapp.models import ArchiveExportJob, ArchiveImportJob, Book

pytestmark = pytest.mark.usefixtures("empty_job_storage", "authors")

IMPORTS = "/extra/archive/imports/"
EXPORTS = "/extra/archive/exports/"


def upload(api: Any, data: bytes) -> Any:
    file = SimpleUploadedFile("books.csv", data, content_type="text/csv")
    return api.post(IMPORTS, {"file": file}, format="multipart")


def test_an_import_is_created_listed_and_read_in_the_viewsets_model(
    api, user, sent_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(api, csv_bytes(book_rows(3)))
    assert response.status_code == 201, response.content
    body = response.json()
    assert not ImportJob.objects.exists()
    job = ArchiveImportJob.objects.get()
    assert (body["id"], job.created_by, job.resource_path) == (job.pk, user, BOOK_RESOURCE)
    assert response["Location"] == body["url"]
    assert sent_tasks[0][1] == ["testapp.ArchiveImportJob", job.pk]

    detail = api.get(body["url"])
    assert detail.status_code == 200
    assert detail.json()["id"] == job.pk
    listed = api.get(IMPORTS).json()
    assert [item["id"] for item in listed["results"]] == [job.pk]
    # the default model's routes do not see it
    assert api.get(f"/api/books/imports/{job.pk}/").status_code == 404
    assert api.get("/api/books/imports/").json()["count"] == 0


def test_an_import_is_parsed_confirmed_and_imported_in_the_viewsets_model(api, user):
    body = upload(api, csv_bytes(book_rows(3))).json()
    job = ArchiveImportJob.objects.get(pk=body["id"])
    tasks.parse_import_job.apply(args=[job._meta.label, job.pk], task_id=job.parse_task_id)
    assert api.get(body["url"]).json()["status"] == "parsed"

    confirmed = api.post(f"{body['url']}confirm/")
    assert confirmed.status_code == 202, confirmed.content
    assert confirmed.json()["status"] == "import_confirmed"
    job.refresh_from_db()
    tasks.import_job_data.apply(args=[job._meta.label, job.pk], task_id=job.import_task_id)
    assert api.get(body["url"]).json()["status"] == "imported"
    assert Book.objects.count() == 3
    assert api.post(f"{body['url']}confirm/").status_code == 409


def test_an_import_is_cancelled_and_deleted_in_the_viewsets_model(api, user):
    body = upload(api, csv_bytes(book_rows(3))).json()
    cancelled = api.post(f"{body['url']}cancel/")
    assert cancelled.status_code == 200, cancelled.content
    assert cancelled.json()["status"] == "cancelled"
    assert ArchiveImportJob.objects.get().status == "cancelled"
    assert api.delete(body["url"]).status_code == 204
    assert not ArchiveImportJob.objects.exists()


def test_an_export_is_created_listed_read_and_cancelled_in_the_viewsets_model(
    api, user, sent_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(EXPORTS, {"file_format": "csv", "fields": ["isbn"]}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert not ExportJob.objects.exists()
    job = ArchiveExportJob.objects.get()
    assert (body["id"], job.created_by, job.fields) == (job.pk, user, ["isbn"])
    assert sent_tasks[0][1] == ["testapp.ArchiveExportJob", job.pk]
    assert api.get(body["url"]).json()["id"] == job.pk
    assert [item["id"] for item in api.get(EXPORTS).json()["results"]] == [job.pk]
    assert api.get(f"/api/books/exports/{job.pk}/").status_code == 404

    cancelled = api.post(f"{body['url']}cancel/")
    assert cancelled.status_code == 200, cancelled.content
    assert ArchiveExportJob.objects.get().status == "cancelled"
    assert api.post(f"{body['url']}cancel/").status_code == 409


def test_an_export_runs_and_downloads_from_the_viewsets_model(api, user):
    body = api.post(EXPORTS, {"file_format": "csv", "fields": ["isbn"]}, format="json").json()
    job = ArchiveExportJob.objects.get(pk=body["id"])
    tasks.export_job_data.apply(args=[job._meta.label, job.pk], task_id=job.export_task_id)
    assert api.get(body["url"]).json()["status"] == "exported"
    download = api.get(f"{body['url']}download/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content).startswith(b"isbn")


def test_a_job_of_the_default_model_is_a_404_on_the_other_models_routes(api, user):
    job = ImportJob(resource_path=BOOK_RESOURCE, file_format_name="csv", created_by=user)
    job.data_file.save("upload.csv", ContentFile(b"isbn\n"), save=False)
    job.save()
    assert api.get(f"{IMPORTS}{job.pk}/").status_code == 404
    assert api.post(f"{IMPORTS}{job.pk}/cancel/").status_code == 404
