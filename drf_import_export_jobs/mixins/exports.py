"""``ExportJobMixin``: JSON create and ``download``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import models
from django.http import Http404
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.serializers import BaseSerializer

from .. import serializers as job_serializers
from ..files import attachment_response
from ..filters import ExportJobFilterSet
from ..formats import allowed_export_formats
from ..querysets import allowed_ordering, export_field_names
from ..renderers import FILE_MEDIA_TYPE, OctetStreamRenderer
from ..swapping import get_export_job_model
from .base import JobViewSetMixin


class ExportJobMixin(JobViewSetMixin):
    """Export routes: JSON create and ``download``."""

    serializer_class: type[BaseSerializer[Any]] | None = job_serializers.ExportJobSerializer
    create_serializer_class: type[BaseSerializer[Any]] | None = (
        job_serializers.ExportJobCreateSerializer
    )
    status_conflict_serializer_class: type[BaseSerializer[Any]] | None = (
        job_serializers.ExportStatusConflictSerializer
    )
    filterset_class = ExportJobFilterSet
    #: Renderers put first on the ``download`` route (binary content negotiation).
    download_renderer_classes: Sequence[type[BaseRenderer]] = [OctetStreamRenderer]
    job_kind = "export"
    file_actions = ("download",)

    def get_job_model(self) -> type[models.Model]:
        return get_export_job_model()

    def get_serializer_options(self) -> dict[str, Any]:
        options = super().get_serializer_options()
        resource = self.get_resource(**self.get_resource_kwargs({}))
        ordering = allowed_ordering(resource)
        options["file_formats"] = allowed_export_formats(type(resource))
        options["field_names"] = export_field_names(resource)
        options["ordering_names"] = [o for name in ordering for o in (name, f"-{name}")]
        filterset_class = getattr(resource, "filterset_class", None)
        options["filter_names"] = list(filterset_class.base_filters) if filterset_class else []
        options["filterset_class"] = filterset_class
        return options

    def get_export_filters(self, filters: dict[str, Any]) -> dict[str, Any]:
        """The filters stored on a new export job, given the client's.

        This is where the viewset narrows an export: the worker applies the
        stored filters with the resource's ``filterset_class`` (the queryset
        itself cannot travel to the worker). Return the client's filters with
        yours merged over them, e.g. ``{**filters, "owner": self.request.user.pk}``;
        they are validated like the client's."""
        return filters

    def get_renderers(self) -> list[BaseRenderer]:
        renderers = list(super().get_renderers())  # type: ignore[misc]
        if self.resolve_action() == "download":
            renderers = [renderer() for renderer in self.download_renderer_classes] + renderers
        return renderers

    def perform_cancel(self, job: Any) -> None:
        job.cancel_export()

    @action(detail=True, methods=["get"])
    def download(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        """The exported file as an attachment. 409 with the current status
        until the job is exported.

        The body is always ``application/octet-stream`` (the one media type the
        schema documents, so generated clients read it as bytes or a Blob);
        the file name in ``Content-Disposition`` carries the format's
        extension. With ``DOWNLOAD_REDIRECT`` the answer is a 302 to the
        storage's URL for the file instead (see ``files.redirect_url``)."""
        job = self.get_object()  # type: ignore[attr-defined]
        exported = job.ExportStatus.EXPORTED
        if job.status != exported or not job.data_file:
            raise self.get_status_error(job, "downloaded", [exported])
        try:
            return attachment_response(job.data_file, job.export_filename, FILE_MEDIA_TYPE)
        except Http404 as exc:
            raise NotFound("The exported file is missing from storage.") from exc
