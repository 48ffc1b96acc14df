"""A background heartbeat for running jobs.

While a task runs a job, a daemon thread refreshes the row's ``heartbeat_at``
every ``HEARTBEAT_SECONDS``, also while a single chunk takes long. When the
worker process dies, the heartbeat stops: a redelivery of the task takes the
job over once the beat is missing for two intervals (or at once when it sees
the worker's process gone, see :mod:`~drf_import_export_jobs.owner`), the
sweep ends it after ``STALE_JOB_TIMEOUT`` seconds.

The thread writes with its own autocommit connection and only while the job
is in a running status and still carries the run token that the task's own
work wrote when it started (``worker_token``, read from the job instance at
each beat): a run that lost its job never beats for it again. On SQLite,
which allows one writer, it skips beats while the task's own connection holds
a transaction open (an import); the progress writes of that transaction carry
the heartbeat instead.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType
from typing import TYPE_CHECKING

from django.db import DatabaseError, connections, router
from django.utils import timezone

from .conf import jobs_settings

if TYPE_CHECKING:
    from .models import BaseJob

logger = logging.getLogger(__name__)


class Heartbeat:
    """Context manager: beats for ``job`` from a thread until the block ends."""

    def __init__(self, job: BaseJob, interval: float | None = None) -> None:
        self.job = job
        self.model = type(job)
        self.pk = job.pk
        self.alias = router.db_for_write(self.model)
        self.interval = float(jobs_settings.HEARTBEAT_SECONDS if interval is None else interval)
        self.beats = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # The connection of the thread running the job (read, never used here).
        self._owner = connections[self.alias]

    def __enter__(self) -> Heartbeat:
        if self.interval > 0:
            self._thread = threading.Thread(
                target=self._run, name=f"heartbeat-{self.model._meta.label}-{self.pk}", daemon=True
            )
            self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=max(5.0, self.interval))
            self._thread = None

    def beat(self) -> bool:
        """Write ``heartbeat_at = now`` if the job is running under this
        task's run token; returns whether a row was written."""
        if self._owner.vendor == "sqlite" and self._owner.in_atomic_block:
            return False
        written = (
            self.model._base_manager.using(self.alias)
            .filter(pk=self.pk, status__in=self.model.RUNNING, worker_token=self.job.worker_token)
            .update(heartbeat_at=timezone.now())
        )
        if written:
            self.beats += 1
        return bool(written)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    self.beat()
                except DatabaseError:
                    logger.warning(
                        "Heartbeat of %s %s failed.", self.model, self.pk, exc_info=True
                    )
        finally:
            connections.close_all()
