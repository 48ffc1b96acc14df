"""The job event log: every status change and progress write of a job, in order.

:func:`record_event` is called by :func:`~drf_import_export_jobs.transitions.transition`
(every status change) and by
:class:`~drf_import_export_jobs.progress.ProgressReporter` (every progress
write), on the connection that makes the change, so an event is visible
exactly when the change is. The event's id orders a job's events; the job's
event stream (:mod:`drf_import_export_jobs.streams`) reads them with
:func:`read_events` and resumes after a given id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.db import models, router
from django.utils import timezone

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

    from .models import BaseJob

#: The ``event:`` of a status change and of a progress write.
STATUS_EVENT = "status"
PROGRESS_EVENT = "progress"

#: Events read per poll of the log at most.
READ_BATCH = 500


def event_model() -> type[models.Model]:
    """The concrete event log model (``drf_import_export_jobs.JobEvent``)."""
    return apps.get_model("drf_import_export_jobs", "JobEvent")


def job_reference(job: BaseJob) -> tuple[str, str]:
    """``(model label, primary key as text)``: how events and webhook
    deliveries refer to a job."""
    return job._meta.label, str(job.pk)


def record_event(job: BaseJob, kind: str, side: BaseDatabaseWrapper | None = None) -> None:
    """Add a ``kind`` event with the job's status and progress to the log.

    ``side`` is the autocommit connection a progress write went through while
    the job's own connection is inside a transaction: the event goes through
    it too, when the log lives on the same database.
    """
    model = event_model()
    label, pk = job_reference(job)
    values: dict[str, Any] = {
        "job_model": label,
        "job_id": pk,
        "kind": kind,
        "status": str(job.status),
        "progress_current": job.progress_current or 0,
        "progress_total": job.progress_total,
        "created_at": timezone.now(),
    }
    alias = router.db_for_write(model)
    if side is not None and side.alias == alias:
        qn = side.ops.quote_name
        columns = ", ".join(qn(name) for name in values)
        params = [
            side.ops.adapt_datetimefield_value(value) if name == "created_at" else value
            for name, value in values.items()
        ]
        marks = ", ".join(["%s"] * len(values))
        with side.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {qn(model._meta.db_table)} ({columns}) VALUES ({marks})", params
            )
        return
    model._default_manager.using(alias).create(**values)


@dataclass(frozen=True)
class LoggedEvent:
    """One event read from the log."""

    id: int
    kind: str
    status: str
    progress_current: int
    progress_total: int | None
    created_at: Any


def read_events(job_model: str, job_id: str, after: int) -> list[LoggedEvent]:
    """The job's events with an id above ``after``, oldest first (at most
    ``READ_BATCH``)."""
    model = event_model()
    rows = (
        model._default_manager.filter(job_model=job_model, job_id=job_id, id__gt=after)
        .order_by("id")
        .values_list("id", "kind", "status", "progress_current", "progress_total", "created_at")
    )
    return [LoggedEvent(*row) for row in rows[:READ_BATCH]]


def delete_events(job: BaseJob) -> None:
    """Delete the job's events (when the job is deleted)."""
    label, pk = job_reference(job)
    event_model()._default_manager.filter(job_model=label, job_id=pk).delete()
