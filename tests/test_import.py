"""The import job: parse (dry run), confirm, import, results, formats."""

from __future__ import annotations

import csv
import io

import pytest
import tablib
from django.test import override_settings

from drf_import_export_jobs import dispatch
from drf_import_export_jobs.models import ImportJob
from drf_import_export_jobs.signals import job_status_changed
from tests.conftest import HEADER, book_rows, csv_bytes, set_cell
from tests.testapp.models import Author, Book


def run_to_parsed(job: ImportJob) -> ImportJob:
    job.parse_data()
    job.refresh_from_db()
    return job


def test_save_stores_task_id_first_and_sends_parse_after_commit(
    make_import_job, django_capture_on_commit_callbacks, sent_tasks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = make_import_job(csv_bytes(book_rows(2)))
        stored = ImportJob.objects.values_list("parse_task_id", flat=True).get(pk=job.pk)
        assert stored and stored == job.parse_task_id
        assert sent_tasks == []  # nothing before commit
    assert len(callbacks) == 1
    assert sent_tasks == [
        (dispatch.PARSE_TASK, ["drf_import_export_jobs.ImportJob", job.pk], sent_tasks[0][2]),
    ]
    options = sent_tasks[0][2]
    assert options["task_id"] == job.parse_task_id
    assert options["soft_time_limit"] > 0 and options["time_limit"] > options["soft_time_limit"]


def test_saving_an_existing_job_sends_nothing(
    make_import_job, django_capture_on_commit_callbacks, sent_tasks
):
    job = make_import_job(csv_bytes(book_rows(2)))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job.save()
    assert callbacks == []


def test_parse_is_a_dry_run_with_totals_and_progress(make_import_job, authors):
    job = run_to_parsed(make_import_job(csv_bytes(book_rows(120))))
    assert job.status == "parsed", job.error_message
    assert job.parse_result["totals"] == {
        "new": 120,
        "update": 0,
        "delete": 0,
        "skip": 0,
        "error": 0,
        "invalid": 0,
    }
    assert job.parse_result["rows"] == 120
    assert job.parse_result["errors"] == []
    assert job.progress == {"state": "parsed", "info": {"current": 120, "total": 120}}
    assert job.parse_started_at <= job.parse_finished_at
    assert not job.error_report
    assert Book.objects.count() == 0


def test_full_flow_writes_rows_and_results(
    make_import_job, authors, sent_tasks, django_capture_on_commit_callbacks
):
    job = run_to_parsed(make_import_job(csv_bytes(book_rows(130))))
    with django_capture_on_commit_callbacks(execute=True):
        job.confirm_import()
    job.refresh_from_db()
    assert job.status == "import_confirmed"
    assert job.import_task_id and job.confirmed_at
    assert sent_tasks.names()[-1] == dispatch.IMPORT_TASK
    assert sent_tasks[-1][2]["task_id"] == job.import_task_id
    job.import_data()
    job.refresh_from_db()
    assert job.status == "imported", job.error_message
    assert job.import_result["totals"]["new"] == 130
    assert job.progress["info"] == {"current": 130, "total": 130}
    assert Book.objects.count() == 130
    book = Book.objects.get(isbn="9780000000005")
    assert (book.title, book.author.name, str(book.price)) == ("Title 5", "Ann", "15.50")


def test_updates_and_unchanged_rows(make_import_job, authors):
    first = run_to_parsed(make_import_job(csv_bytes(book_rows(10))))
    first.confirm_import()
    first.import_data()
    lines = book_rows(10)
    lines[3] = lines[3].replace("Title 3", "New title")
    second = run_to_parsed(make_import_job(csv_bytes(lines + book_rows(2, start=10))))
    assert second.parse_result["totals"] == {
        "new": 2,
        "update": 1,
        "delete": 0,
        "skip": 9,
        "error": 0,
        "invalid": 0,
    }
    second.confirm_import()
    second.import_data()
    second.refresh_from_db()
    assert second.status == "imported"
    assert Book.objects.get(isbn="9780000000003").title == "New title"
    assert Book.objects.count() == 12


def test_row_errors_give_input_error_with_rows_fields_messages_and_report(
    make_import_job, authors
):
    lines = book_rows(60)
    lines[4] = set_cell(lines[4], "published", "someday")  # row 5: fails validation
    lines[54] = set_cell(lines[54], "author", "Nobody")  # row 55: unknown author
    job = run_to_parsed(make_import_job(csv_bytes(lines)))
    assert job.status == "input_error"
    assert job.parse_result["totals"]["invalid"] == 1
    assert job.parse_result["totals"]["error"] == 1
    errors = job.parse_result["errors"]
    assert [e["field"] for e in errors if e["row"] == 5] == ["published"]
    assert any(e["row"] == 55 and "does not exist" in e["message"] for e in errors)
    assert job.parse_result["error_count"] == len(errors) == 2
    assert "2 error(s)" in job.error_message
    with job.error_report.open("rb") as fh:
        report = list(csv.reader(io.StringIO(fh.read().decode())))
    assert report[0] == ["row", "field", "message"]
    assert {row[0] for row in report[1:]} == {"5", "55"}
    assert Book.objects.count() == 0
    with pytest.raises(Exception, match="input_error"):
        job.confirm_import()


def test_a_cell_that_is_not_a_number_names_its_column_and_value(make_import_job, authors):
    """django-import-export reports these as ``[<class 'decimal.ConversionSyntax'>]``."""
    lines = book_rows(5)
    lines[1] = set_cell(lines[1], "price", "cheap")
    lines[3] = set_cell(lines[3], "pages", "many")
    job = run_to_parsed(make_import_job(csv_bytes(lines)))
    assert job.status == "input_error"
    errors = [(e["row"], e["field"], e["message"]) for e in job.parse_result["errors"]]
    assert errors == [
        (2, "price", "'cheap' is not a number."),
        (4, "pages", "'many' is not a number."),
    ]
    assert Book.objects.count() == 0


@override_settings(DRF_IMPORT_EXPORT_JOBS={"MAX_ERRORS_IN_RESULT": 3, "CHUNK_SIZE": 10})
def test_results_keep_the_first_errors_and_the_report_keeps_all(make_import_job, authors):
    lines = [line.replace(",Ann,", ",Nobody,") for line in book_rows(25)]
    job = run_to_parsed(make_import_job(csv_bytes(lines)))
    assert job.status == "input_error"
    assert [e["row"] for e in job.parse_result["errors"]] == [1, 2, 3]
    assert job.parse_result["error_count"] == 25
    with job.error_report.open("rb") as fh:
        assert len(fh.read().decode().strip().splitlines()) == 26


def test_failed_import_leaves_no_rows(make_import_job, authors):
    """Rows written by earlier chunks are rolled back when a later one fails."""
    lines = book_rows(120) + book_rows(10, start=500, author="Bob")
    job = run_to_parsed(make_import_job(csv_bytes(lines)))
    assert job.status == "parsed"
    job.confirm_import()
    Author.objects.filter(name="Bob").delete()  # rows 121+ now fail
    job.import_data()
    job.refresh_from_db()
    assert job.status == "import_error"
    assert "nothing was imported" in job.error_message
    assert any(e["row"] == 121 for e in job.import_result["errors"])
    assert job.error_report
    assert Book.objects.count() == 0


def test_unexpected_exception_during_import_is_import_error_with_traceback(
    make_import_job, authors, monkeypatch
):
    job = run_to_parsed(make_import_job(csv_bytes(book_rows(70))))
    job.confirm_import()
    from drf_import_export_jobs.pipeline.imports import results

    def explode(self, result, numbers, resource=None):
        if self.rows >= 50:
            raise RuntimeError("disk on fire")
        self.rows += len(numbers)

    monkeypatch.setattr(results.ResultCollector, "add_result", explode)
    job.import_data()
    job.refresh_from_db()
    assert job.status == "import_error"
    assert job.error_message == "disk on fire"
    assert "RuntimeError" in job.traceback
    assert Book.objects.count() == 0


def test_skip_invalid_rows_imports_the_valid_ones(make_import_job, authors):
    lines = book_rows(8)
    lines[2] = set_cell(lines[2], "published", "2020-02-31")
    job = run_to_parsed(make_import_job(csv_bytes(lines), skip_invalid_rows=True))
    assert job.status == "parsed"
    assert job.parse_result["totals"]["invalid"] == 1
    job.confirm_import()
    job.import_data()
    job.refresh_from_db()
    assert job.status == "imported", job.error_message
    assert job.import_result["totals"]["new"] == 7
    assert job.import_result["totals"]["invalid"] == 1
    assert not Book.objects.filter(isbn="9780000000002").exists()
    assert Book.objects.count() == 7


def test_skip_invalid_rows_does_not_skip_rows_that_raise(make_import_job, authors):
    lines = book_rows(4)
    lines[1] = set_cell(lines[1], "author", "Nobody")
    job = run_to_parsed(make_import_job(csv_bytes(lines), skip_invalid_rows=True))
    assert job.status == "input_error"


def test_skip_parse_step_checks_structure_then_confirms(
    make_import_job, authors, sent_tasks, django_capture_on_commit_callbacks
):
    job = make_import_job(csv_bytes(book_rows(30)), skip_parse_step=True)
    with django_capture_on_commit_callbacks(execute=True):
        job.parse_data()
    job.refresh_from_db()
    assert job.status == "import_confirmed"
    assert job.parse_result["rows"] == 30
    assert sent_tasks.names()[-1] == dispatch.IMPORT_TASK
    job.import_data()
    job.refresh_from_db()
    assert job.status == "imported"
    assert Book.objects.count() == 30


def _dataset(rows: int) -> tablib.Dataset:
    data = tablib.Dataset(headers=HEADER.split(","))
    for line in book_rows(rows):
        data.append(line.split(","))
    return data


@pytest.mark.parametrize("file_format", ["tsv", "xlsx", "xls", "json", "yaml", "ods"])
def test_other_formats_parse_and_import(make_import_job, authors, file_format):
    data = _dataset(12).export(file_format)
    payload = data if isinstance(data, bytes) else data.encode()
    job = run_to_parsed(make_import_job(payload, file_format=file_format))
    assert job.status == "parsed", job.error_message
    assert job.parse_result["totals"]["new"] == 12
    job.confirm_import()
    job.import_data()
    job.refresh_from_db()
    assert job.status == "imported", job.error_message
    assert Book.objects.count() == 12


def test_csv_with_bom_and_utf16_are_read(make_import_job, authors):
    text = csv_bytes(book_rows(3)).decode()
    for payload in (b"\xef\xbb\xbf" + text.encode(), text.encode("utf-16")):
        job = run_to_parsed(make_import_job(payload))
        assert job.status == "parsed", job.error_message
        assert job.parse_result["totals"]["new"] == 3


def test_short_rows_are_padded_and_blank_lines_skipped(make_import_job, authors):
    lines = book_rows(3)
    lines[1] = lines[1].rsplit(",", 1)[0]  # description omitted
    job = run_to_parsed(make_import_job(csv_bytes([lines[0], "", lines[1], lines[2]])))
    assert job.status == "parsed", job.parse_result
    assert job.parse_result["rows"] == 3


def test_long_rows_are_row_errors(make_import_job, authors):
    lines = book_rows(3)
    lines[1] += ",surplus"
    job = run_to_parsed(make_import_job(csv_bytes(lines)))
    assert job.status == "input_error"
    assert job.parse_result["errors"] == [
        {"row": 2, "field": None, "message": "This row has 9 cells but the header has 8 columns."},
    ]
    assert job.parse_result["totals"]["new"] == 2


def test_base_errors_from_resource_hooks_are_input_errors(make_import_job, authors):
    job = run_to_parsed(
        make_import_job(
            csv_bytes(book_rows(3)), resource="tests.testapp.resources.BrokenHookBookResource"
        )
    )
    assert job.status == "input_error"
    assert job.parse_result["errors"][0]["row"] is None
    assert "hook refused" in job.parse_result["errors"][0]["message"]


def test_status_signal_for_every_change(
    make_import_job, authors, django_capture_on_commit_callbacks
):
    seen: list[tuple[str, str, int]] = []

    def record(sender, job, old_status, new_status, **kwargs):
        seen.append((old_status, new_status, job.pk))

    job_status_changed.connect(record)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            job = make_import_job(csv_bytes(book_rows(3)))
            job.parse_data()
            job.confirm_import()
            job.import_data()
    finally:
        job_status_changed.disconnect(record)
    assert seen == [
        ("created", "parsing", job.pk),
        ("parsing", "parsed", job.pk),
        ("parsed", "import_confirmed", job.pk),
        ("import_confirmed", "importing", job.pk),
        ("importing", "imported", job.pk),
    ]


def test_str_resource_and_progress(make_import_job):
    job = make_import_job(csv_bytes(book_rows(1)))
    assert str(job) == f"import job #{job.pk} (BookResource, created)"
    assert type(job.resource).__name__ == "BookResource"
    assert job.file_format.get_title() == "csv"
    assert job.progress == {"state": "created", "info": {"current": 0, "total": None}}
