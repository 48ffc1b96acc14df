"""The job admin: view-only pages (no save button) whose file links serve the
job's files through the admin."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile

from drf_import_export_jobs.models import ExportJob, ImportJob
from tests.conftest import BOOK_RESOURCE

pytestmark = pytest.mark.usefixtures("empty_job_storage")

IMPORTS = "/admin/drf_import_export_jobs/importjob/"
EXPORTS = "/admin/drf_import_export_jobs/exportjob/"


@pytest.fixture
def admin_client(client: Any, db: Any) -> Any:
    user = get_user_model().objects.create_superuser("admin", "a@example.com", "pw")
    client.force_login(user)
    return client


def import_job() -> ImportJob:
    job = ImportJob(resource_path=BOOK_RESOURCE, file_format_name="csv")
    job.data_file.save("upload.csv", ContentFile(b"isbn\n1\n"), save=False)
    job.error_report.save("report.csv", ContentFile(b"row,field,message\n1,,bad\n"), save=False)
    job.save()
    return job


def export_job() -> ExportJob:
    job = ExportJob(resource_path=BOOK_RESOURCE, file_format_name="csv")
    job.data_file.save("export.csv", ContentFile(b"isbn\n9780000000001\n"), save=False)
    job.save()
    return job


def links(html: str) -> list[str]:
    return re.findall(r'<a href="([^"]+/file/[^"]+)"', html)


def test_the_change_page_has_no_save_button_and_refuses_a_post(admin_client):
    job = import_job()
    page = admin_client.get(f"{IMPORTS}{job.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    for button in ('name="_save"', 'name="_continue"', 'name="_addanother"'):
        assert button not in html
    assert job.status in html
    assert (
        admin_client.post(f"{IMPORTS}{job.pk}/change/", {"status": "imported"}).status_code == 403
    )
    job.refresh_from_db()
    assert job.status == "created"


def test_the_list_is_still_there_and_jobs_can_still_be_deleted(admin_client):
    job = import_job()
    assert admin_client.get(IMPORTS).status_code == 200
    assert admin_client.get(f"{IMPORTS}{job.pk}/delete/").status_code == 200


def test_import_file_links_serve_the_files(admin_client):
    job = import_job()
    html = admin_client.get(f"{IMPORTS}{job.pk}/change/").content.decode()
    assert "/media/" not in html
    data, report = links(html)
    assert data == f"{IMPORTS}{job.pk}/file/data_file/"
    assert report == f"{IMPORTS}{job.pk}/file/error_report/"
    response = admin_client.get(data)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"isbn\n1\n"
    assert response["Content-Disposition"].startswith("attachment")
    response = admin_client.get(report)
    assert b"".join(response.streaming_content) == b"row,field,message\n1,,bad\n"


def test_export_file_links_serve_the_file(admin_client):
    job = export_job()
    html = admin_client.get(f"{EXPORTS}{job.pk}/change/").content.decode()
    [data] = links(html)
    response = admin_client.get(data)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"isbn\n9780000000001\n"


def test_missing_files_and_unknown_fields_are_404s(admin_client):
    job = export_job()
    assert admin_client.get(f"{EXPORTS}{job.pk}/file/error_report/").status_code == 404
    assert admin_client.get(f"{EXPORTS}{job.pk}/file/resource_path/").status_code == 404
    assert admin_client.get(f"{EXPORTS}999999/file/data_file/").status_code == 404
    job.data_file.storage.delete(job.data_file.name)
    assert admin_client.get(f"{EXPORTS}{job.pk}/file/data_file/").status_code == 404


def test_files_need_the_view_permission(client, db):
    job = export_job()
    user = get_user_model().objects.create_user("staff", password="pw", is_staff=True)
    client.force_login(user)
    assert client.get(f"{EXPORTS}{job.pk}/file/data_file/").status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="view_exportjob"))
    response = client.get(f"{EXPORTS}{job.pk}/file/data_file/")
    assert response.status_code == 200


def test_anonymous_users_are_sent_to_the_login(client, db):
    job = export_job()
    response = client.get(f"{EXPORTS}{job.pk}/file/data_file/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]
