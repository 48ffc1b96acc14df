"""Sending job tasks to Celery and revoking them.

Tasks are sent after the surrounding transaction commits, by name, with the
task id already stored on the job. Only ``(model label, job id)`` travel as
arguments; no object is serialised.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from celery import Celery, current_app
from django.db import router, transaction

from .conf import jobs_settings

if TYPE_CHECKING:
    from .models import BaseJob

logger = logging.getLogger(__name__)

PARSE_TASK = "drf_import_export_jobs.parse_import_job"
IMPORT_TASK = "drf_import_export_jobs.import_job_data"
EXPORT_TASK = "drf_import_export_jobs.export_job_data"


def get_celery_app() -> Celery:
    """The app from ``DRF_IMPORT_EXPORT_JOBS["CELERY_APP"]``, else Celery's current app."""
    app = jobs_settings.CELERY_APP
    return app if app is not None else current_app


def send_job_task(task_name: str, job: BaseJob, task_id: str) -> None:
    """Send ``task_name`` for ``job`` with ``task_id`` once the current
    transaction commits (at once outside a transaction).

    Publishing retries as ``TASK_PUBLISH_RETRY_POLICY`` says, then gives up:
    a failure to reach the broker is logged, not raised. The job keeps its
    status and stored task id, and the sweep sends it again once it has been
    pending for ``RESEND_PENDING_AFTER`` seconds.
    """
    args = [job._meta.label, job.pk]
    options: dict[str, Any] = {
        "task_id": task_id,
        "soft_time_limit": jobs_settings.TASK_SOFT_TIME_LIMIT,
        "time_limit": jobs_settings.TASK_TIME_LIMIT,
        "retry": True,
        "retry_policy": dict(jobs_settings.TASK_PUBLISH_RETRY_POLICY),
    }
    if jobs_settings.TASK_QUEUE:
        options["queue"] = jobs_settings.TASK_QUEUE

    def send() -> None:
        try:
            # A list of args is sent as a tuple is (the stubs say tuple).
            get_celery_app().tasks[task_name].apply_async(args=args, **options)  # type: ignore[arg-type]
        except Exception:
            logger.exception(
                "Could not send task %s (%s) for %s %s; the job keeps its status and "
                "the sweep sends it again (RESEND_PENDING_AFTER).",
                task_name,
                task_id,
                job._meta.label,
                job.pk,
            )

    transaction.on_commit(send, using=router.db_for_write(type(job)))


def revoke_task(task_id: str) -> None:
    """Ask workers not to start ``task_id`` (best effort: running work also
    checks the job's status between chunks)."""
    if not task_id:
        return
    try:
        get_celery_app().control.revoke(task_id)
    except Exception:
        logger.warning(
            "Could not revoke task %s; it will stop on its own.", task_id, exc_info=True
        )
