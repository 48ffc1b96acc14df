"""A real worker process killed with SIGKILL in the middle of a chunked
import, and in the middle of its rollback.

As in ``test_worker_faults.py`` each test starts its own ``celery worker``
(tests.fault_settings) on a queue of its own, on the test database and the
configured broker (SQLite + kombu's filesystem transport by default;
PostgreSQL and Redis with DATABASE_URL / CELERY_BROKER_URL). The sweep runs
as the command; a second worker then picks up the task the sweep sent
again. The job must end with exactly the file's rows (or none), no row
twice, and a ledger entry per committed chunk (none after a rollback).
"""

from __future__ import annotations

import io
import json
import os
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.models import Count
from django.test import override_settings

from drf_import_export_jobs.models import ImportLedgerEntry
from tests.conftest import WorkerProcess, book_rows, csv_bytes
from tests.test_worker_faults import (
    STALE,
    KillableWorker,
    isbn,
    sweep_until_ended,
    wait_until,
)
from tests.testapp.models import Book

# The fixtures of test_worker_faults.py, used here by name.
pytest_plugins = ["tests.test_worker_faults"]

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

GATED = "tests.testapp.resources.ChunkedFileGatedBookResource"
COMPENSATION_GATED = "tests.testapp.resources.CompensationGatedBookResource"


def chunks(job: Any) -> list[int]:
    return sorted(ImportLedgerEntry.for_job(job).values_list("chunk", flat=True))


def duplicates() -> int:
    return Book.objects.values("isbn").annotate(n=Count("pk")).filter(n__gt=1).count()


def second_worker(first: KillableWorker) -> KillableWorker:
    """Another worker on the killed one's queue; the gate lets it through."""
    (first.gate / "release").touch()
    return KillableWorker(first.queue, Path(os.environ["TEST_RUN_DIR"]))


def wait_for(job: Any, statuses: set[str], worker: KillableWorker, timeout: float = 60) -> None:
    def ended() -> bool:
        job.refresh_from_db()
        return job.status in statuses

    try:
        wait_until(ended, timeout, f"{job} in {statuses}")
    except AssertionError:
        raise AssertionError(worker.worker.output()[-3000:]) from None


def test_sigkill_mid_chunked_import_resumes_and_imports_every_row_once(
    killable_worker, make_import_job, ann
):
    job = make_import_job(
        csv_bytes(book_rows(200)),
        resource=GATED,
        resource_kwargs=killable_worker.gate_kwargs(isbn(120), gate_phase="import"),
    )
    wait_until(lambda: type(job).objects.get(pk=job.pk).status == "parsed", 60, "parsed")
    job.refresh_from_db()
    job.confirm_import()
    killable_worker.wait_at_gate()
    job.refresh_from_db()
    assert (job.status, job.commit_mode) == ("importing", "chunked")
    # Chunks 1 and 2 (rows 1-100) are committed, chunk 3 waits at the gate.
    assert Book.objects.count() == 100 and chunks(job) == [1, 2]
    killable_worker.kill()
    killed = time.monotonic()
    # Within STALE_JOB_TIMEOUT plus a sweep: back to import_confirmed, task sent again.
    assert sweep_until_ended(job, "importing") == "import_confirmed"
    assert time.monotonic() - killed < STALE + 1 + 5
    assert job.worker_restarts == 1
    second = second_worker(killable_worker)
    try:
        wait_for(job, {"imported", "import_error", "rolling_back"}, second)
    finally:
        second.kill()
    assert job.status == "imported", job.error_message
    assert Book.objects.count() == 200 and duplicates() == 0
    assert chunks(job) == [1, 2, 3, 4, 5]


def test_sigkill_mid_rollback_goes_on_and_leaves_no_row(killable_worker, make_import_job, ann):
    job = make_import_job(
        csv_bytes(book_rows(200)),
        resource=COMPENSATION_GATED,
        # Chunk 3 fails; the rollback compensates chunk 2, then waits in chunk 1's.
        resource_kwargs={
            "gate_dir": str(killable_worker.gate),
            "gate_key": isbn(10),
            "fail_key": isbn(120),
        },
    )
    wait_until(lambda: type(job).objects.get(pk=job.pk).status == "parsed", 60, "parsed")
    job.refresh_from_db()
    job.confirm_import()
    killable_worker.wait_at_gate()
    job.refresh_from_db()
    assert (job.status, job.rollback_status) == ("rolling_back", "import_error")
    assert chunks(job) == [1] and Book.objects.count() == 50
    killable_worker.kill()
    killed = time.monotonic()
    # Within STALE_JOB_TIMEOUT plus a sweep the rollback is handed to a
    # new delivery of the import task (no owner, task sent again).
    while job.worker_token:
        assert time.monotonic() - killed < STALE + 1 + 5, "the sweep never took it"
        call_command("sweep_import_export_jobs", stdout=io.StringIO())
        job.refresh_from_db()
        time.sleep(0.5)
    assert job.status == "rolling_back"
    second = second_worker(killable_worker)
    try:
        wait_for(job, {"import_error"}, second)
    finally:
        second.kill()
    assert "failing at 9780000000120" in job.error_message
    assert Book.objects.count() == 0 and chunks(job) == []
    assert job.revert_result["totals"] == {"reverted": 100, "kept": 0, "failed": 0}


def test_with_django_tasks_the_sweep_resends_a_killed_chunked_import(make_import_job, ann):
    """Django's tasks framework never delivers a killed worker's task again:
    the sweep puts the import back to import_confirmed and enqueues its task,
    and the next db_worker resumes it from its first uncommitted chunk."""
    queue = f"faults-{uuid.uuid4().hex[:10]}"
    run_dir = Path(os.environ["TEST_RUN_DIR"])
    gate = run_dir / f"gate-{queue}"
    gate.mkdir()
    env = {
        **os.environ,
        "TEST_DB_NAME": str(connection.settings_dict["NAME"]),
        "DJANGO_SETTINGS_MODULE": "tests.fault_settings",
    }
    config = {
        **settings.DRF_IMPORT_EXPORT_JOBS,
        "TASK_BACKEND": "django",
        "TASK_QUEUE": queue,
        "STALE_JOB_TIMEOUT": STALE,
    }
    backend: list[str] = []
    if "isolated" in getattr(settings, "TASKS", {}):
        # A tasks alias no db_worker of the session takes.
        env["TEST_JOBS_SETTINGS"] = json.dumps({"DJANGO_TASKS_BACKEND": "isolated"})
        config["DJANGO_TASKS_BACKEND"] = "isolated"
        backend = ["--backend", "isolated"]

    def start() -> WorkerProcess:
        log = run_dir / f"{queue}-{uuid.uuid4().hex[:6]}.log"
        return WorkerProcess.start_tasks_worker(log, env, *backend, "--queue-name", queue)

    worker = start()
    second = None
    try:
        with override_settings(DRF_IMPORT_EXPORT_JOBS=config):
            job = make_import_job(
                csv_bytes(book_rows(200)),
                resource=GATED,
                resource_kwargs={"gate_dir": str(gate), "gate_key": isbn(120)},
            )
            wait_until(lambda: type(job).objects.get(pk=job.pk).status == "parsed", 60, "parsed")
            job.refresh_from_db()
            job.confirm_import()
            wait_until(lambda: (gate / "reached").exists(), 60, "the gate")
            assert Book.objects.count() == 100 and chunks(job) == [1, 2]
            os.killpg(worker.process.pid, signal.SIGKILL)
            worker.process.wait(30)
            killed = time.monotonic()
            assert sweep_until_ended(job, "importing") == "import_confirmed"
            assert time.monotonic() - killed < STALE + 1 + 5
            (gate / "release").touch()
            second = start()
            wait_until(
                lambda: type(job).objects.get(pk=job.pk).status in ("imported", "import_error"),
                60,
                "the resumed import ended",
            )
    finally:
        (gate / "release").touch()
        for process in (worker, second):
            if process is not None and process.process.poll() is None:
                process.stop()
    job.refresh_from_db()
    assert job.status == "imported", job.error_message
    assert Book.objects.count() == 200 and duplicates() == 0
    assert chunks(job) == [1, 2, 3, 4, 5]


@pytest.mark.skipif(
    not os.environ.get("CELERY_BROKER_URL", "").startswith("redis"),
    reason="needs Redis: kombu's filesystem transport never redelivers a fetched message",
)
def test_a_redelivered_chunked_import_resumes_without_the_sweep(
    killable_worker, make_import_job, ann
):
    """The killed worker never acknowledged the import task (acks_late): Redis
    hands it to the next worker, which finds the owner gone and resumes the
    import; no sweep runs."""
    job = make_import_job(
        csv_bytes(book_rows(200)),
        resource=GATED,
        resource_kwargs=killable_worker.gate_kwargs(isbn(120), gate_phase="import"),
    )
    wait_until(lambda: type(job).objects.get(pk=job.pk).status == "parsed", 60, "parsed")
    job.refresh_from_db()
    job.confirm_import()
    killable_worker.wait_at_gate()
    killable_worker.kill()
    (killable_worker.gate / "release").touch()
    second = KillableWorker(
        killable_worker.queue, Path(os.environ["TEST_RUN_DIR"]), TEST_VISIBILITY_TIMEOUT="1"
    )
    try:
        wait_for(job, {"imported", "import_error"}, second)
        log = second.worker.output()
    finally:
        second.kill()
    assert job.status == "imported", log[-3000:]
    assert job.worker_restarts == 1 and "redelivered" in log
    assert "resuming it from its first uncommitted chunk" in log
    assert Book.objects.count() == 200 and duplicates() == 0
    assert chunks(job) == [1, 2, 3, 4, 5]
