"""The REST API end to end with a real Celery worker process on a real broker."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.conftest import book_rows, csv_bytes, set_cell
from tests.testapp.models import Author, Book

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def poll(api: Any, url: str, statuses: set[str], timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = api.get(url).json()
        if body["status"] in statuses:
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.1)


def test_upload_parse_confirm_import_through_the_api(celery_worker, api):
    Author.objects.create(name="Ann")
    response = api.post(
        "/api/books/imports/",
        {"file": SimpleUploadedFile("books.csv", csv_bytes(book_rows(120)))},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    url = response.json()["url"]
    parsed = poll(api, url, {"parsed", "input_error", "parse_error"})
    assert parsed["status"] == "parsed", parsed
    assert parsed["totals"]["new"] == 120
    assert parsed["progress"]["percent"] == 100
    assert Book.objects.count() == 0
    confirm = api.post(f"{url}confirm/")
    assert confirm.status_code == 202
    imported = poll(api, url, {"imported", "import_error"})
    assert imported["status"] == "imported", imported
    assert imported["totals"]["new"] == 120
    assert Book.objects.count() == 120
    assert api.post(f"{url}confirm/").json()["status"] == "imported"


def test_row_errors_through_the_api(celery_worker, api):
    Author.objects.create(name="Ann")
    lines = book_rows(4)
    lines[1] = set_cell(lines[1], "price", "cheap")
    response = api.post(
        "/api/books/imports/",
        {"file": SimpleUploadedFile("books.csv", csv_bytes(lines))},
        format="multipart",
    )
    url = response.json()["url"]
    body = poll(api, url, {"parsed", "input_error", "parse_error"})
    assert body["status"] == "input_error", body
    assert body["errors"][0]["row"] == 2
    errors = api.get(body["errors_url"]).json()
    assert errors["count"] == body["error_count"] >= 1
    assert errors["results"][0]["row"] == 2
    csv_report = api.get(body["errors_url"] + "file/")
    assert b"".join(csv_report.streaming_content).startswith(b"row,field,message")


def test_export_and_download_through_the_api(celery_worker, api):
    ann = Author.objects.create(name="Ann")
    Book.objects.bulk_create(
        Book(isbn=str(i), title=f"T{i}", author=ann, price=i, in_stock=i % 2 == 0)
        for i in range(1, 41)
    )
    response = api.post(
        "/api/books/exports/",
        {
            "file_format": "csv",
            "fields": ["isbn", "price"],
            "filters": {"in_stock": True},
            "ordering": ["-price"],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = poll(api, response.json()["url"], {"exported", "export_error"})
    assert body["status"] == "exported", body
    download = api.get(body["download_url"], HTTP_ACCEPT="application/octet-stream")
    assert download.status_code == 200
    lines = b"".join(download.streaming_content).decode().splitlines()
    assert lines[0] == "isbn,price"
    assert lines[1] == "40,40.00"
    assert len(lines) == 21
    assert api.delete(response.json()["url"]).status_code == 204
