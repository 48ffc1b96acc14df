"""Column mappings users saved for a resource, found again by header signature."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..pipeline.imports.columns import header_signature


class SavedColumnMappingQuerySet(models.QuerySet["SavedColumnMapping"]):
    """Saved mappings, narrowed to an owner and a resource."""

    def for_resource(self, owner_id: Any, resource_path: str) -> SavedColumnMappingQuerySet:
        """The mappings the user ``owner_id`` saved for the resource at ``resource_path``."""
        if owner_id is None:
            return self.none()
        return self.filter(owner_id=owner_id, resource_path=resource_path)

    def matching(self, headers: list[str]) -> SavedColumnMappingQuerySet:
        """The mappings saved for files with these headers (in any order), newest first."""
        return self.filter(header_signature=header_signature(headers)).order_by(
            "-created_at", "-pk"
        )


class SavedColumnMapping(models.Model):
    """A ``{header: field}`` mapping a user saved for the files of one resource
    that have the same headers (``header_signature``). The dry run of such a
    file applies it when its job was created without a mapping."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    resource_path = models.CharField(
        _("resource"),
        max_length=255,
        help_text=_("Dotted path of the django-import-export Resource class, as on its jobs."),
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    headers = models.JSONField(_("headers"), default=list, help_text=_("The file's headers."))
    header_signature = models.CharField(
        _("header signature"),
        max_length=64,
        help_text=_("Hash of the sorted headers: files with the same columns share it."),
    )
    mapping = models.JSONField(_("mapping"), default=dict, help_text=_("{header: field}."))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = SavedColumnMappingQuerySet.as_manager()

    class Meta:
        verbose_name = _("saved column mapping")
        verbose_name_plural = _("saved column mappings")
        ordering = ("-created_at", "-pk")
        indexes = [
            models.Index(
                fields=["owner", "resource_path", "header_signature"],
                name="diej_mapping_lookup",
            )
        ]

    def __str__(self) -> str:
        label = self.name or f"#{self.pk}"
        return f"{_('column mapping')} {label} ({self.resource_path.rsplit('.', 1)[-1]})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save, with ``header_signature`` computed from ``headers``."""
        self.header_signature = header_signature(list(self.headers or []))
        super().save(*args, **kwargs)
