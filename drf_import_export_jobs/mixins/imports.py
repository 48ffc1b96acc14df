"""``ImportJobMixin``: multipart create, ``confirm``, ``revert`` and ``errors``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import models
from django.http import Http404, HttpResponse, HttpResponseBase
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from .. import serializers as job_serializers
from ..api_exceptions import FileTooLarge
from ..conf import jobs_settings
from ..files import attachment_response
from ..filters import ImportJobFilterSet
from ..formats import allowed_import_formats
from ..models.chunked import check_commit_mode, resource_commit_mode
from ..pagination import ErrorReportPagination
from ..parsers import JobJSONParser
from ..pipeline.imports.columns import import_fields
from ..renderers import FILE_MEDIA_TYPE, OctetStreamRenderer
from ..swapping import get_import_job_model
from ..uploads import UploadSizeLimitHandler, limit_upload_size
from .base import JobViewSetMixin


class ImportJobMixin(JobViewSetMixin):
    """Import routes: multipart create, ``confirm``, ``revert`` and ``errors``."""

    serializer_class: type[BaseSerializer[Any]] | None = job_serializers.ImportJobSerializer
    create_serializer_class: type[BaseSerializer[Any]] | None = (
        job_serializers.ImportJobCreateSerializer
    )
    status_conflict_serializer_class: type[BaseSerializer[Any]] | None = (
        job_serializers.ImportStatusConflictSerializer
    )
    filterset_class = ImportJobFilterSet
    #: Parsers of the create route (a file upload); other routes use ``parser_classes``.
    upload_parser_classes: Sequence[type[BaseParser]] = [MultiPartParser]
    #: Parsers of the routes other than create (their bodies are JSON or none).
    #: ``MultiPartParser`` is listed because DRF's browsable API offers its
    #: HTML form (a file input for the upload) only to a view whose
    #: ``parser_classes`` take a form media type.
    parser_classes: Sequence[type[BaseParser]] = [JobJSONParser, MultiPartParser]
    #: Renderers put first on the ``errors/file`` route (the CSV report as a file).
    error_report_renderer_classes: Sequence[type[BaseRenderer]] = [OctetStreamRenderer]
    error_pagination_class: Any = ErrorReportPagination
    job_kind = "import"
    file_actions = ("errors_file",)

    upload_limit: UploadSizeLimitHandler | None = None
    #: How this viewset's imports commit: ``"atomic"``, ``"chunked"`` or None
    #: (the resource's ``import_commit_mode``, else ``COMMIT_MODE``).
    commit_mode: str | None = None

    def get_commit_mode(self, requested: str | None) -> str:
        """The commit mode of a new job: ``requested`` (the create input's
        ``commit_mode``), else ``commit_mode``, else the resource's
        ``import_commit_mode``, else the ``COMMIT_MODE`` setting."""
        if requested:
            return requested
        if self.commit_mode is not None:
            name = f"{type(self).__name__}.commit_mode"
            return check_commit_mode(self.commit_mode, name)
        return resource_commit_mode(self.get_resource_class())

    def get_job_model(self) -> type[models.Model]:
        return get_import_job_model()

    def get_serializer_options(self) -> dict[str, Any]:
        options = super().get_serializer_options()
        options["file_formats"] = allowed_import_formats(self.get_resource_class())
        resource = self.get_resource(**self.get_resource_kwargs({}))
        options["field_names"] = [field.name for field in import_fields(resource)]
        return options

    def get_parsers(self) -> list[BaseParser]:
        """Multipart for create, JSON (``parser_classes``) elsewhere."""
        if self.resolve_action() == "create":
            return [parser() for parser in self.upload_parser_classes]
        parsers: list[BaseParser] = super().get_parsers()  # type: ignore[misc]
        return parsers

    def get_renderers(self) -> list[BaseRenderer]:
        renderers = list(super().get_renderers())  # type: ignore[misc]
        if self.resolve_action() == "errors_file":
            renderers = [renderer() for renderer in self.error_report_renderer_classes] + renderers
        return renderers

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        """Limit the upload size before anything (authentication included) reads the body."""
        if self.resolve_action() == "create" and request.method == "POST":
            self.upload_limit = limit_upload_size(
                request._request, int(jobs_settings.MAX_UPLOAD_SIZE)
            )
        super().initial(request, *args, **kwargs)  # type: ignore[misc]

    def get_create_data(self, request: Request) -> Any:
        data = request.data
        if self.upload_limit is not None and self.upload_limit.exceeded:
            raise FileTooLarge(self.upload_limit.max_size)
        return data

    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Confirm a parsed import: ``parsed -> import_confirmed`` and the import
        starts (202). 409 with the current status in any other status."""
        job = self.get_object()  # type: ignore[attr-defined]
        self.perform_confirm(job)
        return Response(self.get_job_serializer(job).data, status=status.HTTP_202_ACCEPTED)

    def perform_confirm(self, job: Any) -> None:
        """Confirm ``job``; raises ``InvalidJobStatus`` (409) unless it is parsed."""
        job.confirm_import()

    def perform_cancel(self, job: Any) -> None:
        job.cancel_import()

    @action(detail=True, methods=["post"])
    def revert(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Undo an imported job: ``imported -> revert_requested`` and the
        revert runs in the background (202). 409 with the current status
        when the job is not imported (or its revert failed), or when its
        ledger expired (``REVERT_RETENTION_DAYS``)."""
        job = self.get_object()  # type: ignore[attr-defined]
        self.perform_revert(job)
        return Response(self.get_job_serializer(job).data, status=status.HTTP_202_ACCEPTED)

    def perform_revert(self, job: Any) -> None:
        """Ask for ``job``'s revert; raises ``InvalidJobStatus`` (409) unless it can be."""
        job.revert_import()

    @action(detail=True, methods=["get"])
    def errors(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        """Every row error of the latest run as JSON, paginated (``?page=``);
        ``errors/file/`` sends the whole report as a CSV file."""
        job = self.get_object()  # type: ignore[attr-defined]
        result = job_serializers.ImportJobSerializer.latest_result(job) or {}
        paginator = self.error_pagination_class()
        return paginator.get_paginated_response(job, request, int(result.get("error_count", 0)))

    @action(detail=True, methods=["get"], url_path="errors/file", url_name="errors-file")
    def errors_file(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        """The whole per-row error report of the latest run as a CSV file
        (``row,field,message``), whatever ``Accept`` asks for."""
        return self.error_report_response(self.get_object())  # type: ignore[attr-defined]

    def error_report_response(self, job: Any) -> HttpResponseBase:
        """The CSV error report as an attachment (a header only without errors).

        The body is ``application/octet-stream``, as the schema documents, so
        generated clients read it as bytes or a Blob; the file name ends in
        ``.csv``. With ``DOWNLOAD_REDIRECT`` a stored report is answered with
        a 302 to the storage's URL for it instead."""
        filename = f"import-{job.pk}-errors.csv"
        if not job.error_report:
            response = HttpResponse(b"row,field,message\r\n", content_type=FILE_MEDIA_TYPE)
            response["Content-Disposition"] = f'attachment; filename="{filename}"'
            return response
        try:
            return attachment_response(job.error_report, filename, FILE_MEDIA_TYPE)
        except Http404 as exc:
            raise NotFound("The error report is missing from storage.") from exc
