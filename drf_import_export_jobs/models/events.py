"""The job event log and the record of webhook deliveries.

Both refer to a job by its model label and primary key (no foreign key), so
they work for every concrete job model, the project's own included.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class JobEvent(models.Model):
    """One status change or progress write of a job, in the order they
    happened (``id``): what ``{p}/{id}/events/`` streams. Written in the same
    transaction as the change it records; deleted with the job."""

    class Kind(models.TextChoices):
        STATUS = "status", _("status change")
        PROGRESS = "progress", _("progress")

    job_model = models.CharField(_("job model"), max_length=100)
    job_id = models.CharField(_("job id"), max_length=64)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=32)
    progress_current = models.PositiveBigIntegerField(_("rows done"), default=0)
    progress_total = models.PositiveBigIntegerField(_("rows in total"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("job event")
        verbose_name_plural = _("job events")
        ordering = ("id",)
        indexes = [
            models.Index(fields=["job_model", "job_id", "id"], name="jobevent_job_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.job_model} {self.job_id}: {self.kind} {self.status} #{self.pk}"


class WebhookDelivery(models.Model):
    """One job status change sent (or being sent) to one configured webhook
    endpoint: the payload, how many attempts were made and how the last one
    went. Kept after the job is deleted, as a record."""

    class DeliveryStatus(models.TextChoices):
        PENDING = "pending", _("pending")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("failed")

    job_model = models.CharField(_("job model"), max_length=100)
    job_id = models.CharField(_("job id"), max_length=64, db_index=True)
    event = models.CharField(_("event"), max_length=64)
    url = models.CharField(_("endpoint URL"), max_length=2000)
    payload = models.JSONField(_("payload"), default=dict)
    status = models.CharField(
        _("delivery status"),
        max_length=16,
        choices=DeliveryStatus.choices,
        default=DeliveryStatus.PENDING,
        db_index=True,
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    response_code = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"{self.event} of {self.job_model} {self.job_id} to {self.url} ({self.status})"
