"""``cancel`` and ``DELETE``, shared by import and export viewsets."""

from __future__ import annotations

from typing import Any

from django.db import router, transaction
from django.http import Http404
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response


class CancelJobMixin:
    """``POST {p}/{id}/cancel/``: cancel the job (200), 409 when it is finished."""

    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Cancel the job: a pending task is revoked and running work stops at
        its next chunk, leaving nothing half-written. 409 with the current
        status when the job has already finished."""
        job = self.get_object()  # type: ignore[attr-defined]
        self.perform_cancel(job)
        return Response(self.get_job_serializer(job).data)  # type: ignore[attr-defined]

    def perform_cancel(self, job: Any) -> None:
        """Cancel ``job``; raises ``InvalidJobStatus`` (409) when it cannot be."""
        raise NotImplementedError


class DestroyJobMixin:
    """``DELETE {p}/{id}/``: delete a job that is not active, with its files."""

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Delete the job and its files. 409 while it is active (created,
        parsing, import_confirmed, importing, exporting, revert_requested,
        reverting): cancel it first, or wait for the revert."""
        job = self.get_object()  # type: ignore[attr-defined]
        self.perform_destroy(job)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def perform_destroy(self, job: Any) -> None:
        """Delete ``job`` unless it is active, in one locked transaction: a job
        that starts running meanwhile is never deleted. Its files are removed
        from storage once the deletion commits (``handlers.delete_job_files``)."""
        model = type(job)
        active = tuple(job.ACTIVE)
        with transaction.atomic(using=router.db_for_write(model)):
            rows = model._base_manager.select_for_update().filter(pk=job.pk)
            current = rows.values_list("status", flat=True).first()
            if current is None:
                raise Http404
            deleted, _ = rows.exclude(status__in=active).delete()
            if not deleted:
                job.status = current
                raise self.get_status_error(job, "deleted", _inactive(job))  # type: ignore[attr-defined]


def _inactive(job: Any) -> list[str]:
    """The statuses ``job`` may be deleted in."""
    field = type(job)._meta.get_field("status")
    return [value for value, _label in field.choices if value not in job.ACTIVE]
