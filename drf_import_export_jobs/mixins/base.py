"""``JobViewSetMixin``: what import and export viewsets share."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, cast

from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django_filters.rest_framework import DjangoFilterBackend
from import_export.resources import Resource
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import BaseParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.schemas.inspectors import ViewInspector

from .. import serializers as job_serializers
from ..api_exceptions import JobStatusConflict
from ..conf import jobs_settings
from ..exceptions import InvalidJobStatus
from ..pagination import JobPagination
from ..parsers import JobJSONParser, body_limit_error
from ..renderers import EventStreamRenderer, FileRenderer
from ..schema import JobViewSetSchema
from ..throttling import JobActionRateThrottle
from ..transitions import job_label

# Serializer classes made for a resource, shared by viewsets that bind the
# same base serializer with the same options (so one schema component each).
_bound_serializers: dict[tuple[Any, ...], type[serializers.BaseSerializer[Any]]] = {}


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
    #: Start of this viewset's operation ids (``bookImports`` gives
    #: ``bookImportsConfirm``). ``None``: the component prefix in lower camel case
    #: followed by ``Imports`` or ``Exports``.
    schema_operation_id_prefix: str | None = None
    #: Names of resource keyword arguments a client may send (``resource_kwargs``).
    allowed_resource_kwargs: Sequence[str] = ()
    #: The job representation; bound to the resource per request.
    serializer_class: type[serializers.BaseSerializer[Any]] | None = None
    #: The input of a new job; bound to the resource per request.
    create_serializer_class: type[serializers.BaseSerializer[Any]] | None = None
    #: 409 body in the schema.
    status_conflict_serializer_class: type[serializers.BaseSerializer[Any]] | None = None
    permission_classes: Sequence[Any] = [IsAuthenticated]
    pagination_class: Any = JobPagination
    filter_backends: Sequence[Any] = [DjangoFilterBackend]
    parser_classes: Sequence[type[BaseParser]] = [JobJSONParser]
    schema: ViewInspector | None = JobViewSetSchema()
    #: DRF throttle scope per action, e.g. ``{"create": "job-uploads"}``;
    #: ``None`` uses ``DRF_IMPORT_EXPORT_JOBS["THROTTLE_SCOPES"]``.
    throttle_scopes: Mapping[str, str] | None = None
    #: "import" or "export".
    job_kind: ClassVar[str] = ""
    #: Actions that answer with a file: their content negotiation never fails
    #: (any ``Accept`` gets the file, errors are JSON).
    file_actions: ClassVar[Sequence[str]] = ()
    #: Actions that answer with a stream of events: likewise never 406.
    stream_actions: ClassVar[Sequence[str]] = ("events",)

    request: Request
    action: str
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
        creates the resource as ``resource_class(**kwargs)``, so a resource
        whose ``__init__`` keeps them can use them in ``get_queryset()`` or
        its hooks. Values must be JSON."""
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
        """The concrete job model of this viewset's jobs: the settings' model
        (``IMPORT_JOB_MODEL`` / ``EXPORT_JOB_MODEL``). Override to keep this
        viewset's jobs in another concrete subclass of the abstract job model;
        every route, the create serializer included, uses it."""
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

    def get_schema_operation_id_prefix(self) -> str:
        """Start of this viewset's operation ids in the schema (``bookImports``):
        generated clients name their functions after them. It never depends on
        the URL, so moving the routes keeps the client's names."""
        if self.schema_operation_id_prefix:
            return self.schema_operation_id_prefix
        prefix = self.get_schema_component_prefix()
        return f"{prefix[:1].lower()}{prefix[1:]}{self.job_kind.capitalize()}s"

    def get_serializer_options(self) -> dict[str, Any]:
        """Resource-dependent choices given to the bound serializers."""
        return {"prefix": self.get_schema_component_prefix()}

    def bind_serializer_class(
        self, base: type[serializers.BaseSerializer[Any]] | None
    ) -> type[serializers.BaseSerializer[Any]]:
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
            name = self.action_map.get(cast(str, self.request.method).lower())
        return name

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        """The create serializer for ``create``, else the job serializer."""
        if self.resolve_action() == "create":
            return self.bind_serializer_class(self.create_serializer_class)
        return self.get_job_serializer_class()

    def get_job_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        """The serializer of the job representation (every route's answer)."""
        return self.bind_serializer_class(self.serializer_class)

    def get_job_serializer(self, job: Any) -> serializers.BaseSerializer[Any]:
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

    def perform_create(self, serializer: serializers.BaseSerializer[Any]) -> None:
        """Save the new job for the caller and this viewset's resource; its
        task is sent once the transaction commits."""
        serializer.save(created_by=self.request.user, resource_path=self.get_resource_path())

    def get_status_error(self, job: Any, doing: str, allowed: Sequence[str]) -> JobStatusConflict:
        return JobStatusConflict(
            f"{job_label(job)} is '{job.status}'; it can be {doing} only when "
            f"{' or '.join(repr(str(s)) for s in allowed)}.",
            str(job.status),
        )

    # -- throttling --------------------------------------------------------------

    def get_throttle_scope(self) -> str | None:
        """The throttle scope of this request's action (``throttle_scopes``, else
        ``DRF_IMPORT_EXPORT_JOBS["THROTTLE_SCOPES"]``); ``None``: not throttled
        by the package. Override to choose per user or per request."""
        scopes = self.throttle_scopes
        if scopes is None:
            scopes = jobs_settings.THROTTLE_SCOPES or {}
        return scopes.get(self.resolve_action() or "")

    def get_throttles(self) -> list[Any]:
        """The project's throttles, plus :class:`JobActionRateThrottle` when
        this action has a throttle scope."""
        throttles = list(super().get_throttles())  # type: ignore[misc]
        if self.get_throttle_scope():
            throttles.append(JobActionRateThrottle())
        return throttles

    # -- errors and content negotiation ------------------------------------------

    def handle_exception(self, exc: Exception) -> Response:
        """Refused transitions are 409 with the current status (404 if the job
        is gone); a body Django refuses (too big, too many fields or files) is
        a JSON 400 naming the Django setting; everything else as DRF does."""
        exc = body_limit_error(exc) or exc
        if isinstance(exc, InvalidJobStatus):
            exc = (
                JobStatusConflict.from_invalid_status(exc)
                if exc.current_status is not None
                else NotFound()
            )
        response: Response = super().handle_exception(exc)  # type: ignore[misc]
        return response

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        """A file route (``file_actions``) sends its file whatever ``Accept``
        asks for (``text/csv``, ``*/*``...), a stream route (``stream_actions``)
        its events: the first renderer is chosen when negotiation fails, so
        such a route never answers 406."""
        action = self.resolve_action()
        force = force or action in self.file_actions or action in self.stream_actions
        return super().perform_content_negotiation(request, force=force)  # type: ignore[misc]

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        """Error bodies of the file and stream routes are JSON, whatever was negotiated."""
        if (
            isinstance(response, Response)
            and response.status_code >= 400
            and isinstance(
                getattr(request, "accepted_renderer", None), (FileRenderer, EventStreamRenderer)
            )
        ):
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
