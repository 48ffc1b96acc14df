"""OpenAPI (drf-spectacular) support of the job viewsets.

- :class:`NamedChoiceFieldExtension` documents every
  :class:`~drf_import_export_jobs.fields.NamedChoiceField` as a reference to an
  enum component of the field's ``enum_name`` (``ImportJobStatusEnum``,
  ``BookExportFormatEnum``...), so enum names are stable without any
  ``ENUM_NAME_OVERRIDES`` in the project's settings. Two different enums under
  one name are reported as a schema warning naming the attribute to change.
- :class:`ExportFiltersFieldExtension` documents export ``filters`` as the
  component ``<Prefix>ExportFilters``, a property per filter of the resource's
  FilterSet.
- :class:`ColumnMappingFieldExtension` documents column mappings as objects
  of strings with an example the server accepts.
- :class:`ValidationErrorExtension` documents 400 bodies as
  ``JobValidationError``, an object of ``JobErrorMessages``.
- :class:`JobViewSetSchema` is the ``schema`` of the job viewsets: request
  and response bodies per route, with every error status.

Importing this module registers the extensions; the viewsets import it.
"""

from __future__ import annotations

from typing import Any

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.drainage import warn
from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from .eventschema import (
    event_parameters,
    event_responses,
)
from .fields import NamedChoiceField
from .schema_texts import DESCRIPTIONS, ERROR_DESCRIPTIONS, OPERATION_ID_ACTIONS, SUMMARIES
from .serializers import (
    ErrorDetailSerializer,
    FileTooLargeSerializer,
    RowErrorPageSerializer,
    ValidationErrorSerializer,
)
from .serializers.events import WebhookPayloadSerializer


class NamedChoiceFieldExtension(OpenApiSerializerFieldExtension):
    """A ``NamedChoiceField`` is ``$ref: #/components/schemas/<enum_name>``."""

    target_class = "drf_import_export_jobs.fields.NamedChoiceField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: AutoSchema, direction: Any) -> dict[str, Any]:
        field = self.target
        values = [value for value in field.choices if value not in ("", None)]
        schema: dict[str, Any] = {"type": "string", "enum": values}
        labels = [
            f"* `{value}` - {label}" for value, label in field.choices.items() if value != label
        ]
        if labels:
            schema["description"] = "\n".join(labels)
        component = ResolvedComponent(
            name=field.enum_name,
            type=ResolvedComponent.SCHEMA,
            object=field.enum_name,
            schema=schema,
        )
        registry = auto_schema.registry
        if component in registry:
            existing = registry[component]
            if existing.schema != schema:
                warn(
                    f"Two different enums are named {field.enum_name!r} "
                    f"({existing.schema.get('enum')} and {values}). Two job viewsets of "
                    "different resources share a component prefix: set "
                    "schema_component_prefix on one of them."
                )
        else:
            registry.register(component)
        ref = component.ref
        if field.allow_null:
            # Made ``oneOf`` the enum or a typed null by JobViewSetSchema.
            return {"allOf": [ref], "nullable": True}
        return ref


class JSONObjectFieldExtension(OpenApiSerializerFieldExtension):
    """A ``JSONObjectField`` is a free object whose example is ``{}``, so that
    Swagger UI pre-fills ``{}`` rather than made-up keys the server refuses."""

    target_class = "drf_import_export_jobs.fields.JSONObjectField"

    def map_serializer_field(self, auto_schema: AutoSchema, direction: Any) -> dict[str, Any]:
        return {"type": "object", "additionalProperties": {}, "example": {}}


class ColumnMappingFieldExtension(OpenApiSerializerFieldExtension):
    """A ``ColumnMappingField`` is an object of strings (``{header: field}``)
    with the field's ``example``, so Swagger UI pre-fills a mapping the server
    accepts."""

    target_class = "drf_import_export_jobs.fields.ColumnMappingField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: AutoSchema, direction: Any) -> dict[str, Any]:
        return {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "example": dict(self.target.example),
        }


class HeaderListFieldExtension(OpenApiSerializerFieldExtension):
    """A ``HeaderListField`` is an array of strings with the field's ``example``."""

    target_class = "drf_import_export_jobs.serializers.columns.HeaderListField"

    def map_serializer_field(self, auto_schema: AutoSchema, direction: Any) -> dict[str, Any]:
        return {"type": "array", "items": {"type": "string"}, "example": list(self.target.example)}


class ExportFiltersFieldExtension(OpenApiSerializerFieldExtension):
    """An ``ExportFiltersField`` is ``$ref: #/components/schemas/<component_name>``:
    an object with one property per filter of the resource's FilterSet, typed as
    drf-spectacular types query filters (``price__gte``: number...)."""

    target_class = "drf_import_export_jobs.fields.ExportFiltersField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: AutoSchema, direction: Any) -> dict[str, Any]:
        field = self.target
        filterset_class = field.filterset_class
        properties: dict[str, Any] = {}
        if filterset_class is None:
            description = "Filters: this resource takes none (it declares no filterset_class)."
        else:
            description = (
                "Values for the resource's django-filter filterset_class, by filter name."
            )
            model = filterset_class._meta.model
            mapper = DjangoFilterExtension(DjangoFilterBackend())
            for name, filter_field in filterset_class.base_filters.items():
                parameters = mapper.resolve_filter_field(
                    auto_schema, model, filterset_class, name, filter_field
                )
                for parameter in parameters:
                    # ``null`` leaves the filter out, as an absent one does.
                    schema = {**parameter["schema"], "nullable": True}
                    if parameter.get("description"):
                        schema["description"] = parameter["description"]
                    properties[parameter["name"]] = schema
        schema = {
            "type": "object",
            "description": description,
            "properties": properties,
            # Swagger UI pre-fills ``{}``: every filter is optional.
            "example": {},
        }
        if not properties:
            schema["additionalProperties"] = False
        registered: dict[str, Any] = register_component(auto_schema, field.component_name, schema)
        return registered


class ValidationErrorExtension(OpenApiSerializerExtension):
    """400 bodies: ``{"<field>": ["message", ...], ...}`` or ``{"detail": "..."}``."""

    target_class = "drf_import_export_jobs.serializers.errors.ValidationErrorSerializer"

    def get_name(self, auto_schema: AutoSchema, direction: Any) -> str:
        return "JobValidationError"

    def map_serializer(self, auto_schema: AutoSchema, direction: Any) -> dict[str, Any]:
        messages = register_component(
            auto_schema,
            "JobErrorMessages",
            {
                "description": "The messages of one input field (a list), or the "
                "`detail` message (a string).",
                "oneOf": [
                    {"type": "array", "items": {"type": "string"}},
                    {"type": "string"},
                ],
            },
        )
        return {
            "type": "object",
            "description": "Messages per input field (`non_field_errors` for the whole "
            "input), or a single `detail` message.",
            "additionalProperties": messages,
        }


def register_component(auto_schema: AutoSchema, name: str, schema: dict[str, Any]) -> Any:
    """Register ``schema`` as the component ``name`` and return its reference; a
    different schema already registered under that name is a schema warning."""
    component = ResolvedComponent(
        name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema
    )
    registry = auto_schema.registry
    if component in registry:
        existing = registry[component]
        if existing.schema != schema:
            warn(
                f"Two different schemas are named {name!r}. Two job viewsets of different "
                "resources share a component prefix: set schema_component_prefix on one "
                "of them."
            )
    else:
        registry.register(component)
    return component.ref


JSON = "application/json"
FILE = "application/octet-stream"


def _errors(*codes: int, conflict: Any = None) -> dict[Any, Any]:
    bodies: dict[int, Any] = {
        400: ValidationErrorSerializer,
        401: ErrorDetailSerializer,
        403: ErrorDetailSerializer,
        404: ErrorDetailSerializer,
        406: ErrorDetailSerializer,
        409: conflict,
        413: FileTooLargeSerializer,
        415: ErrorDetailSerializer,
        429: ErrorDetailSerializer,
    }
    return {
        (code, JSON): OpenApiResponse(bodies[code], description=ERROR_DESCRIPTIONS[code])
        for code in codes
    }


def _ok(body: Any, description: str, media_type: str = JSON, code: int = 200) -> dict[Any, Any]:
    return {(code, media_type): OpenApiResponse(body, description=description)}


def _redirect(what: str) -> dict[Any, Any]:
    return {
        302: OpenApiResponse(
            description=(
                f"With `DOWNLOAD_REDIRECT`: the {what} is at the URL in `Location` "
                "(the storage's URL for it, e.g. a presigned S3 URL that expires)."
            )
        )
    }


#: The ``Location`` header of the file routes' 302 answer.
LOCATION_HEADER = OpenApiParameter(
    "Location",
    OpenApiTypes.URI,
    location=OpenApiParameter.HEADER,
    response=[302],
    description="Where to GET the file (no credentials needed; the URL may expire).",
)


class JobViewSetSchema(AutoSchema):
    """Request and response bodies of each job route, errors included, with a
    summary and an operation id per route.

    Serializers come from the viewset (``get_serializer_class()`` and
    ``get_job_serializer_class()``), so a viewset's own serializers are
    documented as they are used. Operation ids are the viewset's
    ``get_schema_operation_id_prefix()`` followed by the action
    (``bookImportsConfirm``); override ``get_operation_id()`` here, or set
    ``schema_operation_id_prefix`` on the viewset, to name them otherwise.
    """

    def _action(self) -> str | None:
        return getattr(self.view, "action", None)

    def _kind(self) -> str:
        return getattr(self.view, "job_kind", "")

    def get_operation_id(self) -> str:
        """``<prefix><Action>``: the viewset's operation id prefix and the action."""
        view = self.view
        action = self._action() or ""
        if not hasattr(view, "get_schema_operation_id_prefix") or not action:
            return super().get_operation_id()
        suffix = OPERATION_ID_ACTIONS.get(action) or "".join(
            part.capitalize() for part in action.split("_")
        )
        return f"{view.get_schema_operation_id_prefix()}{suffix}"

    def get_summary(self) -> str | None:
        """The route's summary from ``SUMMARIES``, else drf-spectacular's."""
        summary = SUMMARIES.get((self._kind(), self._action() or ""))
        return summary if summary is not None else super().get_summary()

    def get_description(self) -> str:  # type: ignore[override]
        """The route's text from ``DESCRIPTIONS``, else the method's docstring."""
        text = DESCRIPTIONS.get((self._kind(), self._action() or ""))
        return text if text is not None else super().get_description()

    def _get_format_parameters(self) -> list[dict[str, Any]]:
        # ``?format=`` is DRF's: the JSON routes answer JSON, the file routes a file.
        return []

    def _map_serializer_field(
        self, field: Any, direction: Any, bypass_extensions: bool = False
    ) -> dict[str, Any]:
        """drf-spectacular's mapping, where a nullable reference (``totals``) is
        ``oneOf`` the reference and a typed ``null``, and a reference with only
        a help text stays a plain reference."""
        schema: dict[str, Any] = super()._map_serializer_field(  # type: ignore[no-untyped-call]
            field, direction, bypass_extensions
        )
        if set(schema) == {"allOf", "description"} and len(schema["allOf"]) == 1:
            # A bare reference (the component describes itself): a help text
            # beside it would wrap it in ``allOf``, which generators type as Any.
            return dict(schema["allOf"][0])
        if schema.get("nullable") and "allOf" in schema and "type" not in schema:
            # ``oneOf`` the reference or a typed null: every generator reads it
            # as "the component or null" (``nullable`` beside ``allOf`` alone is
            # ignored by OpenAPI 3.0 and beside a ``type`` by some generators).
            rest = {k: v for k, v in schema.items() if k not in ("allOf", "nullable")}
            null = {
                "type": self._component_type(schema["allOf"]),
                "nullable": True,
                "enum": [None],
            }
            schema = {"oneOf": [*schema["allOf"], null], **rest}
        return schema

    def _component_type(self, parts: list[dict[str, Any]]) -> str:
        for part in parts:
            ref = part.get("$ref", "")
            name = ref.rsplit("/", 1)[-1]
            try:
                resolved = self.registry[(name, ResolvedComponent.SCHEMA)].schema or {}
            except KeyError:
                continue
            return str(resolved.get("type", "object"))
        return "object"

    def _get_filter_parameters(self) -> list[dict[str, Any]]:
        """``?status=`` items refer to the job's status enum component."""
        parameters: list[dict[str, Any]] = super()._get_filter_parameters()  # type: ignore[no-untyped-call]
        view: Any = self.view  # a job viewset (JobViewSetMixin)
        job = view.get_job_serializer_class()
        status_field = job().fields.get("status")
        for parameter in parameters:
            if parameter.get("name") != "status" or not isinstance(status_field, NamedChoiceField):
                continue
            ref = self._map_serializer_field(
                NamedChoiceField(
                    list(status_field.choices.items()), enum_name=status_field.enum_name
                ),
                "response",
            )
            schema = parameter.get("schema", {})
            if schema.get("type") == "array":
                schema["items"] = ref
            parameter["description"] = (
                "Only jobs in one of these statuses (repeat the parameter for several)."
            )
        return parameters

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        if self._action() == "errors":
            parameters.append(
                OpenApiParameter("page", int, description="Page number of the errors.")
            )
        if self._action() in ("download", "errors_file"):
            parameters.append(LOCATION_HEADER)
        if self._action() in ("mapping_detail", "delete_mapping"):
            parameters.append(
                OpenApiParameter(
                    "mapping_id",
                    int,
                    OpenApiParameter.PATH,
                    description="The id of one of the caller's saved column mappings.",
                )
            )
        if self._action() == "events":
            parameters.extend(event_parameters())
        return parameters

    def get_request_serializer(self) -> Any:
        if self._action() in (
            "confirm",
            "cancel",
            "revert",
            "mappings",
            "mapping_detail",
            "delete_mapping",
        ):
            return None
        return super().get_request_serializer()

    def _get_paginator(self) -> Any:
        """Only ``list`` is paginated (the saved mappings are a plain array)."""
        if self._action() not in (None, "list"):
            return None
        return super()._get_paginator()  # type: ignore[no-untyped-call]

    def get_filter_backends(self) -> list[Any]:
        """Only ``list`` takes the job filters (``?status=``)."""
        if self._action() not in (None, "list"):
            return []
        return list(super().get_filter_backends())

    def get_response_serializers(self) -> Any:
        """The job routes' bodies per status; every route may answer 429
        (``THROTTLE_SCOPES``, a viewset's ``throttle_scopes`` or the project's
        throttles), and the JSON routes 406 to an ``Accept`` without JSON."""
        responses = self._job_responses()
        if isinstance(responses, dict) and (401, JSON) in responses:
            never_406 = (
                *getattr(self.view, "file_actions", ()),
                *getattr(self.view, "stream_actions", ()),
            )
            extra = (429,) if self._action() in never_406 else (406, 429)
            responses = {**responses, **_errors(*extra)}
        return responses

    def _job_responses(self) -> Any:
        view: Any = self.view  # a job viewset (JobViewSetMixin)
        action = self._action()
        job = view.get_job_serializer_class()
        conflict = view.get_status_conflict_serializer_class()
        auth = _errors(401, 403)
        if action == "list":
            return {**_ok(job, "A page of jobs."), **_errors(400), **auth, **_errors(404)}
        if action == "create":
            codes = (400, 413, 415) if view.job_kind == "import" else (400, 415)
            return {**_ok(job, "The new job.", code=201), **_errors(*codes), **auth}
        if action == "retrieve":
            return {**_ok(job, "The job."), **auth, **_errors(404)}
        if action == "confirm":
            return {
                **_ok(job, "Confirmed: the import starts.", code=202),
                **auth,
                **_errors(404, 409, conflict=conflict),
            }
        if action == "revert":
            return {
                **_ok(job, "Revert requested: it runs in the background.", code=202),
                **auth,
                **_errors(404, 409, conflict=conflict),
            }
        if action == "cancel":
            return {**_ok(job, "Cancelled."), **auth, **_errors(404, 409, conflict=conflict)}
        if action == "destroy":
            return {
                204: OpenApiResponse(description="Deleted, with its files."),
                **auth,
                **_errors(404, 409, conflict=conflict),
            }
        if action == "download":
            return {
                **_ok(OpenApiTypes.BINARY, "The exported file.", FILE),
                **_redirect("exported file"),
                **auth,
                **_errors(404, 409, conflict=conflict),
            }
        if action == "events":
            # The webhook body is declared beside the events it mirrors.
            self.resolve_serializer(WebhookPayloadSerializer, "response")
            return {**event_responses(view.job_kind), **auth, **_errors(400, 404)}
        if action == "errors":
            return {**_ok(RowErrorPageSerializer, "A page of row errors."), **auth, **_errors(404)}
        if action == "reparse":
            return {
                **_ok(job, "Parsing again: the job is created and its dry run starts.", code=202),
                **_errors(400, 415),
                **auth,
                **_errors(404, 409, conflict=conflict),
            }
        saved: Any = getattr(view, "saved_mapping_serializer_class", None)
        if action == "mappings":
            return {**_ok(saved(many=True), "The saved mappings."), **auth}
        if action == "create_mapping":
            return {**_ok(saved, "The saved mapping.", code=201), **_errors(400, 415), **auth}
        if action == "mapping_detail":
            return {**_ok(saved, "The saved mapping."), **auth, **_errors(404)}
        if action == "delete_mapping":
            return {204: OpenApiResponse(description="Deleted."), **auth, **_errors(404)}
        if action == "errors_file":
            return {
                **_ok(OpenApiTypes.BINARY, "The error report (CSV).", FILE),
                **_redirect("error report"),
                **auth,
                **_errors(404),
            }
        return super().get_response_serializers()
