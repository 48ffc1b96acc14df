"""The task backends behind one setting: Celery, and Django's tasks framework
(sending, revoking, running, and the system checks of a bad configuration)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from drf_import_export_jobs import checks, dispatch
from tests.conftest import book_rows, csv_bytes

try:
    import django.tasks as framework

    FRAMEWORK = "django.tasks"
except ImportError:  # Django 5.2: the backport
    import django_tasks as framework  # type: ignore[no-redef]

    FRAMEWORK = "django_tasks"

DUMMY = f"{FRAMEWORK}.backends.dummy.DummyBackend"
IMMEDIATE = f"{FRAMEWORK}.backends.immediate.ImmediateBackend"
DATABASE = "django_tasks_db.DatabaseBackend"


def jobs_config(**extra: Any) -> dict[str, Any]:
    return {**settings.DRF_IMPORT_EXPORT_JOBS, "TASK_BACKEND": "django", **extra}


@pytest.fixture
def dummy_tasks() -> Any:
    """TASK_BACKEND "django" on Django's DummyBackend (it keeps what is enqueued)."""
    with override_settings(
        TASKS={"jobs": {"BACKEND": DUMMY, "QUEUES": []}},
        DRF_IMPORT_EXPORT_JOBS=jobs_config(DJANGO_TASKS_BACKEND="jobs"),
    ):
        backend = framework.task_backends["jobs"]
        backend.clear()
        yield backend


def enqueued(backend: Any) -> list[tuple[str, list[Any], str]]:
    return [(r.task.module_path, list(r.args), r.task.queue_name) for r in backend.results]


def test_the_setting_picks_the_backend():
    assert isinstance(dispatch.get_task_backend(), dispatch.CeleryBackend)
    with override_settings(DRF_IMPORT_EXPORT_JOBS=jobs_config()):
        backend = dispatch.get_task_backend()
    assert isinstance(backend, dispatch.DjangoTasksBackend)
    assert not backend.can_revoke and not backend.has_time_limits
    assert dispatch.CeleryBackend.can_revoke and dispatch.CeleryBackend.has_time_limits


def test_an_unknown_backend_is_refused_with_the_setting_named():
    with (
        override_settings(DRF_IMPORT_EXPORT_JOBS=jobs_config(TASK_BACKEND="rq")),
        pytest.raises(ImproperlyConfigured, match=r"\['TASK_BACKEND'\] = 'rq'"),
    ):
        dispatch.get_task_backend()


def test_jobs_are_enqueued_after_commit_with_their_task_id(
    dummy_tasks, make_import_job, make_export_job, sent_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = make_import_job(csv_bytes(book_rows(2)))
    assert dummy_tasks.results == []  # nothing before the commit
    for callback in callbacks:
        callback()
    with django_capture_on_commit_callbacks(execute=True):
        export = make_export_job()
    label = "drf_import_export_jobs"
    assert enqueued(dummy_tasks) == [
        (
            f"{label}.djangotasks.parse_import_job",
            [job._meta.label, job.pk, job.parse_task_id],
            "default",
        ),
        (
            f"{label}.djangotasks.export_job_data",
            [export._meta.label, export.pk, export.export_task_id],
            "default",
        ),
    ]
    assert sent_tasks == []  # Celery is not used


def test_task_queue_applies_to_django_tasks(
    dummy_tasks, make_export_job, django_capture_on_commit_callbacks
):
    with (
        override_settings(
            DRF_IMPORT_EXPORT_JOBS=jobs_config(DJANGO_TASKS_BACKEND="jobs", TASK_QUEUE="exports")
        ),
        django_capture_on_commit_callbacks(execute=True),
    ):
        make_export_job()
    assert [queue for _path, _args, queue in enqueued(dummy_tasks)] == ["exports"]


def test_the_database_backend_stores_the_task(make_import_job, django_capture_on_commit_callbacks):
    from django_tasks_db.models import DBTaskResult

    with (
        override_settings(DRF_IMPORT_EXPORT_JOBS=jobs_config()),
        django_capture_on_commit_callbacks(execute=True),
    ):
        job = make_import_job(csv_bytes(book_rows(2)))
    row = DBTaskResult.objects.get()
    assert row.task_path == "drf_import_export_jobs.djangotasks.parse_import_job"
    assert row.args_kwargs == {"args": [job._meta.label, job.pk, job.parse_task_id], "kwargs": {}}


def test_a_send_that_fails_is_logged_and_the_job_kept(
    make_import_job, caplog, django_capture_on_commit_callbacks
):
    # The backend does not take the queue: enqueue raises, the sweep sends later.
    with (
        override_settings(
            TASKS={"jobs": {"BACKEND": DUMMY, "QUEUES": ["other"]}},
            DRF_IMPORT_EXPORT_JOBS=jobs_config(DJANGO_TASKS_BACKEND="jobs"),
        ),
        caplog.at_level(logging.ERROR),
        django_capture_on_commit_callbacks(execute=True),
    ):
        job = make_import_job(csv_bytes(book_rows(2)))
    job.refresh_from_db()
    assert job.status == "created" and job.parse_task_id
    assert "Could not send task" in caplog.text


def test_cancel_revokes_nothing_and_the_task_then_skips_the_job(
    dummy_tasks, make_import_job, sent_tasks, django_capture_on_commit_callbacks, caplog
):
    from drf_import_export_jobs import djangotasks

    with django_capture_on_commit_callbacks(execute=True):
        job = make_import_job(csv_bytes(book_rows(2)))
        job.cancel_import()
    assert sent_tasks.app.revoked == []  # no revoke: Django's tasks have none
    with caplog.at_level(logging.INFO):
        djangotasks.parse_import_job.call(job._meta.label, job.pk, job.parse_task_id)
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert "skipped" in caplog.text


def test_the_django_tasks_run_the_job_and_skip_stale_and_duplicate_deliveries(
    dummy_tasks, make_import_job, make_export_job, authors, caplog
):
    from drf_import_export_jobs import djangotasks

    job = make_import_job(csv_bytes(book_rows(3)))
    with caplog.at_level(logging.INFO):
        djangotasks.parse_import_job.call(job._meta.label, job.pk, "another-id")
    job.refresh_from_db()
    assert job.status == "created"
    assert "is stale" in caplog.text
    djangotasks.parse_import_job.call(job._meta.label, job.pk, job.parse_task_id)
    job.refresh_from_db()
    assert job.status == "parsed"
    finished = job.parse_finished_at
    djangotasks.parse_import_job.call(job._meta.label, job.pk, job.parse_task_id)
    job.refresh_from_db()
    assert job.parse_finished_at == finished
    job.confirm_import()
    djangotasks.import_job_data.call(job._meta.label, job.pk, job.import_task_id)
    job.refresh_from_db()
    assert job.status == "imported"
    export = make_export_job()
    djangotasks.export_job_data.call(export._meta.label, export.pk, export.export_task_id)
    export.refresh_from_db()
    assert export.status == "exported"


# -- system checks ----------------------------------------------------------------


def check(**config: Any) -> list[Any]:
    with override_settings(DRF_IMPORT_EXPORT_JOBS=config):
        return checks.check_settings()


def test_checks_pass_with_the_database_backend(monkeypatch):
    # No Celery app is needed when Django's tasks run the jobs.
    monkeypatch.setattr(checks, "_celery_app_configured", lambda: False)
    assert check(TASK_BACKEND="django") == []


def test_check_unknown_backend():
    (error,) = check(TASK_BACKEND="rq")
    assert error.id == "drf_import_export_jobs.E040"
    assert "['TASK_BACKEND'] = 'rq'" in error.msg


def test_check_tasks_framework_not_installed(monkeypatch):
    monkeypatch.setattr(checks, "_tasks_framework", lambda: None)
    (error,) = check(TASK_BACKEND="django")
    assert error.id == "drf_import_export_jobs.E041"
    assert "['TASK_BACKEND'] = 'django'" in error.msg and "not installed" in error.msg


def test_check_tasks_backend_not_configured():
    (error,) = check(TASK_BACKEND="django", DJANGO_TASKS_BACKEND="jobs")
    assert error.id == "drf_import_export_jobs.E042"
    assert "['DJANGO_TASKS_BACKEND'] = 'jobs'" in error.msg
    with override_settings(TASKS={"default": {"BACKEND": "nowhere.Backend"}}):
        (error,) = check(TASK_BACKEND="django")
    assert error.id == "drf_import_export_jobs.E042"


def test_check_database_backend_without_its_app():
    apps = [app for app in settings.INSTALLED_APPS if app != "django_tasks_db"]
    with override_settings(INSTALLED_APPS=apps):
        (error,) = check(TASK_BACKEND="django")
    assert error.id == "drf_import_export_jobs.E042"
    assert "['DJANGO_TASKS_BACKEND'] = 'default'" in error.msg
    assert "'django_tasks_db'" in error.hint


def test_check_queue_not_taken_by_the_backend():
    with override_settings(TASKS={"default": {"BACKEND": DATABASE, "QUEUES": ["default"]}}):
        assert check(TASK_BACKEND="django") == []
        (error,) = check(TASK_BACKEND="django", TASK_QUEUE="jobs")
    assert error.id == "drf_import_export_jobs.E043"
    assert "['TASK_QUEUE'] = 'jobs'" in error.msg


@pytest.mark.parametrize(("backend", "says"), [(IMMEDIATE, "web request"), (DUMMY, "never run")])
def test_check_backend_without_a_worker(backend, says):
    with override_settings(TASKS={"default": {"BACKEND": backend}}):
        (warning,) = check(TASK_BACKEND="django")
    assert warning.id == "drf_import_export_jobs.W040"
    assert says in warning.msg
