"""Building and checking the queryset of an export.

A resource may declare, besides django-import-export's own options:

- ``filterset_class``: a django-filter ``FilterSet`` that export ``filters``
  are validated and applied with;
- ``ordering_fields``: the names an export may be ordered by (``name`` or
  ``-name``); without it, the model's concrete fields that the resource exports.

Whatever the resource declares, ``filters`` may also hold ``pk__in``: a list of
primary keys the export is narrowed to (the admin's "export selected" and
filtered changelists store the rows this way).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django import forms
from django.db import models
from import_export.resources import Resource

_SCALARS = (str, int, float, bool, type(None))
#: The filter every export takes: a list of primary keys to narrow it to.
PK_FILTER = "pk__in"


def allowed_ordering(resource: Resource) -> list[str]:
    """The field names an export of ``resource`` may be ordered by."""
    declared = getattr(resource, "ordering_fields", None)
    if declared is not None:
        return list(declared)
    model = getattr(resource._meta, "model", None)
    if model is None:
        return []
    concrete = {f.name for f in model._meta.concrete_fields}
    return [
        field.attribute
        for field in resource.get_export_fields()
        if field.attribute and field.attribute in concrete
    ]


def export_field_names(resource: Resource) -> list[str]:
    """Names accepted in an export's ``fields`` (resource field names)."""
    return [resource.get_field_name(field) for field in resource.get_export_fields()]


def check_export_options(
    resource: Resource,
    filters: Mapping[str, Any] | None,
    ordering: Sequence[str] | None,
    fields: Sequence[str] | None,
) -> dict[str, list[str]]:
    """Problems with export options, keyed by option name (empty when fine)."""
    problems: dict[str, list[str]] = {}
    if fields:
        known = export_field_names(resource)
        unknown = [f for f in fields if f not in known]
        if unknown:
            problems["fields"] = [
                f"Unknown field(s): {', '.join(map(str, unknown))}. Known: {', '.join(known)}."
            ]
        repeated: list[Any] = []
        for index, name in enumerate(fields):
            if name in fields[:index] and name not in repeated:
                repeated.append(name)
        if repeated:
            problems.setdefault("fields", []).append(
                f"Duplicate field(s): {', '.join(map(str, repeated))}. Name each field once."
            )
    if ordering:
        allowed = allowed_ordering(resource)
        bad = [o for o in ordering if not isinstance(o, str) or o.lstrip("-") not in allowed]
        if bad:
            problems["ordering"] = [
                f"Cannot order by {', '.join(map(str, bad))}. Allowed: {', '.join(allowed)}."
            ]
    filters = dict(filters or {})
    if PK_FILTER in filters:
        keys = filters.pop(PK_FILTER)
        if not isinstance(keys, list) or not all(
            isinstance(k, str | int) and not isinstance(k, bool) for k in keys
        ):
            problems["filters"] = [f"{PK_FILTER}: Expected a list of primary keys."]
            return problems
    if filters:
        filterset_class = getattr(resource, "filterset_class", None)
        if filterset_class is None:
            problems["filters"] = [
                f"{type(resource).__name__} declares no filterset_class, so it takes no filters."
            ]
        else:
            filterset = filterset_class(data=dict(filters), queryset=resource.get_queryset())
            shapes = _bad_filter_values(filterset, filters)
            if shapes:
                problems["filters"] = shapes
                return problems
            if not filterset.is_valid():
                problems["filters"] = [
                    f"{name}: {' '.join(str(m) for m in messages)}"
                    for name, messages in filterset.errors.items()
                ]
            unknown = sorted(set(filters) - set(filterset.filters))
            if unknown:
                problems.setdefault("filters", []).append(
                    f"Unknown filter(s): {', '.join(unknown)}. "
                    f"Known: {', '.join(filterset.filters)}."
                )
    return problems


def _bad_filter_values(filterset: Any, filters: Mapping[str, Any]) -> list[str]:
    """Messages for filter values of the wrong JSON type: each value is text,
    a number, a boolean or null; a list of those only for a filter that takes
    several values (a multiple choice filter)."""
    problems = []
    for name, value in filters.items():
        if isinstance(value, _SCALARS):
            continue
        item = filterset.filters.get(name)
        several = item is not None and issubclass(item.field_class, forms.MultipleChoiceField)
        if isinstance(value, list) and several:
            if all(isinstance(v, _SCALARS) and not isinstance(v, bool) for v in value):
                continue
            problems.append(f"{name}: Expected a list of texts or numbers.")
            continue
        expected = "text, a number, a boolean, null" + (" or a list" if several else "")
        problems.append(f"{name}: Expected {expected}, got {type(value).__name__}.")
    return problems


def export_queryset(
    resource: Resource, filters: Mapping[str, Any] | None, ordering: Sequence[str] | None
) -> models.QuerySet[Any]:
    """The resource's queryset, narrowed to the ``pk__in`` keys if given,
    filtered, passed through ``filter_export()`` and ordered (always ending
    with the primary key, for a stable order). Check the options first with
    :func:`check_export_options`."""
    queryset = resource.get_queryset()
    filters = dict(filters or {})
    if PK_FILTER in filters:
        queryset = queryset.filter(pk__in=filters.pop(PK_FILTER))
    filterset_class = getattr(resource, "filterset_class", None)
    if filters and filterset_class is not None:
        queryset = filterset_class(data=dict(filters), queryset=queryset).qs
    queryset = resource.filter_export(queryset)
    ordered: models.QuerySet[Any] = queryset.order_by(*(ordering or ()), "pk")
    return ordered
