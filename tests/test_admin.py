"""The job admin: view-only pages (no save button) with progress, totals and
errors, whose file links serve the job's files through the admin to the user
who created the job, and from which jobs are cancelled."""

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
def admin_user(db: Any) -> Any:
    return get_user_model().objects.create_superuser("admin", "a@example.com", "pw")


@pytest.fixture
def admin_client(client: Any, admin_user: Any) -> Any:
    client.force_login(admin_user)
    return client


def owner() -> Any:
    """The user who created the jobs: the logged-in superuser, else a new one."""
    return get_user_model().objects.filter(username="admin").first()


def import_job() -> ImportJob:
    job = ImportJob(resource_path=BOOK_RESOURCE, file_format_name="csv", created_by=owner())
    job.data_file.save("upload.csv", ContentFile(b"isbn\n1\n"), save=False)
    job.error_report.save("report.csv", ContentFile(b"row,field,message\n1,,bad\n"), save=False)
    job.save()
    return job


def export_job(user: Any = None) -> ExportJob:
    job = ExportJob(
        resource_path=BOOK_RESOURCE, file_format_name="csv", created_by=user or owner()
    )
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
    user = get_user_model().objects.create_user("staff", password="pw", is_staff=True)
    job = export_job(user)
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


def test_other_users_files_are_refused_even_to_a_superuser(admin_client):
    bob = get_user_model().objects.create_user("bob")
    job = export_job(bob)
    assert admin_client.get(f"{EXPORTS}{job.pk}/file/data_file/").status_code == 403


def test_a_hook_can_let_others_see_the_files(admin_client, monkeypatch):
    from drf_import_export_jobs.admin import JobAdmin

    job = export_job(get_user_model().objects.create_user("bob"))
    monkeypatch.setattr(
        JobAdmin, "has_job_file_permission", lambda self, request, job: request.user.is_superuser
    )
    assert admin_client.get(f"{EXPORTS}{job.pk}/file/data_file/").status_code == 200


def test_the_list_shows_progress_and_filters_by_status_resource_and_user(admin_client):
    job = import_job()
    ImportJob.objects.filter(pk=job.pk).update(progress_current=5, progress_total=20)
    html = admin_client.get(IMPORTS).content.decode()
    assert '<progress max="100" value="25"></progress> 5 / 20' in html
    for parameter in (
        "?status__exact=created",
        f"?resource_path={BOOK_RESOURCE}",
        f"?created_by__id__exact={job.created_by_id}",
    ):
        assert parameter.replace("?", "") in html.replace("&amp;", "&")
        assert admin_client.get(IMPORTS + parameter).status_code == 200
    assert (
        admin_client.get(f"{IMPORTS}?created_by__id__exact=999").content.decode().count("/change/")
        == 0
    )


def test_the_page_shows_totals_and_row_errors(admin_client):
    job = import_job()
    totals = {"new": 3, "update": 1, "skip": 0, "delete": 0, "error": 0, "invalid": 2}
    errors = [{"row": 4, "field": "price", "message": "Enter a number."}]
    ImportJob.objects.filter(pk=job.pk).update(
        status="input_error", parse_result={"totals": totals, "errors": errors, "error_count": 2}
    )
    html = admin_client.get(f"{IMPORTS}{job.pk}/change/").content.decode()
    assert "new: 3, update: 1, delete: 0, skip: 0, error: 0, invalid: 2" in html
    assert "<li>row 4: price Enter a number.</li>" in html
    assert "2 errors in all" in html


def test_a_job_is_cancelled_from_its_page(admin_client):
    job = import_job()
    html = admin_client.get(f"{IMPORTS}{job.pk}/change/").content.decode()
    assert f'action="{IMPORTS}{job.pk}/cancel/"' in html
    assert admin_client.get(f"{IMPORTS}{job.pk}/cancel/").status_code == 405
    response = admin_client.post(f"{IMPORTS}{job.pk}/cancel/", follow=True)
    assert "The job was cancelled." in response.content.decode()
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert "/cancel/" not in admin_client.get(f"{IMPORTS}{job.pk}/change/").content.decode()
    response = admin_client.post(f"{IMPORTS}{job.pk}/cancel/", follow=True)
    assert "can no longer be cancelled" in response.content.decode()


def test_other_users_jobs_cannot_be_cancelled(admin_client):
    job = export_job(get_user_model().objects.create_user("bob"))
    assert "/cancel/" not in admin_client.get(f"{EXPORTS}{job.pk}/change/").content.decode()
    assert admin_client.post(f"{EXPORTS}{job.pk}/cancel/").status_code == 403
    job.refresh_from_db()
    assert job.status == "created"


def test_the_cancel_action_cancels_the_users_own_jobs(admin_client):
    mine = export_job()
    theirs = export_job(get_user_model().objects.create_user("bob"))
    response = admin_client.post(
        EXPORTS,
        {"action": "cancel_selected", "_selected_action": [mine.pk, theirs.pk]},
        follow=True,
    )
    assert "1 job(s) cancelled, 1 left as they were." in response.content.decode()
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.status, theirs.status) == ("cancelled", "created")
