"""The export fast path: rows read with ``values_list`` instead of model instances.

A resource whose export fields are all plain model attributes (no
``dehydrate_<field>`` method, no override of ``export_field``,
``export_resource`` or ``iter_queryset``, no custom ``Field`` class) is
exported by selecting just the needed columns with
``queryset.values_list(...).iterator()`` and rendering each value with a
converter that gives the same result as the field's widget ``render``. The
common widgets (text, numbers, booleans, dates, foreign keys by a related
field) have small inlined converters; any other widget's own ``render`` is
called with the fetched value. Anything else returns ``None`` from
:func:`plan_fast_export` and the export runs through the resource row by row.

A resource can opt out with the class attribute ``fast_export = False``.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from django.db import models
from django.db.models.query import ModelIterable
from django.db.models.query_utils import DeferredAttribute
from django.utils.encoding import force_str
from django.utils.formats import number_format
from import_export import fields as ie_fields
from import_export import resources as ie_resources
from import_export import widgets as ie_widgets

from .escaping import FORMULA_PREFIXES, escape_cell

logger = logging.getLogger(__name__)

Converter = Callable[[tuple[Any, ...]], Any]
# Resource methods whose override may change what a row holds.
_ROW_METHODS = ("export_field", "export_resource", "iter_queryset", "get_field_name")
_FIRST_CHARS = frozenset(p[0] for p in FORMULA_PREFIXES)


class NotPlain(Exception):
    """The resource or one of its fields needs the regular export path."""


class FastExport:
    """Reads the export rows of a queryset with ``values_list``.

    ``columns`` are the selected lookups; each converter takes one fetched
    tuple and returns one output cell.
    """

    def __init__(
        self, queryset: models.QuerySet[Any], columns: list[str], converters: list[Converter]
    ) -> None:
        self.queryset = queryset
        self.columns = columns
        self.converters = converters

    def rows(self, chunk_size: int) -> Iterator[list[Any]]:
        """The rendered rows, fetched ``chunk_size`` at a time."""
        converters = self.converters
        values = self.queryset.values_list(*self.columns).iterator(chunk_size=chunk_size)
        for record in values:
            yield [convert(record) for convert in converters]


def plan_fast_export(
    resource: ie_resources.Resource,
    queryset: Any,
    export_fields: list[ie_fields.Field],
    *,
    native: bool,
    escape: bool,
) -> FastExport | None:
    """A :class:`FastExport` equivalent to exporting ``queryset`` through
    ``resource``, or ``None`` when the resource needs the regular path.

    Cells are rendered for a native-type format (XLSX, ODS) when ``native``
    and escaped against formula injection when ``escape``.
    """
    try:
        _check_resource(resource, queryset)
        planner = _Planner(queryset.model, native=native, escape=escape)
        converters = [planner.converter(resource, field) for field in export_fields]
    except NotPlain as exc:
        logger.debug("%s exports through the resource: %s", type(resource).__name__, exc)
        return None
    return FastExport(queryset.prefetch_related(None), planner.columns, converters)


def _check_resource(resource: ie_resources.Resource, queryset: Any) -> None:
    if not getattr(resource, "fast_export", True):
        raise NotPlain("fast_export is False")
    if not isinstance(queryset, models.QuerySet) or queryset._iterable_class is not ModelIterable:
        raise NotPlain("the export queryset is not a plain model queryset")
    if queryset.query.distinct:
        raise NotPlain("the export queryset is distinct()")
    base = ie_resources.Resource
    for name in _ROW_METHODS:
        if getattr(type(resource), name) is not getattr(base, name):
            raise NotPlain(f"{name}() is overridden")


class _Planner:
    """Collects the ``values_list`` columns and builds one converter per field."""

    def __init__(self, model: type[models.Model], *, native: bool, escape: bool) -> None:
        self.model = model
        self.native = native
        self.escape = escape
        self.columns: list[str] = []
        self.plain_numbers = _plain_number_format()

    def column(self, path: str) -> int:
        if path not in self.columns:
            self.columns.append(path)
        return self.columns.index(path)

    def converter(self, resource: ie_resources.Resource, field: ie_fields.Field) -> Converter:
        name = resource.get_field_name(field)
        dehydrate = field.get_dehydrate_method(name)
        if callable(dehydrate) or getattr(resource, dehydrate, None) is not None:
            raise NotPlain(f"field {name!r} has a dehydrate method")
        cls, base = type(field), ie_fields.Field
        if cls.export is not base.export or cls.get_value is not base.get_value:
            raise NotPlain(f"field {name!r} is a custom Field class")
        widget = field.widget
        if field.attribute is None:
            constant = widget.render(None, force_native_type=self.native)
            return self._escaped(lambda record: constant)
        path, final = _resolve(self.model, field.attribute)
        if final.is_relation and path.rsplit("__", 1)[-1] == final.name:
            return self._relation(name, path, final, widget)
        if not final.is_relation and type(final).descriptor_class is not DeferredAttribute:
            raise NotPlain(f"field {name!r} reads a {type(final).__name__} attribute")
        index = self.column(path)
        return self._value(widget, final, index)

    def _relation(
        self, name: str, path: str, final: models.Field[Any, Any], widget: ie_widgets.Widget
    ) -> Converter:
        if not (
            isinstance(final, models.ForeignKey)
            and type(widget).render is ie_widgets.ForeignKeyWidget.render
            and not widget.key_is_id
            and not widget.use_natural_foreign_keys
        ):
            raise NotPlain(f"field {name!r} renders a related object")
        target_model = final.related_model
        target_path, _ = _resolve(target_model, widget.field)
        key = self.column(path)
        value = self.column(f"{path}__{target_path}")

        def render_related(record: tuple[Any, ...]) -> Any:
            return "" if record[key] is None else record[value]

        return self._escaped(render_related)

    def _value(
        self, widget: ie_widgets.Widget, final: models.Field[Any, Any], index: int
    ) -> Converter:
        kind = type(widget)
        native = self.native
        if kind in (ie_widgets.Widget, ie_widgets.CharWidget) and widget.coerce_to_string:
            return self._text(index)
        if native and kind in _NATIVE_AS_IS:
            return lambda record: record[index]
        if not native and widget.coerce_to_string:
            converter = self._as_string(kind, final, index, widget)
            if converter is not None:
                return converter
        render = widget.render

        def render_value(record: tuple[Any, ...]) -> Any:
            return render(record[index], force_native_type=native)

        return self._escaped(render_value)

    def _text(self, index: int) -> Converter:
        if not self.escape:

            def text(record: tuple[Any, ...]) -> Any:
                value = record[index]
                if type(value) is str:
                    return value
                return "" if value is None else force_str(value)

            return text
        first_chars = _FIRST_CHARS

        def escaped_text(record: tuple[Any, ...]) -> Any:
            value = record[index]
            if type(value) is not str:
                value = "" if value is None else force_str(value)
            if value and value[0] in first_chars:
                return escape_cell(value)
            return value

        return escaped_text

    def _as_string(
        self, kind: type, final: models.Field[Any, Any], index: int, widget: ie_widgets.Widget
    ) -> Converter | None:
        """Converters for CSV-like formats that never produce formula-like text."""
        if kind is ie_widgets.BooleanWidget and isinstance(final, models.BooleanField):
            booleans = {True: "1", False: "0"}
            return lambda record: booleans.get(record[index], "")
        if kind is ie_widgets.DateWidget and type(final) is models.DateField:
            if _iso_dates(widget.formats[0]):
                return lambda record: record[index].isoformat() if record[index] else ""
            return None
        if not self.plain_numbers:
            return None
        if kind is ie_widgets.IntegerWidget and isinstance(final, models.IntegerField):

            def integer(record: tuple[Any, ...]) -> Any:
                value = record[index]
                return "" if value is None else str(value)

            return integer
        if (
            kind is ie_widgets.DecimalWidget
            and isinstance(final, models.DecimalField)
            and final.max_digits is not None
            and final.max_digits <= 100
        ):

            def decimal(record: tuple[Any, ...]) -> Any:
                value = record[index]
                return "" if value is None else format(value, "f")

            return decimal
        return None

    def _escaped(self, converter: Converter) -> Converter:
        if not self.escape:
            return converter

        def escaped(record: tuple[Any, ...]) -> Any:
            return escape_cell(converter(record))

        return escaped


# Widgets whose render returns the value unchanged for native-type formats.
_NATIVE_AS_IS = frozenset(
    {
        ie_widgets.NumberWidget,
        ie_widgets.IntegerWidget,
        ie_widgets.DecimalWidget,
        ie_widgets.FloatWidget,
        ie_widgets.BooleanWidget,
        ie_widgets.DateWidget,
    }
)


def _resolve(model: type[models.Model], attribute: str) -> tuple[str, models.Field[Any, Any]]:
    """The ``values_list`` lookup of a field's ``attribute`` and its model
    field; raises :class:`NotPlain` unless it follows forward foreign keys
    to a concrete field."""
    parts = attribute.split("__")
    current = model
    final: Any = None
    for position, part in enumerate(parts):
        try:
            final = current._meta.get_field(part)
        except Exception as exc:
            raise NotPlain(f"{attribute!r} is not a model field") from exc
        if not getattr(final, "concrete", False) or final.many_to_many or final.one_to_many:
            raise NotPlain(f"{attribute!r} is not a concrete forward field")
        if position < len(parts) - 1:
            if not final.is_relation:
                raise NotPlain(f"{attribute!r} goes through a non-relation")
            current = final.related_model
    return attribute, final


def _plain_number_format() -> bool:
    """Whether ``number_format`` gives ``str()``-like output in the active locale."""
    return (
        number_format(Decimal("-1234567.50")) == "-1234567.50"
        and number_format(1234567) == "1234567"
    )


def _iso_dates(date_format: str) -> bool:
    """Whether the DateWidget format renders dates as ``isoformat()`` does."""
    widget = ie_widgets.DateWidget(format=date_format)
    probes = (datetime.date(1, 2, 3), datetime.date(2024, 12, 31))
    return all(widget.render(day) == day.isoformat() for day in probes)
