"""A real worker process killed with SIGKILL in the middle of a job.

Each test starts its own ``celery worker`` (tests.fault_settings: heartbeat
every 0.2 s) on a queue of its own, on the test database and the configured
broker (SQLite + kombu's filesystem transport by default; PostgreSQL and
Redis with DATABASE_URL / CELERY_BROKER_URL). The job waits at a file gate,
so the kill lands mid-work; then the sweep (the command, or the task run by
Celery beat in a second worker) must end the job in its error status within
STALE_JOB_TIMEOUT plus one sweep, with nothing half-written.
"""

from __future__ import annotations

import io
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from tests.conftest import WorkerProcess, book_rows, csv_bytes, stored_job_files
from tests.testapp.models import Author, Book

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

GATED_IMPORT = "tests.testapp.resources.FileGatedBookResource"
GATED_EXPORT = "tests.testapp.resources.FileGatedExportBookResource"
STALE = 2  # STALE_JOB_TIMEOUT of the test process (the sweep's side)
SWEEP_EVERY = 0.5  # how often the test runs the sweep command after the kill


def isbn(i: int) -> str:
    return str(9780000000000 + i)


class KillableWorker:
    """A worker process on its own queue, started in its own process group."""

    def __init__(self, queue: str, run_dir: Path, *options: str, **env_extra: str) -> None:
        self.queue = queue
        self.gate = run_dir / f"gate-{queue}"
        self.gate.mkdir(exist_ok=True)
        log = run_dir / f"{queue}-{uuid.uuid4().hex[:6]}.log"
        env = {
            **os.environ,
            "TEST_DB_NAME": str(connection.settings_dict["NAME"]),
            "DJANGO_SETTINGS_MODULE": "tests.fault_settings",
            **env_extra,
        }
        self.worker = WorkerProcess.start(
            log,
            env,
            "--concurrency=1",
            "--without-heartbeat",
            *("-Q", queue, "-n", f"{queue}-{uuid.uuid4().hex[:4]}@%h"),
            *options,
        )

    def wait_at_gate(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not (self.gate / "reached").exists():
            assert self.worker.process.poll() is None, self.worker.output()[-3000:]
            assert time.monotonic() < deadline, self.worker.output()[-3000:]
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes, as an OOM killer would."""
        if self.worker.process.poll() is None:
            os.killpg(self.worker.process.pid, signal.SIGKILL)
        self.worker.process.wait(30)

    def freeze(self) -> None:
        """SIGSTOP the worker and its pool processes (a VM paused, a process
        swapped out or stopped in a debugger)."""
        os.killpg(self.worker.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self.worker.process.poll() is None:
            os.killpg(self.worker.process.pid, signal.SIGCONT)

    def wait_for_log(self, text: str, timeout: float = 30) -> str:
        wait_until(lambda: text in self.worker.output(), timeout, f"{text!r} in the worker log")
        return self.worker.output()

    def gate_kwargs(self, key: str, **extra: Any) -> dict[str, Any]:
        return {"gate_dir": str(self.gate), "gate_key": key, **extra}


@pytest.fixture
def killable_worker(transactional_db: Any) -> Iterator[KillableWorker]:
    queue = f"faults-{uuid.uuid4().hex[:10]}"
    config = {**settings.DRF_IMPORT_EXPORT_JOBS, "TASK_QUEUE": queue, "STALE_JOB_TIMEOUT": STALE}
    worker = KillableWorker(queue, Path(os.environ["TEST_RUN_DIR"]))
    try:
        with override_settings(DRF_IMPORT_EXPORT_JOBS=config):
            yield worker
    finally:
        (worker.gate / "release").touch()
        worker.kill()


@pytest.fixture
def patient_worker(transactional_db: Any) -> Iterator[KillableWorker]:
    """A killable worker whose STALE_JOB_TIMEOUT is five minutes: only a
    redelivery that tells a dead owner at once ends its jobs in a test."""
    queue = f"faults-{uuid.uuid4().hex[:10]}"
    config = {**settings.DRF_IMPORT_EXPORT_JOBS, "TASK_QUEUE": queue, "STALE_JOB_TIMEOUT": 300}
    worker = KillableWorker(queue, Path(os.environ["TEST_RUN_DIR"]), TEST_STALE_JOB_TIMEOUT="300")
    try:
        with override_settings(DRF_IMPORT_EXPORT_JOBS=config):
            yield worker
    finally:
        (worker.gate / "release").touch()
        worker.resume()
        worker.kill()


@pytest.fixture
def ann(transactional_db: Any) -> Author:
    return Author.objects.create(name="Ann")


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} within {timeout}s"
        time.sleep(0.05)


def heartbeat_advances(job: Any) -> bool:
    """Whether the job's heartbeat moves on while the worker waits at the gate
    (the background thread beats every 0.2 s in the worker)."""
    first = type(job).objects.get(pk=job.pk).heartbeat_at
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if type(job).objects.get(pk=job.pk).heartbeat_at != first:
            return True
        time.sleep(0.05)
    return False


def sweep_until_ended(job: Any, running: str) -> str:
    """Run the sweep command until ``job`` leaves ``running``; the job must
    end within STALE_JOB_TIMEOUT (counted from the kill) plus two sweeps."""
    limit = time.monotonic() + STALE + 2 * SWEEP_EVERY + 5  # 5 s: the test machine's slack
    while True:
        call_command("sweep_import_export_jobs", stdout=io.StringIO())
        job.refresh_from_db()
        if job.status != running:
            return job.status
        assert time.monotonic() < limit, f"{job} still {running}"
        time.sleep(SWEEP_EVERY)


def test_sigkill_while_parsing(killable_worker, make_import_job, ann):
    job = make_import_job(
        csv_bytes(book_rows(200)),
        resource=GATED_IMPORT,
        resource_kwargs=killable_worker.gate_kwargs(isbn(120), gate_phase="parse"),
    )
    killable_worker.wait_at_gate()
    job.refresh_from_db()
    assert job.status == "parsing"
    assert heartbeat_advances(job), "no heartbeat while a chunk is slow"
    killable_worker.kill()
    assert sweep_until_ended(job, "parsing") == "parse_error"
    assert "worker running the dry run was lost" in job.error_message
    assert job.parse_result is None
    assert Book.objects.count() == 0


def import_held_at_row_120(worker: KillableWorker, make_import_job: Callable[..., Any]) -> Any:
    """A 200-row import, parsed and confirmed, its worker waiting at the gate
    of row 120 (rows 1-100 written in the import's open transaction)."""
    job = make_import_job(
        csv_bytes(book_rows(200)),
        resource=GATED_IMPORT,
        resource_kwargs=worker.gate_kwargs(isbn(120), gate_phase="import"),
    )
    wait_until(lambda: type(job).objects.get(pk=job.pk).status == "parsed", 60, "parsed")
    job.refresh_from_db()
    job.confirm_import()
    worker.wait_at_gate()
    return job


def test_sigkill_while_importing_leaves_no_row(killable_worker, make_import_job, ann):
    job = import_held_at_row_120(killable_worker, make_import_job)
    job.refresh_from_db()
    assert job.status == "importing"
    if connection.vendor != "sqlite":
        # Rows 1-100 are written in the worker's open transaction; progress and
        # the heartbeat reach the row through a second connection.
        assert job.progress_current == 100
        assert heartbeat_advances(job), "no heartbeat while a chunk is slow"
    assert Book.objects.count() == 0
    killable_worker.kill()
    assert sweep_until_ended(job, "importing") == "import_error"
    assert "nothing was imported" in job.error_message
    assert Book.objects.count() == 0
    # The dead transaction holds no lock: its rows can be written at once.
    Book.objects.create(isbn=isbn(0), title="again", author=ann, price=1)
    assert Book.objects.count() == 1


def test_sigkill_while_exporting_keeps_no_file_and_beat_runs_the_sweep(
    killable_worker, make_export_job, ann, empty_job_storage
):
    Book.objects.bulk_create(
        Book(isbn=isbn(i), title=f"T{i}", author=ann, price=1) for i in range(180)
    )
    job = make_export_job(
        resource=GATED_EXPORT, resource_kwargs=killable_worker.gate_kwargs(isbn(130))
    )
    killable_worker.wait_at_gate()
    job.refresh_from_db()
    assert job.status == "exporting"
    assert heartbeat_advances(job), "no heartbeat while a chunk is slow"
    killable_worker.kill()
    # A new worker with an embedded Celery beat runs the sweep task; the test
    # only watches the row.
    run_dir = Path(os.environ["TEST_RUN_DIR"])
    beat = KillableWorker(
        killable_worker.queue,
        run_dir,
        "-B",
        "--schedule",
        str(run_dir / f"beat-{killable_worker.queue}"),
        TEST_BEAT_SWEEP_SECONDS="0.5",
        TEST_BEAT_QUEUE=killable_worker.queue,
    )
    try:
        wait_until(
            lambda: type(job).objects.get(pk=job.pk).status != "exporting",
            STALE + 20,
            "the beat-scheduled sweep ended the job",
        )
        log = beat.worker.output()
    finally:
        beat.kill()
    job.refresh_from_db()
    assert job.status == "export_error", log[-3000:]
    assert "worker running the export was lost" in job.error_message
    assert "drf_import_export_jobs.sweep_jobs" in log
    assert not job.data_file
    assert stored_job_files() == []


@pytest.mark.skipif(
    not os.environ.get("CELERY_BROKER_URL", "").startswith("redis"),
    reason="needs Redis: kombu's filesystem transport never redelivers a fetched message",
)
def test_redelivered_import_of_a_killed_worker_ends_the_job_and_imports_nothing(
    killable_worker, make_import_job, ann
):
    """The killed worker never acknowledged the import task (acks_late): Redis
    hands it to the next worker, which finds the job importing with a stale
    heartbeat and ends it as lost instead of importing a second time."""
    job = import_held_at_row_120(killable_worker, make_import_job)
    killable_worker.kill()
    (killable_worker.gate / "release").touch()
    second = KillableWorker(
        killable_worker.queue, Path(os.environ["TEST_RUN_DIR"]), TEST_VISIBILITY_TIMEOUT="1"
    )
    try:
        # No sweep runs here: only the redelivered task can end the job.
        wait_until(
            lambda: type(job).objects.get(pk=job.pk).status != "importing",
            45,
            "the redelivered task ended the job",
        )
        # The task logs the redelivery once it has ended the job.
        wait_until(lambda: "redelivered" in second.worker.output(), 10, "the redelivery log")
        log = second.worker.output()
    finally:
        second.kill()
    job.refresh_from_db()
    assert job.status == "import_error", log[-3000:]
    assert "nothing was imported" in job.error_message
    assert "redelivered" in log and job.import_task_id in log
    assert Book.objects.count() == 0


# -- a pool process killed: its task comes back at once ------------------------------------


def kill_pool_process(job: Any) -> int:
    """SIGKILL the pool process running ``job`` (recorded on the row); the
    worker's main process survives and hands the task back to the broker
    (acks_late + reject_on_worker_lost)."""
    job.refresh_from_db()
    assert job.worker_pid and job.worker_token, "the running job records its worker"
    os.kill(job.worker_pid, signal.SIGKILL)
    return job.worker_pid


def test_sigkill_of_the_pool_process_while_importing_ends_the_job_at_once(
    patient_worker, make_import_job, ann
):
    """The redelivered task sees the owner's process gone from this host and
    ends the import at once, far from STALE_JOB_TIMEOUT (300 s), no sweep."""
    job = import_held_at_row_120(patient_worker, make_import_job)
    pid = kill_pool_process(job)
    killed = time.monotonic()
    wait_until(
        lambda: type(job).objects.get(pk=job.pk).status != "importing",
        30,
        "the redelivered task ended the job",
    )
    assert time.monotonic() - killed < 30
    job.refresh_from_db()
    # The task logs the redelivery once it has ended the job.
    wait_until(lambda: "redelivered" in patient_worker.worker.output(), 10, "the redelivery log")
    log = patient_worker.worker.output()
    assert job.status == "import_error", log[-3000:]
    assert f"process {pid} on " in job.error_message and "is gone" in job.error_message
    assert "nothing was imported" in job.error_message
    assert "redelivered" in log and job.import_task_id in log
    assert Book.objects.count() == 0


def test_sigkill_of_the_pool_process_while_parsing_parses_again(
    patient_worker, make_import_job, ann
):
    """A dry run wrote nothing: the redelivered task takes it over and runs
    it again from the start."""
    job = make_import_job(
        csv_bytes(book_rows(200)),
        resource=GATED_IMPORT,
        resource_kwargs=patient_worker.gate_kwargs(isbn(120), gate_phase="parse"),
    )
    patient_worker.wait_at_gate()
    (patient_worker.gate / "release").touch()  # the second run goes through
    kill_pool_process(job)
    wait_until(
        lambda: type(job).objects.get(pk=job.pk).status not in ("created", "parsing"),
        30,
        "the redelivered task parsed the job again",
    )
    job.refresh_from_db()
    log = patient_worker.worker.output()
    assert job.status == "parsed", log[-3000:]
    assert job.worker_restarts == 1
    assert job.parse_result["totals"]["new"] == 200
    assert "running it again from the start" in log
    assert Book.objects.count() == 0


# -- a frozen worker resumes after its job was ended ------------------------------------------


def test_a_frozen_parse_resumed_after_the_sweep_stops_and_keeps_its_progress(
    killable_worker, make_import_job, ann
):
    job = make_import_job(
        csv_bytes(book_rows(200)),
        resource=GATED_IMPORT,
        resource_kwargs=killable_worker.gate_kwargs(isbn(120), gate_phase="parse"),
    )
    killable_worker.wait_at_gate()
    killable_worker.freeze()
    assert sweep_until_ended(job, "parsing") == "parse_error"
    (killable_worker.gate / "release").touch()
    killable_worker.resume()
    log = killable_worker.wait_for_log(f"[{job.parse_task_id}] succeeded")
    job.refresh_from_db()
    assert job.status == "parse_error", log[-3000:]
    assert job.progress_current == 100  # the rows before the gate, not the resumed ones
    assert job.parse_result is None
    assert "worker running the dry run was lost" in job.error_message
    assert "stopped parsing: its status is now 'parse_error'" in log


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="SQLite: the frozen import's transaction holds the only write lock, so nothing "
    "can end the job while it is frozen",
)
def test_a_frozen_import_resumed_after_the_sweep_stops_and_keeps_its_progress(
    killable_worker, make_import_job, ann
):
    """Frozen past STALE_JOB_TIMEOUT mid-import, the worker resumes: it writes
    no progress to the ended job, stops at its next chunk and rolls back."""
    job = import_held_at_row_120(killable_worker, make_import_job)
    killable_worker.freeze()
    assert sweep_until_ended(job, "importing") == "import_error"
    (killable_worker.gate / "release").touch()
    killable_worker.resume()
    log = killable_worker.wait_for_log(f"[{job.import_task_id}] succeeded")
    job.refresh_from_db()
    assert job.status == "import_error", log[-3000:]
    assert job.progress_current == 100  # the rows before the gate, not the resumed ones
    assert "nothing was imported" in job.error_message
    assert "stopped without importing: its status is now 'import_error'" in log
    assert Book.objects.count() == 0
