"""OpenAPI (drf-spectacular) support of the job viewsets.

- :class:`NamedChoiceFieldExtension` documents every
  :class:`~drf_import_export_jobs.fields.NamedChoiceField` as a reference to an
  enum component of the field's ``enum_name`` (``ImportJobStatusEnum``,
  ``BookExportFormatEnum``...), so enum names are stable without any
  ``ENUM_NAME_OVERRIDES`` in the project's settings. Two different enums under
  one name are reported as a schema warning naming the attribute to change.
- :class:`ValidationErrorExtension` documents 400 bodies as
  ``JobValidationError``, an object of message lists.
- :class:`JobViewSetSchema` is the ``schema`` of the job viewsets: request
  and response bodies per route, with every error status.

Importing this module registers the extensions; the viewsets import it.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.drainage import warn
from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from .fields import NamedChoiceField
from .serializers import (
    ErrorDetailSerializer,
    FileTooLargeSerializer,
    RowErrorPageSerializer,
    ValidationErrorSerializer,
)


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
            return {"oneOf": [ref, {"type": "null"}]}
        return ref


class ValidationErrorExtension(OpenApiSerializerExtension):
    """400 bodies: ``{"<field>": ["message", ...], ...}`` or ``{"detail": "..."}``."""

    target_class = "drf_import_export_jobs.serializers.errors.ValidationErrorSerializer"

    def get_name(self, auto_schema: AutoSchema, direction: Any) -> str:
        return "JobValidationError"

    def map_serializer(self, auto_schema: AutoSchema, direction: Any) -> dict[str, Any]:
        return {
            "type": "object",
            "description": "Messages per input field (`non_field_errors` for the whole "
            "input), or a single `detail` message.",
            "additionalProperties": {
                "oneOf": [
                    {"type": "array", "items": {"type": "string"}},
                    {"type": "string"},
                ]
            },
        }


JSON = "application/json"

#: Operation descriptions per (job kind, action).
DESCRIPTIONS: dict[tuple[str, str], str] = {
    ("import", "list"): "The caller's import jobs of this resource, newest first.",
    ("export", "list"): "The caller's export jobs of this resource, newest first.",
    ("import", "create"): (
        "Upload a file (multipart) and create an import job; the dry run starts at once. "
        "The format comes from `file_format` or the file name's extension."
    ),
    ("export", "create"): "Create an export job (JSON body); the export starts at once.",
    ("import", "retrieve"): "The import job: status, progress, totals, first errors, links.",
    ("export", "retrieve"): "The export job: status, progress, options, download link.",
    ("import", "confirm"): (
        "Confirm a parsed import (`parsed -> import_confirmed`); the import starts. "
        "409 with the current status otherwise."
    ),
    ("import", "cancel"): (
        "Cancel the import (from created, parsing, import_confirmed or importing); "
        "nothing is left half-imported. 409 with the current status otherwise."
    ),
    ("export", "cancel"): (
        "Cancel the export (from created or exporting). 409 with the current status otherwise."
    ),
    ("import", "destroy"): (
        "Delete the job and its files. 409 while it is active "
        "(created, parsing, import_confirmed, importing): cancel it first."
    ),
    ("export", "destroy"): (
        "Delete the job and its file. 409 while it is active (created, exporting): "
        "cancel it first."
    ),
    ("import", "errors"): (
        "Every row error of the latest run, paginated (`?page=`); with "
        "`Accept: text/csv` the whole error report as a CSV file."
    ),
    ("export", "download"): (
        "The exported file (`Content-Disposition: attachment`). 409 with the current "
        "status until the job is exported."
    ),
}


def _errors(*codes: int, conflict: Any = None) -> dict[Any, Any]:
    bodies: dict[int, Any] = {
        400: ValidationErrorSerializer,
        401: ErrorDetailSerializer,
        403: ErrorDetailSerializer,
        404: ErrorDetailSerializer,
        409: conflict,
        413: FileTooLargeSerializer,
        415: ErrorDetailSerializer,
        429: ErrorDetailSerializer,
    }
    return {(code, JSON): bodies[code] for code in codes}


class JobViewSetSchema(AutoSchema):
    """Request and response bodies of each job route, errors included.

    Serializers come from the viewset (``get_serializer_class()`` and
    ``get_job_serializer_class()``), so a viewset's own serializers are
    documented as they are used.
    """

    def _action(self) -> str | None:
        return getattr(self.view, "action", None)

    def get_description(self) -> str:  # type: ignore[override]
        """The route's text from ``DESCRIPTIONS``, else the method's docstring."""
        kind = getattr(self.view, "job_kind", "")
        text = DESCRIPTIONS.get((kind, self._action() or ""))
        return text if text is not None else super().get_description()

    def _get_format_parameters(self) -> list[dict[str, Any]]:
        # A download is the file whatever the format; only ``errors`` offers a choice.
        if self._action() == "download":
            return []
        return super()._get_format_parameters()

    def _get_filter_parameters(self) -> list[dict[str, Any]]:
        """``?status=`` items refer to the job's status enum component."""
        parameters: list[dict[str, Any]] = super()._get_filter_parameters()  # type: ignore[no-untyped-call]
        view: Any = self.view  # a job viewset (JobViewSetMixin)
        job = view.get_job_serializer_class()
        status_field = job().fields.get("status")
        for parameter in parameters:
            if parameter.get("name") != "status" or not isinstance(status_field, NamedChoiceField):
                continue
            ref = self._map_serializer_field(  # type: ignore[no-untyped-call]
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
                OpenApiParameter(
                    "page",
                    int,
                    description="Page number of the errors (JSON only).",
                )
            )
        return parameters

    def get_request_serializer(self) -> Any:
        if self._action() in ("confirm", "cancel"):
            return None
        return super().get_request_serializer()

    def get_response_serializers(self) -> Any:
        """The job routes' bodies per status; every route may answer 429
        (``THROTTLE_SCOPES``, a viewset's ``throttle_scopes`` or the project's
        throttles)."""
        responses = self._job_responses()
        if isinstance(responses, dict) and (401, JSON) in responses:
            responses = {**responses, **_errors(429)}
        return responses

    def _job_responses(self) -> Any:
        view: Any = self.view  # a job viewset (JobViewSetMixin)
        action = self._action()
        job = view.get_job_serializer_class()
        conflict = view.get_status_conflict_serializer_class()
        auth = _errors(401, 403)
        if action == "list":
            return {200: job, **_errors(400), **auth, **_errors(404)}
        if action == "create":
            codes = (400, 413, 415) if view.job_kind == "import" else (400, 415)
            return {201: job, **_errors(*codes), **auth}
        if action == "retrieve":
            return {200: job, **auth, **_errors(404)}
        if action == "confirm":
            return {202: job, **auth, **_errors(404, 409, conflict=conflict)}
        if action == "cancel":
            return {200: job, **auth, **_errors(404, 409, conflict=conflict)}
        if action == "destroy":
            return {204: None, **auth, **_errors(404, 409, conflict=conflict)}
        if action == "download":
            return {
                (200, "application/octet-stream"): OpenApiTypes.BINARY,
                **auth,
                **_errors(404, 409, conflict=conflict),
            }
        if action == "errors":
            return {
                (200, JSON): RowErrorPageSerializer,
                (200, "text/csv"): OpenApiTypes.BINARY,
                **auth,
                **_errors(404),
            }
        return super().get_response_serializers()
