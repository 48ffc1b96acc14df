"""The per-chunk queries of the bulk engine (see :mod:`.bulk`).

:class:`ChunkLookups` fetches, with one query per chunk each, the existing
instances of the chunk's import ids and the rows holding the chunk's values
of unique fields. :func:`fetch_existing`, the existing instances' query, also
serves the rows engine (:mod:`.rowreads`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from import_export.resources import ModelResource

from .queries import batches, filter_in
from .state import ChunkState, Column, lazy_row


@dataclass
class ExistingRows:
    """What :func:`fetch_existing` found: import id values -> the instance,
    or the exception ``get()`` raised (keys found nowhere are left out).
    ``strays``: the query also returned rows whose first import id value
    was not asked for (a collation that ignores case or trailing spaces,
    a value the column's type rounds): a key left out may then exist after
    all, and a key found once may match more rows for the database."""

    found: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    strays: bool = False


def fetch_existing(
    queryset: models.QuerySet[Any],
    attrs: list[str],
    keys: Sequence[Any],
    alias: str,
    in_size: int,
) -> ExistingRows:
    """The rows of ``queryset`` whose ``attrs`` hold one of ``keys`` (tuples
    of import id values; other items are ignored), with one query per
    ``in_size`` distinct values of the first attribute. A key with a None,
    or found more than once (several rows, or a case-insensitive match),
    is asked for with ``get()`` as django-import-export would."""
    wanted = {k for k in keys if isinstance(k, tuple)}
    existing = ExistingRows()
    found = existing.found
    if not wanted:
        return existing
    simple = [k for k in wanted if None not in k]
    firsts = {k[0] for k in simple}
    counts: dict[tuple[Any, ...], int] = {}
    first = queryset.model._meta.get_field(attrs[0])
    for part in batches(sorted(firsts, key=repr), in_size):
        for obj in filter_in(queryset, first, part, alias):
            key = tuple(getattr(obj, a) for a in attrs)
            if key[0] not in firsts:
                existing.strays = True
            counts[key] = counts.get(key, 0) + 1
            found[key] = obj
    odd = [k for k in wanted if None in k or counts.get(k, 1) > 1]
    odd += [k for k in counts if k not in wanted]
    for key in odd:
        found.pop(key, None)
        if key not in wanted:
            continue
        try:
            found[key] = queryset.get(**dict(zip(attrs, key, strict=True)))
        except ObjectDoesNotExist:
            pass
        except Exception as exc:
            found[key] = exc
    return existing


class ChunkLookups:
    """Mixin of :class:`~.bulk.BulkImporter`: its per-chunk queries."""

    if TYPE_CHECKING:
        alias: str
        headers: list[str]
        id_attrs: list[str]
        id_columns: list[Column]
        in_size: int
        lookup: bool
        model: type[models.Model]
        resource: ModelResource
        slow_kwargs: dict[str, Any]
        unique_fields: list[Any]

    # -- existing instances ---------------------------------------------------

    def _clean_ids(self, rows: Sequence[list[Any]]) -> list[Any]:
        """Per row: the import id values, None without lookup, or the
        exception ``get_instance`` would raise."""
        if not self.lookup:
            return [None] * len(rows)
        keys: list[Any] = []
        columns = self.id_columns
        headers = self.headers
        slow_kwargs = self.slow_kwargs

        def kwargs() -> dict[str, Any]:
            return slow_kwargs

        for cells in rows:
            row = lazy_row(headers, cells)
            try:
                keys.append(tuple([c.clean(cells, row, kwargs) for c in columns]))
            except Exception as exc:
                keys.append(exc)
        return keys

    def _fetch_existing(self, keys: list[Any]) -> dict[tuple[Any, ...], Any]:
        """Import id values -> the instance, or the exception ``get()`` raised."""
        queryset = self.resource.get_queryset()
        return fetch_existing(queryset, self.id_attrs, keys, self.alias, self.in_size).found

    def _fetch_unique(
        self,
        state: ChunkState,
        plans: list[tuple[list[tuple[str, Any]], dict[str, Any], Exception | None]],
        existing: dict[tuple[Any, ...], Any],
        keys: list[Any],
    ) -> None:
        """Which rows hold the chunk's values of unique fields, one query per field."""
        for model_field in self.unique_fields:
            taken = state.taken.setdefault(model_field.name, {})
            for obj in existing.values():
                if isinstance(obj, models.Model):
                    value = getattr(obj, model_field.attname)
                    taken[value] = ("pk", obj.pk)
                    state.held.setdefault(("pk", obj.pk), {})[model_field.name] = value
            if self._unique_by_lookup(model_field):
                for key in keys:
                    if isinstance(key, tuple) and key[0] not in taken:
                        taken[key[0]] = None
                continue
            names = (model_field.name, model_field.attname)
            candidates = {
                value
                for values, _errors, _exc in plans
                for attr, value in values
                if attr in names and value is not None and not isinstance(value, models.Model)
            }
            candidates -= set(taken)
            for value in candidates:
                taken[value] = None  # free unless the query finds it
            found = self.unique_query(model_field, list(candidates))
            state.unique_reads[model_field.name] = (list(candidates), found)
            for pk, value in found:
                taken[value] = ("pk", pk)
                state.held.setdefault(("pk", pk), {})[model_field.name] = value

    def unique_query(self, model_field: Any, values: list[Any]) -> list[tuple[Any, Any]]:
        """(pk, value) of the rows holding any of ``values`` in ``model_field``."""
        found: list[tuple[Any, Any]] = []
        manager = self.model._default_manager
        for part in batches(values, self.in_size):
            query = filter_in(manager.all(), model_field, part, self.alias)
            found.extend(query.values_list("pk", model_field.attname))
        return found

    def _unique_by_lookup(self, model_field: Any) -> bool:
        """Whether the existing-instance query already answered which rows
        hold the values of ``model_field`` (the single import id field, looked
        up in all rows of the default manager)."""
        return (
            self.lookup
            and self.id_attrs == [model_field.name]
            and type(self.resource).get_queryset is ModelResource.get_queryset
            and self.model._default_manager is getattr(self.model, "objects", None)
        )
