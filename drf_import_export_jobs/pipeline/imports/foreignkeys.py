"""Resolving a ``ForeignKeyWidget`` column for a whole chunk with one query.

``ForeignKeyWidget.clean`` runs one ``get()`` per cell. :class:`FkResolver`
collects the chunk's distinct values, fetches the matching related objects
with one ``__in`` query (through the widget's own ``get_queryset``) and
answers each cell from that: the object (or its primary key with
``key_is_id``), or the same ``DoesNotExist`` the ``get()`` would raise.
Values the query cannot decide alone (several matches, values the lookup
field refuses, a lookup across relations) go through the widget's own
``clean()`` cell by cell.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import connections, models
from import_export import widgets

from .queries import filter_in

_SLOW = object()


class FkResolver:
    """Per-chunk lookups for one exact ``ForeignKeyWidget``."""

    def __init__(self, widget: widgets.ForeignKeyWidget) -> None:
        self.widget = widget
        self.model = widget.model
        self.target: Any = None
        if "__" not in widget.field:
            try:
                meta = self.model._meta
                self.target = meta.pk if widget.field == "pk" else meta.get_field(widget.field)
            except Exception:
                self.target = None
            if self.target is not None and (self.target.is_relation or not self.target.concrete):
                self.target = None
        self.answers: dict[Any, Any] = {}
        # The query returned objects for values it was not given (a collation
        # that ignores case or trailing spaces): a value found once may
        # match several objects for the database.
        self.strays = False

    def prepare(self, rows: Sequence[Sequence[Any]], index: int) -> None:
        """Look up every distinct non-empty value of column ``index`` of ``rows``."""
        self.answers = {}
        self.strays = False
        if self.target is None:
            return
        by_prep: dict[Any, list[Any]] = {}
        for cells in rows:
            value = cells[index]
            try:
                if not value or value in self.answers:
                    continue
            except TypeError:  # unhashable: cleaned by the widget
                continue
            try:
                prep = self.target.get_prep_value(value)
                hash(prep)
            except Exception:
                self.answers[value] = _SLOW
                continue
            self.answers[value] = None
            by_prep.setdefault(prep, []).append(value)
        if not by_prep:
            return
        try:
            queryset = self.widget.get_queryset(None, None)
        except Exception:
            self.answers = {}
            return
        matches: dict[Any, list[Any]] = {}
        strays = False
        preps = list(by_prep)
        attname = self.target.attname
        alias = queryset.db
        size = 5000 if connections[alias].vendor == "postgresql" else 500
        for start in range(0, len(preps), size):
            part = preps[start : start + size]
            for obj in filter_in(queryset, self.target, part, alias):
                key = getattr(obj, attname)
                if key not in by_prep:
                    strays = self.strays = True
                    continue
                matches.setdefault(key, []).append(obj)
        for prep, values in by_prep.items():
            found = matches.get(prep, [])
            if len(found) == 1:
                answer: Any = found[0]
            elif found or strays:
                answer = _SLOW
            else:
                answer = self.model.DoesNotExist
            for value in values:
                self.answers[value] = answer

    def found(self, value: Any) -> models.Model | None:
        """The one object the chunk's query found for ``value``, or None
        (not looked up, not found, several matches, stray matches)."""
        if self.strays:
            return None
        try:
            answer = self.answers.get(value)
        except TypeError:  # unhashable
            return None
        return answer if isinstance(answer, models.Model) else None

    def clean(self, value: Any, row: Callable[[], dict[str, Any]], kwargs: Any) -> Any:
        """What ``widget.clean(value, row)`` returns (or raises) for one cell."""
        if not value:
            return None
        try:
            answer = self.answers.get(value, _SLOW)
        except TypeError:
            answer = _SLOW
        if answer is _SLOW or answer is None:
            return self.widget.clean(value, row=row(), **kwargs)
        if answer is self.model.DoesNotExist:
            raise self.model.DoesNotExist(
                f"{self.model._meta.object_name} matching query does not exist."
            )
        return answer.pk if self.widget.key_is_id else answer
