"""Lost workers, redeliveries and a broker that is down (in-process).

The SIGKILL tests with a real worker process are in ``test_worker_faults.py``.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from celery import Celery
from django.core.management import call_command
from django.db import connection, connections
from django.test import override_settings
from django.utils import timezone

from drf_import_export_jobs import dispatch
from drf_import_export_jobs.conf import jobs_settings
from drf_import_export_jobs.heartbeat import Heartbeat
from drf_import_export_jobs.housekeeping import sweep_jobs
from drf_import_export_jobs.models import ExportJob, ImportJob
from drf_import_export_jobs.progress import ProgressReporter
from drf_import_export_jobs.signals import job_status_changed
from drf_import_export_jobs.tasks import export_job_data, import_job_data, parse_import_job
from tests.conftest import book_rows, csv_bytes
from tests.testapp.gates import GATE
from tests.testapp.models import Book

LOGGER = "drf_import_export_jobs"
GATED = "tests.testapp.resources.GatedBookResource"


def jobs_config(**values: Any) -> override_settings:
    from django.conf import settings

    return override_settings(DRF_IMPORT_EXPORT_JOBS={**settings.DRF_IMPORT_EXPORT_JOBS, **values})


def set_state(job: Any, status: str, heartbeat_age: float | None, updated_age: float = 0) -> Any:
    """Put ``job`` in ``status`` with a heartbeat ``heartbeat_age`` seconds old."""
    now = timezone.now()
    heartbeat = None if heartbeat_age is None else now - timedelta(seconds=heartbeat_age)
    type(job).objects.filter(pk=job.pk).update(
        status=status, heartbeat_at=heartbeat, updated_at=now - timedelta(seconds=updated_age)
    )
    job.refresh_from_db()
    return job


def set_owner(job: Any, host: str, pid: int | None, token: str = "") -> Any:
    """Record ``host``/``pid`` as the worker running ``job``."""
    type(job).objects.filter(pk=job.pk).update(
        worker_host=host, worker_pid=pid, worker_token=token
    )
    job.refresh_from_db()
    return job


def dead_pid() -> int:
    """The id of a process of this host that has exited (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def deliver(task: Any, job: Any, task_id: str) -> None:
    task.apply(args=[job._meta.label, job.pk], task_id=task_id)


# -- the sweep ends lost jobs -----------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_status", "finished"),
    [
        ("parsing", "parse_error", "parse_finished_at"),
        ("importing", "import_error", "import_finished_at"),
    ],
)
def test_sweep_ends_an_import_whose_heartbeat_stopped(
    make_import_job, status, error_status, finished
):
    job = set_state(make_import_job(csv_bytes(book_rows(3))), status, heartbeat_age=301)
    changes: list[tuple[str, str]] = []

    def record(sender: Any, old_status: str, new_status: str, **kwargs: Any) -> None:
        changes.append((old_status, new_status))

    job_status_changed.connect(record)
    try:
        report = sweep_jobs()
    finally:
        job_status_changed.disconnect(record)
    job.refresh_from_db()
    assert job.status == error_status
    assert "worker" in job.error_message and "lost" in job.error_message
    assert "STALE_JOB_TIMEOUT" in job.error_message
    assert getattr(job, finished) is not None
    assert report.lost == [f"drf_import_export_jobs.ImportJob {job.pk}"]
    assert Book.objects.count() == 0


def test_sweep_ends_a_lost_export(make_export_job):
    job = set_state(make_export_job(), "exporting", heartbeat_age=400)
    assert sweep_jobs().lost == [f"drf_import_export_jobs.ExportJob {job.pk}"]
    job.refresh_from_db()
    assert job.status == "export_error"
    assert "no file was kept" in job.error_message
    assert not job.data_file


def test_sweep_ends_lost_jobs_of_a_model_no_setting_names(db):
    """A viewset's own job model (``get_job_model()``) is swept too."""
    from tests.testapp.models import ArchiveExportJob

    job = ArchiveExportJob.objects.create(
        resource_path="tests.testapp.resources.BookResource", file_format_name="csv"
    )
    set_state(job, "exporting", heartbeat_age=400)
    assert sweep_jobs().lost == [f"testapp.ArchiveExportJob {job.pk}"]
    job.refresh_from_db()
    assert job.status == "export_error"


def test_sweep_leaves_jobs_with_a_fresh_heartbeat_alone(make_import_job, make_export_job):
    parsing = set_state(make_import_job(csv_bytes(book_rows(3))), "parsing", heartbeat_age=10)
    exporting = set_state(make_export_job(), "exporting", heartbeat_age=299)
    parsed = set_state(make_import_job(csv_bytes(book_rows(3))), "parsed", heartbeat_age=9999)
    assert sweep_jobs(resend_after=None).lost == []
    for job, status in ((parsing, "parsing"), (exporting, "exporting"), (parsed, "parsed")):
        job.refresh_from_db()
        assert job.status == status


def test_a_running_job_without_any_heartbeat_is_judged_by_its_last_change(make_import_job):
    young = set_state(make_import_job(csv_bytes(book_rows(1))), "parsing", None, updated_age=5)
    old = set_state(make_import_job(csv_bytes(book_rows(1))), "parsing", None, updated_age=600)
    sweep_jobs()
    young.refresh_from_db()
    old.refresh_from_db()
    assert (young.status, old.status) == ("parsing", "parse_error")


def test_the_timeout_comes_from_the_setting(make_import_job):
    job = set_state(make_import_job(csv_bytes(book_rows(1))), "importing", heartbeat_age=30)
    sweep_jobs()
    job.refresh_from_db()
    assert job.status == "importing"
    with jobs_config(STALE_JOB_TIMEOUT=20):
        sweep_jobs()
    job.refresh_from_db()
    assert job.status == "import_error"
    assert "more than 20 seconds" in job.error_message


def test_a_worker_that_beats_again_wins_against_the_sweep(make_import_job):
    """The sweep's UPDATE checks the heartbeat itself: a job found stale by the
    query but alive again by the time of the UPDATE is left alone."""
    job = set_state(make_import_job(csv_bytes(book_rows(1))), "parsing", heartbeat_age=900)
    seen = ImportJob.objects.get(pk=job.pk)  # loaded while stale
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now())
    assert seen.fail_lost_worker() is False
    job.refresh_from_db()
    assert job.status == "parsing"


def test_sweep_command(make_import_job):
    job = set_state(make_import_job(csv_bytes(book_rows(1))), "parsing", heartbeat_age=90)
    from io import StringIO

    out = StringIO()
    call_command("sweep_import_export_jobs", "--stale-after", "60", stdout=out)
    job.refresh_from_db()
    assert job.status == "parse_error"
    assert f"lost worker: drf_import_export_jobs.ImportJob {job.pk}" in out.getvalue()
    assert "1 lost, 0 sent again, 0 failed." in out.getvalue()


def test_sweep_task_runs_the_sweep(make_export_job):
    from drf_import_export_jobs.tasks import sweep_jobs as sweep_task

    job = set_state(make_export_job(), "exporting", heartbeat_age=1000)
    result = sweep_task.apply().get()
    assert result["lost"] == [f"drf_import_export_jobs.ExportJob {job.pk}"]


# -- redelivered tasks ----------------------------------------------------------------


def test_redelivered_import_of_a_lost_worker_ends_the_job_without_importing(
    make_import_job, authors, caplog
):
    job = make_import_job(csv_bytes(book_rows(5)))
    job.parse_data()
    job.confirm_import()
    set_state(job, "importing", heartbeat_age=3600)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        deliver(import_job_data, job, job.import_task_id)
    job.refresh_from_db()
    assert job.status == "import_error"
    assert "worker running the import was lost" in job.error_message
    assert Book.objects.count() == 0
    assert "redelivered" in caplog.text and "worker was lost" in caplog.text


@pytest.mark.parametrize("kind", ["parse", "import", "export"])
def test_redelivery_while_the_first_worker_still_beats_is_skipped(
    make_import_job, make_export_job, authors, caplog, kind
):
    if kind == "export":
        job, task, task_id, running = make_export_job(), export_job_data, None, "exporting"
        task_id = job.export_task_id
    else:
        job = make_import_job(csv_bytes(book_rows(5)))
        if kind == "parse":
            task, task_id, running = parse_import_job, job.parse_task_id, "parsing"
        else:
            job.parse_data()
            job.confirm_import()
            task, task_id, running = import_job_data, job.import_task_id, "importing"
    set_state(job, running, heartbeat_age=5)
    # The first worker is this (live) process.
    set_owner(job, socket.gethostname(), os.getpid())
    before = (job.progress_current, job.heartbeat_at, job.updated_at)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        deliver(task, job, task_id)
    job.refresh_from_db()
    assert job.status == running
    assert (job.progress_current, job.heartbeat_at, job.updated_at) == before
    assert "heartbeat is fresh" in caplog.text
    assert "another worker is running it" in caplog.text
    assert f"owner process {os.getpid()} on {socket.gethostname()}" in caplog.text
    assert "heartbeat 5.0 s ago" in caplog.text
    assert Book.objects.count() == 0


def test_redelivered_parse_and_export_of_lost_workers_run_again(
    make_import_job, make_export_job, authors, caplog
):
    """A dry run or an export left nothing behind when its worker died: the
    redelivered task takes the job over and runs it again from the start."""
    parse = set_state(make_import_job(csv_bytes(book_rows(2))), "parsing", heartbeat_age=3600)
    export = set_state(make_export_job(), "exporting", heartbeat_age=3600)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        deliver(parse_import_job, parse, parse.parse_task_id)
        deliver(export_job_data, export, export.export_task_id)
    parse.refresh_from_db()
    export.refresh_from_db()
    assert (parse.status, export.status) == ("parsed", "exported")
    assert (parse.worker_restarts, export.worker_restarts) == (1, 1)
    assert parse.parse_result["totals"]["new"] == 2 and export.data_file
    assert caplog.text.count("running it again from the start") == 2
    assert Book.objects.count() == 0


def test_a_job_restarted_too_often_ends_as_lost(make_import_job, make_export_job, caplog):
    parse = set_state(make_import_job(csv_bytes(book_rows(2))), "parsing", heartbeat_age=3600)
    export = set_state(make_export_job(), "exporting", heartbeat_age=3600)
    for job in (parse, export):
        type(job).objects.filter(pk=job.pk).update(worker_restarts=job.MAX_RESTARTS)
    deliver(parse_import_job, parse, parse.parse_task_id)
    deliver(export_job_data, export, export.export_task_id)
    parse.refresh_from_db()
    export.refresh_from_db()
    assert (parse.status, export.status) == ("parse_error", "export_error")
    assert "worker running the dry run was lost" in parse.error_message
    assert "after 1 restart(s)" in parse.error_message
    assert "no file was kept" in export.error_message
    assert parse.parse_result is None and not export.data_file


# -- dead and live owners -----------------------------------------------------------------


def running_import(make_import_job: Any, heartbeat_age: float) -> ImportJob:
    job = make_import_job(csv_bytes(book_rows(5)))
    job.parse_data()
    job.confirm_import()
    return set_state(job, "importing", heartbeat_age=heartbeat_age)


def test_a_redelivery_takes_over_at_once_from_a_dead_process_of_this_host(
    make_import_job, authors, caplog
):
    """The heartbeat is fresh, but the owner's process is gone from this host."""
    job = running_import(make_import_job, heartbeat_age=0.5)
    pid = dead_pid()
    set_owner(job, socket.gethostname(), pid, token="run-1")
    started = time.monotonic()
    with caplog.at_level(logging.INFO, logger=LOGGER):
        deliver(import_job_data, job, job.import_task_id)
    assert time.monotonic() - started < 5
    job.refresh_from_db()
    assert job.status == "import_error"
    assert f"process {pid} on {socket.gethostname()} is gone" in job.error_message
    assert "nothing was imported" in job.error_message
    assert job.import_finished_at is not None
    assert Book.objects.count() == 0
    assert "redelivered" in caplog.text and job.import_task_id in caplog.text


def test_a_redelivery_takes_over_when_a_remote_owner_misses_two_beats(
    make_import_job, authors, caplog
):
    job = running_import(make_import_job, heartbeat_age=0)
    set_owner(job, "elsewhere.example", 4242, token="run-1")
    started = time.monotonic()
    with jobs_config(HEARTBEAT_SECONDS=0.2), caplog.at_level(logging.INFO, logger=LOGGER):
        deliver(import_job_data, job, job.import_task_id)
    waited = time.monotonic() - started
    job.refresh_from_db()
    assert job.status == "import_error"
    assert "process 4242 on elsewhere.example missed its heartbeat for more than 0.4 seconds" in (
        job.error_message
    )
    assert 0.3 < waited < 5
    assert Book.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_redelivery_leaves_a_remote_owner_that_beats_alone(make_import_job, authors, caplog):
    job = running_import(make_import_job, heartbeat_age=0)
    set_owner(job, "elsewhere.example", 4242, token="run-1")
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(0.1):
                ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now())
        finally:
            connections.close_all()

    beating = threading.Thread(target=beat, daemon=True)
    beating.start()
    try:
        with jobs_config(HEARTBEAT_SECONDS=0.2), caplog.at_level(logging.INFO, logger=LOGGER):
            deliver(import_job_data, job, job.import_task_id)
    finally:
        stop.set()
        beating.join(10)
    job.refresh_from_db()
    assert job.status == "importing" and job.worker_token == "run-1"
    assert "another worker is running it (owner process 4242 on elsewhere.example" in caplog.text


def test_take_over_loses_against_an_owner_that_beats_meanwhile(make_import_job, authors):
    job = running_import(make_import_job, heartbeat_age=3600)
    seen = ImportJob.objects.get(pk=job.pk)  # judged dead with this heartbeat
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now())
    assert seen.take_over("no heartbeat") is False
    job.refresh_from_db()
    assert job.status == "importing"


def test_a_run_records_its_owner(make_import_job, make_export_job, authors):
    job = make_import_job(csv_bytes(book_rows(2)))
    job.parse_data()
    export = make_export_job()
    export.export_data()
    for done in (job, export):
        done.refresh_from_db()
        assert (done.worker_host, done.worker_pid) == (socket.gethostname(), os.getpid())
        assert len(done.worker_token) == 32
    first = job.worker_token
    job.confirm_import()
    job.import_data()
    job.refresh_from_db()
    assert job.status == "imported" and job.worker_token not in ("", first)


# -- work that lost its job ---------------------------------------------------------------


def test_progress_of_work_that_lost_its_job_is_not_written(make_import_job):
    job = set_state(make_import_job(csv_bytes(book_rows(1))), "importing", heartbeat_age=1)
    set_owner(job, socket.gethostname(), os.getpid(), token="run-1")
    with ProgressReporter(job, total=200) as progress:
        progress.advance(50)
        assert not progress.should_stop()
        # The sweep ends the job (its worker seemed lost).
        ImportJob.objects.filter(pk=job.pk).update(status="import_error")
        progress.advance(150)
        assert progress.should_stop()
        assert progress.stop_reason == "its status is now 'import_error'"
    job.refresh_from_db()
    assert (job.status, job.progress_current) == ("import_error", 50)


def test_progress_of_a_run_that_was_taken_over_is_not_written(make_import_job):
    job = set_state(make_import_job(csv_bytes(book_rows(1))), "parsing", heartbeat_age=1)
    set_owner(job, socket.gethostname(), os.getpid(), token="run-1")
    with ProgressReporter(job, total=200) as progress:
        progress.advance(50)
        ImportJob.objects.filter(pk=job.pk).update(worker_token="run-2", progress_current=0)
        assert progress.should_stop()
        assert progress.stop_reason == "another run took the job over"
        progress.advance(150)
    assert Heartbeat(job).beat() is False
    job.refresh_from_db()
    assert (job.status, job.progress_current) == ("parsing", 0)


@pytest.mark.django_db(transaction=True)
def test_a_parse_whose_job_was_ended_meanwhile_stops_at_the_next_chunk(
    make_import_job, authors, caplog
):
    """Not only a cancel: a job the sweep ended while its work was held up
    keeps the error status and the progress it had; the work stops."""
    job = make_import_job(csv_bytes(book_rows(300)), resource=GATED)
    GATE.arm(str(9780000000000 + 120))
    worker = threading.Thread(
        target=lambda: (
            deliver(parse_import_job, job, job.parse_task_id),
            connections.close_all(),
        ),
        daemon=True,
    )
    with caplog.at_level(logging.INFO, logger=LOGGER):
        worker.start()
        try:
            assert GATE.reached.wait(30), "the job never reached the gate"
            assert sweep_jobs(stale_after=0).lost == [f"drf_import_export_jobs.ImportJob {job.pk}"]
        finally:
            GATE.release.set()
            worker.join(60)
            GATE.reset()
    job.refresh_from_db()
    assert job.status == "parse_error"
    assert job.progress_current == 100
    assert job.parse_result is None
    assert "stopped parsing: its status is now 'parse_error'" in caplog.text


# -- the heartbeat thread ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_heartbeat_thread_beats_only_while_the_job_runs(make_import_job):
    job = set_state(make_import_job(csv_bytes(book_rows(1))), "parsing", heartbeat_age=600)
    old = job.heartbeat_at
    beat = Heartbeat(job, interval=0.05)
    with beat:
        while beat.beats < 2:
            threading.Event().wait(0.05)
    job.refresh_from_db()
    assert job.heartbeat_at > old
    set_state(job, "parsed", heartbeat_age=600)
    assert Heartbeat(job).beat() is False
    job.refresh_from_db()
    assert job.heartbeat_at < timezone.now() - timedelta(seconds=500)


@pytest.mark.django_db(transaction=True)
def test_a_slow_chunk_keeps_beating(make_import_job, authors):
    """While the task waits inside one chunk (at the gate), the heartbeat
    thread keeps the row fresh, so the sweep does not take it for lost."""
    job = make_import_job(csv_bytes(book_rows(120)), resource=GATED)
    GATE.arm(str(9780000000000 + 60))
    errors: list[BaseException] = []

    def run() -> None:
        try:
            deliver(parse_import_job, job, job.parse_task_id)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    worker = threading.Thread(target=run, daemon=True)
    config = jobs_config(HEARTBEAT_SECONDS=0.05)
    config.enable()
    worker.start()
    try:
        assert GATE.reached.wait(30), "the job never reached the gate"
        first = ImportJob.objects.get(pk=job.pk).heartbeat_at
        while ImportJob.objects.get(pk=job.pk).heartbeat_at == first:
            threading.Event().wait(0.05)
        assert sweep_jobs(stale_after=1).lost == []
    finally:
        GATE.release.set()
        worker.join(60)
        GATE.reset()
        config.disable()
    assert not errors
    job.refresh_from_db()
    assert job.status == "parsed"


# -- the broker is down -----------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def broker_down(monkeypatch: pytest.MonkeyPatch) -> Celery:
    """A real Celery app whose broker URL points at a closed port."""
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)  # Celery prefers it to broker_url
    app = Celery("broker-down", set_as_current=False)
    app.conf.broker_url = f"amqp://guest:guest@127.0.0.1:{closed_port()}//"
    app.conf.broker_connection_timeout = 1
    import drf_import_export_jobs.tasks  # noqa: F401  (registers the shared tasks)

    app.finalize()
    monkeypatch.setattr(dispatch, "get_celery_app", lambda: app)
    return app


def test_broker_down_the_api_still_answers_and_the_sweep_sends_the_job_later(
    api, authors, broker_down, caplog, django_capture_on_commit_callbacks, monkeypatch, sent_tasks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("books.csv", csv_bytes(book_rows(3)), content_type="text/csv")
    with (
        jobs_config(TASK_PUBLISH_RETRY_POLICY={"max_retries": 1, "interval_start": 0}),
        caplog.at_level(logging.ERROR),
        django_capture_on_commit_callbacks(execute=True),
    ):
        imported = api.post("/api/books/imports/", {"file": upload}, format="multipart")
        exported = api.post("/api/books/exports/", {"file_format": "csv"}, format="json")
    assert imported.status_code == 201, imported.content
    assert exported.status_code == 201, exported.content
    assert caplog.text.count("Could not send task") == 2
    job = ImportJob.objects.get(pk=imported.json()["id"])
    export = ExportJob.objects.get(pk=exported.json()["id"])
    assert job.status == "created" and job.parse_task_id
    assert export.status == "created" and export.export_task_id

    # The broker is back: the sweep sends both tasks again, under their ids.
    monkeypatch.setattr(dispatch, "get_celery_app", lambda: sent_tasks.app)
    assert sweep_jobs().resent == []  # not pending for long enough yet
    with django_capture_on_commit_callbacks(execute=True):
        report = sweep_jobs(resend_after=0)
    assert sorted(report.resent) == sorted(
        [
            f"drf_import_export_jobs.ImportJob {job.pk}",
            f"drf_import_export_jobs.ExportJob {export.pk}",
        ]
    )
    sent = {(name, options["task_id"]) for name, _args, options in sent_tasks}
    assert sent == {
        (dispatch.PARSE_TASK, job.parse_task_id),
        (dispatch.EXPORT_TASK, export.export_task_id),
    }
    # The task runs; the job goes on as usual.
    deliver(parse_import_job, job, job.parse_task_id)
    job.refresh_from_db()
    assert job.status == "parsed"


def test_publishing_uses_the_bounded_retry_policy(
    make_import_job, sent_tasks, django_capture_on_commit_callbacks
):
    policy = {"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.1}
    with (
        jobs_config(TASK_PUBLISH_RETRY_POLICY=policy),
        django_capture_on_commit_callbacks(execute=True),
    ):
        make_import_job(csv_bytes(book_rows(1)))
    options = sent_tasks[-1][2]
    assert options["retry"] is True and options["retry_policy"] == policy


def test_resend_of_a_confirmed_import_and_only_once_per_period(
    make_import_job, authors, sent_tasks, django_capture_on_commit_callbacks
):
    job = make_import_job(csv_bytes(book_rows(2)))
    job.parse_data()
    job.confirm_import()
    set_state(job, "import_confirmed", None, updated_age=700)
    del sent_tasks[:]
    with django_capture_on_commit_callbacks(execute=True):
        assert len(sweep_jobs().resent) == 1
        assert len(sweep_jobs().resent) == 0  # touched: not again before RESEND_PENDING_AFTER
    assert [(n, o["task_id"]) for n, _a, o in sent_tasks] == [
        (dispatch.IMPORT_TASK, job.import_task_id)
    ]
    with jobs_config(RESEND_PENDING_AFTER=None):
        set_state(job, "import_confirmed", None, updated_age=7000)
        assert sweep_jobs().resent == []


def test_a_resent_task_that_was_delivered_after_all_runs_once(make_import_job, authors, caplog):
    job = make_import_job(csv_bytes(book_rows(2)))
    deliver(parse_import_job, job, job.parse_task_id)  # the resent copy
    with caplog.at_level(logging.INFO, logger=LOGGER):
        deliver(parse_import_job, job, job.parse_task_id)  # the first message, late
    job.refresh_from_db()
    assert job.status == "parsed"
    assert "skipped" in caplog.text


# -- settings checks ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "check_id"),
    [
        ({"STALE_JOB_TIMEOUT": 0}, "drf_import_export_jobs.E030"),
        ({"HEARTBEAT_SECONDS": -1}, "drf_import_export_jobs.E030"),
        ({"JOB_RETENTION_DAYS": "30"}, "drf_import_export_jobs.E030"),
        ({"TASK_PUBLISH_RETRY_POLICY": {"interval_start": 0}}, "drf_import_export_jobs.E031"),
        ({"STALE_JOB_TIMEOUT": 40, "HEARTBEAT_SECONDS": 30}, "drf_import_export_jobs.W030"),
    ],
)
def test_fault_settings_are_checked(values, check_id):
    from drf_import_export_jobs.checks import check_fault_settings

    with jobs_config(**values):
        ids = [message.id for message in check_fault_settings()]
    assert ids == [check_id]


def test_default_fault_settings_pass_the_checks():
    from drf_import_export_jobs.checks import check_fault_settings

    with jobs_config(RESEND_PENDING_AFTER=None, JOB_RETENTION_DAYS=None):
        assert check_fault_settings() == []
    assert check_fault_settings() == []
    assert jobs_settings.STALE_JOB_TIMEOUT >= 2 * jobs_settings.HEARTBEAT_SECONDS


def test_on_sqlite_no_beat_while_the_job_connection_holds_a_transaction(make_import_job):
    """SQLite has one writer: the import's own progress writes carry the beat."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    job = set_state(make_import_job(csv_bytes(book_rows(1))), "importing", heartbeat_age=60)
    assert connection.in_atomic_block  # the test's transaction stands in for the import's
    assert Heartbeat(job).beat() is False


# -- errors in the middle of an import --------------------------------------------------


@pytest.mark.parametrize(
    ("fail_with", "message"),
    [("time_limit", "SoftTimeLimitExceeded"), ("database", "server closed the connection")],
)
def test_a_time_limit_or_database_error_mid_import_rolls_everything_back(
    make_import_job, authors, fail_with, message
):
    job = make_import_job(
        csv_bytes(book_rows(120)),
        resource="tests.testapp.resources.FaultyBookResource",
        resource_kwargs={"fail_key": str(9780000000000 + 110), "fail_with": fail_with},
    )
    deliver(parse_import_job, job, job.parse_task_id)
    job.refresh_from_db()
    job.confirm_import()
    deliver(import_job_data, job, job.import_task_id)
    job.refresh_from_db()
    assert job.status == "import_error"
    assert message in job.error_message + job.traceback
    assert job.progress_current == 100  # two chunks were written before the error...
    assert Book.objects.count() == 0  # ...and rolled back


def test_deliveries_after_a_cancel_do_nothing_and_say_why(make_import_job, authors, caplog):
    job = make_import_job(csv_bytes(book_rows(3)))
    job.parse_data()
    job.confirm_import()
    job.cancel_import()
    set_state(job, "cancelled", heartbeat_age=3600)  # its worker died after the cancel
    with caplog.at_level(logging.INFO, logger=LOGGER):
        deliver(parse_import_job, job, job.parse_task_id)
        deliver(import_job_data, job, job.import_task_id)
        report = sweep_jobs(resend_after=0)
    job.refresh_from_db()
    assert job.status == "cancelled" and job.import_result is None
    assert Book.objects.count() == 0
    assert report.lost == [] and report.resent == []
    assert caplog.text.count("its status is 'cancelled'") == 2


def test_broker_down_at_confirm_keeps_the_job_confirmed(
    api, user, authors, broker_down, caplog, django_capture_on_commit_callbacks
):
    from django.core.files.base import ContentFile

    job = ImportJob(
        resource_path="tests.testapp.resources.BookResource",
        file_format_name="csv",
        created_by=user,
    )
    job.data_file.save("upload.csv", ContentFile(csv_bytes(book_rows(2))), save=False)
    job.save()
    job.parse_data()
    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/books/imports/{job.pk}/confirm/")
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "import_confirmed"
    job.refresh_from_db()
    assert job.status == "import_confirmed" and job.import_task_id
    assert "Could not send task drf_import_export_jobs.import_job_data" in caplog.text
    assert Book.objects.count() == 0
