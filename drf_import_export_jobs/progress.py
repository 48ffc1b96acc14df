"""Progress and cancellation checks for running jobs.

Progress (``progress_current``, ``progress_total``) and the heartbeat
(``heartbeat_at``) live on the job row. They are written at most every
``PROGRESS_EVERY_ROWS`` rows or ``PROGRESS_EVERY_SECONDS`` seconds.

While an import's data transaction is open, these writes go through a second,
autocommit connection to the same database, so other connections see them
while the transaction runs. SQLite allows a single writer at a time, so there
the write goes through the importing connection and becomes visible when the
import commits.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from django.db import connections, router
from django.utils import timezone

from .conf import jobs_settings

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

    from .models import BaseJob

logger = logging.getLogger(__name__)


class ProgressReporter:
    """Counts processed rows for one job and writes them to its row, throttled.

    Use as a context manager; ``advance(n)`` after each chunk, ``is_cancelled()``
    between chunks. The final figures are written on exit.
    """

    def __init__(self, job: BaseJob, total: int | None = None) -> None:
        self.job = job
        self.model = type(job)
        self.alias = router.db_for_write(self.model)
        self.current = 0
        self.total = total
        self.every_rows = max(1, int(jobs_settings.PROGRESS_EVERY_ROWS))
        self.every_seconds = float(jobs_settings.PROGRESS_EVERY_SECONDS)
        self._written_rows = 0
        self._written_at = time.monotonic()
        self._side: BaseDatabaseWrapper | None = None

    def __enter__(self) -> ProgressReporter:
        self.write()
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            self.write()
        finally:
            self.close()

    # -- public API ---------------------------------------------------------

    def set_total(self, total: int | None) -> None:
        self.total = total

    def advance(self, rows: int) -> None:
        """Count ``rows`` more processed rows; write if a threshold is reached."""
        self.current += rows
        if (
            self.current - self._written_rows >= self.every_rows
            or time.monotonic() - self._written_at >= self.every_seconds
        ):
            self.write()

    def write(self) -> None:
        """Write current/total and the heartbeat to the job row now."""
        now = timezone.now()
        values = {
            "progress_current": self.current,
            "progress_total": self.total,
            "heartbeat_at": now,
        }
        side = self._side_connection()
        done = False
        if side is not None:
            done = self._side_update(side, values)
        if not done:
            self.model._base_manager.using(self.alias).filter(pk=self.job.pk).update(**values)
        for name, value in values.items():
            setattr(self.job, name, value)
        self._written_rows = self.current
        self._written_at = time.monotonic()

    def is_cancelled(self) -> bool:
        """Whether the job's stored status is now ``cancelled`` (or the row is gone)."""
        status: Any = None
        side = self._side_connection()
        if side is not None:
            status = self._side_status(side)
        if status is None:
            status = (
                self.model._base_manager.using(self.alias)
                .filter(pk=self.job.pk)
                .values_list("status", flat=True)
                .first()
            )
        return status is None or status == "cancelled"

    def close(self) -> None:
        if self._side is not None:
            try:
                self._side.close()
            finally:
                self._side = None

    # -- second connection --------------------------------------------------

    def _side_connection(self) -> BaseDatabaseWrapper | None:
        """A separate autocommit connection, when the main one is inside a
        transaction on a backend that allows concurrent writers."""
        main = connections[self.alias]
        if not main.in_atomic_block or main.vendor == "sqlite":
            return None
        if self._side is None:
            self._side = connections.create_connection(self.alias)
        return self._side

    def _sql_names(self, side: BaseDatabaseWrapper) -> tuple[str, str]:
        qn = side.ops.quote_name
        meta = self.model._meta
        return qn(meta.db_table), qn(str(meta.pk.column))

    def _side_update(self, side: BaseDatabaseWrapper, values: dict[str, Any]) -> bool:
        table, pk = self._sql_names(side)
        qn = side.ops.quote_name
        columns = ", ".join(f"{qn(name)} = %s" for name in values)
        params = [
            side.ops.adapt_datetimefield_value(value) if name == "heartbeat_at" else value
            for name, value in values.items()
        ]
        with side.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET {columns} WHERE {pk} = %s", [*params, self.job.pk])
            updated: int = cursor.rowcount
            return updated > 0

    def _side_status(self, side: BaseDatabaseWrapper) -> str | None:
        table, pk = self._sql_names(side)
        with side.cursor() as cursor:
            cursor.execute(f"SELECT status FROM {table} WHERE {pk} = %s", [self.job.pk])
            row = cursor.fetchone()
        return row[0] if row else None
