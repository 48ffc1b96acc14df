"""Celery tasks: each loads a job and calls one of its methods
(:func:`~drf_import_export_jobs.dispatch.run_job_task`).

Tasks are ``acks_late`` with ``reject_on_worker_lost`` (a task whose worker
dies is delivered again) and store no result. They are idempotent: a delivery
for a job that is gone, that carries another task id than the job stored, or
whose job is not in the status the method starts from, does nothing and logs
why. Time limits are set per call from the package settings.

A delivery that finds its job already running (the broker redelivered the
task of a worker that died, or of one that is still at work) never runs it
beside a live worker: it judges the job's recorded owner
(:func:`~drf_import_export_jobs.owner.judge_owner`). A live owner keeps the
job and the delivery is skipped; a dead one (its process gone from this host,
or its heartbeat missing for two ``HEARTBEAT_SECONDS``) has the job taken
over at once (:meth:`~drf_import_export_jobs.models.BaseJob.take_over`): a
dry run or an export is run again from the start, an import ends in
``import_error`` (one in the ``chunked`` commit mode resumes from its first
uncommitted chunk instead). While a task runs,
:class:`~drf_import_export_jobs.heartbeat.Heartbeat` keeps the job's
heartbeat fresh.

``sweep_jobs`` and ``purge_jobs`` are meant for Celery beat.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task

from . import dispatch, housekeeping, webhooks

logger = logging.getLogger(__name__)

TASK_OPTIONS: dict[str, Any] = {
    "bind": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "ignore_result": True,
    # Arguments are a model label and an id: JSON, whatever the app's default.
    "serializer": "json",
}


@shared_task(name=dispatch.PARSE_TASK, **TASK_OPTIONS)
def parse_import_job(self: Task[Any, Any], model_label: str, job_id: int) -> None:
    """Dry-run an import job (``ImportJob.parse_data``)."""
    dispatch.run_job_task(dispatch.PARSE_TASK, self.request.id, model_label, job_id)


@shared_task(name=dispatch.IMPORT_TASK, **TASK_OPTIONS)
def import_job_data(self: Task[Any, Any], model_label: str, job_id: int) -> None:
    """Import a confirmed import job (``ImportJob.import_data``)."""
    dispatch.run_job_task(dispatch.IMPORT_TASK, self.request.id, model_label, job_id)


@shared_task(name=dispatch.IMPORT_PART_TASK, **TASK_OPTIONS)
def import_job_part(self: Task[Any, Any], model_label: str, job_id: int) -> None:
    """Import chunks of a chunked import beside its import task
    (``ImportJob.import_part``, see ``PARALLEL_IMPORT_TASKS``)."""
    dispatch.run_part_task(self.request.id, model_label, job_id)


@shared_task(name=dispatch.EXPORT_TASK, **TASK_OPTIONS)
def export_job_data(self: Task[Any, Any], model_label: str, job_id: int) -> None:
    """Run an export job (``ExportJob.export_data``)."""
    dispatch.run_job_task(dispatch.EXPORT_TASK, self.request.id, model_label, job_id)


@shared_task(name=dispatch.REVERT_TASK, **TASK_OPTIONS)
def revert_import_job(self: Task[Any, Any], model_label: str, job_id: int) -> None:
    """Revert an imported job (``ImportJob.revert_data``)."""
    dispatch.run_job_task(dispatch.REVERT_TASK, self.request.id, model_label, job_id)


@shared_task(name=dispatch.WEBHOOK_TASK, ignore_result=True, serializer="json")
def deliver_webhook(delivery_id: int) -> None:
    """Make one attempt at a webhook delivery (``webhooks.deliver``); a
    failed attempt sends the next one itself, with backoff."""
    webhooks.deliver(delivery_id)


@shared_task(name=housekeeping.SWEEP_TASK, ignore_result=True)
def sweep_jobs() -> dict[str, list[str]]:
    """End lost running jobs and send stuck pending jobs again (Celery beat)."""
    return housekeeping.sweep_jobs().as_dict()


@shared_task(name=housekeeping.PURGE_TASK, ignore_result=True)
def purge_jobs(days: float | None = None) -> dict[str, int]:
    """Delete finished jobs older than ``JOB_RETENTION_DAYS`` (Celery beat)."""
    return housekeeping.purge_jobs(days)
