"""Read-only admin pages for the default job models.

Jobs change only through their own methods, so the pages are view-only (no
save button, a POST to a change page is refused) and a job's files are served
by the admin itself, to users who may view the job, whatever the storage.
"""

from __future__ import annotations

import posixpath
from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .handlers import JOB_FILE_FIELDS
from .models import ExportJob, ImportJob


class JobAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Lists jobs with their status and progress; jobs are changed only by
    their own methods, so the change page is a view page. File fields link to
    :meth:`file_view` (the storage's own URL, such as ``/media/...``, is often
    not served)."""

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

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """``False``: users who may view a job see its page without a save button."""
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        """Every field; file fields as links to :meth:`file_view`."""
        return [
            f"{field.name}_link" if field.name in JOB_FILE_FIELDS else field.name
            for field in self.model._meta.fields
        ]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        """The readonly fields, in model order (file fields as links)."""
        return self.get_readonly_fields(request, obj)

    # -- files -------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        """Adds ``<id>/file/<field>/``: a job's file, through :meth:`file_view`."""
        opts = self.model._meta
        name = f"{opts.app_label}_{opts.model_name}_file"
        view = self.admin_site.admin_view(self.file_view)
        return [
            path("<path:object_id>/file/<str:field_name>/", view, name=name),
            *super().get_urls(),
        ]

    def file_view(self, request: HttpRequest, object_id: str, field_name: str) -> FileResponse:
        """The job's file ``field_name`` as an attachment; 404 when the job,
        the field or the stored file is missing, 403 without view permission."""
        if field_name not in JOB_FILE_FIELDS:
            raise Http404
        job = self.get_object(request, unquote(object_id))
        if job is None:
            raise Http404
        if not self.has_view_permission(request, job):
            raise PermissionDenied
        field_file = getattr(job, field_name, None)
        if not field_file:
            raise Http404
        try:
            handle = field_file.open("rb")
        except OSError as exc:
            raise Http404 from exc
        return FileResponse(
            handle, as_attachment=True, filename=posixpath.basename(field_file.name)
        )

    def file_link(self, job: Any, field_name: str) -> str | None:
        """A link to ``field_name`` of ``job`` through :meth:`file_view`."""
        field_file = getattr(job, field_name, None)
        if not field_file or job.pk is None:
            return None
        opts = self.model._meta
        url = reverse(
            f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_file",
            args=[job.pk, field_name],
        )
        return format_html('<a href="{}">{}</a>', url, posixpath.basename(field_file.name))

    @admin.display(description=_("file"))
    def data_file_link(self, job: Any) -> str | None:
        return self.file_link(job, "data_file")

    @admin.display(description=_("error report"))
    def error_report_link(self, job: Any) -> str | None:
        return self.file_link(job, "error_report")


admin.site.register(ImportJob, JobAdmin)
admin.site.register(ExportJob, JobAdmin)
