"""``ExportJobAdminMixin``: "Export" on a model admin's changelist and the
"export selected" action."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from import_export.resources import Resource

from ..exceptions import InvalidJobStatus
from ..formats import allowed_export_formats
from ..querysets import PK_FILTER, check_export_options, export_field_names
from ..swapping import get_export_job_model
from .base import JobPagesMixin, resource_path
from .forms import ExportForm

# Changelist parameters that neither filter nor search.
_NOT_FILTERS = {"o", "p", "all", "_to_field", "_popup", "_facets", "e"}


class ExportJobAdminMixin(JobPagesMixin):
    """Adds "Export" to a model admin's changelist (its current filters and
    search apply) and the action "export selected": choose the format and
    the fields, watch the progress, download the file. The pages create the
    same export jobs as the REST API; the task backend's worker writes the file.

    Set ``export_resource_class``; override ``get_export_resource_kwargs()``
    and ``get_export_queryset()`` to shape what is exported, and
    ``get_export_job_queryset()`` to let a user see other users' jobs.
    """

    #: The django-import-export ``Resource`` the exports run.
    export_resource_class: type[Resource] | None = None
    export_form_class: type[ExportForm] = ExportForm
    export_template_name = "admin/drf_import_export_jobs/export_form.html"
    export_job_template_name = "admin/drf_import_export_jobs/export_job.html"
    #: Most rows an export of selected or filtered rows names by primary key
    #: (stored on the job); an unfiltered export has no limit.
    export_max_selected_rows: int = 10_000
    change_list_template = "admin/drf_import_export_jobs/change_list.html"
    #: An admin that sets its own ``actions`` lists ``"export_selected"`` there.
    actions: Any = ["export_selected"]

    def get_export_resource_class(self, request: HttpRequest) -> type[Resource]:
        """The resource class of new exports (``export_resource_class``)."""
        if self.export_resource_class is None:
            raise ImproperlyConfigured(
                f"{type(self).__name__} has no export_resource_class: set it to a "
                "django-import-export Resource class or override get_export_resource_class()."
            )
        return self.export_resource_class

    def get_export_resource_kwargs(self, request: HttpRequest) -> dict[str, Any]:
        """Keyword arguments stored on a new job; the worker creates the
        resource with them. Values must be JSON. None by default."""
        return {}

    def has_export_permission(self, request: HttpRequest) -> bool:
        """Exporting shows rows: the admin's view permission is needed."""
        return bool(self.has_view_permission(request))  # type: ignore[attr-defined]

    def get_export_job_model(self) -> type[models.Model]:
        """The export job model (``DRF_IMPORT_EXPORT_JOBS["EXPORT_JOB_MODEL"]``)."""
        return get_export_job_model()

    def get_export_job_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        """The export jobs of this admin's resource that ``request.user`` may
        see and download: their own. Override to widen (a team, superusers)."""
        model = self.get_export_job_model()
        path = resource_path(self.get_export_resource_class(request))
        return model._default_manager.filter(resource_path=path, created_by=request.user.pk)

    def get_export_queryset(self, request: HttpRequest) -> models.QuerySet[Any] | None:
        """The rows to export, or ``None`` for every row of the resource.

        By default the changelist's rows when its filters or search narrow it
        (the export page keeps the changelist's query string), else ``None``.
        The worker exports the resource's queryset narrowed to these rows'
        primary keys. Raises ``IncorrectLookupParameters`` for bad filters."""
        if not set(request.GET) - _NOT_FILTERS:
            return None
        changelist = self.get_changelist_instance(request)  # type: ignore[attr-defined]
        queryset: models.QuerySet[Any] = changelist.get_queryset(request)
        return queryset

    # -- URLs --------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        """Adds ``export/`` and the job pages under ``export/<id>/``."""
        wrap = self.admin_site.admin_view
        opts = self.model._meta
        name = f"{opts.app_label}_{opts.model_name}"
        return [
            path("export/", wrap(self.export_view), name=f"{name}_export"),
            path(
                "export/<path:job_id>/progress/",
                wrap(self.export_progress_view),
                name=f"{name}_export_progress",
            ),
            path(
                "export/<path:job_id>/cancel/",
                wrap(self.export_cancel_view),
                name=f"{name}_export_cancel",
            ),
            path(
                "export/<path:job_id>/download/",
                wrap(self.export_download_view),
                name=f"{name}_export_download",
            ),
            path("export/<path:job_id>/", wrap(self.export_job_view), name=f"{name}_export_job"),
            *super().get_urls(),  # type: ignore[misc]
        ]

    # -- the changelist ----------------------------------------------------------

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        """The changelist, with an "Export" link when the user may export."""
        extra_context = dict(extra_context or {})
        if self.has_export_permission(request):
            extra_context["export_url"] = self.job_url("export")
        return super().changelist_view(request, extra_context)  # type: ignore[misc, no-any-return]

    # -- the action --------------------------------------------------------------

    @admin.action(
        description=gettext_lazy("Export selected %(verbose_name_plural)s"),
        permissions=["export"],
    )
    def export_selected(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> Any:
        """The export form for the selected rows; with "select all" across
        pages, for the changelist's rows (its query string is kept)."""
        form = self.make_export_form(request)
        if request.POST.get("select_across") == "1":
            return self.render_export_form(request, form, None)
        keys = [str(pk) for pk in queryset.values_list("pk", flat=True)]
        return self.render_export_form(request, form, keys)

    # -- views -------------------------------------------------------------------

    def make_export_form(self, request: HttpRequest, data: Any = None) -> ExportForm:
        resource_class = self.get_export_resource_class(request)
        resource = resource_class(**self.get_export_resource_kwargs(request))
        return self.export_form_class(
            data,
            file_formats=allowed_export_formats(resource_class),
            field_names=export_field_names(resource),
        )

    def render_export_form(
        self, request: HttpRequest, form: ExportForm, selected: list[str] | None, status: int = 200
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Export %(name)s") % {"name": self.model._meta.verbose_name_plural},
            "form": form,
            "selected": selected,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "export_url": self.job_url("export"),
            "query_string": request.GET.urlencode(),
            "jobs": self.get_export_job_queryset(request)[:10],
            "job_url_name": self.job_url_name("export_job"),
        }
        return TemplateResponse(request, self.export_template_name, context, status=status)

    def export_view(self, request: HttpRequest) -> HttpResponse:
        """The export form; a valid one creates the job of the changelist's
        rows (or of the selected rows) and leads to its page."""
        self.check_permission(self.has_export_permission(request))
        selected = request.POST.getlist(ACTION_CHECKBOX_NAME) or None
        if request.method != "POST" or "file_format" not in request.POST:
            return self.render_export_form(request, self.make_export_form(request), selected)
        form = self.make_export_form(request, request.POST)
        if not form.is_valid():
            return self.render_export_form(request, form, selected, status=400)
        try:
            keys = self.get_export_keys(request, selected)
        except IncorrectLookupParameters:
            return HttpResponseBadRequest(_("The changelist filters are not valid."))
        if keys is not None and len(keys) > self.export_max_selected_rows:
            form.add_error(
                None,
                _(
                    "At most %(max)s selected or filtered rows can be exported at once "
                    "(export_max_selected_rows); export everything or narrow the list."
                )
                % {"max": self.export_max_selected_rows},
            )
            return self.render_export_form(request, form, selected, status=400)
        job = self.create_export_job(request, form.cleaned_data, keys)
        return HttpResponseRedirect(self.job_url("export_job", job))

    def get_export_keys(
        self, request: HttpRequest, selected: list[str] | None
    ) -> list[Any] | None:
        """Primary keys to narrow the export to (``None``: no narrowing). The
        selected keys are kept only if the admin's queryset shows them."""
        if selected is not None:
            visible = self.get_queryset(request)  # type: ignore[attr-defined]
            queryset = visible.filter(pk__in=[k for k in selected if k])
        else:
            queryset = self.get_export_queryset(request)
        if queryset is None:
            return None
        limit = self.export_max_selected_rows + 1
        return list(queryset.order_by("pk").values_list("pk", flat=True)[:limit])

    def create_export_job(
        self, request: HttpRequest, data: dict[str, Any], keys: list[Any] | None
    ) -> Any:
        """Create the export job for ``request.user``; the export starts once
        it is saved."""
        resource_class = self.get_export_resource_class(request)
        kwargs = self.get_export_resource_kwargs(request)
        filters = (
            {}
            if keys is None
            else {PK_FILTER: [k if isinstance(k, int) else str(k) for k in keys]}
        )
        fields = list(data["export_fields"])
        problems = check_export_options(resource_class(**kwargs), filters, [], fields)
        if problems:
            raise ImproperlyConfigured(f"{type(self).__name__}: {problems}")
        model = self.get_export_job_model()
        job = model(
            resource_path=resource_path(resource_class),
            resource_kwargs=kwargs,
            file_format_name=data["file_format"],
            filters=filters,
            fields=fields,
            created_by=request.user,
        )
        job.save()
        return job

    def export_job_view(self, request: HttpRequest, job_id: str) -> HttpResponse:
        """The job's page: progress, then the download link."""
        self.check_permission(self.has_export_permission(request))
        job = self.get_owned_job(self.get_export_job_queryset(request), unquote(job_id))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Export job #%(id)s") % {"id": job.pk},
            "job": job,
            "rows": len((job.filters or {}).get(PK_FILTER, [])) or None,
            "progress_url": self.job_url("export_progress", job),
            "cancel_url": self.job_url("export_cancel", job),
            "download_url": (
                self.job_url("export_download", job)
                if job.status == job.ExportStatus.EXPORTED
                else None
            ),
            "changelist_url": self.changelist_url(),
            "can_cancel": job.status in job.CANCELLABLE,
            "active": job.status in (*job.PENDING, *job.RUNNING),
        }
        return TemplateResponse(request, self.export_job_template_name, context)

    def export_progress_view(self, request: HttpRequest, job_id: str) -> HttpResponse:
        """The job's progress as JSON (polled by the progress bar)."""
        self.check_permission(self.has_export_permission(request))
        job = self.get_owned_job(self.get_export_job_queryset(request), unquote(job_id))
        return self.progress_response(job)

    def export_download_view(self, request: HttpRequest, job_id: str) -> HttpResponseBase:
        """The exported file; 409 until the job is exported."""
        self.check_permission(self.has_export_permission(request))
        job = self.get_owned_job(self.get_export_job_queryset(request), unquote(job_id))
        if job.status != job.ExportStatus.EXPORTED:
            return HttpResponse(
                _("The export is '%(status)s'; it can be downloaded once exported.")
                % {"status": job.get_status_display()},
                status=409,
                content_type="text/plain; charset=utf-8",
            )
        return self.file_response(job.data_file, job.export_filename)

    def export_cancel_view(self, request: HttpRequest, job_id: str) -> HttpResponse:
        """POST: cancel the export (no file is kept)."""
        return require_POST(self._cancel_export)(request, job_id)

    def _cancel_export(self, request: HttpRequest, job_id: str) -> HttpResponse:
        self.check_permission(self.has_export_permission(request))
        job = self.get_owned_job(self.get_export_job_queryset(request), unquote(job_id))
        try:
            job.cancel_export()
        except InvalidJobStatus:
            job.refresh_from_db()
            messages.error(
                request,
                _("The export is '%(status)s' and can no longer be cancelled.")
                % {"status": job.get_status_display()},
            )
        else:
            messages.info(request, _("The export was cancelled."))
        return HttpResponseRedirect(self.job_url("export_job", job))
