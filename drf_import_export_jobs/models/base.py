"""The fields and helpers every job shares."""

from __future__ import annotations

import logging
import traceback as traceback_module
import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _
from import_export.formats.base_formats import Format
from import_export.resources import Resource

from ..exceptions import InvalidJobStatus, JobConfigurationError
from ..formats import get_format
from ..transitions import transition

logger = logging.getLogger(__name__)

MAX_TRACEBACK = 20_000


def new_task_id() -> str:
    """A fresh Celery task id, stored on the job before the task is sent."""
    return str(uuid.uuid4())


class BaseJob(models.Model):
    """Fields and helpers shared by import and export jobs."""

    resource_path = models.CharField(
        _("resource"),
        max_length=255,
        help_text=_("Dotted path of the django-import-export Resource class."),
    )
    resource_kwargs = models.JSONField(
        _("resource arguments"),
        default=dict,
        blank=True,
        help_text=_("Keyword arguments the resource is created with."),
    )
    file_format_name = models.CharField(_("file format"), max_length=16)
    # Redeclared with its choices and default by each job model.
    status = models.CharField(_("status"), max_length=32, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    progress_current = models.PositiveBigIntegerField(_("rows done"), default=0)
    progress_total = models.PositiveBigIntegerField(_("rows in total"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        _("last heartbeat"),
        null=True,
        blank=True,
        help_text=_("Written with progress while a worker runs the job."),
    )
    error_message = models.TextField(_("error message"), blank=True)
    traceback = models.TextField(_("traceback"), blank=True)

    class Meta:
        abstract = True
        ordering = ("-created_at", "-pk")

    def __str__(self) -> str:
        name = self.resource_path.rsplit(".", 1)[-1]
        return f"{self._meta.verbose_name} #{self.pk} ({name}, {self.status})"

    @property
    def resource_class(self) -> type[Resource]:
        """The resource class named by ``resource_path``."""
        try:
            resource_class = import_string(self.resource_path)
        except ImportError as exc:
            raise JobConfigurationError(
                f"{self._meta.label} {self.pk}: resource_path {self.resource_path!r} "
                f"cannot be imported: {exc}"
            ) from exc
        if not (isinstance(resource_class, type) and issubclass(resource_class, Resource)):
            raise JobConfigurationError(
                f"{self._meta.label} {self.pk}: resource_path {self.resource_path!r} is not "
                "a django-import-export Resource class."
            )
        return resource_class

    @property
    def resource(self) -> Resource:
        """A new instance of the resource, created with ``resource_kwargs``."""
        return self.resource_class(**(self.resource_kwargs or {}))

    @property
    def file_format(self) -> Format:
        """The django-import-export format instance for ``file_format_name``."""
        return get_format(self.file_format_name)

    @property
    def progress(self) -> dict[str, Any]:
        """``{"state": status, "info": {"current": int, "total": int | None}}``."""
        return {
            "state": self.status,
            "info": {"current": self.progress_current, "total": self.progress_total},
        }

    def _check_format(self, allowed: list[str]) -> None:
        if self.file_format_name not in allowed:
            raise JobConfigurationError(
                f"File format {self.file_format_name!r} is not accepted for "
                f"{self.resource_path.rsplit('.', 1)[-1]}; accepted: {', '.join(allowed)}."
            )

    def _error_fields(self, exc: BaseException, with_traceback: bool = True) -> dict[str, Any]:
        message = str(exc) or type(exc).__name__
        text = traceback_module.format_exc() if with_traceback else ""
        return {"error_message": message, "traceback": text[-MAX_TRACEBACK:]}

    def _safe_transition(self, target: str, allowed: tuple[str, ...], **fields: Any) -> bool:
        """Like ``transition`` but returns False (and logs) when refused: used
        by running work whose job may have been cancelled meanwhile."""
        try:
            transition(self, target, allowed, **fields)
        except InvalidJobStatus as exc:
            logger.info("Not recording %s: %s", target, exc)
            return False
        return True
