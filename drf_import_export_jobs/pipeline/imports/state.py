"""The per-chunk state of the bulk engine (see :mod:`.bulk`)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.db.models.base import ModelState
from django.db.models.fields import NOT_PROVIDED
from import_export import fields as ie_fields

from .foreignkeys import FkResolver


@dataclass
class Column:
    """How one import field's cell becomes an attribute value."""

    field: ie_fields.Field
    index: int
    attribute: str
    convert: Callable[[Any], Any] | None  # None: the widget's own clean(value, row=...)
    fk: FkResolver | None = None

    def clean(self, cells: list[Any], row: Callable[[], dict[str, Any]], kwargs: Any) -> Any:
        """What ``Field.clean(row)`` returns for this cell; ``kwargs()`` gives
        the keyword arguments widgets get."""
        value = cells[self.index]
        if self.convert is not None:
            value = self.convert(value)
        elif self.fk is not None:
            value = self.fk.clean(value, row, kwargs)
        else:
            value = self.field.widget.clean(value, row=row(), **kwargs())
        default = self.field.default
        if default is not NOT_PROVIDED and (value is None or value == ""):
            return default() if callable(default) else default
        return value


@dataclass
class Entry:
    """The state of one model row as the chunk has left it so far."""

    instance: models.Model
    token: Any
    pending: bool = False


@dataclass
class ChunkState:
    rows: dict[tuple[Any, ...], Entry] = field(default_factory=dict)
    # unique field name -> value -> token of the row holding it
    taken: dict[str, dict[Any, Any]] = field(default_factory=dict)
    held: dict[Any, dict[str, Any]] = field(default_factory=dict)
    freed: set[tuple[str, Any]] = field(default_factory=set)
    known_fk: dict[str, set[Any]] = field(default_factory=dict)
    creates: list[models.Model] = field(default_factory=list)
    updates: list[models.Model] = field(default_factory=list)
    pending: list[Entry] = field(default_factory=list)
    explicit_pk: bool = False
    pure: bool = True  # the outcome depends only on the file and the chunk's reads
    copy_rows: list[list[Any]] = field(default_factory=list)  # new rows as plain values
    unique_reads: dict[str, tuple[list[Any], list[tuple[Any, Any]]]] = field(default_factory=dict)


def clone_instance(instance: models.Model) -> models.Model:
    """A copy to change, as django-import-export would fetch it again."""
    clone = instance.__class__.__new__(instance.__class__)
    clone.__dict__.update(instance.__dict__)
    state = ModelState()
    state.db = instance._state.db
    state.adding = instance._state.adding
    state.fields_cache = dict(instance._state.fields_cache)
    clone._state = state
    return clone


def lazy_row(headers: list[str], cells: list[Any]) -> Callable[[], dict[str, Any]]:
    made: list[dict[str, Any]] = []

    def row() -> dict[str, Any]:
        if not made:
            made.append(OrderedDict(zip(headers, cells, strict=False)))
        return made[0]

    return row
