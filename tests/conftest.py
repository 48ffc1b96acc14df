"""Shared fixtures: job factories, files, and a real Celery worker process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection
from django.test import override_settings

from drf_import_export_jobs.models import ExportJob, ImportJob
from tests.testapp.models import Author

BOOK_RESOURCE = "tests.testapp.resources.BookResource"
HEADER = "isbn,title,author,price,published,pages,in_stock,description"
ROOT = Path(__file__).resolve().parent.parent


def book_rows(count: int, start: int = 0, author: str = "Ann") -> list[str]:
    """CSV lines of valid books with ISBNs 9780000000000 + i."""
    return [
        f"{9780000000000 + i},Title {i},{author},{i % 90 + 10}.50,2020-01-{i % 28 + 1:02d},"
        f"{100 + i},1,Description {i}"
        for i in range(start, start + count)
    ]


COLUMNS = HEADER.split(",")


def set_cell(line: str, column: str, value: str) -> str:
    """``line`` with the cell of ``column`` replaced by ``value``."""
    cells = line.split(",")
    cells[COLUMNS.index(column)] = value
    return ",".join(cells)


class QuietProgress:
    """What the import runner reports progress to, in place of a job's
    ProgressReporter: it keeps the total and never stops the run."""

    total: int | None = None

    def set_total(self, total: int | None) -> None:
        self.total = total

    def advance(self, rows: int) -> None:
        pass

    def should_stop(self) -> bool:
        return False


def csv_bytes(lines: list[str], header: str = HEADER) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


@pytest.fixture
def authors(db: Any) -> list[Author]:
    return [Author.objects.create(name=name) for name in ("Ann", "Bob")]


def _make_import_job(
    data: bytes,
    file_format: str = "csv",
    resource: str = BOOK_RESOURCE,
    model: type[ImportJob] = ImportJob,
    **fields: Any,
) -> ImportJob:
    job = model(resource_path=resource, file_format_name=file_format, **fields)
    job.data_file.save(f"upload.{file_format}", ContentFile(data), save=False)
    job.save()
    return job


@pytest.fixture
def make_import_job(db: Any) -> Callable[..., ImportJob]:
    """Create an import job (the parse task is sent only if the test commits)."""
    return _make_import_job


@pytest.fixture
def make_export_job(db: Any) -> Callable[..., ExportJob]:
    def make(file_format: str = "csv", resource: str = BOOK_RESOURCE, **fields: Any) -> ExportJob:
        job = ExportJob(resource_path=resource, file_format_name=file_format, **fields)
        job.save()
        return job

    return make


# -- real worker ----------------------------------------------------------------


class WorkerProcess:
    def __init__(self, process: subprocess.Popen[bytes], log: Path) -> None:
        self.process = process
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    @classmethod
    def start(cls, log: Path, env: dict[str, str], *options: str) -> WorkerProcess:
        """Start ``celery worker`` of tests.celery_app in a process group of its
        own, its output in ``log``, and wait until it is ready."""
        command = [
            *(sys.executable, "-m", "celery", "-A", "tests.celery_app", "worker"),
            *("--loglevel=INFO", "--without-gossip", "--without-mingle", *options),
        ]
        return cls.run(command, log, env, "ready.", "Celery worker")

    @classmethod
    def start_tasks_worker(cls, log: Path, env: dict[str, str], *options: str) -> WorkerProcess:
        """Start django-tasks-db's ``db_worker`` (Django's tasks framework on
        the database) with ``TASK_BACKEND = "django"``, in a process group of
        its own, its output in ``log``, and wait until it is ready."""
        command = [
            *(sys.executable, "-m", "django", "db_worker", "--no-startup-delay"),
            *("--interval", "0.1", "--no-reload", *options),
        ]
        env = {**env, "TEST_TASK_BACKEND": "django", "PYTHONUNBUFFERED": "1"}
        return cls.run(command, log, env, "Starting worker", "django.tasks db_worker")

    @classmethod
    def run(
        cls, command: list[str], log: Path, env: dict[str, str], ready: str, what: str
    ) -> WorkerProcess:
        """Start ``command`` and wait until its output shows ``ready``."""
        with log.open("wb") as out:
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        worker = cls(process, log)
        deadline = time.monotonic() + 60
        while ready not in worker.output():
            if process.poll() is not None or time.monotonic() > deadline:
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(30)
                pytest.fail(f"{what} did not start:\n{worker.output()}")
            time.sleep(0.1)
        return worker

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL it after 20 s."""
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@pytest.fixture(scope="session")
def celery_worker(django_db_setup: Any, django_db_blocker: Any) -> Iterator[WorkerProcess]:
    """A ``celery worker`` subprocess on the test database and the configured
    broker (kombu's filesystem transport, or CELERY_BROKER_URL)."""
    with django_db_blocker.unblock():
        db_name = str(connection.settings_dict["NAME"])
    run_dir = Path(os.environ["TEST_RUN_DIR"])
    log = run_dir / f"worker-{uuid.uuid4().hex[:6]}.log"
    env = {**os.environ, "TEST_DB_NAME": db_name, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    worker = WorkerProcess.start(
        log, env, "--concurrency=2", "--purge", "-n", f"tests-{uuid.uuid4().hex[:8]}@%h"
    )
    yield worker
    worker.stop()


@pytest.fixture
def tasks_worker(transactional_db: Any) -> Iterator[WorkerProcess]:
    """A django.tasks ``db_worker`` subprocess (django-tasks-db) on the test
    database, taking every queue, with ``TASK_BACKEND = "django"``.

    One per test, stopped before the test's database flush: django-tasks-db's
    worker loop exits on any database error but a locked database, so a
    worker shared by the session could be gone by the next test that needs it."""
    db_name = str(connection.settings_dict["NAME"])
    run_dir = Path(os.environ["TEST_RUN_DIR"])
    log = run_dir / f"tasks-worker-{uuid.uuid4().hex[:6]}.log"
    env = {**os.environ, "TEST_DB_NAME": db_name, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    worker = WorkerProcess.start_tasks_worker(log, env, "--queue-name", "*")
    yield worker
    worker.stop()


@pytest.fixture(params=["celery", "django"])
def job_worker(request: pytest.FixtureRequest) -> Iterator[WorkerProcess]:
    """A worker of each task backend in turn: the Celery worker, then the
    django.tasks ``db_worker`` with ``TASK_BACKEND = "django"`` in this process."""
    if request.param == "celery":
        yield request.getfixturevalue("celery_worker")
        return
    worker = request.getfixturevalue("tasks_worker")
    config = {**settings.DRF_IMPORT_EXPORT_JOBS, "TASK_BACKEND": "django"}
    with override_settings(DRF_IMPORT_EXPORT_JOBS=config):
        yield worker


def wait_for_status(job: Any, statuses: set[str] | str, timeout: float = 60) -> Any:
    """Poll the database until ``job`` reaches one of ``statuses``."""
    wanted = {statuses} if isinstance(statuses, str) else set(statuses)
    deadline = time.monotonic() + timeout
    while True:
        job.refresh_from_db()
        if job.status in wanted:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{job} did not reach {sorted(wanted)} in {timeout}s: {job.status}, "
                f"{job.error_message!r}"
            )
        time.sleep(0.1)


class SentTasks(list):
    """Records tasks sent by the package instead of reaching the broker."""

    def names(self) -> list[str]:
        return [name for name, _args, _options in self]


class _RecordingTask:
    def __init__(self, name: str, sent: SentTasks) -> None:
        self.name, self.sent = name, sent

    def apply_async(self, args: list[Any], **options: Any) -> None:
        self.sent.append((self.name, args, options))


class _RecordingApp:
    def __init__(self, sent: SentTasks) -> None:
        self.sent = sent
        self.revoked: list[str] = []
        self.tasks = _TaskMap(sent)
        self.control = self

    def revoke(self, task_id: str) -> None:
        self.revoked.append(task_id)


class _TaskMap:
    def __init__(self, sent: SentTasks) -> None:
        self.sent = sent

    def __getitem__(self, name: str) -> _RecordingTask:
        return _RecordingTask(name, self.sent)


@pytest.fixture(autouse=True)
def sent_tasks(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> SentTasks:
    """Outside integration tests, tasks sent after commit are recorded here
    (with the revoked ids in ``sent_tasks.app.revoked``) instead of being
    published to the broker that the integration worker consumes."""
    sent = SentTasks()
    if request.node.get_closest_marker("integration") is None:
        app = _RecordingApp(sent)
        sent.app = app  # type: ignore[attr-defined]
        monkeypatch.setattr("drf_import_export_jobs.dispatch.get_celery_app", lambda: app)
    return sent


# -- REST API ---------------------------------------------------------------------


@pytest.fixture
def user(db: Any) -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user("ann")


@pytest.fixture
def other_user(db: Any) -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user("bob")


@pytest.fixture
def staff_user(db: Any) -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user("root", is_staff=True)


@pytest.fixture
def api(user: Any) -> Any:
    """An API client authenticated as ``user``."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def anon() -> Any:
    from rest_framework.test import APIClient

    return APIClient()


def job_storage_root() -> Path:
    from drf_import_export_jobs.conf import jobs_settings

    return Path(os.environ["TEST_RUN_DIR"]) / "media" / jobs_settings.FILES_DIR


def stored_job_files() -> list[str]:
    """Every file in the job storage folder."""
    return sorted(str(p) for p in job_storage_root().rglob("*") if p.is_file())


@pytest.fixture
def empty_job_storage() -> None:
    """Start the test with no job file in storage."""
    import shutil

    shutil.rmtree(job_storage_root(), ignore_errors=True)
