"""Race-safe status transitions.

Every status change is a single conditional UPDATE
(``... SET status = %s WHERE id = %s AND status IN (allowed)``). Of two
processes racing for the same job (a worker finishing and a user cancelling),
exactly one UPDATE matches; the other raises :class:`InvalidJobStatus`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .events import STATUS_EVENT, record_event
from .exceptions import InvalidJobStatus
from .signals import job_status_changed

if TYPE_CHECKING:
    from .models import BaseJob


def job_label(job: BaseJob) -> str:
    return f"{type(job).__name__} {job.pk}"


def current_status(job: BaseJob) -> str | None:
    """The job's status as stored now (``None`` if the row is gone)."""
    return type(job)._base_manager.filter(pk=job.pk).values_list("status", flat=True).first()


def transition(
    job: BaseJob, target: str, allowed: Iterable[str], *, when: Q | None = None, **fields: Any
) -> None:
    """Move ``job`` to ``target`` if its stored status is in ``allowed``.

    ``fields`` are written in the same UPDATE and set on the instance; ``when``
    adds a condition on the row to the same UPDATE (a stale heartbeat, say).
    Raises :class:`InvalidJobStatus` naming the current status when the job
    is in any other status (or ``when`` does not match).
    A status event is added to the job's event log in the same transaction
    (:func:`~drf_import_export_jobs.events.record_event`), and
    ``job_status_changed`` is sent once the change commits (the webhooks
    listen to it).
    """
    allowed = tuple(allowed)
    fields["updated_at"] = timezone.now()
    rows = type(job)._base_manager.filter(pk=job.pk, status__in=allowed)
    if when is not None:
        rows = rows.filter(when)
    updated = rows.update(status=target, **fields)
    if not updated:
        now = current_status(job)
        if now is not None:
            job.status = now
        raise InvalidJobStatus(job_label(job), now, target, allowed)
    old = job.status
    job.status = target
    for name, value in fields.items():
        setattr(job, name, value)
    record_event(job, STATUS_EVENT)

    def send() -> None:
        job_status_changed.send(sender=type(job), job=job, old_status=old, new_status=target)

    transaction.on_commit(send, robust=True)
