"""Read-only admin pages for the default job models."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import ExportJob, ImportJob


class JobAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Lists jobs with their status and progress; jobs are changed only by
    their own methods, so every field is read only."""

    list_display = (
        "id",
        "resource_path",
        "status",
        "progress_current",
        "progress_total",
        "created_by",
        "created_at",
    )
    list_filter = ("status",)
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in self.model._meta.fields]


admin.site.register(ImportJob, JobAdmin)
admin.site.register(ExportJob, JobAdmin)
