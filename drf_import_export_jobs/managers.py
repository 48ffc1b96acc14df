"""Query helpers of the job models: running, stale, pending and expired jobs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils import timezone


class JobQuerySet(models.QuerySet[Any]):
    """Filters the sweep and the purge use; available as ``Model.objects.<name>()``."""

    def running(self) -> JobQuerySet:
        """Jobs a worker is working on (parsing, importing, exporting)."""
        return self.filter(status__in=self.model.RUNNING)

    def pending(self) -> JobQuerySet:
        """Jobs waiting for their task (created, import_confirmed)."""
        return self.filter(status__in=self.model.PENDING)

    def active(self) -> JobQuerySet:
        """Jobs that are pending or running: never deleted by the purge."""
        return self.filter(status__in=self.model.ACTIVE)

    def finished(self) -> JobQuerySet:
        """Jobs in a final status (every status but the active ones)."""
        return self.exclude(status__in=self.model.ACTIVE)

    def stale(self, seconds: float) -> JobQuerySet:
        """Running jobs without a heartbeat for more than ``seconds``."""
        cutoff = timezone.now() - timedelta(seconds=seconds)
        return self.running().filter(
            Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, updated_at__lt=cutoff)
        )

    def waiting_longer_than(self, seconds: float) -> JobQuerySet:
        """Pending jobs unchanged for more than ``seconds``."""
        return self.pending().filter(updated_at__lt=timezone.now() - timedelta(seconds=seconds))

    def expired(self, days: float) -> JobQuerySet:
        """Finished jobs whose last change is older than ``days`` days."""
        return self.finished().filter(updated_at__lt=timezone.now() - timedelta(days=days))


class JobManager(models.Manager[Any]):
    """The default manager of the job models."""

    def get_queryset(self) -> JobQuerySet:
        return JobQuerySet(self.model, using=self._db)

    def running(self) -> JobQuerySet:
        return self.get_queryset().running()

    def pending(self) -> JobQuerySet:
        return self.get_queryset().pending()

    def active(self) -> JobQuerySet:
        return self.get_queryset().active()

    def finished(self) -> JobQuerySet:
        return self.get_queryset().finished()

    def stale(self, seconds: float) -> JobQuerySet:
        return self.get_queryset().stale(seconds)

    def waiting_longer_than(self, seconds: float) -> JobQuerySet:
        return self.get_queryset().waiting_longer_than(seconds)

    def expired(self, days: float) -> JobQuerySet:
        return self.get_queryset().expired(days)
