"""Sending, revoking and running job tasks, on Celery or Django's tasks framework.

One setting, ``DRF_IMPORT_EXPORT_JOBS["TASK_BACKEND"]``, picks the
:class:`TaskBackend`: ``"celery"`` (:class:`CeleryBackend`, the default) or
``"django"`` (:class:`DjangoTasksBackend`: ``django.tasks`` on Django 6, the
``django-tasks`` backport on Django 5.2).

Whatever the backend, a job's task id is chosen first and stored on the job;
the task is sent after the surrounding transaction commits, by name, with
only ``(model label, job id)`` as arguments (and the task id where the backend
cannot be told which id to use); no object is serialised. Every delivery runs
:func:`run_job_task`, which skips stale and duplicate deliveries. Progress,
cancel flags, heartbeats, owners and the sweep live on the job row, so they
work the same with both backends.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from celery import Celery, current_app
from django.apps import apps
from django.db import DatabaseError, router, transaction
from django.utils import timezone

from .conf import SETTING_NAME, jobs_settings
from .exceptions import InvalidJobStatus
from .heartbeat import Heartbeat
from .owner import describe, judge_owner

if TYPE_CHECKING:
    from .models import BaseJob

logger = logging.getLogger(__name__)

PARSE_TASK = "drf_import_export_jobs.parse_import_job"
IMPORT_TASK = "drf_import_export_jobs.import_job_data"
EXPORT_TASK = "drf_import_export_jobs.export_job_data"
REVERT_TASK = "drf_import_export_jobs.revert_import_job"
#: One more task importing a chunked import's chunks (:func:`run_part_task`).
IMPORT_PART_TASK = "drf_import_export_jobs.import_job_part"
#: One attempt at a webhook delivery (:func:`drf_import_export_jobs.webhooks.deliver`).
WEBHOOK_TASK = "drf_import_export_jobs.deliver_webhook"


@dataclass(frozen=True)
class JobTask:
    """What a job task does: the job field holding its id, the job method it
    calls and the status that method puts the job in."""

    task_id_field: str
    method: str
    running: str


JOB_TASKS: dict[str, JobTask] = {
    PARSE_TASK: JobTask("parse_task_id", "parse_data", "parsing"),
    IMPORT_TASK: JobTask("import_task_id", "import_data", "importing"),
    EXPORT_TASK: JobTask("export_task_id", "export_data", "exporting"),
    REVERT_TASK: JobTask("revert_task_id", "revert_data", "reverting"),
}


class TaskBackend:
    """Sends and revokes job tasks. Subclasses set ``name`` (the value of the
    ``TASK_BACKEND`` setting) and say what they can do."""

    name: ClassVar[str] = ""
    #: Whether :meth:`revoke` can stop a task before it starts.
    can_revoke: ClassVar[bool] = False
    #: Whether ``TASK_SOFT_TIME_LIMIT`` / ``TASK_TIME_LIMIT`` are enforced.
    has_time_limits: ClassVar[bool] = False
    #: Whether a task whose worker died is delivered again.
    redelivers_lost_tasks: ClassVar[bool] = False

    def publish(self, task_name: str, job: BaseJob, task_id: str) -> None:
        """Hand the task to the backend at once (called after commit)."""
        raise NotImplementedError

    def send(self, task_name: str, job: BaseJob, task_id: str) -> None:
        """Publish ``task_name`` for ``job`` with ``task_id`` once the current
        transaction commits (at once outside a transaction).

        A failure to publish is logged, not raised: the job keeps its status
        and stored task id, and the sweep sends it again once it has been
        pending for ``RESEND_PENDING_AFTER`` seconds.
        """

        def send() -> None:
            try:
                self.publish(task_name, job, task_id)
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

    def revoke(self, task_id: str) -> None:
        """Ask workers not to start ``task_id`` (best effort: running work
        also checks the job's status between chunks)."""

    def publish_webhook(self, delivery_id: int, delay: float) -> None:
        """Hand an attempt at webhook delivery ``delivery_id`` to the backend,
        to run in ``delay`` seconds."""
        raise NotImplementedError


def get_celery_app() -> Celery:
    """The app from ``DRF_IMPORT_EXPORT_JOBS["CELERY_APP"]``, else Celery's current app."""
    app = jobs_settings.CELERY_APP
    return app if app is not None else current_app


class CeleryBackend(TaskBackend):
    """Celery: the task id is given to the broker, tasks are ``acks_late``
    (redelivered when their worker dies), have time limits and can be
    revoked. Publishing retries as ``TASK_PUBLISH_RETRY_POLICY`` says."""

    name = "celery"
    can_revoke = True
    has_time_limits = True
    redelivers_lost_tasks = True

    def publish(self, task_name: str, job: BaseJob, task_id: str) -> None:
        options: dict[str, Any] = {
            "task_id": task_id,
            "soft_time_limit": jobs_settings.TASK_SOFT_TIME_LIMIT,
            "time_limit": jobs_settings.TASK_TIME_LIMIT,
            "retry": True,
            "retry_policy": dict(jobs_settings.TASK_PUBLISH_RETRY_POLICY),
        }
        if jobs_settings.TASK_QUEUE:
            options["queue"] = jobs_settings.TASK_QUEUE
        # A list of args is sent as a tuple is (the stubs say tuple).
        get_celery_app().tasks[task_name].apply_async(
            args=[job._meta.label, job.pk],  # type: ignore[arg-type]
            **options,
        )

    def publish_webhook(self, delivery_id: int, delay: float) -> None:
        options: dict[str, Any] = {"countdown": delay} if delay > 0 else {}
        if jobs_settings.TASK_QUEUE:
            options["queue"] = jobs_settings.TASK_QUEUE
        get_celery_app().tasks[WEBHOOK_TASK].apply_async(
            args=[delivery_id],  # type: ignore[arg-type]
            **options,
        )

    def revoke(self, task_id: str) -> None:
        if not task_id:
            return
        try:
            get_celery_app().control.revoke(task_id)
        except Exception:
            logger.warning(
                "Could not revoke task %s; it will stop on its own.", task_id, exc_info=True
            )


class DjangoTasksBackend(TaskBackend):
    """Django's tasks framework, through the ``settings.TASKS`` alias named by
    ``DJANGO_TASKS_BACKEND``. The backend picks its own result ids, so the
    job's task id travels as a third argument. There is no revoke (a
    cancelled job stops at its next chunk, a pending one is skipped when its
    task starts), no time limit and no redelivery of a task whose worker died
    (the sweep ends such a job)."""

    name = "django"

    def publish(self, task_name: str, job: BaseJob, task_id: str) -> None:
        from . import djangotasks

        task = djangotasks.DJANGO_TASKS[task_name]
        options: dict[str, Any] = {"backend": jobs_settings.DJANGO_TASKS_BACKEND}
        if jobs_settings.TASK_QUEUE:
            options["queue_name"] = jobs_settings.TASK_QUEUE
        task.using(**options).enqueue(job._meta.label, job.pk, task_id)

    def publish_webhook(self, delivery_id: int, delay: float) -> None:
        """Where the backend cannot defer a task (``supports_defer``), the
        retry runs as soon as a worker takes it."""
        from . import djangotasks

        options: dict[str, Any] = {"backend": jobs_settings.DJANGO_TASKS_BACKEND}
        if jobs_settings.TASK_QUEUE:
            options["queue_name"] = jobs_settings.TASK_QUEUE
        task = djangotasks.deliver_webhook.using(**options)
        if delay > 0 and getattr(task.get_backend(), "supports_defer", False):
            task = task.using(run_after=timezone.now() + timedelta(seconds=delay))
        task.enqueue(delivery_id)


TASK_BACKENDS: dict[str, type[TaskBackend]] = {
    CeleryBackend.name: CeleryBackend,
    DjangoTasksBackend.name: DjangoTasksBackend,
}


def get_task_backend() -> TaskBackend:
    """The :class:`TaskBackend` named by ``DRF_IMPORT_EXPORT_JOBS["TASK_BACKEND"]``."""
    name = jobs_settings.TASK_BACKEND
    try:
        return TASK_BACKENDS[name]()
    except (KeyError, TypeError):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            f"{SETTING_NAME}['TASK_BACKEND'] = {name!r} is not one of "
            f"{', '.join(map(repr, TASK_BACKENDS))}."
        ) from None


def send_job_task(task_name: str, job: BaseJob, task_id: str) -> None:
    """Send ``task_name`` for ``job`` with ``task_id`` after commit, on the
    configured backend (:meth:`TaskBackend.send`)."""
    get_task_backend().send(task_name, job, task_id)


def send_webhook_task(delivery_id: int, delay: float = 0.0) -> None:
    """Send an attempt at webhook delivery ``delivery_id`` (in ``delay``
    seconds) once the current transaction commits, on the configured backend.
    A failure to send is logged, never raised: the delivery stays pending."""

    def send() -> None:
        try:
            get_task_backend().publish_webhook(delivery_id, delay)
        except Exception:
            logger.exception("Could not send webhook delivery %s; it stays pending.", delivery_id)

    transaction.on_commit(send)


def revoke_task(task_id: str) -> None:
    """Revoke ``task_id`` where the configured backend can (:meth:`TaskBackend.revoke`)."""
    get_task_backend().revoke(task_id)


# -- running ----------------------------------------------------------------------


def run_job_task(task_name: str, delivered: str | None, model_label: str, job_id: int) -> None:
    """Load the job and call the method of ``task_name`` on it, skipping stale
    deliveries. ``delivered`` is the task id this delivery carries.

    A delivery for a job that is gone, that carries another task id than the
    job stored, or whose job is not in the status the method starts from,
    does nothing and logs why. Finding the job already running means this is
    a second delivery of a task that started (:func:`handle_redelivery`).
    """
    spec = JOB_TASKS[task_name]
    try:
        model = apps.get_model(model_label)
    except (LookupError, ValueError):
        logger.error("Task %s: unknown job model %r; skipped.", task_name, model_label)
        return
    job = model._base_manager.filter(pk=job_id).first()
    if job is None:
        logger.info("Task %s: %s %s no longer exists; skipped.", task_name, model_label, job_id)
        return
    expected = getattr(job, spec.task_id_field)
    if expected and delivered and delivered != expected:
        logger.info(
            "Task %s: delivery %s is stale, %s %s expects task %s; skipped.",
            task_name,
            delivered,
            model_label,
            job_id,
            expected,
        )
        return
    if job.status == spec.running and not handle_redelivery(task_name, delivered, job):
        return
    try:
        with Heartbeat(job):
            getattr(job, spec.method)()
    except InvalidJobStatus as exc:
        logger.info("Task %s: skipped, %s", task_name, exc)


def run_part_task(delivered: str | None, model_label: str, job_id: int) -> None:
    """Load a chunked import and import the chunks this task can claim
    beside the run's other tasks (``import_part()``). A delivery for a job
    that is gone, or no longer importing in the chunked commit mode, does
    nothing and logs why; a second delivery joins the run like the first."""
    try:
        model = apps.get_model(model_label)
    except (LookupError, ValueError):
        logger.error("Task %s: unknown job model %r; skipped.", IMPORT_PART_TASK, model_label)
        return
    job = model._base_manager.filter(pk=job_id).first()
    if job is None or job.status != "importing" or not getattr(job, "is_chunked", False):
        logger.info(
            "Task %s (%s): skipped, %s %s is not importing in chunks (%s).",
            IMPORT_PART_TASK,
            delivered,
            model_label,
            job_id,
            "gone" if job is None else job.status,
        )
        return
    with Heartbeat(job):
        job.import_part()


def handle_redelivery(task_name: str, delivered: str | None, job: Any) -> bool:
    """A delivery for a job that is already running: never run it beside a
    live worker. Returns whether the task goes on to run the job (it was
    taken over from a dead worker and put back to be run again).

    A live owner keeps the job (the delivery is skipped); a dead owner's job
    is taken over: restarted, or ended in its error status (an import's
    transaction died with the worker, so nothing was written; a chunked
    import is put back to be resumed from its first uncommitted chunk)."""
    seen = describe(job)
    verdict = judge_owner(job)
    if not verdict.dead:
        logger.info(
            "Task %s (%s): skipped, %s is already %s and its heartbeat is fresh: another "
            "worker is running it (%s; %s).",
            task_name,
            delivered,
            job,
            job.status,
            seen,
            verdict.reason,
        )
        return False
    try:
        taken = job.take_over(verdict.reason)
    except DatabaseError:
        logger.exception("Task %s (%s): could not take %s over.", task_name, delivered, job)
        return False
    if not taken:
        logger.info(
            "Task %s (%s): skipped, %s changed meanwhile (%s).",
            task_name,
            delivered,
            job,
            job.status,
        )
        return False
    restarted = job.status in job.PENDING
    if not restarted:
        outcome = f"the job ended as {job.status}"
    elif getattr(job, "is_chunked", False) and task_name == IMPORT_TASK:
        outcome = "resuming it from its first uncommitted chunk"
    else:
        outcome = "running it again from the start"
    logger.warning(
        "Task %s (%s): redelivered for %s whose worker was lost (%s; %s); %s.",
        task_name,
        delivered,
        job,
        seen,
        verdict.reason,
        outcome,
    )
    return restarted
