"""End to end with ``TASK_BACKEND = "django"``: a real django.tasks worker
process (django-tasks-db's ``db_worker``) on the test database (SQLite file,
or DATABASE_URL): the import flow, duplicate delivery, cancel, and a killed
worker whose job the sweep ends (Django's tasks are not delivered again).
The input-error and export flows run with both backends in
tests/test_integration.py (the ``job_worker`` fixture)."""

from __future__ import annotations

import io
import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

from drf_import_export_jobs import djangotasks
from drf_import_export_jobs.swapping import get_import_job_model
from tests.conftest import WorkerProcess, book_rows, csv_bytes, wait_for_status
from tests.testapp.models import Author, Book

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

GATED_IMPORT = "tests.testapp.resources.FileGatedBookResource"


@pytest.fixture(autouse=True)
def django_tasks_backend() -> Iterator[None]:
    """The test process sends job tasks to Django's tasks framework too."""
    config = {**settings.DRF_IMPORT_EXPORT_JOBS, "TASK_BACKEND": "django"}
    with override_settings(DRF_IMPORT_EXPORT_JOBS=config):
        yield


@pytest.fixture
def ann(transactional_db: Any) -> Author:
    return Author.objects.create(name="Ann")


def wait_for_log(worker: WorkerProcess, text: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while text not in worker.output():
        assert time.monotonic() < deadline, worker.output()[-3000:]
        time.sleep(0.1)


def test_import_flow_through_the_tasks_worker(tasks_worker, make_import_job, ann):
    from django_tasks_db.models import DBTaskResult

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
    paths = set(DBTaskResult.objects.values_list("task_path", flat=True))
    assert paths == {
        "drf_import_export_jobs.djangotasks.parse_import_job",
        "drf_import_export_jobs.djangotasks.import_job_data",
    }


def test_duplicate_and_stale_deliveries_do_nothing(tasks_worker, make_import_job, ann):
    job = make_import_job(csv_bytes(book_rows(3)))
    wait_for_status(job, "parsed")
    finished = job.parse_finished_at
    djangotasks.parse_import_job.enqueue(job._meta.label, job.pk, job.parse_task_id)
    wait_for_log(tasks_worker, f"skipped, ImportJob {job.pk} cannot move to 'parsing'")
    djangotasks.parse_import_job.enqueue(job._meta.label, job.pk, "an-older-send")
    wait_for_log(tasks_worker, "delivery an-older-send is stale")
    job.refresh_from_db()
    assert job.status == "parsed"
    assert job.parse_finished_at == finished


def test_cancel_while_the_tasks_worker_parses(tasks_worker, make_import_job, ann):
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
    job.cancel_import()  # no revoke: the job stops at its next chunk
    time.sleep(1.0)  # long enough for several more chunks, were it still running
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert job.parse_result is None
    assert job.progress_current < 1500


def test_a_killed_tasks_worker_leaves_its_job_to_the_sweep(transactional_db, make_import_job, ann):
    """SIGKILL of the db_worker mid-parse: nothing delivers the task again,
    the sweep ends the job once its heartbeat is STALE_JOB_TIMEOUT old."""
    queue = f"faults-{uuid.uuid4().hex[:10]}"
    run_dir = Path(os.environ["TEST_RUN_DIR"])
    gate = run_dir / f"gate-{queue}"
    gate.mkdir()
    from django.db import connection

    env = {
        **os.environ,
        "TEST_DB_NAME": str(connection.settings_dict["NAME"]),
        # Heartbeat every 0.2 s, STALE_JOB_TIMEOUT 2 s.
        "DJANGO_SETTINGS_MODULE": "tests.fault_settings",
        # The "isolated" tasks alias: the session's db_worker, which takes
        # every queue of "default", must not take this job's task.
        "TEST_JOBS_SETTINGS": json.dumps({"DJANGO_TASKS_BACKEND": "isolated"}),
    }
    worker = WorkerProcess.start_tasks_worker(
        run_dir / f"{queue}.log", env, "--backend", "isolated", "--queue-name", queue
    )
    config = {
        **settings.DRF_IMPORT_EXPORT_JOBS,
        "TASK_BACKEND": "django",
        "DJANGO_TASKS_BACKEND": "isolated",
        "TASK_QUEUE": queue,
        "STALE_JOB_TIMEOUT": 2,
    }
    try:
        with override_settings(DRF_IMPORT_EXPORT_JOBS=config):
            job = make_import_job(
                csv_bytes(book_rows(200)),
                resource=GATED_IMPORT,
                resource_kwargs={
                    "gate_dir": str(gate),
                    "gate_key": str(9780000000000 + 120),
                    "gate_phase": "parse",
                },
            )
            deadline = time.monotonic() + 60
            while not (gate / "reached").exists():
                assert worker.process.poll() is None, worker.output()[-3000:]
                assert time.monotonic() < deadline, worker.output()[-3000:]
                time.sleep(0.05)
            job.refresh_from_db()
            assert job.status == "parsing"
            os.killpg(worker.process.pid, 9)
            worker.process.wait(30)
            limit = time.monotonic() + 2 + 10
            while True:
                call_command("sweep_import_export_jobs", stdout=io.StringIO())
                job.refresh_from_db()
                if job.status != "parsing":
                    break
                assert time.monotonic() < limit, f"{job} still parsing"
                time.sleep(0.5)
    finally:
        (gate / "release").touch()
        if worker.process.poll() is None:
            worker.stop()
    assert job.status == "parse_error"
    assert "worker running the dry run was lost" in job.error_message
    assert job.parse_result is None
    assert Book.objects.count() == 0
