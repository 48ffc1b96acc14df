"""One chunked import on two worker processes at once (parallel chunks).

Each test starts two ``celery worker`` processes (tests.fault_settings,
concurrency 1) on a queue of their own, on the test database and broker.
The import task marks the chunks pending and sends one more task; each
worker claims chunks with ``SELECT ... FOR UPDATE SKIP LOCKED``. That needs
PostgreSQL (or MySQL 8 / MariaDB 10.6): on SQLite a chunked import runs on
one task and these tests are skipped.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.test import override_settings

from drf_import_export_jobs.models import ImportLedgerEntry, JobEvent, PendingImportChunk
from tests.conftest import WorkerProcess, book_rows, csv_bytes, set_cell, wait_for_status
from tests.test_worker_faults import KillableWorker, isbn, wait_until
from tests.testapp.models import Book

# The fixtures of test_worker_faults.py (ann), used here by name.
pytest_plugins = ["tests.test_worker_faults"]

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not connection.features.has_select_for_update_skip_locked,
        reason="the database cannot skip locked rows: a chunked import runs on one task",
    ),
]

TRACED = "tests.testapp.resources.ParallelTracedBookResource"
PARALLEL = "tests.testapp.resources.ParallelBookResource"
ENDED = {"imported", "import_error", "cancelled", "parse_error", "input_error"}


class TwoWorkers:
    """Two worker processes on one queue of their own; a folder for traces."""

    def __init__(self, run_dir: Path) -> None:
        self.queue = f"parallel-{uuid.uuid4().hex[:10]}"
        self.folder = run_dir / f"trace-{self.queue}"
        self.folder.mkdir()
        # One task at a time each: a busy worker must not reserve the second task.
        self.workers = [
            KillableWorker(
                self.queue,
                run_dir,
                "--prefetch-multiplier=1",
                TEST_JOBS_SETTINGS=json.dumps({"TASK_QUEUE": self.queue}),
            )
            for _ in range(2)
        ]

    def output(self) -> str:
        return "\n".join(w.worker.output()[-3000:] for w in self.workers)

    def trace(self) -> list[dict[str, Any]]:
        path = self.folder / "trace.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]

    def kill(self) -> None:
        for worker in self.workers:
            worker.kill()


@pytest.fixture
def two_workers(transactional_db: Any) -> Iterator[TwoWorkers]:
    if str(settings.CELERY_BROKER_URL).startswith("filesystem://"):
        # Two consumers of one queue can read a message file still being written.
        pytest.skip("needs Redis (CELERY_BROKER_URL): the filesystem transport has one consumer")
    workers = TwoWorkers(Path(os.environ["TEST_RUN_DIR"]))
    config = {**settings.DRF_IMPORT_EXPORT_JOBS, "TASK_QUEUE": workers.queue}
    try:
        with override_settings(DRF_IMPORT_EXPORT_JOBS=config):
            yield workers
    finally:
        workers.kill()


def ended(job: Any, workers: TwoWorkers, statuses: set[str], timeout: float = 120) -> Any:
    def done() -> bool:
        job.refresh_from_db()
        return job.status in statuses

    try:
        wait_until(done, timeout, f"{job} in {statuses}")
    except AssertionError:
        raise AssertionError(workers.output()) from None
    return job


def parsed_and_confirmed(job: Any, workers: TwoWorkers) -> Any:
    ended(job, workers, {"parsed", *ENDED})
    assert job.status == "parsed", job.error_message
    job.confirm_import()
    return job


def duplicates() -> int:
    return Book.objects.values("isbn").annotate(n=Count("pk")).filter(n__gt=1).count()


def status_events(job: Any, status: str) -> int:
    events = JobEvent.objects.filter(job_model=job._meta.label, job_id=str(job.pk))
    return events.filter(kind="status", status=status).count()


def test_two_workers_import_one_file_and_the_job_ends_once(two_workers, make_import_job, ann):
    job = make_import_job(
        csv_bytes(book_rows(600)),
        resource=TRACED,
        resource_kwargs={"trace_dir": str(two_workers.folder), "pause": 0.15},
    )
    parsed_and_confirmed(job, two_workers)
    ended(job, two_workers, ENDED)
    assert job.status == "imported", job.error_message
    assert Book.objects.count() == 600 and duplicates() == 0
    # Both processes imported chunks of the file, and every chunk once.
    trace = two_workers.trace()
    assert len({line["pid"] for line in trace}) == 2, two_workers.output()
    assert sorted(i for line in trace for i in line["isbns"]) == sorted(
        isbn(i) for i in range(600)
    )
    overlapping = [
        (a, b) for a in trace for b in trace if a is not b and a["start"] < b["end"] < a["end"]
    ]
    assert overlapping, "the two workers never ran chunks side by side"
    # The results add up over the chunks of both tasks; the job ended once.
    assert job.import_result["totals"]["new"] == 600 and job.import_result["rows"] == 600
    assert (job.progress_current, job.progress_total) == (600, 600)
    entries = ImportLedgerEntry.for_job(job)
    assert sorted(entries.values_list("chunk", flat=True)) == list(range(1, 14))
    assert not PendingImportChunk.for_job(job).exists()
    assert status_events(job, "imported") == 1


def test_chunks_naming_one_isbn_run_in_file_order_never_side_by_side(
    two_workers, make_import_job, ann
):
    # Rows 0-399 are new; rows 400-599 edit the books of rows 0-199 again, so
    # chunks 9-12 name the ISBNs of chunks 1-4: the edits must win.
    lines = book_rows(400)
    edits = [set_cell(line, "title", f"Edited {n}") for n, line in enumerate(book_rows(200))]
    job = make_import_job(
        csv_bytes(lines + edits),
        resource=TRACED,
        resource_kwargs={"trace_dir": str(two_workers.folder), "pause": 0.1},
    )
    parsed_and_confirmed(job, two_workers)
    ended(job, two_workers, ENDED)
    assert job.status == "imported", job.error_message
    assert Book.objects.count() == 400 and duplicates() == 0
    assert Book.objects.filter(title__startswith="Edited").count() == 200
    totals = job.import_result["totals"]
    assert (totals["new"], totals["update"]) == (400, 200)
    trace = two_workers.trace()
    firsts = [line for line in trace if not line["titles"][0].startswith("Edited")]
    edits = [line for line in trace if line["titles"][0].startswith("Edited")]
    assert len(firsts) == 8 and len(edits) == 4
    pairs = [(a, b) for a in firsts for b in edits if set(a["isbns"]) & set(b["isbns"])]
    assert len(pairs) == 4
    for first, edit in pairs:
        assert first["end"] <= edit["start"], (first, edit)


def test_the_bulk_engine_on_two_workers_matches_one_transaction(two_workers, make_import_job, ann):
    existing = [set_cell(line, "title", "Before") for line in book_rows(100, start=300)]
    lines = book_rows(500)
    first = make_import_job(csv_bytes(existing), resource="tests.testapp.resources.BookResource")
    parsed_and_confirmed(first, two_workers)
    ended(first, two_workers, ENDED)
    assert first.status == "imported" and Book.objects.count() == 100
    job = make_import_job(csv_bytes(lines), resource=PARALLEL)
    parsed_and_confirmed(job, two_workers)
    ended(job, two_workers, ENDED)
    assert job.status == "imported", job.error_message
    assert job.import_result["engine"] == "bulk"
    totals = job.import_result["totals"]
    assert (totals["new"], totals["update"], totals["skip"]) == (400, 100, 0)
    assert Book.objects.count() == 500 and duplicates() == 0
    assert not Book.objects.filter(title="Before").exists()


def test_a_cancel_stops_both_workers_and_leaves_no_row(two_workers, make_import_job, ann):
    job = make_import_job(
        csv_bytes(book_rows(1000)),
        resource=TRACED,
        resource_kwargs={"trace_dir": str(two_workers.folder), "pause": 0.2},
    )
    parsed_and_confirmed(job, two_workers)
    wait_until(lambda: len({line["pid"] for line in two_workers.trace()}) == 2, 60, "two tasks")
    job.refresh_from_db()
    job.cancel_import()
    ended(job, two_workers, ENDED)
    assert job.status == "cancelled"
    assert Book.objects.count() == 0
    assert not ImportLedgerEntry.for_job(job).exists()
    assert not PendingImportChunk.for_job(job).exists()
    assert status_events(job, "cancelled") == 1


def test_a_failing_chunk_on_either_worker_rolls_every_chunk_back(
    two_workers, make_import_job, ann
):
    job = make_import_job(
        csv_bytes(book_rows(800)),
        resource=TRACED,
        resource_kwargs={
            "trace_dir": str(two_workers.folder),
            "pause": 0.1,
            "fail_key": isbn(620),
        },
    )
    parsed_and_confirmed(job, two_workers)
    ended(job, two_workers, ENDED)
    assert job.status == "import_error"
    assert "failing at" in job.error_message
    assert Book.objects.count() == 0
    assert not ImportLedgerEntry.for_job(job).exists()
    assert status_events(job, "import_error") == 1


def test_a_killed_worker_leaves_its_chunk_to_the_other(two_workers, make_import_job, ann):
    job = make_import_job(
        csv_bytes(book_rows(1000)),
        resource=TRACED,
        resource_kwargs={"trace_dir": str(two_workers.folder), "pause": 0.15},
    )
    parsed_and_confirmed(job, two_workers)
    wait_until(lambda: len({line["pid"] for line in two_workers.trace()}) == 2, 60, "two tasks")
    two_workers.workers[0].kill()
    ended(job, two_workers, ENDED, timeout=180)
    assert job.status == "imported", job.error_message
    assert Book.objects.count() == 1000 and duplicates() == 0
    assert job.import_result["totals"]["new"] == 1000
    assert status_events(job, "imported") == 1


def test_two_django_tasks_workers_import_one_file(transactional_db, make_import_job, ann):
    """The same with ``TASK_BACKEND = "django"``: two django-tasks-db
    ``db_worker`` processes; the import task enqueues the extra task."""
    run_dir = Path(os.environ["TEST_RUN_DIR"])
    folder = run_dir / f"trace-tasks-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    env = {
        **os.environ,
        "TEST_DB_NAME": str(connection.settings_dict["NAME"]),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
    }
    workers = [
        WorkerProcess.start_tasks_worker(
            run_dir / f"tasks-parallel-{uuid.uuid4().hex[:6]}.log", env, "--queue-name", "*"
        )
        for _ in range(2)
    ]
    config = {**settings.DRF_IMPORT_EXPORT_JOBS, "TASK_BACKEND": "django"}
    try:
        with override_settings(DRF_IMPORT_EXPORT_JOBS=config):
            job = make_import_job(
                csv_bytes(book_rows(400)),
                resource=TRACED,
                resource_kwargs={"trace_dir": str(folder), "pause": 0.15},
            )
            wait_for_status(job, {"parsed", *ENDED}, timeout=120)
            assert job.status == "parsed", job.error_message
            job.confirm_import()
            wait_for_status(job, ENDED, timeout=120)
    finally:
        for worker in workers:
            worker.stop()
    logs = "\n".join(worker.output()[-3000:] for worker in workers)
    assert job.status == "imported", job.error_message + logs
    assert Book.objects.count() == 400 and duplicates() == 0
    trace = [json.loads(line) for line in (folder / "trace.jsonl").read_text().splitlines()]
    assert len({line["pid"] for line in trace}) == 2, logs
    assert status_events(job, "imported") == 1
