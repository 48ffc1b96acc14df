"""What the admin's import and export pages share: the job pages' URLs, the
caller's jobs, the progress JSON and the file responses."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.urls import reverse
from import_export.resources import Resource

from ..files import attachment_response


def resource_path(resource_class: type[Resource]) -> str:
    """The dotted path a job stores for ``resource_class``."""
    return f"{resource_class.__module__}.{resource_class.__qualname__}"


def progress_data(job: Any) -> dict[str, Any]:
    """The JSON the progress bar polls: status, rows done and in total, and
    whether the job is still waiting or running (``active``)."""
    total = job.progress_total
    current = job.progress_current
    percent = min(100, round(100 * current / total)) if total else None
    return {
        "id": job.pk,
        "status": str(job.status),
        "status_display": str(job.get_status_display()),
        "current": current,
        "total": total,
        "percent": percent,
        "active": job.status in (*job.PENDING, *job.RUNNING),
        "error_message": job.error_message,
    }


class JobPagesMixin:
    """Helpers of the import and export mixins: a model admin's URL names,
    the caller's jobs and their files."""

    admin_site: Any
    model: type[models.Model]

    def job_url_name(self, suffix: str) -> str:
        """The full URL name of this admin's page ``suffix`` (``import_job``...)."""
        opts = self.model._meta
        return f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_{suffix}"

    def job_url(self, suffix: str, job: Any = None) -> str:
        args = [quote(job.pk)] if job is not None else []
        return reverse(self.job_url_name(suffix), args=args)

    def changelist_url(self) -> str:
        opts = self.model._meta
        return reverse(f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_changelist")

    def get_owned_job(self, queryset: models.QuerySet[Any], job_id: str) -> Any:
        """The job ``job_id`` of ``queryset`` (the caller's jobs), else 404."""
        if not str(job_id).isdigit():
            raise Http404
        return get_object_or_404(queryset, pk=job_id)

    def progress_response(self, job: Any) -> JsonResponse:
        """The progress JSON of ``job`` (never cached)."""
        response = JsonResponse(progress_data(job))
        response["Cache-Control"] = "no-store"
        return response

    def file_response(self, field_file: Any, filename: str | None = None) -> HttpResponseBase:
        """``field_file`` as an attachment, or a redirect to the storage's URL
        for it with ``DOWNLOAD_REDIRECT``; 404 when it is missing."""
        return attachment_response(field_file, filename)

    def check_permission(self, allowed: bool) -> None:
        if not allowed:
            raise PermissionDenied
