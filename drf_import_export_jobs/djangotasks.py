"""Job tasks for Django's tasks framework (``TASK_BACKEND = "django"``).

``django.tasks`` on Django 6, the ``django-tasks`` backport on Django 5.2.
Each task loads a job and calls one of its methods through
:func:`~drf_import_export_jobs.dispatch.run_job_task`, like the Celery tasks.
The backend picks its own result ids, so the job's stored task id travels as
the third argument: a delivery carrying another id than the job stored (an
older send, a duplicate) does nothing. This module is imported only when that
backend is chosen (and by the worker that runs its tasks).
"""

from __future__ import annotations

from typing import Any

try:
    from django.tasks import task
except ImportError:  # Django 5.2: the backport
    from django_tasks import task  # type: ignore[no-redef,import-not-found,unused-ignore]

from . import dispatch, webhooks
from .conf import jobs_settings

# The alias is checked when the task is sent (``Task.using(backend=...)``);
# declaring the tasks on it needs it in settings.TASKS when this module loads.
BACKEND = str(jobs_settings.DJANGO_TASKS_BACKEND)


@task(backend=BACKEND)
def parse_import_job(model_label: str, job_id: int, task_id: str) -> None:
    """Dry-run an import job (``ImportJob.parse_data``)."""
    dispatch.run_job_task(dispatch.PARSE_TASK, task_id, model_label, job_id)


@task(backend=BACKEND)
def import_job_data(model_label: str, job_id: int, task_id: str) -> None:
    """Import a confirmed import job (``ImportJob.import_data``)."""
    dispatch.run_job_task(dispatch.IMPORT_TASK, task_id, model_label, job_id)


@task(backend=BACKEND)
def import_job_part(model_label: str, job_id: int, task_id: str) -> None:
    """Import chunks of a chunked import beside its import task (``ImportJob.import_part``)."""
    dispatch.run_part_task(task_id, model_label, job_id)


@task(backend=BACKEND)
def export_job_data(model_label: str, job_id: int, task_id: str) -> None:
    """Run an export job (``ExportJob.export_data``)."""
    dispatch.run_job_task(dispatch.EXPORT_TASK, task_id, model_label, job_id)


@task(backend=BACKEND)
def revert_import_job(model_label: str, job_id: int, task_id: str) -> None:
    """Revert an imported job (``ImportJob.revert_data``)."""
    dispatch.run_job_task(dispatch.REVERT_TASK, task_id, model_label, job_id)


@task(backend=BACKEND)
def deliver_webhook(delivery_id: int) -> None:
    """Make one attempt at a webhook delivery (``webhooks.deliver``)."""
    webhooks.deliver(delivery_id)


#: The task of each job task name (:data:`~drf_import_export_jobs.dispatch.JOB_TASKS`).
DJANGO_TASKS: dict[str, Any] = {
    dispatch.PARSE_TASK: parse_import_job,
    dispatch.IMPORT_TASK: import_job_data,
    dispatch.IMPORT_PART_TASK: import_job_part,
    dispatch.EXPORT_TASK: export_job_data,
    dispatch.REVERT_TASK: revert_import_job,
}
