"""The fields and helpers every job shares."""

from __future__ import annotations

import logging
import traceback as traceback_module
import uuid
from datetime import timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _
from import_export.formats.base_formats import Format
from import_export.resources import Resource

from ..conf import jobs_settings
from ..exceptions import InvalidJobStatus, JobConfigurationError
from ..formats import get_format
from ..managers import JobManager
from ..owner import Owner
from ..transitions import transition

logger = logging.getLogger(__name__)

MAX_TRACEBACK = 20_000


def new_task_id() -> str:
    """A fresh Celery task id, stored on the job before the task is sent."""
    return str(uuid.uuid4())


class BaseJob(models.Model):
    """Fields and helpers shared by import and export jobs."""

    resource_path = models.CharField(
        _("resource"),
        max_length=255,
        help_text=_("Dotted path of the django-import-export Resource class."),
    )
    resource_kwargs = models.JSONField(
        _("resource arguments"),
        default=dict,
        blank=True,
        help_text=_("Keyword arguments the resource is created with."),
    )
    file_format_name = models.CharField(_("file format"), max_length=16)
    # Redeclared with its choices and default by each job model.
    status = models.CharField(_("status"), max_length=32, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    progress_current = models.PositiveBigIntegerField(_("rows done"), default=0)
    progress_total = models.PositiveBigIntegerField(_("rows in total"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        _("last heartbeat"),
        null=True,
        blank=True,
        help_text=_("Written with progress while a worker runs the job."),
    )
    worker_host = models.CharField(
        _("worker host"),
        max_length=255,
        blank=True,
        help_text=_("Host name of the worker process running the job (or that ran it last)."),
    )
    worker_pid = models.PositiveIntegerField(_("worker process id"), null=True, blank=True)
    worker_token = models.CharField(
        _("worker run"),
        max_length=32,
        blank=True,
        help_text=_(
            "New each time a worker starts the job; running work writes to the job only "
            "while it still holds it."
        ),
    )
    worker_restarts = models.PositiveSmallIntegerField(
        _("restarts"),
        default=0,
        help_text=_("How often a redelivered task restarted the job after its worker died."),
    )
    error_message = models.TextField(_("error message"), blank=True)
    traceback = models.TextField(_("traceback"), blank=True)

    objects = JobManager()

    # Statuses a job may be cancelled from (and is never deleted in).
    CANCELLABLE: ClassVar[tuple[str, ...]] = ()
    # Statuses with work pending or running: never deleted nor purged.
    ACTIVE: ClassVar[tuple[str, ...]] = ()
    # Statuses in which a worker runs the job and beats its heartbeat.
    RUNNING: ClassVar[tuple[str, ...]] = ()
    # Statuses in which the job waits for its task to be picked up.
    PENDING: ClassVar[tuple[str, ...]] = ()
    # Statuses after which nothing happens without a user's request: a job's
    # event stream closes once the job is in one of them.
    FINAL: ClassVar[tuple[str, ...]] = ()
    # Running status -> (error status, "finished at" field) of a lost worker.
    LOST_WORKER: ClassVar[dict[str, tuple[str, str]]] = {}
    # Running status -> pending status a redelivered task restarts the job
    # from when its worker died; running statuses not named here end in
    # their LOST_WORKER error status instead.
    RESTART: ClassVar[dict[str, str]] = {}
    # How often a job is restarted at most; then it ends in its error status.
    MAX_RESTARTS: ClassVar[int] = 1

    class Meta:
        abstract = True
        ordering = ("-created_at", "-pk")

    def __str__(self) -> str:
        name = self.resource_path.rsplit(".", 1)[-1]
        return f"{self._meta.verbose_name} #{self.pk} ({name}, {self.status})"

    @property
    def resource_class(self) -> type[Resource]:
        """The resource class named by ``resource_path``."""
        try:
            resource_class = import_string(self.resource_path)
        except ImportError as exc:
            raise JobConfigurationError(
                f"{self._meta.label} {self.pk}: resource_path {self.resource_path!r} "
                f"cannot be imported: {exc}"
            ) from exc
        if not (isinstance(resource_class, type) and issubclass(resource_class, Resource)):
            raise JobConfigurationError(
                f"{self._meta.label} {self.pk}: resource_path {self.resource_path!r} is not "
                "a django-import-export Resource class."
            )
        return resource_class

    @property
    def resource(self) -> Resource:
        """A new instance of the resource, created with ``resource_kwargs``."""
        return self.resource_class(**(self.resource_kwargs or {}))

    @property
    def file_format(self) -> Format:
        """The django-import-export format instance for ``file_format_name``."""
        return get_format(self.file_format_name)

    @property
    def progress(self) -> dict[str, Any]:
        """``{"state": status, "info": {"current": int, "total": int | None}}``."""
        return {
            "state": self.status,
            "info": {"current": self.progress_current, "total": self.progress_total},
        }

    def _check_format(self, allowed: list[str]) -> None:
        if self.file_format_name not in allowed:
            raise JobConfigurationError(
                f"File format {self.file_format_name!r} is not accepted for "
                f"{self.resource_path.rsplit('.', 1)[-1]}; accepted: {', '.join(allowed)}."
            )

    def _error_fields(self, exc: BaseException, with_traceback: bool = True) -> dict[str, Any]:
        message = str(exc) or type(exc).__name__
        text = traceback_module.format_exc() if with_traceback else ""
        return {"error_message": message, "traceback": text[-MAX_TRACEBACK:]}

    def start_fields(self) -> dict[str, Any]:
        """Fields the transition into a running status writes: the heartbeat
        and this process as the job's owner, with a new run token."""
        return {"heartbeat_at": timezone.now(), **Owner.current().fields()}

    def _safe_transition(self, target: str, allowed: tuple[str, ...], **fields: Any) -> bool:
        """Like ``transition`` but returns False (and logs) when refused: used
        by running work whose job may have been cancelled, ended as lost or
        taken over meanwhile (the row must still carry this run's token)."""
        try:
            transition(self, target, allowed, when=Q(worker_token=self.worker_token), **fields)
        except InvalidJobStatus as exc:
            logger.info("Not recording %s: %s", target, exc)
            return False
        return True

    # -- faults -----------------------------------------------------------------

    def heartbeat_is_stale(self, timeout: float | None = None) -> bool:
        """Whether this running job's last sign of life (``heartbeat_at``, else
        ``updated_at``) is older than ``timeout`` seconds
        (``STALE_JOB_TIMEOUT`` by default)."""
        cutoff = timezone.now() - timedelta(seconds=_stale_timeout(timeout))
        last = self.heartbeat_at or self.updated_at
        return last is None or last < cutoff

    def lost_worker_message(self, timeout: float) -> str:
        """The ``error_message`` of a job whose worker was lost. Override to
        word it for your users."""
        action = {
            "parsing": "dry run",
            "importing": "import",
            "exporting": "export",
            "reverting": "revert",
        }
        what = action.get(self.status, "job")
        outcome = {
            "parsing": "nothing was written; upload the file again",
            "importing": "its transaction was rolled back and nothing was imported",
            "reverting": "its transaction was rolled back and nothing was reverted",
            "exporting": "no file was kept; start a new export",
        }.get(self.status, "it was stopped")
        return (
            f"The worker running the {what} was lost (no heartbeat for more than "
            f"{timeout:g} seconds, see STALE_JOB_TIMEOUT); {outcome}."
        )

    def fail_lost_worker(self, timeout: float | None = None) -> bool:
        """End this running job in its error status if its heartbeat is older
        than ``timeout`` seconds (``STALE_JOB_TIMEOUT`` by default).

        One conditional UPDATE: it matches only while the job is still in the
        same running status with a stale heartbeat, so a worker that is alive
        (or finishes meanwhile) always wins. Returns whether the job was ended.
        """
        timeout = _stale_timeout(timeout)
        running = self.status
        if running not in self.LOST_WORKER:
            return False
        error_status, finished_field = self.LOST_WORKER[running]
        cutoff = timezone.now() - timedelta(seconds=timeout)
        stale = Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, updated_at__lt=cutoff)
        try:
            transition(
                self,
                error_status,
                (running,),
                when=stale,
                error_message=self.lost_worker_message(timeout),
                traceback="",
                **{finished_field: timezone.now()},
            )
        except InvalidJobStatus:
            return False
        logger.warning("%s: worker lost while %s; ended as %s.", self, running, error_status)
        return True

    def dead_worker_message(self, reason: str) -> str:
        """The ``error_message`` of a job whose worker a redelivered task
        found dead (``reason`` says how it knows). Override to word it for
        your users."""
        action = {
            "parsing": "dry run",
            "importing": "import",
            "exporting": "export",
            "reverting": "revert",
        }
        outcome = {
            "parsing": "nothing was written; upload the file again",
            "importing": "its transaction was rolled back and nothing was imported",
            "reverting": "its transaction was rolled back and nothing was reverted",
            "exporting": "no file was kept; start a new export",
        }.get(self.status, "it was stopped")
        restarts = ""
        if self.worker_restarts:
            restarts = f" (after {self.worker_restarts} restart(s))"
        return (
            f"The worker running the {action.get(self.status, 'job')} was lost ({reason})"
            f"{restarts}; {outcome}."
        )

    def take_over(self, reason: str) -> bool:
        """Take this running job over from its dead owner (see
        :func:`~drf_import_export_jobs.owner.judge_owner`).

        A status in ``RESTART`` goes back to its pending status to be run
        again from the start, at most ``MAX_RESTARTS`` times; any other (or
        one restarted too often) ends in its ``LOST_WORKER`` error status
        with :meth:`dead_worker_message`. One conditional UPDATE that matches
        only while the row still shows the owner and heartbeat that were
        judged dead, so a live owner that beats meanwhile keeps the job.
        Returns whether the job was taken over.
        """
        running = self.status
        if running not in self.LOST_WORKER:
            return False
        held = Q(worker_token=self.worker_token)
        if self.heartbeat_at is None:
            held &= Q(heartbeat_at__isnull=True)
        else:
            held &= Q(heartbeat_at=self.heartbeat_at)
        restart = self.RESTART.get(running)
        try:
            if restart and self.worker_restarts < self.MAX_RESTARTS:
                transition(
                    self,
                    restart,
                    (running,),
                    when=held,
                    worker_restarts=self.worker_restarts + 1,
                    worker_token="",
                    progress_current=0,
                    error_message="",
                    traceback="",
                )
            else:
                error_status, finished_field = self.LOST_WORKER[running]
                transition(
                    self,
                    error_status,
                    (running,),
                    when=held,
                    error_message=self.dead_worker_message(reason),
                    traceback="",
                    **{finished_field: timezone.now()},
                )
        except InvalidJobStatus:
            return False
        return True

    def resend_pending_task(self, after: float | None = None) -> bool:
        """Send the task of a job still waiting in ``PENDING`` again if it has
        not changed for ``after`` seconds (``RESEND_PENDING_AFTER``), under its
        stored task id: if the first message does arrive after all, one of the
        two deliveries finds the job no longer pending and does nothing.

        The conditional UPDATE of ``updated_at`` makes two sweeps racing for
        the job send it once. Returns whether the task was sent.
        """
        if after is None:
            after = jobs_settings.RESEND_PENDING_AFTER
        if after is None or self.status not in self.PENDING:
            return False
        now = timezone.now()
        touched = (
            type(self)
            ._base_manager.filter(
                pk=self.pk, status=self.status, updated_at__lt=now - timedelta(seconds=after)
            )
            .update(updated_at=now)
        )
        if not touched:
            return False
        self.updated_at = now
        logger.warning("%s: still %s; sending its task again.", self, self.status)
        self.send_pending_task()
        return True

    def send_pending_task(self) -> None:
        """Send the task this job waits for in its pending status."""
        raise NotImplementedError


def _stale_timeout(timeout: float | None) -> float:
    return float(jobs_settings.STALE_JOB_TIMEOUT if timeout is None else timeout)
