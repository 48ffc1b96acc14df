"""A plain HTTP client for Server-Sent Events, for the event stream tests."""

from __future__ import annotations

import base64
import http.client
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Event:
    id: int | None
    event: str
    data: dict[str, Any]


@dataclass
class Stream:
    """One open ``GET .../events/`` response, read event by event."""

    status: int
    headers: dict[str, str]
    response: http.client.HTTPResponse
    comments: list[str] = field(default_factory=list)
    retry: int | None = None
    closed: bool = False

    def next_event(self) -> Event | None:
        """The next event, or ``None`` once the server closed the stream."""
        fields: dict[str, str] = {}
        while True:
            raw = self.response.readline()
            if not raw:
                self.closed = True
                return None
            line = raw.decode().rstrip("\n")
            if line == "":
                if "data" in fields:
                    return Event(
                        int(fields["id"]) if "id" in fields else None,
                        fields.get("event", "message"),
                        json.loads(fields["data"]),
                    )
                continue
            if line.startswith(":"):
                self.comments.append(line[1:].strip())
                continue
            name, _sep, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "retry":
                self.retry = int(value)
            else:
                fields[name] = value

    def read_all(self, timeout: float = 60) -> list[Event]:
        events: list[Event] = []
        deadline = time.monotonic() + timeout
        while (event := self.next_event()) is not None:
            events.append(event)
            assert time.monotonic() < deadline, events
        return events

    def close(self) -> None:
        self.response.close()


def open_stream(
    url: str,
    user: tuple[str, str] | None = None,
    last_event_id: int | None = None,
    timeout: float = 30,
    accept: str = "text/event-stream",
) -> Stream:
    """``GET url`` with ``Accept: text/event-stream`` (and Basic auth)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    headers = {"Accept": accept}
    if user is not None:
        token = base64.b64encode(f"{user[0]}:{user[1]}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    return Stream(response.status, {k.lower(): v for k, v in response.getheaders()}, response)
