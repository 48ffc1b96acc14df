"""Read-only admin pages for the default job models, saved column mappings
and webhook deliveries.

Jobs change only through their own methods, so the pages are view-only (no
save button, a POST to a change page is refused) apart from cancelling, and a
job's files are served by the admin itself, whatever the storage, to the user
who created the job (:meth:`JobAdmin.has_job_file_permission` decides).
"""

from __future__ import annotations

import posixpath
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from .exceptions import InvalidJobStatus
from .files import attachment_response
from .handlers import JOB_FILE_FIELDS
from .models import ExportJob, ImportJob, SavedColumnMapping, WebhookDelivery
from .pipeline.imports.results import ROW_TYPES


class JobAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Lists jobs with their status and progress; jobs are changed only by
    their own methods, so the change page is a view page. File fields link to
    :meth:`file_view` (the storage's own URL, such as ``/media/...``, is often
    not served)."""

    list_display = (
        "id",
        "resource_path",
        "status",
        "progress_bar",
        "created_by",
        "created_at",
    )
    list_filter = ("status", "resource_path", "created_by")
    list_select_related = ("created_by",)
    date_hierarchy = "created_at"
    actions = ["cancel_selected"]
    change_form_template = "admin/drf_import_export_jobs/job_change_form.html"
    #: Shown first on an import job's page, before the model's fields (an
    #: export job's page shows the progress bar).
    summary_fields = ("progress_bar", "totals", "row_errors")
    #: Row errors shown on a job's page (the error report has them all).
    row_errors_shown: int = 10

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """``False``: users who may view a job see its page without a save button."""
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        """The summary, then every field; file fields as links to :meth:`file_view`."""
        # Export jobs have no totals or row errors.
        importing = hasattr(self.model, "ImportStatus")
        summary = list(self.summary_fields) if importing else ["progress_bar"]
        return summary + [
            f"{field.name}_link" if field.name in JOB_FILE_FIELDS else field.name
            for field in self.model._meta.fields
        ]

    # -- who may do what ---------------------------------------------------------

    def has_job_file_permission(self, request: HttpRequest, job: Any) -> bool:
        """Whether ``request.user`` may download ``job``'s files and cancel it:
        only the user who created it. Override to let others (superusers, a
        team) do so; the files hold the data of that user's upload or export."""
        user = request.user
        return bool(user.is_authenticated and job.created_by_id == user.pk)

    def has_cancel_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Cancelling needs the view permission (and, per job,
        :meth:`has_job_file_permission`)."""
        return self.has_view_permission(request, obj)

    # -- display -----------------------------------------------------------------

    @admin.display(description=_("progress"))
    def progress_bar(self, job: Any) -> str:
        total = job.progress_total
        value = (
            format_html(' value="{}"', min(100, 100 * job.progress_current // total))
            if total
            else ""
        )
        return format_html(
            '<progress max="100"{}></progress> {} / {}',
            value,
            job.progress_current,
            "?" if total is None else total,
        )

    @admin.display(description=_("totals"))
    def totals(self, job: Any) -> str:
        result = self.latest_result(job)
        if result is None:
            return "-"
        totals = result.get("totals") or {}
        return format_html_join(", ", "{}: {}", ((n, int(totals.get(n, 0))) for n in ROW_TYPES))

    @admin.display(description=_("row errors"))
    def row_errors(self, job: Any) -> str:
        result = self.latest_result(job) or {}
        errors = (result.get("errors") or [])[: self.row_errors_shown]
        if not errors:
            return "-"
        rows = format_html_join(
            "",
            "<li>{}: {} {}</li>",
            (
                (
                    _("row %(row)s") % {"row": e.get("row")} if e.get("row") else _("file"),
                    e.get("field") or "",
                    e.get("message") or "",
                )
                for e in errors
                if isinstance(e, dict)
            ),
        )
        count = int(result.get("error_count", len(errors)))
        return format_html(
            "<ul>{}</ul>{}", rows, ngettext("%d error in all", "%d errors in all", count) % count
        )

    @staticmethod
    def latest_result(job: Any) -> dict[str, Any] | None:
        result = getattr(job, "import_result", None)
        if result is None:
            result = getattr(job, "parse_result", None)
        return result if isinstance(result, dict) else None

    # -- cancelling --------------------------------------------------------------

    @admin.action(description=_("Cancel selected jobs"), permissions=["cancel"])
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        """Cancel the selected jobs the user may act on (see
        :meth:`has_job_file_permission`); the others are left as they are."""
        done = 0
        for job in queryset:
            if self.has_job_file_permission(request, job) and self.cancel_job(job):
                done += 1
        skipped = len(queryset) - done
        messages.info(
            request,
            _("%(done)d job(s) cancelled, %(skipped)d left as they were.")
            % {"done": done, "skipped": skipped},
        )

    def cancel_job(self, job: Any) -> bool:
        """Cancel ``job`` by its own method; ``False`` when its status does not allow it."""
        cancel = job.cancel_import if hasattr(job, "cancel_import") else job.cancel_export
        try:
            cancel()
        except InvalidJobStatus:
            return False
        return True

    def cancel_view(self, request: HttpRequest, object_id: str) -> HttpResponseRedirect:
        """POST: cancel one job from its page."""
        job = self.get_object(request, unquote(object_id))
        if job is None:
            raise Http404
        if not (
            self.has_cancel_permission(request, job) and self.has_job_file_permission(request, job)
        ):
            raise PermissionDenied
        if self.cancel_job(job):
            messages.info(request, _("The job was cancelled."))
        else:
            job.refresh_from_db()
            messages.error(
                request,
                _("The job is '%(status)s' and can no longer be cancelled.")
                % {"status": job.get_status_display()},
            )
        opts = self.model._meta
        return HttpResponseRedirect(
            reverse(
                f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change", args=[job.pk]
            )
        )

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], *args: Any, **kwargs: Any
    ) -> Any:
        """The view page, with a Cancel button while the job can be cancelled."""
        job = kwargs.get("obj")
        if job is not None:
            context["can_cancel_job"] = (
                job.status in job.CANCELLABLE
                and self.has_cancel_permission(request, job)
                and self.has_job_file_permission(request, job)
            )
        return super().render_change_form(request, context, *args, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        """The readonly fields, in model order (file fields as links)."""
        return self.get_readonly_fields(request, obj)

    # -- files -------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        """Adds ``<id>/file/<field>/`` (a job's file, through :meth:`file_view`)
        and ``<id>/cancel/``."""
        opts = self.model._meta
        name = f"{opts.app_label}_{opts.model_name}"
        view = self.admin_site.admin_view(self.file_view)
        cancel = self.admin_site.admin_view(require_POST(self.cancel_view))
        return [
            path("<path:object_id>/file/<str:field_name>/", view, name=f"{name}_file"),
            path("<path:object_id>/cancel/", cancel, name=f"{name}_cancel"),
            *super().get_urls(),
        ]

    def file_view(self, request: HttpRequest, object_id: str, field_name: str) -> HttpResponseBase:
        """The job's file ``field_name`` as an attachment (a redirect to the
        storage's URL for it with ``DOWNLOAD_REDIRECT``); 404 when the job,
        the field or the stored file is missing, 403 without view permission
        or :meth:`has_job_file_permission`."""
        if field_name not in JOB_FILE_FIELDS:
            raise Http404
        job = self.get_object(request, unquote(object_id))
        if job is None:
            raise Http404
        if not (
            self.has_view_permission(request, job) and self.has_job_file_permission(request, job)
        ):
            raise PermissionDenied
        return attachment_response(getattr(job, field_name, None))

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


class SavedColumnMappingAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Saved column mappings, listed, viewed and deleted; users make them over
    the REST API."""

    list_display = ("id", "name", "owner", "resource_path", "created_at")
    list_filter = ("resource_path",)
    list_select_related = ("owner",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


admin.site.register(ImportJob, JobAdmin)
admin.site.register(ExportJob, JobAdmin)
admin.site.register(SavedColumnMapping, SavedColumnMappingAdmin)


class WebhookDeliveryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The webhook deliveries, for staff: which status change went to which
    endpoint, how many attempts, the last error and response code. Read-only:
    deliveries change only through their task."""

    list_display = (
        "id",
        "event",
        "job_model",
        "job_id",
        "url",
        "status",
        "attempts",
        "response_code",
        "created_at",
        "delivered_at",
    )
    list_filter = ("status", "event", "job_model")
    search_fields = ("job_id", "url", "last_error")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


admin.site.register(WebhookDelivery, WebhookDeliveryAdmin)
