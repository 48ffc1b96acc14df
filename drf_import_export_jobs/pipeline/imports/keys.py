"""The import keys of a chunk's rows: which rows name the same instance.

Tasks that import one file's chunks at once must never run two chunks that
name the same instance (the same values of the resource's
``import_id_fields``) side by side: the later chunk has to see what the
earlier one wrote, as in a run of one task. :func:`key_reader` turns a
row's cells into its key, read as the resource's widgets read it for the
plain widgets (so ``"007"`` and ``"7"`` are one integer key) and as
trimmed text otherwise. Two rows with one key always get equal keys; two
keys that are equal for other reasons only make two chunks wait for each
other.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from import_export import widgets
from import_export.resources import Resource

#: Widgets whose ``clean()`` reads a cell without queries or side effects.
PLAIN_WIDGETS = (
    widgets.CharWidget,
    widgets.IntegerWidget,
    widgets.DecimalWidget,
    widgets.FloatWidget,
    widgets.BooleanWidget,
    widgets.DateWidget,
    widgets.DateTimeWidget,
    widgets.TimeWidget,
)

#: Reads a row's cells into its import key (None: the row names no instance).
KeyReader = Callable[[list[Any]], Hashable | None]


def _cell_reader(index: int, widget: Any) -> Callable[[list[Any]], Hashable]:
    plain = isinstance(widget, PLAIN_WIDGETS)

    def read(cells: list[Any]) -> Hashable:
        value = cells[index] if index < len(cells) else None
        if plain:
            try:
                cleaned = widget.clean(value)
            except Exception:
                cleaned = None
            if cleaned is not None:
                return cleaned  # type: ignore[no-any-return]
        return "" if value is None else str(value).strip()

    return read


def key_reader(resource: Resource, headers: list[str]) -> KeyReader:
    """How to read the import key of a row of a file with ``headers`` (the
    column names the resource reads). A file without the key's columns
    names no instance: every row is new."""
    readers = []
    for name in resource.get_import_id_fields():
        field = resource.fields.get(name)
        if field is None or field.column_name not in headers:
            return lambda cells: None
        readers.append(_cell_reader(headers.index(field.column_name), field.widget))

    def read(cells: list[Any]) -> Hashable | None:
        key = tuple(reader(cells) for reader in readers)
        return None if all(part in ("", None) for part in key) else key

    return read


def chunk_keys(rows: list[list[Any]], read: KeyReader) -> frozenset[Hashable]:
    """The import keys the rows of one chunk name."""
    return frozenset(key for key in map(read, rows) if key is not None)
