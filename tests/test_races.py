"""Cancel racing the end of a job, many times over.

Each round runs the job's task in one thread (with its own connection, as a
worker would) and cancels from another, the cancel landing before, during or
after the work. Whatever wins, the final status and the data agree: a
cancelled job has no imported rows, results or kept file; a finished job was
never cancelled.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connections

from drf_import_export_jobs.exceptions import InvalidJobStatus
from drf_import_export_jobs.models import ExportJob, ImportJob
from drf_import_export_jobs.tasks import export_job_data, import_job_data, parse_import_job
from tests.conftest import book_rows, csv_bytes, stored_job_files
from tests.testapp.models import Author, Book

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("empty_job_storage"),
]

ROUNDS = 50
ROWS = 10


class Race:
    """Runs ``work`` and ``cancel`` together, ``cancel`` after a delay spread
    over the time ``work`` takes (measured in a first round without a cancel),
    so some cancels land first, some mid-work and some after the end."""

    def __init__(self) -> None:
        self.work_seconds = 0.0
        self.measure = False

    def delay(self, round_number: int) -> float:
        return self.work_seconds * (round_number % 10) / 8

    def calibrate(self, *works: Callable[[], Any]) -> None:
        """Time the last of ``works`` (the first ones warm up imports and caches)."""
        for work in works:
            self.measure = True
            self.run(work, lambda: None, 0)
            self.measure = False

    def run(self, work: Callable[[], Any], cancel: Callable[[], Any], delay: float) -> Any:
        """Returns what ``cancel`` raised, if anything."""
        start = threading.Barrier(2)
        errors: dict[str, BaseException] = {}

        def call(name: str, target: Callable[[], Any], wait: float) -> None:
            try:
                start.wait(10)
                began = time.monotonic()
                time.sleep(wait)
                target()
                if name == "work" and self.measure:
                    self.work_seconds = time.monotonic() - began
            except BaseException as exc:  # looked at by the caller
                errors[name] = exc
            finally:
                connections.close_all()

        threads = [
            threading.Thread(target=call, args=("work", work, 0), daemon=True),
            threading.Thread(target=call, args=("cancel", cancel, delay), daemon=True),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
            assert not thread.is_alive(), "a racing thread hung"
        assert "work" not in errors, errors["work"]
        return errors.get("cancel")


def deliver(task: Any, job: Any, task_id: str) -> Callable[[], Any]:
    return lambda: task.apply(args=[job._meta.label, job.pk], task_id=task_id)


@pytest.fixture
def ann(transactional_db: Any) -> Author:
    return Author.objects.create(name="Ann")


def confirmed_import(make_import_job: Callable[..., ImportJob]) -> ImportJob:
    """A job as ``confirm_import()`` leaves it (its dry run is not the point here)."""
    job = make_import_job(csv_bytes(book_rows(ROWS)))
    ImportJob.objects.filter(pk=job.pk).update(
        status="import_confirmed", import_task_id=f"import-{job.pk}"
    )
    job.refresh_from_db()
    return job


def test_cancel_racing_an_import(make_import_job, ann):
    outcomes: Counter[str] = Counter()
    race = Race()
    warm, first = confirmed_import(make_import_job), confirmed_import(make_import_job)
    race.calibrate(
        deliver(import_job_data, warm, warm.import_task_id),
        deliver(import_job_data, first, first.import_task_id),
    )
    Book.objects.all().delete()
    for round_number in range(ROUNDS):
        job = confirmed_import(make_import_job)
        user_copy = ImportJob.objects.get(pk=job.pk)
        refused = race.run(
            deliver(import_job_data, job, job.import_task_id),
            user_copy.cancel_import,
            race.delay(round_number),
        )
        job.refresh_from_db()
        books = Book.objects.count()
        outcomes[job.status] += 1
        if job.status == "cancelled":
            assert refused is None
            assert books == 0, f"round {round_number}: cancelled but {books} rows imported"
            assert job.import_result is None
        else:
            assert job.status == "imported", (round_number, job.status, job.error_message)
            assert books == ROWS and job.import_result["totals"]["new"] == ROWS
            assert isinstance(refused, InvalidJobStatus) and refused.current_status == "imported"
        Book.objects.all().delete()
    print(f"import vs cancel over {ROUNDS} rounds: {dict(outcomes)}")


def test_cancel_racing_a_dry_run(make_import_job, ann):
    lines = book_rows(ROWS)
    lines[3] = lines[3].replace(",Ann,", ",Nobody,")  # one bad row: an error report
    outcomes: Counter[str] = Counter()
    race = Race()
    warm, first = make_import_job(csv_bytes(lines)), make_import_job(csv_bytes(lines))
    race.calibrate(
        deliver(parse_import_job, warm, warm.parse_task_id),
        deliver(parse_import_job, first, first.parse_task_id),
    )
    for round_number in range(ROUNDS):
        job = make_import_job(csv_bytes(lines))
        user_copy = ImportJob.objects.get(pk=job.pk)
        refused = race.run(
            deliver(parse_import_job, job, job.parse_task_id),
            user_copy.cancel_import,
            race.delay(round_number),
        )
        job.refresh_from_db()
        outcomes[job.status] += 1
        if job.status == "cancelled":
            assert refused is None
            assert job.parse_result is None and not job.error_report
        else:
            assert job.status == "input_error", (round_number, job.status, job.error_message)
            assert job.parse_result["totals"]["error"] == 1 and job.error_report
            assert isinstance(refused, InvalidJobStatus)
        reports = [f for f in stored_job_files() if "/error-reports/" in f]
        expected = ImportJob.objects.exclude(error_report="").count()
        assert len(reports) == expected, f"round {round_number}: a report file lingers"
    assert Book.objects.count() == 0
    print(f"dry run vs cancel over {ROUNDS} rounds: {dict(outcomes)}")


def test_cancel_racing_an_export(make_export_job, ann):
    Book.objects.bulk_create(
        Book(isbn=str(9780000000000 + i), title=f"T{i}", author=ann, price=1) for i in range(ROWS)
    )
    outcomes: Counter[str] = Counter()
    race = Race()
    warm, first = make_export_job(), make_export_job()
    race.calibrate(
        deliver(export_job_data, warm, warm.export_task_id),
        deliver(export_job_data, first, first.export_task_id),
    )
    for round_number in range(ROUNDS):
        job = make_export_job()
        user_copy = ExportJob.objects.get(pk=job.pk)
        refused = race.run(
            deliver(export_job_data, job, job.export_task_id),
            user_copy.cancel_export,
            race.delay(round_number),
        )
        job.refresh_from_db()
        outcomes[job.status] += 1
        if job.status == "cancelled":
            assert refused is None and not job.data_file
        else:
            assert job.status == "exported", (round_number, job.status, job.error_message)
            assert job.data_file.storage.exists(job.data_file.name)
            assert isinstance(refused, InvalidJobStatus)
        files = [f for f in stored_job_files() if "/exports/" in f]
        kept = ExportJob.objects.exclude(data_file="").count()
        assert len(files) == kept, f"round {round_number}: an export file lingers"
    print(f"export vs cancel over {ROUNDS} rounds: {dict(outcomes)}")


def together(*calls: Callable[[], Any]) -> list[BaseException | None]:
    """Run ``calls`` at the same moment, each in a thread with its own
    connection; returns what each raised (None when it returned)."""
    start = threading.Barrier(len(calls))
    raised: list[BaseException | None] = [None] * len(calls)

    def call(index: int) -> None:
        try:
            start.wait(10)
            calls[index]()
        except BaseException as exc:  # looked at by the caller
            raised[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=call, args=(i,), daemon=True) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
        assert not thread.is_alive(), "a racing thread hung"
    return raised


def test_two_reverts_at_once_exactly_one_wins(make_import_job, ann, sent_tasks):
    """Two users ask for the same revert at the same moment, many times over:
    one request moves the job to revert_requested and sends one task, the
    other is refused with the status the winner left; then two deliveries of
    the revert task run together and the rows are reverted once."""
    from drf_import_export_jobs.tasks import revert_import_job

    for round_number in range(ROUNDS // 5):
        job = confirmed_import(make_import_job)
        import_job_data.apply(args=[job._meta.label, job.pk], task_id=job.import_task_id)
        job.refresh_from_db()
        assert job.status == "imported", job.error_message
        first, second = ImportJob.objects.get(pk=job.pk), ImportJob.objects.get(pk=job.pk)
        sent_before = len(sent_tasks)
        raised = together(first.revert_import, second.revert_import)
        job.refresh_from_db()
        assert job.status == "revert_requested", round_number
        assert sorted(exc is None for exc in raised) == [False, True], raised
        loser = next(exc for exc in raised if exc is not None)
        assert isinstance(loser, InvalidJobStatus)
        assert loser.current_status == "revert_requested"
        assert sent_tasks.names()[sent_before:] == ["drf_import_export_jobs.revert_import_job"]
        raised = together(
            deliver(revert_import_job, job, job.revert_task_id),
            deliver(revert_import_job, job, job.revert_task_id),
        )
        assert raised == [None, None]
        job.refresh_from_db()
        assert job.status == "reverted", (round_number, job.status, job.error_message)
        assert job.revert_result["totals"] == {"reverted": ROWS, "kept": 0, "failed": 0}
        assert not Book.objects.exists()
