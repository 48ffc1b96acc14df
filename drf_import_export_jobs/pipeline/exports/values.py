"""The values_list export path: rows read with ``values_list`` instead of model instances.

A resource whose export fields are all plain model attributes (no
``dehydrate_<field>`` method, no override of ``export_field``,
``export_resource`` or ``iter_queryset``, no custom ``Field`` class) is
exported by selecting just the needed columns with
``queryset.values_list(...).iterator()`` and rendering each value with a
converter that gives the same result as the field's widget ``render``. The
common widgets (text, numbers, booleans, dates, foreign keys by a related
field) have small inlined converters; any other widget's own ``render`` is
called with the fetched value. Anything else returns ``None`` from
:func:`plan_values_export` and the export runs through the resource row by row.

A resource can opt out with the class attribute ``fast_export = False``.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from django.db import connections, models
from django.db.models.query import ModelIterable
from django.db.models.query_utils import DeferredAttribute
from django.utils.encoding import force_str
from django.utils.formats import number_format
from import_export import fields as ie_fields
from import_export import resources as ie_resources
from import_export import widgets as ie_widgets

from ..escaping import FORMULA_PREFIXES, escape_cell

logger = logging.getLogger(__name__)

Converter = Callable[[Any], Any]
# Resource methods whose override may change what a row holds.
_ROW_METHODS = ("export_field", "export_resource", "iter_queryset", "get_field_name")
_FIRST_CHARS = frozenset(p[0] for p in FORMULA_PREFIXES)
# Rows fetched per database round trip (Django's default for iterator()).
FETCH_SIZE = 2000

# How a column is escaped against formula injection.
NO_ESCAPE, TEXT_ESCAPE, ANY_ESCAPE = 0, 1, 2


class NotPlain(Exception):
    """The resource or one of its fields needs the regular export path."""


class Column:
    """One output column: the ``values_list`` lookup it reads, the converter
    applied to the fetched value (``None``: the value is written as fetched)
    and how it is escaped (``TEXT_ESCAPE`` for columns that only hold text)."""

    def __init__(self, lookup: str, converter: Converter | None, escape: int) -> None:
        self.lookup = lookup
        self.converter = converter
        self.escape = escape


class ValuesExport:
    """Reads the export rows of a queryset with ``values_list``."""

    def __init__(self, queryset: models.QuerySet[Any], columns: list[Column]) -> None:
        self.queryset = queryset
        self.columns = columns

    def rows(self) -> Iterator[list[Any]]:
        """The rendered rows, in the queryset's order."""
        lookups: list[str] = []
        for column in self.columns:
            if column.lookup not in lookups:
                lookups.append(column.lookup)
        picks = [lookups.index(column.lookup) for column in self.columns]
        identity = picks == list(range(len(lookups)))
        calls = [(i, c.converter) for i, c in enumerate(self.columns) if c.converter]
        text = [i for i, c in enumerate(self.columns) if c.escape == TEXT_ESCAPE]
        other = [i for i, c in enumerate(self.columns) if c.escape == ANY_ESCAPE]
        first_chars, escape = _FIRST_CHARS, escape_cell
        records = self.queryset.values_list(*lookups).iterator(chunk_size=FETCH_SIZE)
        for record in records:
            row = list(record) if identity else [record[j] for j in picks]
            for i, convert in calls:
                row[i] = convert(row[i])
            for i in text:
                value = row[i]
                if value and value[0] in first_chars:
                    row[i] = escape(value)
            for i in other:
                row[i] = escape(row[i])
            yield row


def plan_values_export(
    resource: ie_resources.Resource,
    queryset: Any,
    export_fields: list[ie_fields.Field],
    *,
    native: bool,
    escape: bool,
) -> ValuesExport | None:
    """A :class:`ValuesExport` equivalent to exporting ``queryset`` through
    ``resource``, or ``None`` when the resource needs the regular path.

    Cells are rendered for a native-type format (XLSX, ODS) when ``native``
    and escaped against formula injection when ``escape``.
    """
    try:
        _check_resource(resource, queryset)
        vendor = connections[queryset.db].vendor
        planner = ValuesPlanner(queryset.model, native=native, escape=escape, vendor=vendor)
        columns = [planner.column(resource, field) for field in export_fields]
    except NotPlain as exc:
        logger.debug("%s exports through the resource: %s", type(resource).__name__, exc)
        return None
    return ValuesExport(queryset.prefetch_related(None), columns)


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


class ValuesPlanner:
    """Builds one :class:`Column` per export field, or raises :class:`NotPlain`."""

    def __init__(
        self, model: type[models.Model], *, native: bool, escape: bool, vendor: str
    ) -> None:
        self.model = model
        self.native = native
        self.escape = escape
        self.vendor = vendor
        self.plain_numbers = _plain_number_format()

    def column(self, resource: ie_resources.Resource, field: ie_fields.Field) -> Column:
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
            return self._made("pk", lambda value: constant, ANY_ESCAPE)
        lookup, final = _resolve(self.model, field.attribute)
        if hasattr(final, "from_db_value"):
            raise NotPlain(f"field {name!r} reads a {type(final).__name__} (from_db_value)")
        if final.is_relation and lookup.rsplit("__", 1)[-1] == final.name:
            return self._related(name, lookup, final, widget)
        if not final.is_relation and type(final).descriptor_class is not DeferredAttribute:
            raise NotPlain(f"field {name!r} reads a {type(final).__name__} attribute")
        return self._value(widget, final, lookup)

    def _made(self, lookup: str, converter: Converter | None, escape: int) -> Column:
        return Column(lookup, converter, escape if self.escape else NO_ESCAPE)

    def _related(
        self, name: str, lookup: str, final: models.Field[Any, Any], widget: ie_widgets.Widget
    ) -> Column:
        """ForeignKeyWidget(field=...) reads the related field through a join:
        ``None`` there means no related object as long as that field is not
        nullable (the widget then renders ``""``)."""
        if not (
            isinstance(final, models.ForeignKey)
            and type(widget).render is ie_widgets.ForeignKeyWidget.render
            and not widget.key_is_id
            and not widget.use_natural_foreign_keys
        ):
            raise NotPlain(f"field {name!r} renders a related object")
        target_path, target = _resolve(final.related_model, widget.field)
        if target.null or target.is_relation or hasattr(target, "from_db_value"):
            raise NotPlain(f"field {name!r} renders a nullable or computed related field")
        converter = _none_as_empty if self.native else None  # csv writes None as ""
        text = isinstance(target, (models.CharField, models.TextField))
        return self._made(
            f"{lookup}__{target_path}", converter, TEXT_ESCAPE if text else ANY_ESCAPE
        )

    def _value(
        self, widget: ie_widgets.Widget, final: models.Field[Any, Any], lookup: str
    ) -> Column:
        kind = type(widget)
        native = self.native
        if kind in (ie_widgets.Widget, ie_widgets.CharWidget) and widget.coerce_to_string:
            if isinstance(final, (models.CharField, models.TextField)):
                return self._made(lookup, _none_as_empty if final.null else None, TEXT_ESCAPE)
            return self._made(lookup, _text, TEXT_ESCAPE)
        if native and kind in _NATIVE_AS_IS:
            return self._made(lookup, None, NO_ESCAPE)
        if not native and widget.coerce_to_string:
            column = self._as_string(kind, final, lookup, widget)
            if column is not None:
                return column
        render = widget.render

        def render_value(value: Any) -> Any:
            return render(value, force_native_type=native)

        return self._made(lookup, render_value, ANY_ESCAPE)

    def _as_string(
        self, kind: type, final: models.Field[Any, Any], lookup: str, widget: ie_widgets.Widget
    ) -> Column | None:
        """Columns of CSV-like formats whose text can never look like a formula;
        ``None`` is left for csv to write as an empty cell."""
        if kind is ie_widgets.BooleanWidget and isinstance(final, models.BooleanField):
            return Column(lookup, _BOOLEAN_TEXT.get, NO_ESCAPE)
        if kind is ie_widgets.DateWidget and type(final) is models.DateField:
            # csv writes a date as str(date), its isoformat().
            return Column(lookup, None, NO_ESCAPE) if _iso_dates(widget.formats[0]) else None
        if not self.plain_numbers:
            return None
        if kind is ie_widgets.IntegerWidget and isinstance(final, models.IntegerField):
            return Column(lookup, None, NO_ESCAPE)
        if (
            kind is ie_widgets.DecimalWidget
            and isinstance(final, models.DecimalField)
            and final.max_digits is not None
            and final.max_digits <= 100
        ):
            return Column(
                lookup, None if self._decimal_as_str(final) else _decimal_text, NO_ESCAPE
            )
        return None

    def _decimal_as_str(self, final: models.DecimalField[Any, Any]) -> bool:
        """Whether csv may write the fetched Decimal as it is: ``str()`` gives
        the plain notation of ``_decimal_text`` when the exponent is between
        -6 and 0, and these backends return a DecimalField's values with
        exactly ``decimal_places`` digits after the point."""
        return self.vendor in _SCALED_DECIMALS and 0 <= final.decimal_places <= 6


def _none_as_empty(value: Any) -> Any:
    return "" if value is None else value


def _text(value: Any) -> Any:
    return "" if value is None else force_str(value)


def _decimal_text(value: Any) -> Any:
    # What number_format() gives without grouping and with a "." separator.
    return None if value is None else format(value, "f")


# Backends whose DecimalField values come back quantized to decimal_places.
_SCALED_DECIMALS = frozenset({"postgresql", "sqlite", "mysql"})

# BooleanWidget's text; anything else (None) is written as an empty cell.
_BOOLEAN_TEXT = {True: "1", False: "0"}


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
