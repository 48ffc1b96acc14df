"""Renderers of the routes that answer with a file or a stream of events.

The file itself is sent as a ``FileResponse``; these renderers only take part
in content negotiation, so that ``Accept: application/octet-stream`` (what
generated clients send for binary responses) is acceptable; a file route
sends its file whatever else ``Accept`` asks for. Error responses of those
routes are rendered as JSON by the viewsets, whatever was negotiated.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rest_framework.renderers import BaseRenderer

#: The media type of every file the API sends (export downloads, error reports).
FILE_MEDIA_TYPE = "application/octet-stream"


class FileRenderer(BaseRenderer):
    """Base of the file renderers: passes bytes through, JSON-encodes anything
    else (the viewsets switch error responses to ``JSONRenderer`` first)."""

    charset = None

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if data is None:
            return b""
        if isinstance(data, bytes):
            return data
        return json.dumps(data).encode()


class OctetStreamRenderer(FileRenderer):
    """Negotiates ``application/octet-stream`` (and ``*/*``) for downloads."""

    media_type = FILE_MEDIA_TYPE
    format = "bin"


class CSVFileRenderer(FileRenderer):
    """Negotiates ``text/csv`` (or ``?format=csv``), for a project's own CSV routes."""

    media_type = "text/csv"
    format = "csv"


#: The media type of a job's event stream.
EVENT_STREAM_MEDIA_TYPE = "text/event-stream"


class EventStreamRenderer(BaseRenderer):
    """Negotiates ``text/event-stream`` for a job's event stream, which sends
    its events itself; error responses of that route are rendered as JSON by
    the viewsets, whatever was negotiated."""

    media_type = EVENT_STREAM_MEDIA_TYPE
    format = "sse"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        return b"" if data is None else json.dumps(data).encode()
