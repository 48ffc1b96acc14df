"""``GET {p}/{id}/events/``: a job's status and progress as Server-Sent Events."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse, HttpResponseBase, StreamingHttpResponse
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from ..renderers import EVENT_STREAM_MEDIA_TYPE, EventStreamRenderer
from ..streams import JobEventStream

#: The query parameter that stands in for the ``Last-Event-ID`` header.
LAST_EVENT_ID_PARAM = "last_event_id"


class JobEventsMixin:
    """``GET {p}/{id}/events/``: the job's status changes and progress writes
    as Server-Sent Events (``text/event-stream``), ending at a final status.

    Visible to whoever may read the job (``get_object()``). ``Last-Event-ID``
    (or ``?last_event_id=``) resumes after that event; a job that is final
    with nothing left to send answers 204, which tells ``EventSource`` to stop
    reconnecting. Override ``get_event_stream()`` to stream otherwise.
    """

    #: The stream of one job's events.
    event_stream_class: type[JobEventStream] = JobEventStream

    @action(
        detail=True,
        methods=["get"],
        renderer_classes=[EventStreamRenderer, JSONRenderer],
    )
    def events(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
        """Stream the job's events (see the class)."""
        job = self.get_object()  # type: ignore[attr-defined]
        stream = self.get_event_stream(job, self.get_last_event_id(request))
        if not stream.start():
            return HttpResponse(status=204)
        return self.get_event_stream_response(stream, request)

    def get_last_event_id(self, request: Request) -> int:
        """The event id to resume after: the ``Last-Event-ID`` header, else
        ``?last_event_id=``, else 0. Anything but a whole number >= 0 is a 400."""
        name = "Last-Event-ID"
        value = request.headers.get(name)
        if value is None:
            name = LAST_EVENT_ID_PARAM
            value = request.query_params.get(LAST_EVENT_ID_PARAM)
        if value is None or value.strip() == "":
            return 0
        value = value.strip()
        if not value.isdigit() or len(value) > 18:
            raise serializers.ValidationError(
                {
                    LAST_EVENT_ID_PARAM: [
                        f"{name} must be the id of an event of this stream (a whole "
                        f"number), not {value[:40]!r}."
                    ]
                }
            )
        return int(value)

    def get_event_stream(self, job: Any, after: int) -> JobEventStream:
        """The stream of ``job``'s events after the event ``after``."""
        url = self.reverse_action("detail", args=[job.pk])  # type: ignore[attr-defined]
        return self.event_stream_class(job, url, after)

    def get_event_stream_response(
        self, stream: JobEventStream, request: Request
    ) -> StreamingHttpResponse:
        """The streaming response: asynchronous under ASGI, else synchronous."""
        content: Any = stream.stream_async() if is_asgi_request(request) else iter(stream)
        response = StreamingHttpResponse(content, content_type=EVENT_STREAM_MEDIA_TYPE)
        response["Cache-Control"] = "no-cache"
        # nginx: send each event at once rather than buffer the response.
        response["X-Accel-Buffering"] = "no"
        return response


def is_asgi_request(request: Any) -> bool:
    """Whether ``request`` came through Django's ASGI handler."""
    return isinstance(getattr(request, "scope", None), dict)
