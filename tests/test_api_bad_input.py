"""Hostile and broken uploads through the REST API.

Each file is uploaded as a client would, then dry-run by the parse task (run
here in the test process, as the worker runs it), then read back with
``GET {p}/{id}/``: a file that cannot be read ends in ``parse_error`` with the
reason, a file with bad rows in ``input_error`` with the rows, never a 500,
and no book is written.
"""

from __future__ import annotations

import codecs
import io
import json
import tracemalloc
import zipfile
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from openpyxl import Workbook

from drf_import_export_jobs import tasks
from drf_import_export_jobs.models import ImportJob
from tests.conftest import COLUMNS, HEADER, book_rows, csv_bytes
from tests.conftest import stored_job_files as stored_files
from tests.testapp.models import Book

URL = "/api/books/imports/"

pytestmark = pytest.mark.usefixtures("empty_job_storage", "authors")


def upload(client: Any, data: bytes, name: str = "books.csv", **fields: Any) -> Any:
    payload = {"file": SimpleUploadedFile(name, data, content_type="text/csv"), **fields}
    return client.post(URL, payload, format="multipart")


def run_parse_task(job_id: int) -> None:
    """Run the parse task of the job as a worker would."""
    job = ImportJob.objects.get(pk=job_id)
    tasks.parse_import_job.apply(args=[job._meta.label, job.pk], task_id=job.parse_task_id)


def upload_and_parse(client: Any, data: bytes, name: str = "books.csv", **fields: Any) -> dict:
    response = upload(client, data, name, **fields)
    assert response.status_code == 201, response.content
    run_parse_task(response.json()["id"])
    detail = client.get(response.json()["url"])
    assert detail.status_code == 200
    return detail.json()


def confirm_and_import(client: Any, body: dict) -> dict:
    response = client.post(f"{body['url']}confirm/")
    assert response.status_code == 202, response.content
    job = ImportJob.objects.get(pk=body["id"])
    tasks.import_job_data.apply(args=[job._meta.label, job.pk], task_id=job.import_task_id)
    return client.get(body["url"]).json()


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


GOOD = csv_bytes(book_rows(3))


def xlsx_with_entity_expansion() -> bytes:
    """A workbook whose sheet XML declares nested entities ("billion laughs")."""
    workbook = Workbook()
    workbook.active.append(COLUMNS)
    workbook.active.append(book_rows(1)[0].split(","))
    plain = io.BytesIO()
    workbook.save(plain)
    entities = (
        '<!ENTITY a "'
        + "a" * 40
        + '">'
        + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8))
    )
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(plain.getvalue())) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = data.decode().replace("<t>Title 0</t>", "<t>&i;</t>")
                assert "&i;" in text
                data = f"<!DOCTYPE worksheet [{entities}]>{text}".encode()
            target.writestr(info.filename, data)
    return out.getvalue()


# name: (file content, client file name, the reason the job must give)
UNREADABLE = {
    "blank lines only": (b"  \n\n", "books.csv", "The file is empty."),
    "header only": (HEADER.encode() + b"\n", "books.csv", "header row but no data rows"),
    "binary garbage named csv": (bytes(range(256)) * 64, "books.csv", "contains binary data"),
    "xlsx named csv": (xlsx_bytes([COLUMNS]), "books.csv", "contains a ZIP archive"),
    "csv named xlsx": (GOOD, "books.xlsx", "not an XLSX workbook"),
    "csv named xls": (GOOD, "books.xls", "cannot be read as XLS"),
    "csv named ods": (GOOD, "books.ods", "cannot be read as ODS"),
    "garbage named json": (b"\x89PNG\r\n\x1a\n\x00\x00", "books.json", "contains binary data"),
    "utf-16 without bom": (
        GOOD.decode().encode("utf-16-le"),
        "books.csv",
        "UTF-16 text without a byte order mark",
    ),
    "latin-1": (
        GOOD.replace(b"Title 1", "Tîtle 1".encode("latin-1")),
        "books.csv",
        "not valid utf-8 text (it holds the byte(s) 0xee): save it as UTF-8 and upload it "
        "again (the server reads text files without a byte order mark as utf-8, "
        'DRF_IMPORT_EXPORT_JOBS["TEXT_ENCODING"])',
    ),
    "duplicate headers": (
        csv_bytes(["1,T,Ann"], header="isbn,title,title"),
        "books.csv",
        "The header names these columns more than once: 'title'.",
    ),
    "missing import id column": (
        csv_bytes(["T,Ann"], header="title,author"),
        "books.csv",
        "The file lacks required column(s): isbn. Its header has: title, author.",
    ),
    "no known column": (
        csv_bytes(["1,2"], header="colour,size"),
        "books.csv",
        "None of the file's columns is one this import knows",
    ),
    "10,000 columns": (
        csv_bytes(
            [",".join(["1"] * 10_000)], header=",".join(["isbn", *(f"c{i}" for i in range(9999))])
        ),
        "books.csv",
        "The file has 10000 columns; at most 1000 are accepted.",
    ),
    "yaml aliases": (
        b"- isbn: '1'\n  title: &a xxxxxxxxxx\n  description: *a\n",
        "books.yaml",
        "The YAML file uses an alias (*name); imports do not accept aliases.",
    ),
    "deeply nested json": (
        b"[" * 100_000 + b"]" * 100_000,
        "books.json",
        "The file cannot be read as JSON: maximum recursion depth exceeded",
    ),
    "deeply nested yaml": (
        b"[" * 100_000,
        "books.yaml",
        "The YAML file nests lists or mappings more than two levels deep",
    ),
    "json nested object in a cell": (
        b'[{"isbn": "1", "title": {"$where": "1"}, "author": "Ann", "price": 1}]',
        "books.json",
        "Row 1, column 'title' holds a nested object; cells must be text, numbers, booleans "
        "or empty.",
    ),
    "json list in a cell": (
        b'[{"isbn": "1", "title": "T", "author": "Ann", "price": 1},'
        b' {"isbn": "2", "title": ["a", "b"], "author": "Ann", "price": 1}]',
        "books.json",
        "Row 2, column 'title' holds a list",
    ),
    "xlsx entity expansion": (
        xlsx_with_entity_expansion(),
        "books.xlsx",
        "The file is not a readable XLSX workbook: EntitiesForbidden",
    ),
    "xlsx 10,000 columns": (
        xlsx_bytes([["isbn", *(f"c{i}" for i in range(9999))], ["1"]]),
        "books.xlsx",
        "The file has 10000 columns; at most 1000 are accepted.",
    ),
}


@pytest.mark.parametrize("case", sorted(UNREADABLE))
def test_an_unreadable_file_is_a_parse_error_with_the_reason(api, case):
    data, name, reason = UNREADABLE[case]
    body = upload_and_parse(api, data, name)
    assert body["status"] == "parse_error"
    assert reason in body["error_message"]
    assert "import_export_jobs/" not in body["error_message"]  # no storage path shown
    assert ImportJob.objects.get().traceback == ""  # a refused file, not a crash
    assert api.post(f"{body['url']}confirm/").status_code == 409
    assert Book.objects.count() == 0


def test_workbooks_are_read_with_defusedxml():
    """openpyxl refuses DTD entities only when defusedxml is installed (a
    dependency of this package)."""
    import openpyxl.xml

    assert openpyxl.xml.DEFUSEDXML


def test_an_empty_file_is_a_400_and_nothing_is_stored(api):
    response = upload(api, b"")
    assert response.status_code == 400
    assert response.json() == {"file": ["The submitted file is empty."]}
    assert not ImportJob.objects.exists()
    assert stored_files() == []


# -- encodings ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "encoded",
    [
        codecs.BOM_UTF8 + GOOD,
        GOOD.decode().encode("utf-16"),
        codecs.BOM_UTF16_BE + GOOD.decode().encode("utf-16-be"),
    ],
    ids=["utf-8 bom", "utf-16 le bom", "utf-16 be bom"],
)
def test_a_byte_order_mark_is_detected_and_kept_out_of_the_header(api, encoded):
    body = upload_and_parse(api, encoded)
    assert body["status"] == "parsed", body["error_message"]
    # isbn, the first column, is the id column: a BOM stuck to it would be "lacks isbn".
    assert body["totals"]["new"] == 3
    done = confirm_and_import(api, body)
    assert done["status"] == "imported", done["error_message"]
    assert sorted(Book.objects.values_list("isbn", flat=True)) == [
        "9780000000000",
        "9780000000001",
        "9780000000002",
    ]


@override_settings(DRF_IMPORT_EXPORT_JOBS={"TEXT_ENCODING": "latin-1"})
def test_latin_1_imports_when_text_encoding_says_so(api):
    data = GOOD.replace(b"Title 1", "Tîtle 1".encode("latin-1"))
    done = confirm_and_import(api, upload_and_parse(api, data))
    assert done["status"] == "imported", done["error_message"]
    assert Book.objects.get(isbn="9780000000001").title == "Tîtle 1"


# -- columns and row shapes -----------------------------------------------------------


def test_unknown_columns_are_ignored_as_django_import_export_does(api):
    lines = [line + ",red" for line in book_rows(2)]
    body = upload_and_parse(api, csv_bytes(lines, header=HEADER + ",colour"))
    assert body["status"] == "parsed", body["error_message"]
    assert confirm_and_import(api, body)["status"] == "imported"
    assert Book.objects.count() == 2


def test_a_missing_required_column_gives_row_errors(api):
    """Columns other than the id columns may be left out (the field is not
    set); a new row then fails where the model needs the value."""
    header = HEADER.replace(",author", "")
    lines = [line.replace(",Ann", "") for line in book_rows(2)]
    body = upload_and_parse(api, csv_bytes(lines, header=header))
    assert body["status"] == "input_error"
    assert body["error_count"] >= 2
    assert {e["row"] for e in body["errors"]} == {1, 2}
    assert Book.objects.count() == 0


def test_rows_longer_than_the_header_are_row_errors(api):
    lines = book_rows(3)
    lines[1] += ",surplus,cells"
    body = upload_and_parse(api, csv_bytes(lines))
    assert body["status"] == "input_error"
    assert body["errors"] == [
        {"row": 2, "field": None, "message": "This row has 10 cells but the header has 8 columns."}
    ]
    assert Book.objects.count() == 0


def test_rows_shorter_than_the_header_are_padded(api):
    lines = book_rows(2)
    lines[0] = lines[0].rsplit(",", 3)[0]  # pages, in_stock, description left out
    done = confirm_and_import(api, upload_and_parse(api, csv_bytes(lines)))
    assert done["status"] == "imported", done["error_message"]
    book = Book.objects.get(isbn="9780000000000")
    assert book.pages is None  # not 42


@override_settings(DRF_IMPORT_EXPORT_JOBS={"MAX_ROWS": 10})
def test_a_file_over_the_row_limit_is_a_parse_error(api):
    body = upload_and_parse(api, csv_bytes(book_rows(11)))
    assert body["status"] == "parse_error"
    assert (
        body["error_message"] == "The file has more than 10 data rows, the most an import accepts."
    )
    assert body["progress"]["info"]["current"] == 0


# -- sizes --------------------------------------------------------------------------


def test_a_50_mb_line_is_refused_without_being_read_whole(api):
    line = b"a," * (25 * 1024 * 1024)  # 50 MiB, no line break
    response = upload(api, HEADER.encode() + b"\n" + line + b"\n")
    assert response.status_code == 201
    tracemalloc.start()
    try:
        run_parse_task(response.json()["id"])
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    body = api.get(response.json()["url"]).json()
    assert body["status"] == "parse_error"
    assert body["error_message"] == (
        "Line 2 of the file is longer than 1048576 characters, the most a row may have "
        '(DRF_IMPORT_EXPORT_JOBS["MAX_LINE_SIZE"]).'
    )
    assert peak < 20 * 1024 * 1024, peak


@override_settings(DRF_IMPORT_EXPORT_JOBS={"MAX_LINE_SIZE": 100})
def test_the_line_limit_counts_a_row_spread_over_lines(api):
    quoted = '"' + "x\n" * 60 + '"'
    lines = book_rows(2)
    lines[1] = lines[1].rsplit(",", 1)[0] + "," + quoted
    body = upload_and_parse(api, csv_bytes(lines))
    assert body["status"] == "parse_error"
    assert "Line 3 of the file is longer than 100 characters" in body["error_message"]


def test_an_upload_over_the_limit_leaves_no_temporary_file(api, tmp_path, monkeypatch):
    """Over 2.5 MB Django spools uploads to a temporary file; the refused one
    is removed with the request, and nothing reaches the job storage."""
    from django.core.files.uploadhandler import TemporaryFileUploadHandler

    spooled: list[str] = []
    new_file = TemporaryFileUploadHandler.new_file

    def record(self, *args, **kwargs):
        new_file(self, *args, **kwargs)
        spooled.append(self.file.temporary_file_path())

    monkeypatch.setattr(TemporaryFileUploadHandler, "new_file", record)
    with override_settings(
        DRF_IMPORT_EXPORT_JOBS={"MAX_UPLOAD_SIZE": 3 * 1024 * 1024},
        FILE_UPLOAD_TEMP_DIR=str(tmp_path),
    ):
        response = upload(api, b"x" * (3 * 1024 * 1024 + 500_000))
        assert response.status_code == 413
        assert response.json()["code"] == "file_too_large"
        assert len(spooled) == 1 and spooled[0].startswith(str(tmp_path))  # it was spooled
        assert list(tmp_path.iterdir()) == []  # and is gone
    assert stored_files() == []
    assert not ImportJob.objects.exists()


# -- workbooks --------------------------------------------------------------------------


def zip_bomb(size: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * size)
    return out.getvalue()


@override_settings(DRF_IMPORT_EXPORT_JOBS={"MAX_UPLOAD_SIZE": 100_000})
@pytest.mark.parametrize("name", ["books.xlsx", "books.ods"])
def test_a_zip_bomb_workbook_is_refused_before_it_is_unpacked(api, monkeypatch, name):
    data = zip_bomb(50 * 1024 * 1024)
    assert len(data) < 100_000

    def never(*args, **kwargs):
        raise AssertionError("the workbook was opened")

    monkeypatch.setattr("openpyxl.load_workbook", never)
    monkeypatch.setattr("tablib.formats._ods.ODSFormat.import_set", never)
    body = upload_and_parse(api, data, name)
    assert body["status"] == "parse_error"
    assert body["error_message"] == (
        "The workbook unpacks to 52428808 bytes, more than the 2000000 accepted."
    )


def test_an_xlsx_whose_zip_understates_its_sizes_is_a_parse_error(api):
    """The size check trusts the ZIP directory; a part larger than declared
    fails its CRC check when read, so it cannot unpack further."""
    data = bytearray(zip_bomb(5 * 1024 * 1024))
    real = (5 * 1024 * 1024).to_bytes(4, "little")
    small = (1000).to_bytes(4, "little")
    assert data.count(real) == 2  # local header and central directory
    data = data.replace(real, small)
    body = upload_and_parse(api, bytes(data), "books.xlsx")
    assert body["status"] == "parse_error"
    assert "not a readable XLSX workbook" in body["error_message"]
    assert ImportJob.objects.get().traceback == ""


def test_xlsx_formulas_are_never_evaluated(api):
    cells: list[Any] = book_rows(1)[0].split(",")
    cells[COLUMNS.index("pages")] = "=6*7"
    body = upload_and_parse(api, xlsx_bytes([COLUMNS, cells]), "b.xlsx")
    assert body["status"] == "parsed", body["errors"]
    done = confirm_and_import(api, body)
    assert done["status"] == "imported", done["error_message"]
    # Only the values a spreadsheet program cached are read; none here.
    book = Book.objects.get()
    assert book.pages is None  # not 42


# -- file names -------------------------------------------------------------------------

GENERATED = r"^import_export_jobs/imports/\d{4}/\d{2}/\d{2}/[0-9a-f]{32}\.csv$"


@pytest.mark.parametrize(
    ("client_name", "shown"),
    [
        ("../../etc/passwd.csv", "passwd.csv"),
        ("..\\..\\windows\\books.csv", "books.csv"),
        ("/var/www/books.csv", "books.csv"),
        ("bo\x00oks.csv", "books.csv"),
        ("x" * 300 + ".csv", "x" * 251 + ".csv"),
    ],
    ids=["dot-dot slash", "backslash", "absolute", "nul", "300 characters"],
)
def test_the_stored_name_is_generated_and_the_client_name_only_shown(api, client_name, shown):
    import re

    response = upload(api, GOOD, client_name)
    assert response.status_code == 201, response.content
    assert response.json()["original_filename"] == shown
    job = ImportJob.objects.get()
    assert re.match(GENERATED, job.data_file.name), job.data_file.name
    assert [path.rsplit("/", 1)[-1] for path in stored_files()] == [
        job.data_file.name.rsplit("/", 1)[-1]
    ]


def test_the_display_name_is_cleaned_of_separators_and_control_characters():
    from drf_import_export_jobs.files import clean_display_name

    assert clean_display_name("a/b\\c\x00d\x1f:e.csv") == "c_d_e.csv"
    assert clean_display_name("\x00") == "_"
    assert len(clean_display_name("y" * 1000 + ".xlsx")) == 255


@pytest.mark.parametrize(
    ("client_name", "field", "message"),
    [
        ("\x00", "file", "No file was submitted."),  # Django drops a part without a name
        ("books", "file_format", "Cannot tell the format from the file name 'books'"),
        ("books.csv.exe", "file_format", "Cannot tell the format from the file name"),
    ],
)
def test_a_name_that_says_nothing_is_a_400(api, client_name, field, message):
    response = upload(api, GOOD, client_name)
    assert response.status_code == 400
    assert message in response.json()[field][0]
    assert stored_files() == []


# -- export options -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"file_format": "exe"}, "file_format", '"exe" is not a valid choice.'),
        ({"file_format": ["csv"]}, "file_format", "is not a valid choice."),
        (
            {"file_format": "csv", "fields": [None]},
            "fields",
            "Item 1: This field may not be null.",
        ),
        ({"file_format": "csv", "fields": "isbn"}, "fields", "Expected a list of items"),
        ({"file_format": "csv", "ordering": ["--price"]}, "ordering", '"--price" is not a valid'),
        ({"file_format": "csv", "ordering": [{"a": 1}]}, "ordering", "is not a valid choice."),
        (
            {"file_format": "csv", "filters": {"in_stock": [1, 2]}},
            "filters",
            "in_stock: Expected text, a number, a boolean, null, got list.",
        ),
        (
            {"file_format": "csv", "filters": {"price__gte": {"$gt": 1}}},
            "filters",
            "price__gte: Expected text, a number, a boolean, null, got dict.",
        ),
        (
            {"file_format": "csv", "filters": {"price__gte": "1e999999"}},
            "filters",
            "price__gte: Ensure this value is less than or equal to",
        ),
        (
            {"file_format": "csv", "filters": {"author__name": "\x00"}},
            "filters",
            "author__name: Null characters are not allowed.",
        ),
    ],
)
def test_bad_export_options_are_a_400_naming_the_field(api, payload, field, message):
    from drf_import_export_jobs.models import ExportJob

    response = api.post("/api/books/exports/", payload, format="json")
    assert response.status_code == 400
    assert message in " ".join(response.json()[field]), response.json()
    assert not ExportJob.objects.exists()


# -- request bodies -------------------------------------------------------------------------


def test_a_deeply_nested_json_body_is_a_400(api):
    response = api.post("/api/books/exports/", b"[" * 100_000, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"detail": "JSON parse error - the body is nested too deeply."}


def test_a_deeply_nested_json_option_part_is_a_400(api):
    response = upload(api, GOOD, resource_kwargs="[" * 100_000)
    assert response.status_code == 400
    assert (
        "Not valid JSON: maximum recursion depth exceeded" in response.json()["resource_kwargs"][0]
    )
    assert stored_files() == []


@pytest.mark.parametrize(
    ("request_kind", "message"),
    [
        ("big text part", "DATA_UPLOAD_MAX_MEMORY_SIZE"),
        ("big json body", "DATA_UPLOAD_MAX_MEMORY_SIZE"),
        ("many fields", "DATA_UPLOAD_MAX_NUMBER_FIELDS"),
        ("many files", "DATA_UPLOAD_MAX_NUMBER_FILES"),
    ],
)
def test_a_body_django_refuses_is_a_json_400_naming_the_setting(api, request_kind, message):
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=10_000, DATA_UPLOAD_MAX_NUMBER_FILES=3):
        if request_kind == "big text part":
            response = upload(api, GOOD, resource_kwargs="x" * 20_000)
        elif request_kind == "big json body":
            body = json.dumps({"file_format": "csv", "filters": {"author__name": "x" * 20_000}})
            response = api.post("/api/books/exports/", body, content_type="application/json")
        elif request_kind == "many fields":
            response = upload(api, GOOD, **{f"f{i}": "1" for i in range(1100)})
        else:
            files = [SimpleUploadedFile(f"b{i}.csv", GOOD) for i in range(5)]
            response = api.post(URL, {"file": files}, format="multipart")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert message in response.json()["detail"]
    assert not ImportJob.objects.exists()
    assert stored_files() == []
