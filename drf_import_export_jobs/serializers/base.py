"""The base of serializers whose choices depend on a viewset's resource."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from ..fields import ExportFiltersField


class ResourceBoundSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """Base of the serializers whose choices depend on the viewset's resource.

    :func:`for_resource` makes a subclass with these attributes set.
    """

    component_prefix: ClassVar[str] = ""
    file_formats: ClassVar[Sequence[str]] = ()
    field_names: ClassVar[Sequence[str]] = ()
    ordering_names: ClassVar[Sequence[str]] = ()
    filter_names: ClassVar[Sequence[str]] = ()
    #: The resource's django-filter ``FilterSet`` (export filters), if any.
    filterset_class: ClassVar[Any] = None
    #: Component name after the prefix, e.g. ``ImportJob`` -> ``BookImportJob``.
    component_suffix: ClassVar[str] = ""

    def filters_field(self, **kwargs: Any) -> ExportFiltersField:
        """The export ``filters`` field, documented as ``<prefix>ExportFilters``."""
        return ExportFiltersField(
            filterset_class=self.filterset_class,
            component_name=f"{self.component_prefix}ExportFilters",
            **kwargs,
        )


def for_resource(
    base: type[ResourceBoundSerializer],
    prefix: str,
    file_formats: Sequence[str] = (),
    field_names: Sequence[str] = (),
    ordering_names: Sequence[str] = (),
    filter_names: Sequence[str] = (),
    filterset_class: Any = None,
) -> type[ResourceBoundSerializer]:
    """A subclass of ``base`` for one resource, named ``<prefix><component_suffix>``
    in the schema. Viewsets call it (through a cache) when a request or the
    schema needs a serializer."""
    suffix = base.component_suffix or base.__name__.removesuffix("Serializer")
    attrs = {
        "__module__": base.__module__,
        "__doc__": base.__doc__,
        "component_prefix": prefix,
        "file_formats": tuple(file_formats),
        "field_names": tuple(field_names),
        "ordering_names": tuple(ordering_names),
        "filter_names": tuple(filter_names),
        "filterset_class": filterset_class,
    }
    cls = type(f"{prefix}{base.__name__}", (base,), attrs)
    return extend_schema_serializer(component_name=f"{prefix}{suffix}")(cls)


class StaffOnlyTraceback:
    """Blanks ``traceback`` in a representation unless the user is staff."""

    def hide_traceback(self, data: dict[str, Any]) -> dict[str, Any]:
        request = self.context.get("request")  # type: ignore[attr-defined]
        user = getattr(request, "user", None)
        if "traceback" in data and not getattr(user, "is_staff", False):
            data["traceback"] = ""
        return data
