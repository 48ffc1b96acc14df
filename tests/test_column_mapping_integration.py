"""Column mapping end to end, through the REST API and a real worker of each
task backend: a file with other headers, a reparse with a mapping that is
saved, and a second file of the same shape that gets it."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.testapp.models import Author, Book

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

HEADERS = "ISBN-13,Book title,Autor,Preis\n"
MAPPING = {"ISBN-13": "isbn", "Book title": "title", "Autor": "author", "Preis": "price"}


def poll(api: Any, url: str, statuses: set[str], timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = api.get(url).json()
        if body["status"] in statuses:
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.1)


def upload(api: Any, rows: list[str]) -> str:
    content = (HEADERS + "\n".join(rows) + "\n").encode()
    response = api.post(
        "/api/books/imports/",
        {"file": SimpleUploadedFile("shop.csv", content)},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    return str(response.json()["url"])


def test_reparse_with_a_saved_mapping_then_a_file_of_the_same_shape(job_worker, api):
    Author.objects.create(name="Ann")
    url = upload(api, ["9780000000001,Dune,Ann,12.50", "9780000000002,Emma,Ann,8"])
    job = poll(api, url, {"parsed", "input_error", "parse_error"})
    assert job["status"] == "parse_error"
    suggestions = {
        entry["header"]: (entry["suggestion"] or {}).get("field")
        for entry in job["columns"]["headers"]
    }
    assert suggestions["ISBN-13"] == "isbn" and suggestions["Autor"] == "author"

    response = api.post(
        f"{url}reparse/",
        json.dumps({"column_mapping": MAPPING, "save_mapping": True, "mapping_name": "shop"}),
        content_type="application/json",
    )
    assert response.status_code == 202, response.json()
    job = poll(api, url, {"parsed", "input_error", "parse_error"})
    assert job["status"] == "parsed", job
    assert job["totals"]["new"] == 2
    assert job["columns"]["mapping"] == MAPPING
    assert api.post(f"{url}confirm/").status_code == 202
    assert poll(api, url, {"imported", "import_error"})["status"] == "imported"
    assert Book.objects.get(isbn="9780000000001").title == "Dune"

    saved = api.get("/api/books/imports/mappings/").json()
    assert [m["name"] for m in saved] == ["shop"]
    second = upload(api, ["9780000000003,Ulysses,Ann,20"])
    job = poll(api, second, {"parsed", "input_error", "parse_error"})
    assert job["status"] == "parsed", job
    assert job["columns"]["saved_mapping"] == {
        "id": saved[0]["id"],
        "name": "shop",
        "applied": True,
    }
    assert api.post(f"{second}confirm/").status_code == 202
    assert poll(api, second, {"imported", "import_error"})["status"] == "imported"
    assert Book.objects.count() == 3
