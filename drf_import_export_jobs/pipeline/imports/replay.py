"""Recording a chunk of the bulk path in the dry run and restoring it in the import.

See :mod:`.replayfile` for the idea and the file format. :func:`reads_digest`
sums up what a chunk read from the database; :func:`record` turns a dry-run
chunk into its staging record (None when it cannot be replayed);
:func:`restore` turns a record back into the rows to write.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from import_export.results import RowResult

from .foreignkeys import FkResolver
from .replayfile import (
    CannotRecord,
    decode_column,
    decode_value,
    digest,
    encode_column,
    encode_value,
)
from .writes import copy_fields

if TYPE_CHECKING:
    from .bulk import BulkImporter
    from .state import ChunkState

_INVALID = RowResult.IMPORT_TYPE_INVALID
_ERROR = RowResult.IMPORT_TYPE_ERROR


def _fk_part(resolver: FkResolver) -> list[Any] | None:
    answers: list[tuple[str, ...]] = []
    for value, answer in resolver.answers.items():
        if answer is resolver.model.DoesNotExist:
            answers.append((repr(value), "missing"))
        elif hasattr(answer, "pk"):
            fields = answer.__dict__
            state = sorted((k, repr(v)) for k, v in fields.items() if k != "_state")
            answers.append((repr(value), repr(answer.pk), repr(state)))
        else:
            return None  # decided row by row by the widget
    return sorted(answers)


def _parts(
    importer: BulkImporter, existing: dict[Any, Any], holders: dict[str, list[Any]]
) -> list[Any] | None:
    parts: list[Any] = []
    for column in importer.columns:
        if column.fk is not None:
            part = _fk_part(column.fk)
            if part is None:
                return None
            parts.append((column.attribute, part))
    found = []
    for key, obj in existing.items():
        if isinstance(obj, Exception):
            return None
        data = obj.__dict__
        found.append((repr(key), repr([data.get(f.attname) for f in importer.model_fields])))
    parts.append(sorted(found))
    for name in sorted(holders):
        parts.append((name, sorted(repr(tuple(h)) for h in holders[name])))
    return parts


def reads_digest(
    importer: BulkImporter, existing: dict[Any, Any], unique: dict[str, list[Any]]
) -> str | None:
    """A digest of the chunk's reads now: foreign keys, existing instances,
    and the holders of the unique values the dry run looked up (``unique``).
    None when a read cannot be summed up."""
    holders = {}
    for model_field in importer.unique_fields:
        if model_field.name in unique:
            holders[model_field.name] = importer.unique_query(
                model_field, unique[model_field.name]
            )
    parts = _parts(importer, existing, holders)
    return None if parts is None else digest(parts)


def decode_unique(encoded: dict[str, list[Any]]) -> dict[str, list[Any]]:
    return {name: [decode_value(v) for v in values] for name, values in encoded.items()}


def record(
    importer: BulkImporter,
    state: ChunkState,
    existing: dict[Any, Any],
    rows: Any,
    outcomes: list[tuple[str, Any]],
) -> dict[str, Any] | None:
    """The staging record of a dry-run chunk, or None when the import must
    process it again from the file."""
    if not state.pure or any(kind == _ERROR for kind, _ in outcomes):
        return None
    unique = {name: values for name, (values, _found) in state.unique_reads.items()}
    holders = {name: found for name, (_values, found) in state.unique_reads.items()}
    parts = _parts(importer, existing, holders)
    if parts is None:
        return None
    names = [f.attname for f in importer.model_fields]
    try:
        return {
            "rows": len(rows),
            "digest": digest(parts),
            "unique": {k: [encode_value(v) for v in vs] for k, vs in unique.items()},
            "outcomes": [
                [kind, detail.message_dict if kind == _INVALID else None]
                for kind, detail in outcomes
            ],
            "create_columns": _columns(state.creates, names),
            "update_columns": _columns(state.updates, names),
            "explicit_pk": state.explicit_pk,
        }
    except CannotRecord:
        return None


def _columns(instances: list[Any], names: list[str]) -> list[Any]:
    """The values of ``names`` of ``instances``, a column per name (see
    :func:`~.replayfile.encode_column`)."""
    if not instances:
        return []
    data = [instance.__dict__ for instance in instances]
    return [encode_column([values.get(name) for values in data]) for name in names]


def replayable_format(record: dict[str, Any]) -> bool:
    """Whether ``record`` holds its rows in the columns :func:`restore` reads."""
    return "create_columns" in record and "update_columns" in record


def restore(importer: BulkImporter, state: ChunkState, data: dict[str, Any]) -> None:
    """Fill ``state``'s writes from a record: new rows as plain values for
    COPY when possible, otherwise instances."""
    names = [f.attname for f in importer.model_fields]
    creates = [decode_column(column) for column in data["create_columns"]]
    if importer.copy_values and not data.get("explicit_pk") and creates:
        order = [f.attname for f in copy_fields(importer.model)]
        wanted = set(order)
        keep = [i for i, name in enumerate(names) if name in wanted]
        if [names[i] for i in keep] == order:
            state.copy_rows.extend(map(list, zip(*[creates[i] for i in keep], strict=True)))
            creates = []
    updates = [decode_column(column) for column in data["update_columns"]]
    for columns, target, adding in (
        (creates, state.creates, True),
        (updates, state.updates, False),
    ):
        for row in zip(*columns, strict=True):
            instance = importer.new_instance()
            instance.__dict__.update(zip(names, row, strict=True))
            if not adding:
                instance._state.adding = False
                instance._state.db = importer.alias
            target.append(instance)
    state.explicit_pk = bool(data.get("explicit_pk"))
