"""The JSON of a job's events and of its webhook payloads, for the schema.

:class:`~drf_import_export_jobs.streams.JobEventStream` and
:mod:`~drf_import_export_jobs.webhooks` build these objects themselves; the
serializers declare them as the components ``ImportJobEvent`` /
``ExportJobEvent`` (the ``data:`` of each Server-Sent Event) and
``JobWebhookPayload`` (the body of each webhook request).
:class:`WebhookDeliverySerializer` is the staff list of deliveries.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from ..fields import NamedChoiceField
from ..models import AbstractExportJob, AbstractImportJob, WebhookDelivery
from .parts import EXPORT_STATUS_ENUM, IMPORT_STATUS_ENUM, ProgressInfoSerializer

EVENT_KINDS = [("status", "status change"), ("progress", "progress write")]


class BaseJobEventSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """One event of a job's event stream (the JSON ``data:`` line)."""

    id = serializers.IntegerField(
        allow_null=True,
        help_text="The event's id (also its `id:` line); `null` for the state of a job "
        "that ended before it had events.",
    )
    event = NamedChoiceField(EVENT_KINDS, enum_name="JobEventKindEnum")
    job = serializers.IntegerField(help_text="The job's id.")
    progress = ProgressInfoSerializer()
    url = serializers.URLField(help_text="The job's URL (its detail route).")
    created_at = serializers.DateTimeField(allow_null=True)


@extend_schema_serializer(component_name="ImportJobEvent")
class ImportJobEventSerializer(BaseJobEventSerializer):
    """One event of an import job's stream."""

    status = NamedChoiceField(AbstractImportJob.ImportStatus.choices, enum_name=IMPORT_STATUS_ENUM)


@extend_schema_serializer(component_name="ExportJobEvent")
class ExportJobEventSerializer(BaseJobEventSerializer):
    """One event of an export job's stream."""

    status = NamedChoiceField(AbstractExportJob.ExportStatus.choices, enum_name=EXPORT_STATUS_ENUM)


@extend_schema_serializer(component_name="JobWebhookJob")
class WebhookJobSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """The job a webhook payload is about."""

    model = serializers.CharField(help_text="The job model's label (`app_label.ModelName`).")
    id = serializers.IntegerField()
    kind = NamedChoiceField([("import", "import"), ("export", "export")], enum_name="JobKindEnum")
    resource = serializers.CharField(help_text="Dotted path of the job's resource.")
    status = serializers.CharField(help_text="The new status.")
    previous_status = serializers.CharField(allow_null=True)
    progress = ProgressInfoSerializer()
    error_message = serializers.CharField(allow_blank=True)


@extend_schema_serializer(component_name="JobWebhookPayload")
class WebhookPayloadSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """The JSON body of a webhook request: one job status change."""

    event = NamedChoiceField(
        [("job.status_changed", "job.status_changed")], enum_name="JobWebhookEventEnum"
    )
    created_at = serializers.DateTimeField()
    job = WebhookJobSerializer()


@extend_schema_field(WebhookPayloadSerializer)
class WebhookPayloadField(serializers.JSONField):
    """The stored payload of a delivery, as it was sent (``JobWebhookPayload``)."""


@extend_schema_serializer(component_name="JobWebhookDelivery")
class WebhookDeliverySerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """One webhook delivery, as staff see it: the status change, the
    endpoint, how the attempts went, and the payload sent."""

    status = NamedChoiceField(
        [("pending", "pending"), ("delivered", "delivered"), ("failed", "failed")],
        enum_name="JobWebhookDeliveryStatusEnum",
    )
    payload = WebhookPayloadField()

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "job_model",
            "job_id",
            "event",
            "url",
            "status",
            "attempts",
            "response_code",
            "last_error",
            "created_at",
            "updated_at",
            "next_attempt_at",
            "delivered_at",
            "payload",
        ]
        read_only_fields = fields
