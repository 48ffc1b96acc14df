"""Which chunks of a file a run imports, and in which transaction.

:func:`~.runner.run_resource` reads the file chunk by chunk and asks its
schedule about each one:

* :class:`EveryChunk`: every chunk, in the caller's transaction (a dry run
  and the ``atomic`` commit mode);
* :class:`ClaimedChunks`: the chunks no run committed yet that this task
  claims, each in a transaction of its own, while other tasks may claim
  others (the ``chunked`` commit mode, on one task or several; see
  :mod:`drf_import_export_jobs.models.parallel`).
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterator
from contextlib import AbstractContextManager
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from import_export.resources import Resource

from ...exceptions import FileParseError, JobCancelled
from .keys import KeyReader, chunk_keys, key_reader

#: A chunk's own transaction on the data's database alias.
ChunkTransaction = Callable[[str], AbstractContextManager[None]]


class ChunkAbandoned(Exception):
    """A chunk waits for an earlier chunk that no task holds (its task
    died): the run drops its claim and reads the file again from the start."""


class NotClaimed(Exception):
    """The chunk is committed or another task holds it."""


class EveryChunk:
    """Every chunk, in the caller's transaction."""

    #: Whether each chunk commits on its own (its ledger entry, written even
    #: when the chunk wrote nothing, then marks it committed).
    commits = False

    def open(self, resource: Resource, headers: list[str]) -> None:
        """The file was opened: its rows have the cells of ``headers``."""

    def read(self, number: int, rows: list[list[Any]]) -> None:
        """Chunk ``number`` of the file was read (called for every chunk, in
        file order, before :meth:`take`)."""

    def take(self, number: int, alias: str) -> AbstractContextManager[bool]:
        """Wraps the work on chunk ``number``; gives whether this run imports it."""
        return contextlib.nullcontext(True)


class ClaimedChunks(EveryChunk):
    """The chunks this task claims among those ``pending`` (one row per
    chunk no task has committed), each in ``transaction_for(alias)``.

    A chunk is claimed by locking its pending row (``FOR UPDATE SKIP
    LOCKED``) in the chunk's transaction, which deletes the row when it
    commits; a chunk another task holds, or committed, is passed over.
    Before its work starts, a claimed chunk waits until these earlier chunks
    are committed: every chunk at least ``window`` chunks before it, and the
    chunks after that which name one of its import keys (:mod:`.keys`). So
    two chunks naming one instance never run side by side and run in file
    order, and a task only keeps the keys of the last ``window`` chunks in
    memory (none with a window of 1: one task). ``should_stop()`` is checked
    while waiting (raises ``JobCancelled``). The file must hold ``count``
    chunks, as its dry run read it (``last_read`` says how many were read).
    """

    commits = True

    #: Seconds between two looks at the chunks a claimed chunk waits for.
    POLL_SECONDS = 0.02
    #: Seconds between two checks that a chunk waited for is held by a task.
    HOLDER_CHECK_SECONDS = 1.0

    def __init__(
        self,
        transaction_for: ChunkTransaction,
        pending: QuerySet[Any],
        *,
        count: int,
        window: int,
        should_stop: Callable[[], bool],
    ) -> None:
        self.transaction_for = transaction_for
        self.pending = pending
        self.count = count
        self.window = max(1, window)
        self.should_stop = should_stop
        self.read_key: KeyReader | None = None
        self.recent: deque[tuple[int, frozenset[Hashable]]] = deque(maxlen=self.window - 1)
        self.waits_for: list[int] = []
        self.last_read = 0
        #: How long this task waited for other chunks, in seconds.
        self.waited = 0.0

    def open(self, resource: Resource, headers: list[str]) -> None:
        if self.window > 1:
            self.read_key = key_reader(resource, headers)

    def read(self, number: int, rows: list[list[Any]]) -> None:
        self.last_read = number
        if number > self.count:
            raise FileParseError(
                f"The file changed since its dry run, which read {self.count} chunk(s) of "
                "rows: it now holds more. Upload it again."
            )
        if self.read_key is None:
            return
        keys = chunk_keys(rows, self.read_key)
        self.waits_for = [n for n, earlier in self.recent if keys & earlier]
        self.recent.append((number, keys))

    @contextlib.contextmanager
    def take(self, number: int, alias: str) -> Iterator[bool]:
        try:
            with self.transaction_for(alias):
                claimed = self.pending.filter(chunk=number).select_for_update(skip_locked=True)
                if not list(claimed.values_list("chunk", flat=True)):
                    raise NotClaimed()  # leaves the transaction as it was, untouched
                self._wait_for_earlier(number)
                yield True
                claimed.delete()
        except NotClaimed:
            yield False  # committed, or another task holds it

    def _blocking(self, number: int) -> QuerySet[Any]:
        before = Q(chunk__lte=number - self.window) | Q(chunk__in=self.waits_for)
        return self.pending.filter(before)

    def _wait_for_earlier(self, number: int) -> None:
        started = time.monotonic()
        checked = started
        try:
            while self._blocking(number).exists():
                if self.should_stop():
                    raise JobCancelled()
                if time.monotonic() - checked >= self.HOLDER_CHECK_SECONDS:
                    checked = time.monotonic()
                    if self._unheld(number):
                        raise ChunkAbandoned(number)
                time.sleep(self.POLL_SECONDS)
        finally:
            self.waited += time.monotonic() - started

    def _unheld(self, number: int) -> bool:
        """Whether a chunk ``number`` waits for is pending with no task
        holding it (probed with a lock that the savepoint's rollback, or
        the abandoned chunk's, gives back)."""
        with transaction.atomic(using=self.pending.db):
            free = self._blocking(number).select_for_update(skip_locked=True)
            found = bool(list(free.values_list("chunk", flat=True)[:1]))
            transaction.set_rollback(True, using=self.pending.db)
        return found
