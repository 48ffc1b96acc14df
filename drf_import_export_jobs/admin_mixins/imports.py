"""``ImportJobAdminMixin``: "Import" on a model admin's changelist."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from import_export.resources import Resource

from ..exceptions import InvalidJobStatus
from ..files import clean_display_name
from ..formats import allowed_import_formats
from ..pagination import ErrorReportPagination
from ..pipeline.imports.results import ROW_TYPES
from ..swapping import get_import_job_model
from .base import JobPagesMixin, resource_path
from .forms import ImportForm


class ImportJobAdminMixin(JobPagesMixin):
    """Adds "Import" to a model admin: upload a file, review the dry run,
    confirm or cancel, watch the import. The pages create and drive the same
    import jobs as the REST API; the task backend's worker does the work.

    Set ``import_resource_class``; override ``get_import_resource_kwargs()``
    to give the resource arguments decided per request, and
    ``get_import_job_queryset()`` to let a user see other users' jobs.
    """

    #: The django-import-export ``Resource`` the imports run.
    import_resource_class: type[Resource] | None = None
    #: The upload form.
    import_form_class: type[ImportForm] = ImportForm
    import_template_name = "admin/drf_import_export_jobs/import_form.html"
    import_job_template_name = "admin/drf_import_export_jobs/import_job.html"
    #: Row errors per page on the dry-run report.
    import_errors_per_page: int = 25

    def get_import_resource_class(self, request: HttpRequest) -> type[Resource]:
        """The resource class of new imports (``import_resource_class``)."""
        if self.import_resource_class is None:
            raise ImproperlyConfigured(
                f"{type(self).__name__} has no import_resource_class: set it to a "
                "django-import-export Resource class or override get_import_resource_class()."
            )
        return self.import_resource_class

    def get_import_resource_kwargs(self, request: HttpRequest) -> dict[str, Any]:
        """Keyword arguments stored on a new job; the worker creates the
        resource with them. Values must be JSON. None by default."""
        return {}

    def has_import_permission(self, request: HttpRequest) -> bool:
        """An import adds and changes rows: both admin permissions are needed."""
        return bool(
            self.has_add_permission(request)  # type: ignore[attr-defined]
            and self.has_change_permission(request)  # type: ignore[attr-defined]
        )

    def get_import_job_model(self) -> type[models.Model]:
        """The import job model (``DRF_IMPORT_EXPORT_JOBS["IMPORT_JOB_MODEL"]``)."""
        return get_import_job_model()

    def get_import_job_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        """The import jobs of this admin's resource that ``request.user`` may
        see and act on: their own. Override to widen (a team, superusers)."""
        model = self.get_import_job_model()
        path = resource_path(self.get_import_resource_class(request))
        return model._default_manager.filter(resource_path=path, created_by=request.user.pk)

    change_list_template = "admin/drf_import_export_jobs/change_list.html"

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        """The changelist, with an "Import" link when the user may import."""
        extra_context = dict(extra_context or {})
        if self.has_import_permission(request):
            extra_context["import_url"] = self.job_url("import")
        return super().changelist_view(request, extra_context)  # type: ignore[misc, no-any-return]

    # -- URLs --------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        """Adds ``import/`` and the job pages under ``import/<id>/``."""
        wrap = self.admin_site.admin_view
        opts = self.model._meta
        name = f"{opts.app_label}_{opts.model_name}"
        return [
            path("import/", wrap(self.import_view), name=f"{name}_import"),
            path(
                "import/<path:job_id>/progress/",
                wrap(self.import_progress_view),
                name=f"{name}_import_progress",
            ),
            path(
                "import/<path:job_id>/confirm/",
                wrap(self.import_confirm_view),
                name=f"{name}_import_confirm",
            ),
            path(
                "import/<path:job_id>/cancel/",
                wrap(self.import_cancel_view),
                name=f"{name}_import_cancel",
            ),
            path(
                "import/<path:job_id>/errors/",
                wrap(self.import_error_report_view),
                name=f"{name}_import_errors",
            ),
            path("import/<path:job_id>/", wrap(self.import_job_view), name=f"{name}_import_job"),
            *super().get_urls(),  # type: ignore[misc]
        ]

    # -- views -------------------------------------------------------------------

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """The upload form; a valid upload creates the job (the dry run starts
        once it is saved) and leads to its page."""
        self.check_permission(self.has_import_permission(request))
        resource_class = self.get_import_resource_class(request)
        formats = allowed_import_formats(resource_class)
        form = self.import_form_class(
            request.POST or None, request.FILES or None, file_formats=formats
        )
        if request.method == "POST" and form.is_valid():
            job = self.create_import_job(request, form.cleaned_data)
            return HttpResponseRedirect(self.job_url("import_job", job))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Import %(name)s") % {"name": self.model._meta.verbose_name_plural},
            "form": form,
            "file_formats": formats,
            "resource_name": resource_class.__name__,
            "jobs": self.get_import_job_queryset(request)[:10],
            "job_url_name": self.job_url_name("import_job"),
        }
        status = 400 if request.method == "POST" else 200
        return TemplateResponse(request, self.import_template_name, context, status=status)

    def create_import_job(self, request: HttpRequest, data: dict[str, Any]) -> Any:
        """Create the import job of a valid upload for ``request.user``."""
        model: Any = self.get_import_job_model()
        upload = data["file"]
        job = model(
            resource_path=resource_path(self.get_import_resource_class(request)),
            resource_kwargs=self.get_import_resource_kwargs(request),
            file_format_name=data["file_format"],
            original_filename=clean_display_name(upload.name),
            skip_invalid_rows=bool(data.get("skip_invalid_rows")),
            created_by=request.user,
        )
        # The storage name is generated by upload_to; the client's name is not used.
        job.data_file.save("upload", upload, save=False)
        try:
            with transaction.atomic(using=model._default_manager.db):
                job.save()
        except BaseException:
            job.data_file.storage.delete(job.data_file.name)
            raise
        return job

    def import_job_view(self, request: HttpRequest, job_id: str) -> HttpResponse:
        """The job's page: progress while it runs, then the report (totals,
        row errors page by page) with Confirm and Cancel."""
        self.check_permission(self.has_import_permission(request))
        job = self.get_owned_job(self.get_import_job_queryset(request), unquote(job_id))
        result = (job.import_result if job.import_result is not None else job.parse_result) or {}
        totals = result.get("totals") or {}
        page = self.get_error_page(request, job)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Import job #%(id)s") % {"id": job.pk},
            "job": job,
            "totals": [(name, int(totals.get(name, 0))) for name in ROW_TYPES] if result else [],
            "error_count": int(result.get("error_count", 0)),
            "errors": page["errors"],
            "page": page,
            "progress_url": self.job_url("import_progress", job),
            "confirm_url": self.job_url("import_confirm", job),
            "cancel_url": self.job_url("import_cancel", job),
            "error_report_url": self.job_url("import_errors", job) if job.error_report else None,
            "changelist_url": self.changelist_url(),
            "can_confirm": job.status == job.ImportStatus.PARSED,
            "can_cancel": job.status in job.CANCELLABLE,
            "active": job.status in (*job.PENDING, *job.RUNNING),
        }
        return TemplateResponse(request, self.import_job_template_name, context)

    def get_error_page(self, request: HttpRequest, job: Any) -> dict[str, Any]:
        """Row errors of page ``?page=`` (from the error report file)."""
        raw = request.GET.get("page", "1")
        number = int(raw) if raw.isdigit() and 0 < int(raw) < 1_000_000 else 1
        size = self.import_errors_per_page
        try:
            errors, has_next = ErrorReportPagination().read_page(job, number, size)
        except (OSError, ValueError):
            errors, has_next = [], False
        return {
            "errors": errors,
            "number": number,
            "next": number + 1 if has_next else None,
            "previous": number - 1 if number > 1 else None,
        }

    def import_progress_view(self, request: HttpRequest, job_id: str) -> HttpResponse:
        """The job's progress as JSON (polled by the progress bar)."""
        self.check_permission(self.has_import_permission(request))
        job = self.get_owned_job(self.get_import_job_queryset(request), unquote(job_id))
        return self.progress_response(job)

    def import_error_report_view(self, request: HttpRequest, job_id: str) -> HttpResponseBase:
        """The job's whole row error report (CSV) as a file."""
        self.check_permission(self.has_import_permission(request))
        job = self.get_owned_job(self.get_import_job_queryset(request), unquote(job_id))
        return self.file_response(job.error_report, f"import-{job.pk}-errors.csv")

    def import_confirm_view(self, request: HttpRequest, job_id: str) -> HttpResponse:
        """POST: confirm the parsed import; the import starts."""
        return require_POST(self._act_on_import)(request, job_id, "confirm_import")

    def import_cancel_view(self, request: HttpRequest, job_id: str) -> HttpResponse:
        """POST: cancel the import (nothing is written)."""
        return require_POST(self._act_on_import)(request, job_id, "cancel_import")

    def _act_on_import(self, request: HttpRequest, job_id: str, method: str) -> HttpResponse:
        self.check_permission(self.has_import_permission(request))
        job = self.get_owned_job(self.get_import_job_queryset(request), unquote(job_id))
        try:
            getattr(job, method)()
        except InvalidJobStatus:
            job.refresh_from_db()
            messages.error(
                request,
                _("The job is '%(status)s' and cannot be changed that way.")
                % {"status": job.get_status_display()},
            )
            return HttpResponseRedirect(self.job_url("import_job", job))
        if method == "cancel_import":
            messages.info(request, _("The import was cancelled; nothing was imported."))
        return HttpResponseRedirect(self.job_url("import_job", job))
