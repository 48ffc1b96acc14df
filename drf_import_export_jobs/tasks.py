"""Celery tasks: each loads a job and calls one of its methods.

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
``import_error``. While a task runs,
:class:`~drf_import_export_jobs.heartbeat.Heartbeat` keeps the job's
heartbeat fresh.

``sweep_jobs`` and ``purge_jobs`` are meant for Celery beat.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from django.apps import apps
from django.db import DatabaseError

from . import dispatch, housekeeping
from .exceptions import InvalidJobStatus
from .heartbeat import Heartbeat
from .owner import describe, judge_owner

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
    task: Task[Any, Any],
    model_label: str,
    job_id: int,
    task_id_field: str,
    method: str,
    running: str,
) -> None:
    """Load the job and call ``method`` on it, skipping stale deliveries.

    ``running`` is the status ``method`` puts the job in: finding the job
    already there means this is a second delivery of a task that started.
    """
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
    if job.status == running and not handle_redelivery(task, job):
        return
    try:
        with Heartbeat(job):
            getattr(job, method)()
    except InvalidJobStatus as exc:
        logger.info("Task %s: skipped, %s", task.name, exc)


def handle_redelivery(task: Task[Any, Any], job: Any) -> bool:
    """A delivery for a job that is already running: never run it beside a
    live worker. Returns whether the task goes on to run the job (it was
    taken over from a dead worker and put back to be run again).

    A live owner keeps the job (the delivery is skipped); a dead owner's job
    is taken over: restarted, or ended in its error status (an import's
    transaction died with the worker, so nothing was written)."""
    seen = describe(job)
    verdict = judge_owner(job)
    if not verdict.dead:
        logger.info(
            "Task %s (%s): skipped, %s is already %s and its heartbeat is fresh: another "
            "worker is running it (%s; %s).",
            task.name,
            task.request.id,
            job,
            job.status,
            seen,
            verdict.reason,
        )
        return False
    try:
        taken = job.take_over(verdict.reason)
    except DatabaseError:
        logger.exception("Task %s (%s): could not take %s over.", task.name, task.request.id, job)
        return False
    if not taken:
        logger.info(
            "Task %s (%s): skipped, %s changed meanwhile (%s).",
            task.name,
            task.request.id,
            job,
            job.status,
        )
        return False
    restarted = job.status in job.PENDING
    logger.warning(
        "Task %s (%s): redelivered for %s whose worker was lost (%s; %s); %s.",
        task.name,
        task.request.id,
        job,
        seen,
        verdict.reason,
        "running it again from the start" if restarted else f"the job ended as {job.status}",
    )
    return restarted


@shared_task(name=dispatch.PARSE_TASK, **TASK_OPTIONS)
def parse_import_job(self: Task[Any, Any], model_label: str, job_id: int) -> None:
    """Dry-run an import job (``ImportJob.parse_data``)."""
    run_job_method(self, model_label, job_id, "parse_task_id", "parse_data", "parsing")


@shared_task(name=dispatch.IMPORT_TASK, **TASK_OPTIONS)
def import_job_data(self: Task[Any, Any], model_label: str, job_id: int) -> None:
    """Import a confirmed import job (``ImportJob.import_data``)."""
    run_job_method(self, model_label, job_id, "import_task_id", "import_data", "importing")


@shared_task(name=dispatch.EXPORT_TASK, **TASK_OPTIONS)
def export_job_data(self: Task[Any, Any], model_label: str, job_id: int) -> None:
    """Run an export job (``ExportJob.export_data``)."""
    run_job_method(self, model_label, job_id, "export_task_id", "export_data", "exporting")


@shared_task(name=housekeeping.SWEEP_TASK, ignore_result=True)
def sweep_jobs() -> dict[str, list[str]]:
    """End lost running jobs and send stuck pending jobs again (Celery beat)."""
    return housekeeping.sweep_jobs().as_dict()


@shared_task(name=housekeeping.PURGE_TASK, ignore_result=True)
def purge_jobs(days: float | None = None) -> dict[str, int]:
    """Delete finished jobs older than ``JOB_RETENTION_DAYS`` (Celery beat)."""
    return housekeeping.purge_jobs(days)
