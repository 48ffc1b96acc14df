"""Readable messages for row errors that django-import-export reports raw.

A number cell that does not parse (``price = "cheap"``) makes the resource's
``DecimalWidget``/``IntegerWidget`` raise :class:`decimal.InvalidOperation`,
whose text is ``[<class 'decimal.ConversionSyntax'>]`` and names no column.
The job's results show the column and the value instead.
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping
from typing import Any

from import_export.results import Error


def describe_row_error(error: Error, resource: Any = None) -> tuple[str | None, str]:
    """``(field, message)`` for one row error of an import ``Result``.

    ``field`` is the resource field's attribute when the failing field could
    be found (as for validation errors), else ``None``."""
    exc = error.error
    if not isinstance(exc, decimal.InvalidOperation):
        return None, str(exc)
    row = error.row if isinstance(error.row, Mapping) else None
    if resource is not None and row is not None:
        for field in resource.get_import_fields():
            if field.column_name not in row:
                continue
            try:
                field.clean(row)
            except decimal.InvalidOperation:
                value = row[field.column_name]
                return field.attribute or field.column_name, f"{value!r} is not a number."
            except Exception:  # another field's own problem: not this error
                continue
    return None, "A value is not a number."
