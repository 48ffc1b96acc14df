"""Jobs observed and cancelled while they run (in a second thread, with its
own database connection, as a worker would be)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection, connections

from drf_import_export_jobs.models import ExportJob, ImportJob
from tests.conftest import book_rows, csv_bytes
from tests.testapp.gates import GATE
from tests.testapp.models import Author, Book

pytestmark = pytest.mark.django_db(transaction=True)
GATED = "tests.testapp.resources.GatedBookResource"
SQLITE_IMPORT = (
    "SQLite allows one writer: while an import's transaction is open, other "
    "connections cannot write (cancel) and do not see its progress until it commits"
)


@pytest.fixture(autouse=True)
def _gate() -> Iterator[None]:
    yield
    GATE.release.set()
    GATE.reset()


class Runner(threading.Thread):
    """Runs ``call`` in a thread, closing the thread's connection after."""

    def __init__(self, call: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self.call = call
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.call()
        except BaseException as exc:  # reported by finish()
            self.error = exc
        finally:
            connections.close_all()

    def finish(self) -> None:
        GATE.release.set()
        self.join(60)
        assert not self.is_alive(), "job thread did not finish"
        if self.error:
            raise self.error


def start(method: Callable[[], Any], gate_isbn: str) -> Runner:
    GATE.arm(gate_isbn)
    runner = Runner(method)
    runner.start()
    assert GATE.reached.wait(30), "the job never reached the gate"
    return runner


def isbn(i: int) -> str:
    return str(9780000000000 + i)


@pytest.fixture
def ann(transactional_db) -> Author:
    return Author.objects.create(name="Ann")


def fresh(job: Any) -> Any:
    """The job as another connection (this test's) sees it now."""
    return type(job).objects.get(pk=job.pk)


def test_parse_progress_is_visible_mid_run_and_cancel_stops_it(make_import_job, ann):
    job = make_import_job(csv_bytes(book_rows(200)), resource=GATED)
    worker_copy = ImportJob.objects.get(pk=job.pk)
    runner = start(worker_copy.parse_data, isbn(120))  # rows 101-150: the third chunk
    seen = fresh(job)
    assert seen.status == "parsing"
    assert seen.progress == {"state": "parsing", "info": {"current": 100, "total": 200}}
    assert seen.heartbeat_at is not None
    job.cancel_import()
    runner.finish()
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert job.parse_result is None
    assert not job.error_report
    assert job.progress_current <= 150
    assert Book.objects.count() == 0


def test_import_progress_is_visible_mid_run_and_cancel_rolls_back(make_import_job, ann):
    if connection.vendor == "sqlite":
        pytest.skip(SQLITE_IMPORT)
    job = make_import_job(csv_bytes(book_rows(200)), resource=GATED)
    job.parse_data()
    job.confirm_import()
    worker_copy = ImportJob.objects.get(pk=job.pk)
    runner = start(worker_copy.import_data, isbn(120))
    seen = fresh(job)
    assert seen.status == "importing"
    assert seen.progress["info"] == {"current": 100, "total": 200}
    assert Book.objects.count() == 0  # written, but not committed
    job.cancel_import()
    runner.finish()
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert job.import_result is None
    assert Book.objects.count() == 0


def test_cancel_racing_the_end_of_an_import_never_both_win(make_import_job, ann):
    """The worker's final UPDATE runs inside its data transaction: whichever of
    cancel and finish commits first wins, and the data agrees."""
    if connection.vendor == "sqlite":
        pytest.skip(SQLITE_IMPORT)
    job = make_import_job(csv_bytes(book_rows(60)), resource=GATED)
    job.parse_data()
    job.confirm_import()
    worker_copy = ImportJob.objects.get(pk=job.pk)
    runner = start(worker_copy.import_data, isbn(55))  # the last chunk
    canceller = Runner(job.cancel_import)
    GATE.release.set()
    canceller.start()
    runner.finish()
    canceller.join(60)
    job.refresh_from_db()
    if job.status == "cancelled":
        assert Book.objects.count() == 0
    else:
        assert job.status == "imported"
        assert Book.objects.count() == 60
        assert "imported" in str(canceller.error)


def test_cancel_while_confirmed_then_the_import_task_does_nothing(make_import_job, ann):
    job = make_import_job(csv_bytes(book_rows(10)))
    job.parse_data()
    job.confirm_import()
    job.cancel_import()
    from drf_import_export_jobs.tasks import import_job_data

    import_job_data.apply(args=[job._meta.label, job.pk], task_id=job.import_task_id)
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert Book.objects.count() == 0


def test_export_progress_visible_and_cancel_keeps_no_file(make_export_job, ann):
    Book.objects.bulk_create(
        Book(isbn=isbn(i), title=f"T{i}", author=ann, price=1) for i in range(180)
    )
    job = make_export_job(resource="tests.testapp.resources.GatedExportBookResource")
    files_before = stored_files(job.data_file.storage, "import_export_jobs/exports")
    worker_copy = ExportJob.objects.get(pk=job.pk)
    runner = start(worker_copy.export_data, isbn(130))
    seen = fresh(job)
    assert seen.status == "exporting"
    assert seen.progress["info"] == {"current": 100, "total": 180}
    job.cancel_export()
    runner.finish()
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert not job.data_file
    assert stored_files(job.data_file.storage, "import_export_jobs/exports") == files_before


def stored_files(storage: Any, folder: str) -> set[str]:
    if not storage.exists(folder):
        return set()
    folders, files = storage.listdir(folder)
    found = {f"{folder}/{name}" for name in files}
    for sub in folders:
        found |= stored_files(storage, f"{folder}/{sub}")
    return found
