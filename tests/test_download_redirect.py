"""DOWNLOAD_REDIRECT: file downloads answered with a 302 to the storage's URL
when it has absolute ones, streamed otherwise (and a system check says so).

The S3 case (presigned URLs followed with a plain HTTP client) runs with a
real worker in tests/test_shared_storage.py.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.test import override_settings

from drf_import_export_jobs import checks
from drf_import_export_jobs.models import ExportJob, ImportJob
from tests.conftest import BOOK_RESOURCE

pytestmark = pytest.mark.usefixtures("empty_job_storage")

MEDIA = os.path.join(os.environ["TEST_RUN_DIR"], "media")
CDN = "https://files.example.com/media/"
EXPORTS = "/api/books/exports/"
IMPORTS = "/api/books/imports/"


def jobs_config(**values: Any) -> Any:
    return override_settings(DRF_IMPORT_EXPORT_JOBS={**settings.DRF_IMPORT_EXPORT_JOBS, **values})


def storage_with_urls(base_url: str | None) -> Any:
    """The test storage (same folder), its URLs under ``base_url``."""
    options: dict[str, Any] = {"location": MEDIA}
    if base_url is not None:
        options["base_url"] = base_url
    return override_settings(
        STORAGES={
            **settings.STORAGES,
            "default": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": options,
            },
        }
    )


def exported(user: Any, content: bytes = b"isbn\r\n1\r\n") -> ExportJob:
    job = ExportJob(resource_path=BOOK_RESOURCE, file_format_name="csv", created_by=user)
    job.save()
    job.data_file.save("export.csv", ContentFile(content), save=False)
    ExportJob.objects.filter(pk=job.pk).update(status="exported", data_file=job.data_file.name)
    job.refresh_from_db()
    return job


def with_report(user: Any, content: bytes = b"row,field,message\r\n2,price,bad\r\n") -> ImportJob:
    job = ImportJob(resource_path=BOOK_RESOURCE, file_format_name="csv", created_by=user)
    job.save()
    job.error_report.save("r.csv", ContentFile(content), save=False)
    ImportJob.objects.filter(pk=job.pk).update(
        status="input_error", error_report=job.error_report.name
    )
    job.refresh_from_db()
    return job


def test_with_absolute_storage_urls_both_file_routes_redirect(api, user):
    with storage_with_urls(CDN):
        export = exported(user)
        report = with_report(user)
        with jobs_config(DOWNLOAD_REDIRECT=True):
            download = api.get(f"{EXPORTS}{export.pk}/download/")
            errors_file = api.get(f"{IMPORTS}{report.pk}/errors/file/")
        assert download.status_code == 302
        assert download["Location"] == CDN + export.data_file.name
        assert download["Cache-Control"] == "private, no-store"
        assert errors_file.status_code == 302
        assert errors_file["Location"] == CDN + report.error_report.name
        # Off (the default): the same routes stream the files.
        download = api.get(f"{EXPORTS}{export.pk}/download/")
        assert download.status_code == 200
        assert b"".join(download.streaming_content) == b"isbn\r\n1\r\n"


def test_a_redirect_to_a_missing_file_is_a_404(api, user):
    with storage_with_urls(CDN):
        export = exported(user)
        export.data_file.storage.delete(export.data_file.name)
        with jobs_config(DOWNLOAD_REDIRECT=True):
            response = api.get(f"{EXPORTS}{export.pk}/download/")
    assert response.status_code == 404
    assert response.json()["detail"] == "The exported file is missing from storage."


def test_a_storage_without_absolute_urls_is_streamed_with_the_setting_on(api, user):
    """FileSystemStorage's URLs are MEDIA_URL paths, which need the project to
    serve them: downloads are streamed as if the setting were off."""
    export = exported(user)
    report = with_report(user)
    with jobs_config(DOWNLOAD_REDIRECT=True):
        download = api.get(f"{EXPORTS}{export.pk}/download/")
        errors_file = api.get(f"{IMPORTS}{report.pk}/errors/file/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"isbn\r\n1\r\n"
    assert download["Content-Type"] == "application/octet-stream"
    assert errors_file.status_code == 200
    assert b"".join(errors_file.streaming_content).endswith(b"2,price,bad\r\n")


def test_the_admins_job_file_links_follow_the_setting(client, user):
    user.is_staff = True
    user.is_superuser = True
    user.save()
    client.force_login(user)
    link = "/admin/drf_import_export_jobs/exportjob/{}/file/data_file/"
    with storage_with_urls(CDN):
        export = exported(user)
        streamed = client.get(link.format(export.pk))
        with jobs_config(DOWNLOAD_REDIRECT=True):
            redirected = client.get(link.format(export.pk))
    assert streamed.status_code == 200
    assert b"".join(streamed.streaming_content) == b"isbn\r\n1\r\n"
    assert redirected.status_code == 302
    assert redirected["Location"] == CDN + export.data_file.name
    # Without absolute URLs the admin streams too.
    with jobs_config(DOWNLOAD_REDIRECT=True):
        assert client.get(link.format(export.pk)).status_code == 200


def test_the_admin_export_pages_download_follows_the_setting(client, db):
    from tests.test_admin_mixins import BOOKS, staff

    clerk = staff("add_book", "change_book", "view_book")
    client.force_login(clerk)
    with storage_with_urls(CDN):
        export = exported(clerk)
        page = f"{BOOKS}export/{export.pk}/download/"
        assert client.get(page).status_code == 200
        with jobs_config(DOWNLOAD_REDIRECT=True):
            redirected = client.get(page)
    assert redirected.status_code == 302
    assert redirected["Location"] == CDN + export.data_file.name


def test_the_check_warns_when_the_storage_gives_no_absolute_urls():
    with jobs_config(DOWNLOAD_REDIRECT=True):
        (warning,) = checks.check_download_redirect()
    assert warning.id == "drf_import_export_jobs.W060"
    assert "DOWNLOAD_REDIRECT" in warning.msg and "'default'" in warning.msg
    assert "streamed" in warning.msg
    with storage_with_urls(CDN), jobs_config(DOWNLOAD_REDIRECT=True):
        assert checks.check_download_redirect() == []
    assert checks.check_download_redirect() == []  # off: nothing to say


def test_the_check_wants_a_bool():
    with jobs_config(DOWNLOAD_REDIRECT="yes"):
        (error,) = checks.check_download_redirect()
    assert error.id == "drf_import_export_jobs.E060"
    assert "DOWNLOAD_REDIRECT" in error.msg


def test_the_schema_documents_the_stream_and_the_redirect():
    from tests.test_api_schema import generate

    paths = generate()["paths"]
    for path in ("/api/books/exports/{id}/download/", "/api/books/imports/{id}/errors/file/"):
        responses = paths[path]["get"]["responses"]
        assert responses["200"]["content"]["application/octet-stream"]["schema"] == {
            "type": "string",
            "format": "binary",
        }
        assert "content" not in responses["302"]
        location = responses["302"]["headers"]["Location"]
        assert location["schema"] == {"type": "string", "format": "uri"}
        assert "DOWNLOAD_REDIRECT" in responses["302"]["description"]
