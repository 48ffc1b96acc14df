"""The worker process that runs a job, as recorded on the job row.

When a worker starts a job it writes its host name, its process id and a
fresh run token to the row (``worker_host``, ``worker_pid``,
``worker_token``) in the same UPDATE that moves the job into its running
status. The token says which run holds the job: the heartbeat, the progress
writes and the final transition of a run all match on it, so a run that lost
the job (ended by the sweep, taken over by a redelivered task) can no longer
write to it.

A redelivered task uses the recorded owner to tell a dead run from a live
one (:func:`judge_owner`): an owner on this host whose process is gone is
dead at once; otherwise the owner is dead when its heartbeat has been missing
for two ``HEARTBEAT_SECONDS``. Host names are taken to name one machine, as
Celery's own node names do; two containers sharing a host name but not their
process ids would judge each other wrongly, which the run token keeps safe
(a live run that is taken over stops at its next chunk).
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from .conf import jobs_settings

if TYPE_CHECKING:
    from .models import BaseJob

# The heartbeat of a live owner is written every HEARTBEAT_SECONDS: missing
# for this many intervals, the owner is taken for dead.
MISSED_BEATS = 2


@dataclass(frozen=True)
class Owner:
    """A worker process running a job: host name, process id, run token."""

    host: str
    pid: int | None
    token: str

    @classmethod
    def current(cls) -> Owner:
        """This process, with a new run token."""
        return cls(socket.gethostname(), os.getpid(), uuid.uuid4().hex)

    @classmethod
    def of(cls, job: BaseJob) -> Owner:
        """The owner recorded on ``job`` (empty fields for a job started by
        an older version, or never started)."""
        return cls(job.worker_host, job.worker_pid, job.worker_token)

    def fields(self) -> dict[str, Any]:
        """The job fields that record this owner."""
        return {"worker_host": self.host, "worker_pid": self.pid, "worker_token": self.token}

    def is_local(self) -> bool:
        """Whether the owner ran on this host."""
        return bool(self.host) and self.host == socket.gethostname()

    def is_gone(self) -> bool:
        """Whether the owner ran on this host and its process no longer exists."""
        return self.is_local() and self.pid is not None and not process_exists(self.pid)

    def __str__(self) -> str:
        if not self.host:
            return "an unknown worker"
        return f"process {self.pid} on {self.host}"


def process_exists(pid: int) -> bool:
    """Whether a process ``pid`` runs on this host (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            state = stat.read().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def heartbeat_age(job: BaseJob) -> float | None:
    """Seconds since the job's last sign of life (``heartbeat_at``, else
    ``updated_at``), or None when it has neither."""
    last: datetime | None = job.heartbeat_at or job.updated_at
    if last is None:
        return None
    return max(0.0, (timezone.now() - last).total_seconds())


def describe(job: BaseJob) -> str:
    """What is known of the job's owner, for log lines."""
    age = heartbeat_age(job)
    beat = "no heartbeat" if age is None else f"heartbeat {age:.1f} s ago"
    return f"owner {Owner.of(job)}, {beat}"


@dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`judge_owner`: whether the owner is dead and why."""

    dead: bool
    reason: str


def judge_owner(job: BaseJob, interval: float | None = None) -> Verdict:
    """Tell whether the run holding ``job`` (a running job) is dead.

    Dead at once: the owner's process is gone from this host, its heartbeat
    is older than ``STALE_JOB_TIMEOUT`` (what the sweep goes by), or, for an
    owner on another host, missing for ``MISSED_BEATS`` intervals of
    ``interval`` seconds (``HEARTBEAT_SECONDS``). Alive at once: the owner's
    process runs on this host. Otherwise the row is watched for at most that long: a new
    heartbeat, or a change of status or run token, means alive. ``job`` is
    refreshed from the database meanwhile.
    """
    if interval is None:
        interval = float(jobs_settings.HEARTBEAT_SECONDS)
    stale = float(jobs_settings.STALE_JOB_TIMEOUT)
    # Without a heartbeat thread only progress writes show life: no waiting.
    waits = interval > 0
    limit = min(MISSED_BEATS * interval, stale) if waits else stale
    first = (job.status, job.worker_token, job.heartbeat_at)
    while True:
        owner = Owner.of(job)
        if (job.status, job.worker_token, job.heartbeat_at) != first:
            return Verdict(False, f"{owner} is alive: the job changed meanwhile")
        if owner.is_gone():
            return Verdict(True, f"{owner} is gone")
        age = heartbeat_age(job)
        if age is None or age > stale:
            return Verdict(True, f"no heartbeat for more than {stale:g} seconds")
        if owner.is_local():
            return Verdict(False, f"{owner} is alive")
        if age > limit:
            return Verdict(True, f"{owner} missed its heartbeat for more than {limit:g} seconds")
        if not waits:
            return Verdict(False, f"{owner} may be alive")
        time.sleep(min(max(limit - age, 0.0) + 0.01, max(interval / 4, 0.05), 1.0))
        try:
            job.refresh_from_db(
                fields=["status", "worker_host", "worker_pid", "worker_token", "heartbeat_at"]
            )
        except type(job).DoesNotExist:
            return Verdict(False, "the job was deleted meanwhile")
