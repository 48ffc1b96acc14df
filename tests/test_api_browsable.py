"""The browsable API: the import create route offers a multipart form with a
file input, and that form's POST creates the job."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from drf_import_export_jobs.models import ImportJob
from tests.conftest import book_rows, csv_bytes

pytestmark = pytest.mark.usefixtures("empty_job_storage", "authors")

URL = "/api/books/imports/"


def post_forms(html: str) -> list[str]:
    """The browsable API's forms that POST to the list route."""
    forms = re.findall(r"<form[^>]*>.*?</form>", html, re.DOTALL)
    return [form for form in forms if form.startswith(f'<form action="{URL}" method="POST"')]


def test_the_import_list_page_offers_a_multipart_upload_form(api):
    response = api.get(URL, HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    forms = post_forms(response.content.decode())
    [form] = [form for form in forms if 'name="file"' in form]
    assert 'enctype="multipart/form-data"' in form.split(">")[0]
    assert re.search(r'<input name="file"\s+type="file"', form)
    assert 'name="file_format"' in form
    assert 'name="skip_parse_step"' in form


def test_the_upload_form_posts_a_job(api, user):
    file = SimpleUploadedFile("books.csv", csv_bytes(book_rows(2)), content_type="text/csv")
    response = api.post(
        URL,
        {"file": file, "file_format": "", "skip_invalid_rows": "on"},
        format="multipart",
        HTTP_ACCEPT="text/html",
    )
    assert response.status_code == 201, response.content[:500]
    job = ImportJob.objects.get()
    assert (job.created_by, job.file_format_name, job.skip_invalid_rows) == (user, "csv", True)


def test_the_create_route_still_takes_multipart_only(api):
    response = api.post(URL, {"file_format": "csv"}, format="json")
    assert response.status_code == 415
    assert not ImportJob.objects.exists()


def test_the_raw_data_form_offers_multipart(api):
    html = api.get(URL, HTTP_ACCEPT="text/html").content.decode()
    assert '<option value="multipart/form-data"' in html
