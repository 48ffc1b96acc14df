"""Server-Sent Events of one job, read from its event log by short polls.

A :class:`JobEventStream` reads the job's new events (and its current status)
every ``EVENTS_POLL_SECONDS`` and closes the database connections it used
right after each read, so a listener holds no database connection between
polls however long it listens. It is iterated synchronously under WSGI (one
worker thread per listener) and asynchronously under ASGI (each read runs in
a thread of its own, the waits on the event loop).

Each event is ``id:`` (the log id, ordering a job's events), ``event:``
(``status`` or ``progress``) and one ``data:`` line of JSON. A comment line
is sent every ``EVENTS_KEEPALIVE_SECONDS`` without events. The stream ends
once the job is in a final status (``FINAL`` of its model) with every event
sent, when the job is deleted, or after ``EVENTS_MAX_SECONDS``; a client
reconnects with ``Last-Event-ID`` to go on after the last event it got.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.db import connections, router

from .conf import jobs_settings
from .events import READ_BATCH, STATUS_EVENT, LoggedEvent, event_model, read_events

if TYPE_CHECKING:
    from .models import BaseJob

#: A comment line: keeps proxies and clients from timing the connection out.
KEEPALIVE = b": keep-alive\n\n"


def format_event(event_id: int | None, event: str, data: dict[str, Any]) -> bytes:
    """One Server-Sent Event: ``id:`` (when given), ``event:`` and ``data:``."""
    lines = [] if event_id is None else [f"id: {event_id}"]
    lines += [f"event: {event}", f"data: {json.dumps(data, separators=(',', ':'))}"]
    return ("\n".join(lines) + "\n\n").encode()


class JobEventStream:
    """The events of one job after ``after`` (an event id), as Server-Sent
    Events; see the module's text. ``url`` is the job's detail URL, sent in
    every event."""

    def __init__(self, job: BaseJob, url: str, after: int = 0) -> None:
        self.model = type(job)
        self.job_model = job._meta.label
        self.job_pk = job.pk
        # The id as the events send it (JSON: a UUID key as text).
        self.job_json_id = job.pk if isinstance(job.pk, int) else str(job.pk)
        self.job_id = str(job.pk)
        self.final = tuple(job.FINAL)
        self.url = url
        self.after = after
        self.poll_seconds = max(0.01, float(jobs_settings.EVENTS_POLL_SECONDS))
        self.keepalive_seconds = float(jobs_settings.EVENTS_KEEPALIVE_SECONDS)
        self.max_seconds = float(jobs_settings.EVENTS_MAX_SECONDS)
        self.retry_milliseconds = int(jobs_settings.EVENTS_RETRY_MILLISECONDS)
        self.finished = False
        self.pending: list[bytes] = []

    # -- reading --------------------------------------------------------------

    def poll(self) -> tuple[list[LoggedEvent], str | None]:
        """The job's events after the last one sent and its current status
        (``None``: the job is gone). The database connections used are
        closed before this returns."""
        try:
            # The status first: a final status read here committed with its
            # event, so the events read next include it.
            status = (
                self.model._base_manager.filter(pk=self.job_pk)
                .values_list("status", flat=True)
                .first()
            )
            events = read_events(self.job_model, self.job_id, self.after)
        finally:
            self.close_connections()
        return events, status

    def close_connections(self) -> None:
        """Close this thread's connections to the job's and the log's databases
        (not one inside a transaction, which its owner closes)."""
        aliases = {router.db_for_read(self.model), router.db_for_read(event_model())}
        for alias in aliases:
            connection = connections[alias]
            if not connection.in_atomic_block:
                connection.close()

    def step(self) -> list[bytes]:
        """Poll once: the events to send; sets ``finished`` when the stream ends."""
        events, status = self.poll()
        chunks = [self.format(event) for event in events]
        if events:
            self.after = events[-1].id
        if status is None:
            self.finished = True
        elif len(events) < READ_BATCH and status in self.final:
            if not events and self.after == 0:
                # A job that ended before it had an event log: its state now.
                chunks.append(format_event(None, STATUS_EVENT, self.snapshot(status)))
            self.finished = True
        return chunks

    def start(self) -> bool:
        """Read the first events before the response starts; returns whether
        there is anything to stream (``False``: the job is final and every
        event after ``after`` was sent already)."""
        self.pending = self.step()
        return bool(self.pending) or not self.finished

    # -- formatting -----------------------------------------------------------

    def payload(self, event: LoggedEvent) -> dict[str, Any]:
        """The JSON ``data:`` of an event (the ``JobEvent`` schema components)."""
        return {
            "id": event.id,
            "event": event.kind,
            "job": self.job_json_id,
            "status": event.status,
            "progress": {"current": event.progress_current, "total": event.progress_total},
            "url": self.url,
            "created_at": event.created_at.isoformat() if event.created_at else None,
        }

    def snapshot(self, status: str) -> dict[str, Any]:
        """The JSON of the job's state now (a job without logged events)."""
        job = self.model._base_manager.filter(pk=self.job_pk).first()
        self.close_connections()
        current = getattr(job, "progress_current", 0) or 0
        total = getattr(job, "progress_total", None)
        return {
            "id": None,
            "event": STATUS_EVENT,
            "job": self.job_json_id,
            "status": status,
            "progress": {"current": current, "total": total},
            "url": self.url,
            "created_at": None,
        }

    def format(self, event: LoggedEvent) -> bytes:
        """The Server-Sent Event of a logged event."""
        return format_event(event.id, event.kind, self.payload(event))

    def opening(self) -> bytes:
        """The reconnection delay for the client (``retry:``)."""
        return f"retry: {self.retry_milliseconds}\n\n".encode()

    # -- iterating ------------------------------------------------------------

    def __iter__(self) -> Iterator[bytes]:
        """The stream for WSGI servers (the waits block this thread)."""
        yield self.opening()
        started = last_sent = time.monotonic()
        chunks, self.pending = self.pending, []
        while True:
            yield from chunks
            now = time.monotonic()
            if chunks:
                last_sent = now
            if self.finished or now - started >= self.max_seconds:
                return
            if now - last_sent >= self.keepalive_seconds:
                yield KEEPALIVE
                last_sent = now
            time.sleep(self.poll_seconds)
            chunks = self.step()

    async def stream_async(self) -> AsyncIterator[bytes]:
        """The stream for ASGI servers: reads run in a worker thread, waits
        on the event loop."""
        yield self.opening()
        started = last_sent = time.monotonic()
        chunks, self.pending = self.pending, []
        read = sync_to_async(self.step, thread_sensitive=False)
        while True:
            for chunk in chunks:
                yield chunk
            now = time.monotonic()
            if chunks:
                last_sent = now
            if self.finished or now - started >= self.max_seconds:
                return
            if now - last_sent >= self.keepalive_seconds:
                yield KEEPALIVE
                last_sent = now
            await asyncio.sleep(self.poll_seconds)
            chunks = await read()
