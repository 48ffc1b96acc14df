"""The export job: filters, ordering, fields, formats, escaping, errors."""

from __future__ import annotations

import csv
import datetime
import io
import json
from decimal import Decimal

import pytest
import tablib
import yaml
from django.test import override_settings
from openpyxl import load_workbook

from drf_import_export_jobs import dispatch
from drf_import_export_jobs.models import ExportJob
from tests.testapp.models import Author, Book


@pytest.fixture
def books(db):
    ann = Author.objects.create(name="Ann")
    bob = Author.objects.create(name="Bob")
    rows = [
        ("111", "Alpha", ann, "10.00", True),
        ("222", '=HYPERLINK("http://x")', bob, "25.50", True),
        ("333", "Gamma", ann, "-5.00", False),
        ("444", "@Delta", bob, "99.99", True),
    ]
    return [
        Book.objects.create(
            isbn=isbn,
            title=title,
            author=author,
            price=Decimal(price),
            in_stock=stock,
            published=datetime.date(2021, 5, 4),
            pages=10,
        )
        for isbn, title, author, price, stock in rows
    ]


def run(job: ExportJob) -> ExportJob:
    job.export_data()
    job.refresh_from_db()
    return job


def read_csv(job: ExportJob, delimiter: str = ",") -> list[list[str]]:
    with job.data_file.open("rb") as fh:
        return list(csv.reader(io.StringIO(fh.read().decode()), delimiter=delimiter))


def test_save_sends_export_task_after_commit(
    make_export_job, sent_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = make_export_job()
        assert ExportJob.objects.get(pk=job.pk).export_task_id == job.export_task_id != ""
        assert sent_tasks == []
    assert sent_tasks.names() == [dispatch.EXPORT_TASK]
    assert sent_tasks[0][1] == ["drf_import_export_jobs.ExportJob", job.pk]
    assert sent_tasks[0][2]["task_id"] == job.export_task_id


def test_csv_export_with_progress_and_generated_name(make_export_job, books):
    job = run(make_export_job())
    assert job.status == "exported", job.error_message
    rows = read_csv(job)
    assert rows[0] == [
        "isbn",
        "title",
        "author",
        "price",
        "published",
        "pages",
        "in_stock",
        "description",
    ]
    assert [r[0] for r in rows[1:]] == ["111", "222", "333", "444"]
    assert rows[1][2] == "Ann"
    assert job.progress == {"state": "exported", "info": {"current": 4, "total": 4}}
    assert job.data_file.name.startswith("import_export_jobs/exports/")
    assert job.data_file.name.endswith(".csv")
    assert job.export_filename.startswith(f"books-export-{job.pk}-")
    assert job.export_filename.endswith(".csv")
    assert job.export_started_at <= job.export_finished_at


def test_filters_ordering_and_fields(make_export_job, books):
    job = run(
        make_export_job(
            filters={"in_stock": True, "price__gte": "20"},
            ordering=["-price"],
            fields=["isbn", "price"],
        )
    )
    assert job.status == "exported", job.error_message
    assert read_csv(job) == [["isbn", "price"], ["444", "99.99"], ["222", "25.50"]]


def test_formula_cells_are_escaped_but_numbers_are_not(make_export_job, books):
    rows = read_csv(run(make_export_job(fields=["isbn", "title", "price"])))
    assert rows[2][1] == '\'=HYPERLINK("http://x")'
    assert rows[4][1] == "'@Delta"
    assert rows[3][2] == "-5.00"


@override_settings(DRF_IMPORT_EXPORT_JOBS={"ESCAPE_FORMULAS": False})
def test_escaping_can_be_switched_off(make_export_job, books):
    rows = read_csv(run(make_export_job(fields=["title"])))
    assert rows[2] == ['=HYPERLINK("http://x")']


def test_xlsx_export_has_native_values_and_escaped_formulas(make_export_job, books):
    job = run(make_export_job(file_format="xlsx", fields=["isbn", "title", "price"]))
    assert job.status == "exported", job.error_message
    with job.data_file.open("rb") as fh:
        sheet = load_workbook(fh, read_only=True).active
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == ["isbn", "title", "price"]
    assert rows[2][1] == '\'=HYPERLINK("http://x")'
    assert float(rows[1][2]) == 10.0


def test_json_yaml_tsv_ods_exports(make_export_job, books):
    job = run(make_export_job(file_format="json", fields=["isbn", "title"]))
    with job.data_file.open("rb") as fh:
        data = json.loads(fh.read())
    assert data[1] == {"isbn": "222", "title": '=HYPERLINK("http://x")'}  # data, not a sheet

    job = run(make_export_job(file_format="yaml", fields=["isbn", "price"]))
    with job.data_file.open("rb") as fh:
        assert yaml.safe_load(fh.read())[3] == {"isbn": "444", "price": "99.99"}

    job = run(make_export_job(file_format="tsv", fields=["isbn", "title"]))
    assert read_csv(job, delimiter="\t")[1] == ["111", "Alpha"]

    job = run(make_export_job(file_format="ods", fields=["isbn", "title"]))
    assert job.status == "exported", job.error_message
    with job.data_file.open("rb") as fh:
        dataset = tablib.Dataset().load(fh.read(), format="ods")
    assert dataset["isbn"] == ["111", "222", "333", "444"]


def test_empty_export_still_has_a_header(make_export_job, db):
    job = run(make_export_job(file_format="json"))
    with job.data_file.open("rb") as fh:
        assert json.loads(fh.read()) == []
    job = run(make_export_job())
    assert read_csv(job) == [
        ["isbn", "title", "author", "price", "published", "pages", "in_stock", "description"]
    ]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"filters": {"price__gte": "cheap"}}, "price__gte"),
        ({"filters": {"colour": "red"}}, "Unknown filter(s): colour"),
        ({"ordering": ["secret"]}, "Cannot order by secret"),
        ({"fields": ["isbn", "nope"]}, "Unknown field(s): nope"),
        ({"file_format": "xls"}, "File format 'xls' is not accepted for BookResource"),
        (
            {"file_format": "xlsx", "resource": "tests.testapp.resources.CsvOnlyBookResource"},
            "accepted: csv",
        ),
        ({"resource": "tests.testapp.resources.Missing"}, "cannot be imported"),
    ],
)
def test_bad_options_end_in_export_error_with_reason(make_export_job, books, options, message):
    job = run(make_export_job(**options))
    assert job.status == "export_error"
    assert message in job.error_message
    assert job.traceback == ""
    assert not job.data_file


def test_filters_on_a_resource_without_filterset(make_export_job, db):
    job = run(
        make_export_job(resource="tests.testapp.resources.AuthorResource", filters={"name": "x"})
    )
    assert job.status == "export_error"
    assert "declares no filterset_class" in job.error_message


def test_deleting_a_job_deletes_its_file(
    make_export_job, books, django_capture_on_commit_callbacks
):
    job = run(make_export_job())
    storage, name = job.data_file.storage, job.data_file.name
    assert storage.exists(name)
    with django_capture_on_commit_callbacks(execute=True):
        ExportJob.objects.filter(pk=job.pk).delete()
    assert not storage.exists(name)
