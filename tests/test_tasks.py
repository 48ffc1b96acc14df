"""The Celery tasks: thin, idempotent, and safe against stale deliveries."""

from __future__ import annotations

import logging

import pytest

from drf_import_export_jobs import dispatch
from drf_import_export_jobs.tasks import export_job_data, import_job_data, parse_import_job
from tests.conftest import book_rows, csv_bytes
from tests.testapp.models import Book

LOGGER = "drf_import_export_jobs.tasks"


def deliver(task, job, task_id):
    return task.apply(args=[job._meta.label, job.pk], task_id=task_id)


def test_task_options():
    for task in (parse_import_job, import_job_data, export_job_data):
        assert task.acks_late is True
        assert task.reject_on_worker_lost is True
        assert task.ignore_result is True
    assert parse_import_job.name == dispatch.PARSE_TASK
    assert import_job_data.name == dispatch.IMPORT_TASK
    assert export_job_data.name == dispatch.EXPORT_TASK


def test_duplicate_parse_delivery_does_nothing_the_second_time(make_import_job, authors, caplog):
    job = make_import_job(csv_bytes(book_rows(5)))
    deliver(parse_import_job, job, job.parse_task_id)
    job.refresh_from_db()
    assert job.status == "parsed"
    finished = job.parse_finished_at
    with caplog.at_level(logging.INFO, logger=LOGGER):
        deliver(parse_import_job, job, job.parse_task_id)
    job.refresh_from_db()
    assert job.parse_finished_at == finished
    assert "skipped" in caplog.text and "'parsed'" in caplog.text


def test_duplicate_import_delivery_imports_once(make_import_job, authors, caplog):
    job = make_import_job(csv_bytes(book_rows(5)))
    job.parse_data()
    job.confirm_import()
    deliver(import_job_data, job, job.import_task_id)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        deliver(import_job_data, job, job.import_task_id)
    job.refresh_from_db()
    assert job.status == "imported"
    assert job.import_result["totals"]["new"] == 5
    assert Book.objects.count() == 5
    assert "'imported'" in caplog.text


def test_delivery_with_another_task_id_is_stale(make_import_job, authors, caplog):
    job = make_import_job(csv_bytes(book_rows(2)))
    with caplog.at_level(logging.INFO, logger=LOGGER):
        deliver(parse_import_job, job, "some-older-task")
    job.refresh_from_db()
    assert job.status == "created"
    assert "stale" in caplog.text


def test_delivery_for_a_deleted_job(make_import_job, caplog):
    job = make_import_job(csv_bytes(book_rows(2)))
    task_id = job.parse_task_id
    type(job).objects.filter(pk=job.pk).delete()
    with caplog.at_level(logging.INFO, logger=LOGGER):
        deliver(parse_import_job, job, task_id)
    assert "no longer exists" in caplog.text


def test_delivery_for_an_unknown_model(caplog, db):
    with caplog.at_level(logging.INFO, logger=LOGGER):
        parse_import_job.apply(args=["nope.Model", 1])
    assert "unknown job model 'nope.Model'" in caplog.text


def test_delivery_after_cancel_does_nothing(make_import_job, make_export_job, authors):
    job = make_import_job(csv_bytes(book_rows(2)))
    job.cancel_import()
    deliver(parse_import_job, job, job.parse_task_id)
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert job.parse_started_at is None

    export = make_export_job()
    export.cancel_export()
    deliver(export_job_data, export, export.export_task_id)
    export.refresh_from_db()
    assert export.status == "cancelled" and not export.data_file


@pytest.mark.parametrize("status", ["created", "parsing"])
def test_cancel_revokes_the_pending_task(
    make_import_job, sent_tasks, status, django_capture_on_commit_callbacks
):
    job = make_import_job(csv_bytes(book_rows(2)))
    type(job).objects.filter(pk=job.pk).update(status=status)
    job.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        job.cancel_import()
    assert sent_tasks.app.revoked == [job.parse_task_id]


def test_cancel_of_a_confirmed_import_revokes_the_import_task(
    make_import_job, authors, sent_tasks, django_capture_on_commit_callbacks
):
    job = make_import_job(csv_bytes(book_rows(2)))
    job.parse_data()
    job.confirm_import()
    with django_capture_on_commit_callbacks(execute=True):
        job.cancel_import()
    assert job.import_task_id in sent_tasks.app.revoked


def test_broker_failure_is_logged_and_the_job_kept(
    make_import_job, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    class DownApp:
        class tasks:
            def __class_getitem__(cls, name):
                raise ConnectionError("broker unreachable")

    monkeypatch.setattr(dispatch, "get_celery_app", lambda: DownApp)
    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        job = make_import_job(csv_bytes(book_rows(2)))
    job.refresh_from_db()
    assert job.status == "created" and job.parse_task_id
    assert "Could not send task" in caplog.text
