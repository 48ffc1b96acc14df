"""Fast cell converters for django-import-export's standard widgets.

A converter turns one raw cell into the value the widget's ``clean()`` would
return, with the same result and the same exception for every input. Each one
handles the common case (a text cell in the default format) itself and hands
anything else to the widget's own ``clean()``, so unusual input behaves
exactly as in django-import-export. Widgets without a converter here (custom
widgets, subclasses) are always cleaned by their own ``clean()``.

:class:`~import_export.widgets.ForeignKeyWidget` is not converted cell by
cell: :mod:`.bulk` resolves its values for a whole chunk with one query.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.formats import get_format
from import_export import widgets

Converter = Callable[[Any], Any]

_ISO_DATE = "%Y-%m-%d"
_ISO_DATETIME = "%Y-%m-%d %H:%M:%S"


def _plain_separators() -> bool:
    """Whether ``sanitize_separators`` leaves text numbers unchanged (``.`` as
    decimal separator and no thousand separator)."""
    return get_format("DECIMAL_SEPARATOR") == "." and not settings.USE_THOUSAND_SEPARATOR


def _same(value: Any) -> Any:
    return value


def _char(widget: widgets.CharWidget) -> Converter:
    slow = widget.clean

    def convert(value: Any) -> Any:
        if type(value) is str:
            return value
        return slow(value)

    return convert


def _integer(widget: widgets.IntegerWidget) -> Converter:
    slow = widget.clean
    limit = min(sys.get_int_max_str_digits() or 4300, 4300) - 1

    def convert(value: Any) -> Any:
        if type(value) is str and value.isascii() and value.isdigit() and len(value) < limit:
            return int(value)
        return slow(value)

    return convert


def _decimal(widget: widgets.DecimalWidget, plain: bool) -> Converter:
    slow = widget.clean

    def convert(value: Any) -> Any:
        if plain and type(value) is str and value and not value.isspace():
            return Decimal(value)
        return slow(value)

    return convert


def _boolean(widget: widgets.BooleanWidget) -> Converter:
    slow = widget.clean
    null = frozenset(v for v in widget.NULL_VALUES if type(v) is str)
    true = frozenset(v for v in widget.TRUE_VALUES if type(v) is str)
    false = frozenset(v for v in widget.FALSE_VALUES if type(v) is str)

    def convert(value: Any) -> Any:
        if type(value) is str:
            if value in null:
                return None
            if value in true:
                return True
            if value in false:
                return False
        return slow(value)

    return convert


def _iso_date(value: str) -> dt.date | None:
    """``YYYY-MM-DD`` as a date, or None when the text has another shape or
    is not a real date (the widget then decides)."""
    if len(value) == 10 and value[4] == "-" and value[7] == "-" and value.isascii():
        try:
            # With this shape, fromisoformat() takes only YYYY-MM-DD digits.
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _date(widget: widgets.DateWidget) -> Converter:
    slow = widget.clean
    iso_first = bool(widget.formats) and widget.formats[0] == _ISO_DATE

    def convert(value: Any) -> Any:
        if iso_first and type(value) is str:
            parsed = _iso_date(value)
            if parsed is not None:
                return parsed
        return slow(value)

    return convert


def _datetime(widget: widgets.DateTimeWidget) -> Converter:
    slow = widget.clean
    iso_first = bool(widget.formats) and widget.formats[0] == _ISO_DATETIME
    aware = bool(settings.USE_TZ)

    def convert(value: Any) -> Any:
        if iso_first and type(value) is str and len(value) == 19 and value[10] == " ":
            day = _iso_date(value[:10])
            clock = value[11:]
            if (
                day is not None
                and clock[2] == ":"
                and clock[5] == ":"
                and clock.replace(":", "").isdigit()
                and clock.isascii()
            ):
                try:
                    moment = dt.datetime(
                        day.year,
                        day.month,
                        day.day,
                        int(clock[:2]),
                        int(clock[3:5]),
                        int(clock[6:]),
                    )
                except ValueError:
                    return slow(value)
                return timezone.make_aware(moment) if aware else moment
        return slow(value)

    return convert


def converter_for(widget: widgets.Widget) -> Converter | None:
    """A fast converter for ``widget``, or None when only its own ``clean()``
    gives the right result (custom widgets and subclasses)."""
    kind = type(widget)
    if kind is widgets.Widget:  # its clean() returns the cell as it is
        return _same
    if kind is widgets.CharWidget:
        return _char(widget)
    if kind is widgets.IntegerWidget:
        return _integer(widget)
    if kind is widgets.DecimalWidget:
        return _decimal(widget, _plain_separators())
    if kind is widgets.BooleanWidget:
        return _boolean(widget)
    if kind is widgets.DateWidget:
        return _date(widget)
    if kind is widgets.DateTimeWidget:
        return _datetime(widget)
    return None
