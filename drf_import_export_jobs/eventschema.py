"""OpenAPI (drf-spectacular) documentation of job events and webhooks.

The ``events`` route answers ``text/event-stream`` whose events carry
``ImportJobEvent`` / ``ExportJobEvent`` as JSON; the webhook body is the
component ``JobWebhookPayload``, added to every schema that has a job
viewset. A project serving OpenAPI 3.1 can also list :data:`JOB_WEBHOOK` in
``SPECTACULAR_SETTINGS["WEBHOOKS"]`` to declare the request itself.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, OpenApiWebhook, extend_schema

from .mixins.events import LAST_EVENT_ID_PARAM
from .renderers import EVENT_STREAM_MEDIA_TYPE
from .serializers.events import (
    ExportJobEventSerializer,
    ImportJobEventSerializer,
    WebhookPayloadSerializer,
)


def event_serializer(kind: str) -> Any:
    """The event component's serializer of a job kind (``import``/``export``)."""
    return ImportJobEventSerializer if kind == "import" else ExportJobEventSerializer


def event_parameters() -> list[OpenApiParameter]:
    """The ``Last-Event-ID`` header and its query parameter stand-in."""
    text = "Resume after this event id (what `EventSource` sends when it reconnects)."
    return [
        OpenApiParameter("Last-Event-ID", int, location=OpenApiParameter.HEADER, description=text),
        OpenApiParameter(
            LAST_EVENT_ID_PARAM,
            int,
            description=f"{text} For clients that cannot send the header.",
        ),
    ]


def event_responses(kind: str) -> dict[Any, Any]:
    """The stream itself and the 204 of a job with nothing left to send."""
    return {
        (200, EVENT_STREAM_MEDIA_TYPE): OpenApiResponse(
            event_serializer(kind),
            description="Server-Sent Events; the `data:` of each is this object.",
        ),
        204: OpenApiResponse(
            description="The job is final and every event after `Last-Event-ID` was sent."
        ),
    }


#: The webhook request, for ``SPECTACULAR_SETTINGS["WEBHOOKS"]`` (OpenAPI 3.1):
#: ``"drf_import_export_jobs.eventschema.JOB_WEBHOOK"``.
JOB_WEBHOOK = OpenApiWebhook(
    name="jobStatusChanged",
    decorator=extend_schema(
        summary="A job's status changed",
        description=(
            "Sent to each endpoint of `DRF_IMPORT_EXPORT_JOBS['WEBHOOKS']` when a job's "
            "status changes. `X-Jobs-Signature: t=<unix time>,v1=<hex>` signs "
            "`<unix time>.<body>` with HMAC-SHA256 and the endpoint's secret; answer 2xx, "
            "anything else is retried."
        ),
        request=WebhookPayloadSerializer,
        responses={200: OpenApiResponse(description="Received.")},
    ),
)
