"""Files that cannot be read end in parse_error with a clear message, and
nothing is written."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.test import override_settings
from openpyxl import Workbook

from tests.conftest import COLUMNS, HEADER, book_rows, csv_bytes
from tests.testapp.models import Book


def parse(make_import_job, payload: bytes, file_format: str = "csv", **kwargs):
    job = make_import_job(payload, file_format=file_format, **kwargs)
    job.parse_data()
    job.refresh_from_db()
    return job


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


BAD_FILES = {
    "empty": (b"", "csv", "The file is empty."),
    "whitespace only": (b"  \n\n", "csv", "The file is empty."),
    "header only": (HEADER.encode() + b"\n", "csv", "header row but no data rows"),
    "latin-1": (
        csv_bytes(book_rows(2)).replace(b"Title 1", "Tîtle 1".encode("latin-1")),
        "csv",
        "not valid utf-8 text",
    ),
    "binary garbage": (bytes(range(256)) * 40, "csv", "contains binary data"),
    "xlsx named csv": (xlsx_bytes([["isbn"], ["1"]]), "csv", "ZIP archive"),
    "csv named xlsx": (csv_bytes(book_rows(2)), "xlsx", "not an XLSX workbook"),
    "broken zip named xlsx": (b"PK\x03\x04" + b"\x00" * 100, "xlsx", "not a valid XLSX"),
    "json object": (b'{"isbn": 1}', "json", "cannot be read as JSON"),
    "invalid json": (b"[{", "json", "cannot be read as JSON"),
    "missing id column": (
        csv_bytes(["T,Ann"], header="title,author"),
        "csv",
        "lacks required column(s): isbn",
    ),
    "no known column": (csv_bytes(["1,2"], header="foo,bar"), "csv", "None of the file's columns"),
    "duplicate headers": (
        csv_bytes(["1,2,3"], header="isbn,title,isbn"),
        "csv",
        "more than once: 'isbn'",
    ),
    "empty header row": (b",,\n1,2,3\n", "csv", "header, is empty"),
    "unknown format": (csv_bytes(book_rows(1)), "exe", "File format 'exe' is not accepted"),
    "yaml not a list": (b"just text", "yaml", "cannot be read as YAML"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_is_parse_error_with_reason(make_import_job, authors, name):
    payload, file_format, message = BAD_FILES[name]
    job = parse(make_import_job, payload, file_format)
    assert job.status == "parse_error"
    assert message.lower() in job.error_message.lower()
    assert job.traceback == ""  # an expected problem, not a crash
    assert job.parse_finished_at is not None
    assert Book.objects.count() == 0


@override_settings(DRF_IMPORT_EXPORT_JOBS={"MAX_ROWS": 5})
def test_too_many_rows(make_import_job, authors):
    job = parse(make_import_job, csv_bytes(book_rows(6)))
    assert job.status == "parse_error"
    assert "more than 5 data rows" in job.error_message
    assert job.progress_current == 0  # refused before any row was processed
    ok = parse(make_import_job, csv_bytes(book_rows(5)))
    assert ok.status == "parsed"


@override_settings(DRF_IMPORT_EXPORT_JOBS={"MAX_ROWS": 5})
def test_too_many_rows_in_xlsx(make_import_job, authors):
    rows = [HEADER.split(","), *[line.split(",") for line in book_rows(7)]]
    job = parse(make_import_job, xlsx_bytes(rows), "xlsx")
    assert job.status == "parse_error"
    assert "more than 5 data rows" in job.error_message


@override_settings(DRF_IMPORT_EXPORT_JOBS={"MAX_COLUMNS": 10})
def test_too_many_columns(make_import_job, authors):
    header = ",".join(["isbn"] + [f"c{i}" for i in range(20)])
    job = parse(make_import_job, csv_bytes(["1" + ",x" * 20], header=header))
    assert job.status == "parse_error"
    assert "21 columns; at most 10" in job.error_message


@override_settings(DRF_IMPORT_EXPORT_JOBS={"MAX_CELL_SIZE": 1000})
def test_oversized_cell(make_import_job, authors):
    lines = book_rows(2)
    lines[1] = lines[1] + "x" * 5000
    job = parse(make_import_job, csv_bytes(lines))
    assert job.status == "parse_error"
    assert "field larger than field limit" in job.error_message


@override_settings(DRF_IMPORT_EXPORT_JOBS={"MAX_UPLOAD_SIZE": 1000})
def test_xlsx_that_unpacks_too_far_is_refused(make_import_job, authors):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", "<x>" + " " * 100_000 + "</x>")
    job = parse(make_import_job, out.getvalue(), "xlsx")
    assert job.status == "parse_error"
    assert "unpacks to" in job.error_message


def test_xlsx_formulas_are_never_evaluated(make_import_job, authors):
    cells = book_rows(1)[0].split(",")
    cells[COLUMNS.index("pages")] = "=1+1"
    job = parse(make_import_job, xlsx_bytes([COLUMNS, cells]), "xlsx")
    assert job.status == "parsed", job.parse_result
    job.confirm_import()
    job.import_data()
    # Only cached values are read; a formula never computed reads as empty.
    assert Book.objects.get().pages is None


def test_unknown_resource_is_parse_error(make_import_job):
    job = parse(make_import_job, csv_bytes(book_rows(1)), resource="tests.nowhere.Resource")
    assert job.status == "parse_error"
    assert "tests.nowhere.Resource" in job.error_message
    assert "cannot be imported" in job.error_message


def test_not_a_resource_is_parse_error(make_import_job):
    job = parse(make_import_job, csv_bytes(book_rows(1)), resource="tests.testapp.models.Book")
    assert job.status == "parse_error"
    assert "not a django-import-export Resource" in job.error_message


def test_crashing_resource_is_parse_error_with_traceback(make_import_job, authors):
    job = parse(
        make_import_job,
        csv_bytes(book_rows(1)),
        resource="tests.testapp.resources.CrashingBookResource",
    )
    assert job.status == "parse_error"
    assert job.error_message == "loader exploded"
    assert "RuntimeError" in job.traceback


def test_format_not_allowed_for_the_resource(make_import_job, authors):
    job = parse(
        make_import_job,
        csv_bytes(book_rows(1)).replace(b",", b"\t"),
        "tsv",
        resource="tests.testapp.resources.CsvOnlyBookResource",
    )
    assert job.status == "parse_error"
    assert job.error_message == (
        "File format 'tsv' is not accepted for CsvOnlyBookResource; accepted: csv."
    )


@override_settings(DRF_IMPORT_EXPORT_JOBS={"IMPORT_FORMATS": ["xlsx"]})
def test_format_not_allowed_by_settings(make_import_job, authors):
    job = parse(make_import_job, csv_bytes(book_rows(1)))
    assert job.status == "parse_error"
    assert "accepted: xlsx" in job.error_message
