"""Import and export from a model admin's changelist (the mixins): the pages
create the same jobs as the API, for the user, with the admin's permissions."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from drf_import_export_jobs.dispatch import EXPORT_TASK, IMPORT_TASK, PARSE_TASK
from drf_import_export_jobs.models import ExportJob, ImportJob
from drf_import_export_jobs.querysets import check_export_options, export_queryset
from tests.conftest import BOOK_RESOURCE, book_rows, csv_bytes
from tests.testapp.models import Author, Book
from tests.testapp.resources import BookResource

pytestmark = pytest.mark.usefixtures("empty_job_storage")

BOOKS = "/admin/testapp/book/"


def staff(*codenames: str, name: str = "clerk") -> Any:
    user = get_user_model().objects.create_user(name, password="pw", is_staff=True)
    for codename in codenames:
        user.user_permissions.add(
            Permission.objects.get(codename=codename, content_type__app_label="testapp")
        )
    return user


@pytest.fixture
def clerk(client: Any, db: Any) -> Any:
    """A staff user who may add, change and view books."""
    user = staff("add_book", "change_book", "view_book")
    client.force_login(user)
    return user


def upload(client: Any, data: bytes, name: str = "books.csv", **fields: Any) -> Any:
    return client.post(f"{BOOKS}import/", {"file": SimpleUploadedFile(name, data), **fields})


def books(count: int) -> list[Book]:
    author = Author.objects.create(name="Ann")
    return [
        Book.objects.create(
            isbn=str(9780000000000 + i), title=f"T{i}", author=author, price=i, in_stock=i % 2 == 0
        )
        for i in range(count)
    ]


# -- changelist ---------------------------------------------------------------------


def test_the_changelist_links_to_import_and_export(client, clerk):
    books(1)
    html = client.get(f"{BOOKS}?in_stock__exact=1").content.decode()
    assert f'href="{BOOKS}import/"' in html
    assert f'href="{BOOKS}export/?in_stock__exact=1"' in html
    assert 'value="export_selected"' in html


def test_a_viewer_sees_export_but_not_import(client, db):
    client.force_login(staff("view_book"))
    html = client.get(BOOKS).content.decode()
    assert "/import/" not in html
    assert f'href="{BOOKS}export/' in html
    assert client.get(f"{BOOKS}import/").status_code == 403


@pytest.mark.parametrize("codenames", [("add_book", "view_book"), ("change_book",)])
def test_import_needs_add_and_change(client, db, codenames):
    client.force_login(staff(*codenames))
    assert client.get(f"{BOOKS}import/").status_code == 403
    response = upload(client, csv_bytes(book_rows(1)))
    assert response.status_code == 403
    assert not ImportJob.objects.exists()


def test_export_needs_view(client, db):
    client.force_login(staff("add_book"))
    assert client.get(f"{BOOKS}export/").status_code == 403
    assert client.post(f"{BOOKS}export/", {"file_format": "csv"}).status_code == 403
    assert not ExportJob.objects.exists()


def test_anonymous_users_are_sent_to_the_login(client, db):
    for url in (f"{BOOKS}import/", f"{BOOKS}export/", f"{BOOKS}import/1/progress/"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/login/" in response["Location"]


# -- import ---------------------------------------------------------------------------


def test_an_upload_creates_an_import_job_and_sends_the_parse_task(
    client, clerk, sent_tasks, django_capture_on_commit_callbacks
):
    assert client.get(f"{BOOKS}import/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, csv_bytes(book_rows(2)), name="../My Books.csv")
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{BOOKS}import/{job.pk}/"
    assert job.created_by == clerk
    assert job.resource_path == BOOK_RESOURCE
    assert job.file_format_name == "csv"
    assert job.original_filename == "My Books.csv"
    assert sent_tasks.names() == [PARSE_TASK]


def test_the_format_can_be_chosen(client, clerk):
    response = upload(client, csv_bytes(book_rows(1)), name="books.txt", file_format="csv")
    assert response.status_code == 302
    assert ImportJob.objects.get().file_format_name == "csv"


@pytest.mark.parametrize(
    ("name", "data", "fields", "message"),
    [
        ("books.dat", b"isbn\n1\n", {}, "Cannot tell the format from the file name"),
        ("books.csv", b"isbn\n1\n", {"file_format": "nope"}, "Select a valid choice"),
        ("books.json", b"[]", {}, "Files of format &#x27;json&#x27; are not accepted"),
        ("books.csv", b"", {}, "The submitted file is empty."),
    ],
)
def test_bad_uploads_are_a_400_with_the_reason(client, clerk, name, data, fields, message):
    from django.test import override_settings

    settings = {"IMPORT_FORMATS": ["csv", "xlsx"]}
    with override_settings(
        DRF_IMPORT_EXPORT_JOBS={"CELERY_APP": "tests.celery_app.app", **settings}
    ):
        response = upload(client, data, name=name, **fields)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_file_over_the_size_limit_is_a_400(client, clerk, settings):
    settings.DRF_IMPORT_EXPORT_JOBS = {**settings.DRF_IMPORT_EXPORT_JOBS, "MAX_UPLOAD_SIZE": 10}
    response = upload(client, csv_bytes(book_rows(3)))
    assert response.status_code == 400
    assert "MAX_UPLOAD_SIZE" in response.content.decode()


def parsed_job(user: Any, status: str = "parsed", errors: int = 0) -> ImportJob:
    job = ImportJob(resource_path=BOOK_RESOURCE, file_format_name="csv", created_by=user)
    job.data_file.save("upload.csv", ContentFile(csv_bytes(book_rows(2))), save=False)
    lines = "".join(f"{n},price,Enter a number {n}.\r\n" for n in range(1, errors + 1))
    if errors:
        job.error_report.save(
            "r.csv", ContentFile(b"row,field,message\r\n" + lines.encode()), save=False
        )
    job.save()
    totals = {"new": 2, "update": 0, "skip": 0, "delete": 0, "error": 0, "invalid": errors}
    ImportJob.objects.filter(pk=job.pk).update(
        status=status,
        parse_result={"totals": totals, "error_count": errors},
        progress_current=2,
        progress_total=2,
    )
    job.refresh_from_db()
    return job


def test_the_job_page_shows_the_report_with_errors_page_by_page(client, clerk):
    job = parsed_job(clerk, status="input_error", errors=30)
    html = client.get(f"{BOOKS}import/{job.pk}/").content.decode()
    assert 'class="diej-total-new">2<' in html
    assert 'class="diej-total-invalid">30<' in html
    assert "30 row errors" in html
    assert "Enter a number 25." in html and "Enter a number 26." not in html
    assert "?page=2" in html
    assert "Confirm import" not in html
    page2 = client.get(f"{BOOKS}import/{job.pk}/?page=2").content.decode()
    assert "Enter a number 26." in page2 and "Enter a number 1." not in page2
    assert client.get(f"{BOOKS}import/{job.pk}/?page=x").status_code == 200
    response = client.get(f"{BOOKS}import/{job.pk}/errors/")
    assert response.status_code == 200
    assert b"Enter a number 30." in b"".join(response.streaming_content)


def test_a_parsed_job_is_confirmed(client, clerk, sent_tasks, django_capture_on_commit_callbacks):
    job = parsed_job(clerk)
    html = client.get(f"{BOOKS}import/{job.pk}/").content.decode()
    assert "Confirm import" in html
    assert client.get(f"{BOOKS}import/{job.pk}/confirm/").status_code == 405
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{BOOKS}import/{job.pk}/confirm/")
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == "import_confirmed"
    assert sent_tasks.names() == [IMPORT_TASK]


def test_confirming_twice_says_why_it_cannot(client, clerk):
    job = parsed_job(clerk, status="imported")
    response = client.post(f"{BOOKS}import/{job.pk}/confirm/", follow=True)
    assert response.status_code == 200
    assert "cannot be changed that way" in response.content.decode()


def test_a_job_is_cancelled(client, clerk):
    job = parsed_job(clerk, status="parsing")
    response = client.post(f"{BOOKS}import/{job.pk}/cancel/", follow=True)
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert "nothing was imported" in response.content.decode()


def test_the_progress_is_json(client, clerk):
    job = parsed_job(clerk, status="parsing")
    ImportJob.objects.filter(pk=job.pk).update(progress_current=5, progress_total=20)
    response = client.get(f"{BOOKS}import/{job.pk}/progress/")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    data = json.loads(response.content)
    assert data["status"] == "parsing"
    assert (data["current"], data["total"], data["percent"], data["active"]) == (5, 20, 25, True)
    ImportJob.objects.filter(pk=job.pk).update(status="parsed")
    assert json.loads(client.get(f"{BOOKS}import/{job.pk}/progress/").content)["active"] is False


def test_other_users_jobs_are_404(client, clerk):
    other = staff("add_book", "change_book", "view_book", name="other")
    job = parsed_job(other, errors=1)
    for suffix in ("", "progress/", "errors/"):
        assert client.get(f"{BOOKS}import/{job.pk}/{suffix}").status_code == 404
    for suffix in ("confirm/", "cancel/"):
        assert client.post(f"{BOOKS}import/{job.pk}/{suffix}").status_code == 404
    assert client.get(f"{BOOKS}import/abc/").status_code == 404
    job.refresh_from_db()
    assert job.status == "parsed"


def test_the_job_queryset_hook_can_widen_what_a_user_sees(client, clerk, monkeypatch):
    from tests.testapp.admin import BookAdmin

    other = staff(name="other")
    job = parsed_job(other)
    monkeypatch.setattr(
        BookAdmin, "get_import_job_queryset", lambda self, request: ImportJob.objects.all()
    )
    assert client.get(f"{BOOKS}import/{job.pk}/").status_code == 200


# -- export ---------------------------------------------------------------------------


def test_export_from_the_changelist_keeps_its_filters(
    client, clerk, sent_tasks, django_capture_on_commit_callbacks
):
    rows = books(4)
    page = client.get(f"{BOOKS}export/?in_stock__exact=1")
    assert page.status_code == 200
    assert 'action="/admin/testapp/book/export/?in_stock__exact=1"' in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"{BOOKS}export/?in_stock__exact=1",
            {"file_format": "csv", "export_fields": ["isbn", "title"]},
        )
    job = ExportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{BOOKS}export/{job.pk}/"
    assert job.created_by == clerk
    assert job.filters == {"pk__in": [b.pk for b in rows if b.in_stock]}
    assert job.fields == ["isbn", "title"]
    assert sent_tasks.names() == [EXPORT_TASK]


def test_export_with_a_search(client, clerk):
    rows = books(3)
    client.post(f"{BOOKS}export/?q=T1", {"file_format": "csv", "export_fields": ["isbn"]})
    assert ExportJob.objects.get().filters == {"pk__in": [rows[1].pk]}


def test_export_of_an_unfiltered_list_exports_everything(client, clerk):
    books(2)
    client.post(f"{BOOKS}export/?o=1", {"file_format": "xlsx", "export_fields": ["isbn"]})
    job = ExportJob.objects.get()
    assert (job.filters, job.file_format_name) == ({}, "xlsx")


def test_bad_changelist_filters_are_a_400(client, clerk):
    response = client.post(
        f"{BOOKS}export/?price__nope=1", {"file_format": "csv", "export_fields": ["isbn"]}
    )
    assert response.status_code == 400
    assert not ExportJob.objects.exists()


def test_bad_export_choices_are_a_400(client, clerk):
    response = client.post(f"{BOOKS}export/", {"file_format": "exe", "export_fields": ["nope"]})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Select a valid choice. exe" in html
    assert "Select a valid choice. nope" in html


def test_export_selected_shows_the_form_for_those_rows(client, clerk):
    rows = books(3)
    keys = [str(rows[0].pk), str(rows[2].pk)]
    response = client.post(BOOKS, {"action": "export_selected", "_selected_action": keys})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Export the 2 selected rows." in html
    client.post(
        f"{BOOKS}export/",
        {"_selected_action": [*keys, "999999"], "file_format": "csv", "export_fields": ["isbn"]},
    )
    assert ExportJob.objects.get().filters == {"pk__in": [rows[0].pk, rows[2].pk]}


def test_export_selected_across_pages_exports_the_changelist(client, clerk):
    rows = books(4)
    response = client.post(
        f"{BOOKS}?in_stock__exact=1",
        {"action": "export_selected", "_selected_action": [rows[0].pk], "select_across": "1"},
    )
    html = response.content.decode()
    assert 'name="_selected_action"' not in html
    assert 'action="/admin/testapp/book/export/?in_stock__exact=1"' in html
    client.post(
        f"{BOOKS}export/?in_stock__exact=1", {"file_format": "csv", "export_fields": ["isbn"]}
    )
    assert ExportJob.objects.get().filters == {"pk__in": [rows[0].pk, rows[2].pk]}


def test_too_many_selected_rows_are_a_400(client, clerk, monkeypatch):
    from tests.testapp.admin import BookAdmin

    monkeypatch.setattr(BookAdmin, "export_max_selected_rows", 2)
    rows = books(3)
    response = client.post(
        f"{BOOKS}export/",
        {
            "_selected_action": [r.pk for r in rows],
            "file_format": "csv",
            "export_fields": ["isbn"],
        },
    )
    assert response.status_code == 400
    assert "export_max_selected_rows" in response.content.decode()


def exported_job(user: Any, status: str = "exported") -> ExportJob:
    job = ExportJob(resource_path=BOOK_RESOURCE, file_format_name="csv", created_by=user)
    job.save()
    job.data_file.save("export.csv", ContentFile(b"isbn\n1\n"), save=False)
    ExportJob.objects.filter(pk=job.pk).update(status=status, data_file=job.data_file.name)
    job.refresh_from_db()
    return job


def test_the_export_page_offers_the_download(client, clerk):
    job = exported_job(clerk)
    html = client.get(f"{BOOKS}export/{job.pk}/").content.decode()
    assert f'href="{BOOKS}export/{job.pk}/download/"' in html
    response = client.get(f"{BOOKS}export/{job.pk}/download/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"isbn\n1\n"
    assert job.export_filename in response["Content-Disposition"]


def test_a_running_export_is_not_downloadable_yet_and_can_be_cancelled(client, clerk):
    job = exported_job(clerk, status="exporting")
    assert "download/" not in client.get(f"{BOOKS}export/{job.pk}/").content.decode()
    response = client.get(f"{BOOKS}export/{job.pk}/download/")
    assert response.status_code == 409
    assert "once exported" in response.content.decode()
    assert json.loads(client.get(f"{BOOKS}export/{job.pk}/progress/").content)["active"]
    client.post(f"{BOOKS}export/{job.pk}/cancel/")
    job.refresh_from_db()
    assert job.status == "cancelled"
    response = client.post(f"{BOOKS}export/{job.pk}/cancel/", follow=True)
    assert "can no longer be cancelled" in response.content.decode()


def test_other_users_exports_are_404(client, clerk):
    job = exported_job(staff("view_book", name="other"))
    for suffix in ("", "progress/", "download/"):
        assert client.get(f"{BOOKS}export/{job.pk}/{suffix}").status_code == 404
    assert client.post(f"{BOOKS}export/{job.pk}/cancel/").status_code == 404


# -- narrowing by primary key ------------------------------------------------------


def test_exports_are_narrowed_to_the_listed_primary_keys(db):
    rows = books(3)
    resource = BookResource()
    filters = {"pk__in": [rows[0].pk, rows[2].pk], "in_stock": True}
    assert check_export_options(resource, filters, [], []) == {}
    assert list(export_queryset(resource, filters, [])) == [rows[0], rows[2]]
    assert check_export_options(resource, {"pk__in": "1,2"}, [], []) == {
        "filters": ["pk__in: Expected a list of primary keys."]
    }
