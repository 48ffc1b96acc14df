"""End to end with a real Celery worker process consuming from a real broker
(kombu's filesystem transport by default, Redis/RabbitMQ via
CELERY_BROKER_URL) on the test database (SQLite file, or DATABASE_URL); the
tests taking ``job_worker`` run with the django.tasks worker too."""

from __future__ import annotations

import csv
import io
import time

import pytest

from drf_import_export_jobs import dispatch
from drf_import_export_jobs.swapping import get_export_job_model, get_import_job_model
from tests.conftest import book_rows, csv_bytes, set_cell, wait_for_status
from tests.testapp.models import Author, Book

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def ann(transactional_db):
    return Author.objects.create(name="Ann")


def test_import_flow_through_the_worker(celery_worker, make_import_job, ann):
    job = make_import_job(csv_bytes(book_rows(180)))
    wait_for_status(job, "parsed")
    assert job.parse_result["totals"]["new"] == 180
    assert job.progress["info"] == {"current": 180, "total": 180}
    assert Book.objects.count() == 0
    job.confirm_import()
    wait_for_status(job, "imported")
    assert job.import_result["totals"]["new"] == 180
    assert Book.objects.count() == 180
    assert get_import_job_model().objects.get(pk=job.pk).status == "imported"


def test_input_and_parse_errors_through_the_worker(job_worker, make_import_job, ann):
    lines = book_rows(5)
    lines[2] = set_cell(lines[2], "author", "Nobody")
    bad_rows = make_import_job(csv_bytes(lines))
    bad_file = make_import_job(b"\x00\x01\x02garbage" * 50)
    wait_for_status(bad_rows, "input_error")
    assert bad_rows.parse_result["errors"][0]["row"] == 3, bad_rows.parse_result
    wait_for_status(bad_file, "parse_error")
    assert "binary data" in bad_file.error_message


def test_export_through_the_worker(job_worker, make_export_job, ann):
    Book.objects.bulk_create(
        Book(isbn=str(i), title=f"T{i}", author=ann, price=i, in_stock=i % 2 == 0)
        for i in range(1, 101)
    )
    job = make_export_job(
        filters={"in_stock": True}, ordering=["-price"], fields=["isbn", "price"]
    )
    wait_for_status(job, "exported")
    with job.data_file.open("rb") as fh:
        rows = list(csv.reader(io.StringIO(fh.read().decode())))
    assert rows[0] == ["isbn", "price"]
    assert [r[0] for r in rows[1:4]] == ["100", "98", "96"]
    assert len(rows) == 51
    assert get_export_job_model().objects.get(pk=job.pk).progress_total == 50


def test_duplicate_delivery_through_the_broker_does_nothing(celery_worker, make_import_job, ann):
    job = make_import_job(csv_bytes(book_rows(3)))
    wait_for_status(job, "parsed")
    finished = job.parse_finished_at
    dispatch.get_celery_app().tasks[dispatch.PARSE_TASK].apply_async(
        args=[job._meta.label, job.pk], task_id=job.parse_task_id
    )
    deadline = time.monotonic() + 30
    expected = f"skipped, ImportJob {job.pk} cannot move to 'parsing'"
    while expected not in celery_worker.output():
        assert time.monotonic() < deadline, celery_worker.output()[-3000:]
        time.sleep(0.2)
    job.refresh_from_db()
    assert job.status == "parsed"
    assert job.parse_finished_at == finished


def test_cancel_while_the_worker_parses(celery_worker, make_import_job, ann):
    job = make_import_job(
        csv_bytes(book_rows(1500)), resource="tests.testapp.resources.SlowBookResource"
    )
    deadline = time.monotonic() + 60
    while True:
        job.refresh_from_db()
        if job.status == "parsing" and job.progress_current >= 100:
            break
        assert time.monotonic() < deadline, job.status
        time.sleep(0.05)
    assert job.progress_total == 1500
    job.cancel_import()
    time.sleep(1.0)  # long enough for several more chunks, were it still running
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert job.parse_result is None
    assert job.progress_current < 1500
