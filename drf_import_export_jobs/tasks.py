"""Celery tasks: each loads a job and calls one of its methods.

Tasks are ``acks_late`` with ``reject_on_worker_lost`` (a task whose worker
dies is delivered again) and store no result. They are idempotent: a delivery
for a job that is gone, that carries another task id than the job stored, or
whose job is not in the status the method starts from, does nothing and logs
why. Time limits are set per call from the package settings.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from django.apps import apps

from . import dispatch
from .exceptions import InvalidJobStatus

logger = logging.getLogger(__name__)

TASK_OPTIONS: dict[str, Any] = {
    "bind": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "ignore_result": True,
    # Arguments are a model label and an id: JSON, whatever the app's default.
    "serializer": "json",
}


def run_job_method(
    task: Task, model_label: str, job_id: int, task_id_field: str, method: str
) -> None:
    """Load the job and call ``method`` on it, skipping stale deliveries."""
    try:
        model = apps.get_model(model_label)
    except (LookupError, ValueError):
        logger.error("Task %s: unknown job model %r; skipped.", task.name, model_label)
        return
    job = model._base_manager.filter(pk=job_id).first()
    if job is None:
        logger.info("Task %s: %s %s no longer exists; skipped.", task.name, model_label, job_id)
        return
    expected = getattr(job, task_id_field)
    delivered = task.request.id
    if expected and delivered and delivered != expected:
        logger.info(
            "Task %s: delivery %s is stale, %s %s expects task %s; skipped.",
            task.name,
            delivered,
            model_label,
            job_id,
            expected,
        )
        return
    try:
        getattr(job, method)()
    except InvalidJobStatus as exc:
        logger.info("Task %s: skipped, %s", task.name, exc)


@shared_task(name=dispatch.PARSE_TASK, **TASK_OPTIONS)
def parse_import_job(self: Task, model_label: str, job_id: int) -> None:
    """Dry-run an import job (``ImportJob.parse_data``)."""
    run_job_method(self, model_label, job_id, "parse_task_id", "parse_data")


@shared_task(name=dispatch.IMPORT_TASK, **TASK_OPTIONS)
def import_job_data(self: Task, model_label: str, job_id: int) -> None:
    """Import a confirmed import job (``ImportJob.import_data``)."""
    run_job_method(self, model_label, job_id, "import_task_id", "import_data")


@shared_task(name=dispatch.EXPORT_TASK, **TASK_OPTIONS)
def export_job_data(self: Task, model_label: str, job_id: int) -> None:
    """Run an export job (``ExportJob.export_data``)."""
    run_job_method(self, model_label, job_id, "export_task_id", "export_data")
