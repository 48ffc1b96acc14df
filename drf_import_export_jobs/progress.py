"""Progress writes and stop checks for running jobs.

Progress (``progress_current``, ``progress_total``) and the heartbeat
(``heartbeat_at``) live on the job row. They are written at most every
``PROGRESS_EVERY_ROWS`` rows or ``PROGRESS_EVERY_SECONDS`` seconds, and only
while the row is still in the status the work started in with the work's run
token (``worker_token``): work whose job was cancelled, ended as lost by the
sweep or taken over by a redelivered task never writes to it again, and
:meth:`ProgressReporter.should_stop` tells it to stop at its next chunk.

While an import's data transaction is open, these writes go through a second,
autocommit connection to the same database, so other connections see them
while the transaction runs. SQLite allows a single writer at a time, so there
the write goes through the importing connection and becomes visible when the
import commits. Each write that changes the figures adds a progress event to
the job's event log (:mod:`drf_import_export_jobs.events`) through the same
connection.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from django.db import connections, router
from django.db.models import F
from django.utils import timezone

from .conf import jobs_settings
from .events import PROGRESS_EVENT, record_event

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

    from .models import BaseJob

logger = logging.getLogger(__name__)


class ProgressReporter:
    """Counts processed rows for one job and writes them to its row, throttled.

    Create it once the job is in its running status. Use as a context
    manager; ``advance(n)`` after each chunk, ``should_stop()`` between
    chunks (raise :class:`~drf_import_export_jobs.exceptions.JobCancelled`
    when it is true). The final figures are written on exit.
    """

    def __init__(
        self, job: BaseJob, total: int | None = None, *, current: int = 0, shared: bool = False
    ) -> None:
        self.job = job
        self.model = type(job)
        self.alias = router.db_for_write(self.model)
        # The run this reporter writes for: the status and token it started with.
        self.status = job.status
        self.token = job.worker_token
        # Why the work should stop ("" while it holds the job).
        self.stop_reason = ""
        self.current = current
        self.total = total
        # Several tasks count into the row (a parallel import): each write
        # adds the rows counted since the previous one to the stored figure.
        self.shared = shared
        self.every_rows = max(1, int(jobs_settings.PROGRESS_EVERY_ROWS))
        self.every_seconds = float(jobs_settings.PROGRESS_EVERY_SECONDS)
        self._written_rows = current
        self._written_at = time.monotonic()
        self._side: BaseDatabaseWrapper | None = None
        # The figures of the last progress event logged.
        self._logged: tuple[int, int | None] | None = None

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

    def write(self) -> bool:
        """Write current/total and the heartbeat to the job row now, if the
        row is still held by this run; returns whether it was written."""
        now = timezone.now()
        added = self.current - self._written_rows
        values: dict[str, Any] = {
            "progress_current": self.current,
            "progress_total": self.total,
            "heartbeat_at": now,
        }
        side = self._side_connection()
        done = False
        if side is not None:
            done = self._side_update(side, values, added)
            if not done:
                side = None
        if not done:
            if self.shared:
                values["progress_current"] = F("progress_current") + added
            done = bool(
                self.model._base_manager.using(self.alias)
                .filter(pk=self.job.pk, status=self.status, worker_token=self.token)
                .update(**values)
            )
        self._written_rows = self.current
        self._written_at = time.monotonic()
        if not done:
            if not self.stop_reason and not self._read_stop_reason():
                self.stop_reason = "the job is no longer held by this run"
            return False
        if self.shared:
            values["progress_current"] = self._stored_current(side)
        for name, value in values.items():
            setattr(self.job, name, value)
        figures = (values["progress_current"], self.total)
        if self._logged != figures:
            record_event(self.job, PROGRESS_EVENT, side)
            self._logged = figures
        return True

    def should_stop(self) -> bool:
        """Whether the work must stop: the job's stored status is no longer
        the one the work started in (cancelled, ended as lost, ...), another
        run holds it, or the row is gone. ``stop_reason`` says which."""
        return bool(self.stop_reason) or bool(self._read_stop_reason())

    def close(self) -> None:
        if self._side is not None:
            try:
                self._side.close()
            finally:
                self._side = None

    def _read_stop_reason(self) -> str:
        """Read the row; set and return ``stop_reason`` if the run lost it."""
        row: tuple[str, str] | None = None
        side = self._side_connection()
        if side is not None:
            row = self._side_state(side)
        if row is None:
            row = (
                self.model._base_manager.using(self.alias)
                .filter(pk=self.job.pk)
                .values_list("status", "worker_token")
                .first()
            )
        if row is None:
            self.stop_reason = "the job was deleted"
        elif row[0] != self.status:
            self.stop_reason = f"its status is now {row[0]!r}"
        elif row[1] != self.token:
            self.stop_reason = "another run took the job over"
        return self.stop_reason

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

    def _stored_current(self, side: BaseDatabaseWrapper | None) -> int:
        """The row's ``progress_current`` (which other tasks add to as well)."""
        if side is not None:
            table, pk = self._sql_names(side)
            with side.cursor() as cursor:
                column = side.ops.quote_name("progress_current")
                cursor.execute(f"SELECT {column} FROM {table} WHERE {pk} = %s", [self.job.pk])
                row = cursor.fetchone()
            return int(row[0]) if row else 0
        rows = self.model._base_manager.using(self.alias).filter(pk=self.job.pk)
        return int(rows.values_list("progress_current", flat=True).first() or 0)

    def _side_update(self, side: BaseDatabaseWrapper, values: dict[str, Any], added: int) -> bool:
        table, pk = self._sql_names(side)
        qn = side.ops.quote_name
        columns = ", ".join(
            f"{qn(name)} = {qn(name)} + %s"
            if self.shared and name == "progress_current"
            else f"{qn(name)} = %s"
            for name in values
        )
        params = [
            side.ops.adapt_datetimefield_value(value)
            if name == "heartbeat_at"
            else added
            if self.shared and name == "progress_current"
            else value
            for name, value in values.items()
        ]
        held = f"{qn('status')} = %s AND {qn('worker_token')} = %s"
        with side.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET {columns} WHERE {pk} = %s AND {held}",
                [*params, self.job.pk, self.status, self.token],
            )
            updated: int = cursor.rowcount
            return updated > 0

    def _side_state(self, side: BaseDatabaseWrapper) -> tuple[str, str] | None:
        table, pk = self._sql_names(side)
        qn = side.ops.quote_name
        with side.cursor() as cursor:
            cursor.execute(
                f"SELECT {qn('status')}, {qn('worker_token')} FROM {table} WHERE {pk} = %s",
                [self.job.pk],
            )
            row = cursor.fetchone()
        return (row[0], row[1]) if row else None
