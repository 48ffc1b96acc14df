"""The typescript-axios client, end to end: openapi-generator writes it from the
reviewed schema, tsc compiles it (strict) with tests/clients/ts/src/axios-flow.ts,
and node runs that program against a live server and a real Celery worker."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from drf_import_export_jobs.models import ExportJob, ImportJob
from tests.clients.conftest import require_java
from tests.conftest import book_rows, csv_bytes, set_cell
from tests.testapp.models import Author, Book

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def run_flow(axios_client: Any, api_server: Any, api_user: Any) -> Any:
    def run(command: str, **env: str) -> Any:
        return axios_client.run(
            command,
            {
                "API_URL": api_server.url,
                "API_USERNAME": api_user.username,
                "API_PASSWORD": api_user.password,
                **env,
            },
            "axios-flow",
        )

    return run


@pytest.fixture
def ann(transactional_db: Any) -> Author:
    return Author.objects.create(name="Ann")


def test_import_with_a_row_error_its_report_and_a_refused_confirm(run_flow, ann, tmp_path):
    path = tmp_path / "books.csv"
    rows = book_rows(3)
    rows[1] = set_cell(rows[1], "price", "cheap")
    path.write_bytes(csv_bytes(rows))
    result = run_flow("import-errors", IMPORT_FILE=str(path))
    parsed = result["parsed"]
    assert parsed["status"] == "input_error"
    assert parsed["original_filename"] == "books.csv"
    assert parsed["totals"]["invalid"] + parsed["totals"]["error"] == 1
    # The JSON page of row errors.
    errors = result["errors"]
    assert errors["count"] == 1
    assert errors["previous"] is None
    assert [(e["row"], e["field"]) for e in errors["results"]] == [(2, "price")]
    # The same errors as a CSV file, downloaded as a Blob.
    assert result["reportIsBlob"] is True
    report = result["report"].splitlines()
    assert report[0] == "row,field,message"
    assert report[1].startswith("2,price,")
    # Confirming is refused: a 409 naming the current status.
    assert result["confirm"]["httpStatus"] == 409
    assert result["confirm"]["conflict"]["code"] == "invalid_status"
    assert result["confirm"]["conflict"]["status"] == "input_error"
    assert ImportJob.objects.get(pk=parsed["id"]).status == "input_error"
    assert Book.objects.count() == 0


def test_import_confirmed_to_imported(run_flow, api_user, ann, tmp_path):
    path = tmp_path / "books.csv"
    path.write_bytes(csv_bytes(book_rows(12)))
    result = run_flow("import", IMPORT_FILE=str(path))
    assert result["parsed"]["status"] == "parsed"
    assert result["parsed"]["totals"]["new"] == 12
    assert result["confirm"]["httpStatus"] == 202
    assert result["confirm"]["job"]["status"] in {"import_confirmed", "importing", "imported"}
    imported = result["imported"]
    assert imported["status"] == "imported"
    assert imported["totals"] == {
        "new": 12, "update": 0, "delete": 0, "skip": 0, "error": 0, "invalid": 0
    }  # fmt: skip
    assert Book.objects.count() == 12
    assert ImportJob.objects.get(pk=imported["id"]).created_by == api_user.user


def test_export_with_a_filter_and_its_download_as_a_blob(run_flow, ann):
    Book.objects.bulk_create(
        Book(isbn=str(i), title=f"T{i}", author=ann, price=i, in_stock=i % 4 == 0)
        for i in range(1, 17)
    )
    result = run_flow("export")
    job = result["job"]
    assert job["status"] == "exported"
    assert job["filters"] == {"in_stock": True}
    assert result["disposition"].startswith("attachment;")
    assert result["isBlob"] is True
    rows = list(csv.DictReader(io.StringIO(result["content"])))
    assert [row["isbn"] for row in rows] == ["16", "12", "8", "4"]
    assert ExportJob.objects.get(pk=job["id"]).status == "exported"


def test_skipped_with_a_reason_without_java(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(pytest.skip.Exception, match="java is not installed"):
        require_java()
