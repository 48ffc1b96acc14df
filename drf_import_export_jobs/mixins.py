"""Viewset mixins for import and export jobs.

Combine them with DRF's ``GenericViewSet`` (the ready-made viewsets in
:mod:`drf_import_export_jobs.viewsets` do) and bind the viewset to a resource
with ``resource_class``. Everything is decided per request through DRF-style
class attributes and ``get_*`` / ``perform_*`` hooks; nothing is built when
the class is created.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from django.core.exceptions import ImproperlyConfigured
from django.db import models, router, transaction
from django.http import FileResponse, Http404, HttpResponse, HttpResponseBase
from django_filters.rest_framework import DjangoFilterBackend
from import_export.resources import Resource
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import BaseParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from . import serializers as job_serializers
from .api_exceptions import FileTooLarge, JobStatusConflict
from .conf import jobs_settings
from .exceptions import InvalidJobStatus
from .filters import ExportJobFilterSet, ImportJobFilterSet
from .formats import CONTENT_TYPES, allowed_export_formats, allowed_import_formats
from .pagination import ErrorReportPagination, JobPagination
from .querysets import allowed_ordering, export_field_names
from .renderers import CSVFileRenderer, FileRenderer, OctetStreamRenderer
from .schema import JobViewSetSchema
from .swapping import get_export_job_model, get_import_job_model
from .transitions import job_label
from .uploads import UploadSizeLimitHandler, limit_upload_size

# Serializer classes made for a resource, shared by viewsets that bind the
# same base serializer with the same options (so one schema component each).
_bound_serializers: dict[tuple[Any, ...], type[serializers.BaseSerializer]] = {}


class JobViewSetMixin:
    """What import and export viewsets share: the resource binding, the
    caller's jobs, serializers per resource, errors as HTTP statuses.

    Set ``resource_class``; override ``get_resource_class()`` to choose it per
    request, ``get_queryset()`` to widen or narrow which jobs a caller sees.
    """

    #: The django-import-export ``Resource`` the viewset's jobs run.
    resource_class: type[Resource] | None = None
    #: Prefix of this viewset's schema components (``Book`` gives ``BookImportJob``).
    #: ``None``: the resource class name without its ``Resource`` suffix.
    schema_component_prefix: str | None = None
    #: Names of resource keyword arguments a client may send (``resource_kwargs``).
    allowed_resource_kwargs: Sequence[str] = ()
    #: The job representation; bound to the resource per request.
    serializer_class: type[serializers.BaseSerializer] | None = None
    #: The input of a new job; bound to the resource per request.
    create_serializer_class: type[serializers.BaseSerializer] | None = None
    #: 409 body in the schema.
    status_conflict_serializer_class: type[serializers.BaseSerializer] | None = None
    permission_classes: Sequence[Any] = [IsAuthenticated]
    pagination_class: Any = JobPagination
    filter_backends: Sequence[Any] = [DjangoFilterBackend]
    parser_classes: Sequence[type[BaseParser]] = [JSONParser]
    schema = JobViewSetSchema()
    #: "import" or "export".
    job_kind: ClassVar[str] = ""

    request: Request
    action: str | None
    action_map: dict[str, str]
    basename: str

    # -- resource ----------------------------------------------------------------

    def get_resource_class(self) -> type[Resource]:
        """The resource class of this viewset's jobs (``resource_class``)."""
        resource_class = self.resource_class
        if resource_class is None:
            raise ImproperlyConfigured(
                f"{type(self).__name__} has no resource_class: set it to a django-import-export "
                "Resource class or override get_resource_class()."
            )
        return resource_class

    def get_resource_path(self) -> str:
        """The dotted path stored on the job (``resource_path``); the worker
        imports the resource from it. Jobs are listed per resource path."""
        resource_class = self.get_resource_class()
        return f"{resource_class.__module__}.{resource_class.__qualname__}"

    def get_resource(self, **kwargs: Any) -> Resource:
        """An instance of the resource (used to validate input in the request)."""
        return self.get_resource_class()(**kwargs)

    def get_resource_kwargs(self, requested: Mapping[str, Any]) -> dict[str, Any]:
        """The resource keyword arguments stored on a new job, given those the
        client sent in ``resource_kwargs``.

        By default only names in ``allowed_resource_kwargs`` are accepted
        (none) and any other name is a 400. Override to add arguments the
        server decides (``{"user_id": self.request.user.pk}``): the worker
        creates the resource with them, so its ``get_queryset()`` or hooks
        can use them."""
        allowed = set(self.allowed_resource_kwargs)
        unknown = sorted(set(requested) - allowed)
        if unknown:
            accepted = ", ".join(sorted(allowed)) or "none"
            raise serializers.ValidationError(
                {
                    "resource_kwargs": [
                        f"Unknown argument(s): {', '.join(unknown)}. Accepted: {accepted} "
                        f"({type(self).__name__}.allowed_resource_kwargs)."
                    ]
                }
            )
        return dict(requested)

    # -- jobs --------------------------------------------------------------------

    def get_job_model(self) -> type[models.Model]:
        """The concrete job model (from the settings)."""
        raise NotImplementedError

    def get_queryset(self) -> models.QuerySet[Any]:
        """The caller's jobs of this viewset's resource, newest first.

        Anyone else's job is thus a 404 for reading and every action. Override
        for wider visibility (for staff, a team...)."""
        model = self.get_job_model()
        queryset = model._default_manager.filter(resource_path=self.get_resource_path())
        user = getattr(self.request, "user", None)
        if user is None or not user.is_authenticated:
            return queryset.none()
        return queryset.filter(created_by=user)

    # -- serializers -------------------------------------------------------------

    def get_schema_component_prefix(self) -> str:
        """Prefix of this viewset's component and enum names in the schema."""
        if self.schema_component_prefix:
            return self.schema_component_prefix
        name = self.get_resource_class().__name__
        return name.removesuffix("Resource") or name

    def get_serializer_options(self) -> dict[str, Any]:
        """Resource-dependent choices given to the bound serializers."""
        return {"prefix": self.get_schema_component_prefix()}

    def bind_serializer_class(
        self, base: type[serializers.BaseSerializer] | None
    ) -> type[serializers.BaseSerializer]:
        """``base`` made for this viewset's resource (cached), or ``base`` as it
        is when it is not a ``ResourceBoundSerializer``."""
        if base is None:
            raise ImproperlyConfigured(f"{type(self).__name__} is missing a serializer class.")
        if not issubclass(base, job_serializers.ResourceBoundSerializer):
            return base
        options = self.get_serializer_options()
        key = (
            base,
            *sorted((name, tuple(v) if isinstance(v, list) else v) for name, v in options.items()),
        )
        bound = _bound_serializers.get(key)
        if bound is None:
            bound = job_serializers.for_resource(base, **options)
            _bound_serializers[key] = bound
        return bound

    def resolve_action(self) -> str | None:
        """The action of this request, also before DRF sets ``self.action``."""
        name = getattr(self, "action", None)
        if name is None and getattr(self, "action_map", None) and getattr(self, "request", None):
            name = self.action_map.get(self.request.method.lower())
        return name

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        """The create serializer for ``create``, else the job serializer."""
        if self.resolve_action() == "create":
            return self.bind_serializer_class(self.create_serializer_class)
        return self.get_job_serializer_class()

    def get_job_serializer_class(self) -> type[serializers.BaseSerializer]:
        """The serializer of the job representation (every route's answer)."""
        return self.bind_serializer_class(self.serializer_class)

    def get_job_serializer(self, job: Any) -> serializers.BaseSerializer:
        serializer_class = self.get_job_serializer_class()
        return serializer_class(job, context=self.get_serializer_context())  # type: ignore[attr-defined]

    def get_status_conflict_serializer_class(self) -> Any:
        return self.status_conflict_serializer_class

    # -- routes ------------------------------------------------------------------

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Create a job from the request's input; answers 201 with the job."""
        serializer = self.get_serializer(data=self.get_create_data(request))  # type: ignore[attr-defined]
        serializer.is_valid(raise_exception=True)
        self.perform_create(serializer)
        data = self.get_job_serializer(serializer.instance).data
        headers = {"Location": data["url"]} if data.get("url") else {}
        return Response(data, status=status.HTTP_201_CREATED, headers=headers)

    def get_create_data(self, request: Request) -> Any:
        return request.data

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        """Save the new job for the caller and this viewset's resource; its
        task is sent once the transaction commits."""
        serializer.save(created_by=self.request.user, resource_path=self.get_resource_path())

    def get_status_error(self, job: Any, doing: str, allowed: Sequence[str]) -> JobStatusConflict:
        return JobStatusConflict(
            f"{job_label(job)} is '{job.status}'; it can be {doing} only when "
            f"{' or '.join(repr(str(s)) for s in allowed)}.",
            str(job.status),
        )

    # -- errors and content negotiation ------------------------------------------

    def handle_exception(self, exc: Exception) -> Response:
        """Refused transitions are 409 with the current status (404 if the job
        is gone); everything else as DRF does."""
        if isinstance(exc, InvalidJobStatus):
            exc = (
                JobStatusConflict.from_invalid_status(exc)
                if exc.current_status is not None
                else NotFound()
            )
        return super().handle_exception(exc)  # type: ignore[misc]

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        """Error bodies of the file routes are JSON, whatever was negotiated."""
        if (
            isinstance(response, Response)
            and response.status_code >= 400
            and isinstance(getattr(request, "accepted_renderer", None), FileRenderer)
        ):
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]


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
        parsing, import_confirmed, importing, exporting): cancel it first."""
        job = self.get_object()  # type: ignore[attr-defined]
        self.perform_destroy(job)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def perform_destroy(self, job: Any) -> None:
        """Delete ``job`` unless it is active, in one locked transaction: a job
        that starts running meanwhile is never deleted. Its files are removed
        from storage once the deletion commits (``handlers.delete_job_files``)."""
        model = type(job)
        active = tuple(job.CANCELLABLE)
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
    return [value for value, _label in field.choices if value not in job.CANCELLABLE]


class ImportJobMixin(JobViewSetMixin):
    """Import routes: multipart create, ``confirm`` and ``errors``."""

    serializer_class = job_serializers.ImportJobSerializer
    create_serializer_class = job_serializers.ImportJobCreateSerializer
    status_conflict_serializer_class = job_serializers.ImportStatusConflictSerializer
    filterset_class = ImportJobFilterSet
    #: Parsers of the create route (a file upload); other routes use ``parser_classes``.
    upload_parser_classes: Sequence[type[BaseParser]] = [MultiPartParser]
    #: Extra renderers of the ``errors`` route (the CSV report).
    error_report_renderer_classes: Sequence[type[BaseRenderer]] = [CSVFileRenderer]
    error_pagination_class: Any = ErrorReportPagination
    job_kind = "import"

    upload_limit: UploadSizeLimitHandler | None = None

    def get_job_model(self) -> type[models.Model]:
        return get_import_job_model()

    def get_serializer_options(self) -> dict[str, Any]:
        options = super().get_serializer_options()
        options["file_formats"] = allowed_import_formats(self.get_resource_class())
        return options

    def get_parsers(self) -> list[BaseParser]:
        """Multipart for create, JSON (``parser_classes``) elsewhere."""
        if self.resolve_action() == "create":
            return [parser() for parser in self.upload_parser_classes]
        return super().get_parsers()  # type: ignore[misc]

    def get_renderers(self) -> list[BaseRenderer]:
        renderers = list(super().get_renderers())  # type: ignore[misc]
        if self.resolve_action() == "errors":
            renderers += [renderer() for renderer in self.error_report_renderer_classes]
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

    @action(detail=True, methods=["get"])
    def errors(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        """Every row error of the latest run, paginated (``?page=``); with
        ``Accept: text/csv`` (or ``?format=csv``) the whole error report as a
        CSV file."""
        job = self.get_object()  # type: ignore[attr-defined]
        if isinstance(request.accepted_renderer, CSVFileRenderer):
            return self.error_report_response(job)
        result = job_serializers.ImportJobSerializer.latest_result(job) or {}
        paginator = self.error_pagination_class()
        return paginator.get_paginated_response(job, request, int(result.get("error_count", 0)))

    def error_report_response(self, job: Any) -> HttpResponseBase:
        """The CSV error report as an attachment (a header only without errors)."""
        filename = f"import-{job.pk}-errors.csv"
        if not job.error_report:
            response = HttpResponse("row,field,message\r\n", content_type="text/csv")
            response["Content-Disposition"] = f'attachment; filename="{filename}"'
            return response
        try:
            handle = job.error_report.open("rb")
        except OSError as exc:
            raise NotFound("The error report is missing from storage.") from exc
        return FileResponse(handle, as_attachment=True, filename=filename, content_type="text/csv")


class ExportJobMixin(JobViewSetMixin):
    """Export routes: JSON create and ``download``."""

    serializer_class = job_serializers.ExportJobSerializer
    create_serializer_class = job_serializers.ExportJobCreateSerializer
    status_conflict_serializer_class = job_serializers.ExportStatusConflictSerializer
    filterset_class = ExportJobFilterSet
    #: Renderers put first on the ``download`` route (binary content negotiation).
    download_renderer_classes: Sequence[type[BaseRenderer]] = [OctetStreamRenderer]
    job_kind = "export"

    def get_job_model(self) -> type[models.Model]:
        return get_export_job_model()

    def get_serializer_options(self) -> dict[str, Any]:
        options = super().get_serializer_options()
        resource = self.get_resource(**self.get_resource_kwargs({}))
        ordering = allowed_ordering(resource)
        options["file_formats"] = allowed_export_formats(type(resource))
        options["field_names"] = export_field_names(resource)
        options["ordering_names"] = [o for name in ordering for o in (name, f"-{name}")]
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
        until the job is exported."""
        job = self.get_object()  # type: ignore[attr-defined]
        exported = job.ExportStatus.EXPORTED
        if job.status != exported or not job.data_file:
            raise self.get_status_error(job, "downloaded", [exported])
        try:
            handle = job.data_file.open("rb")
        except OSError as exc:
            raise NotFound("The exported file is missing from storage.") from exc
        return FileResponse(
            handle,
            as_attachment=True,
            filename=job.export_filename,
            content_type=CONTENT_TYPES.get(job.file_format_name, "application/octet-stream"),
        )
