"""Dry-run chunks left unwritten, on PostgreSQL, when the database is known to accept them.

The dry run of the bulk engine (:mod:`.bulk`) writes each chunk inside a
transaction it rolls back, for two reasons: the database judges the rows as
it will in the import, and later chunks find the rows of earlier ones. When
neither needs the write, a chunk the import can replay (it has a record, see
:mod:`.replayfile`) is recorded without being written:

* the table is exactly what the model declares (:func:`table_as_declared`,
  asked of PostgreSQL's catalog once per run): the model's columns with its
  types, lengths and NOT NULL; no unique index or constraint but the primary
  key's and the one import id field's; CHECK constraints only those Django
  adds for positive integers; foreign keys checked at commit (the dry run
  never commits, so it never asked them anyway); no trigger, rule or row
  security policy;
* every value the chunk writes is one PostgreSQL takes as it is, within the
  field's limits (:func:`column_check`): text without NUL within
  ``max_length``, integers within the column's range, finite decimals within
  ``max_digits`` and ``decimal_places``, booleans, dates, aware datetimes,
  floats, None only where the column allows it;
* no two rows of the chunk write the same import id.

The import ids of an unwritten chunk are remembered as 64-bit fingerprints
(:class:`KeyFingerprints`: 16 to 32 bytes a row whatever the size of the
ids, in a table sized from the file's row count). A later chunk that names
one of them first has every unwritten chunk written from its record, then
finds their rows as it would have. Anything
else (another database, a custom widget, a chunk with an error row, a value
out of the list) writes the chunk as before.
"""

from __future__ import annotations

import datetime as dt
import math
from array import array
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connections, models, transaction
from import_export.results import RowResult

_WRITTEN = frozenset({RowResult.IMPORT_TYPE_NEW, RowResult.IMPORT_TYPE_UPDATE})
_NONE = type(None)

#: A check of one column of values: True when PostgreSQL takes them all as they are.
ColumnCheck = Callable[[Sequence[Any]], bool]


class KeyFingerprints:
    """A set of import ids kept as 64-bit fingerprints (``hash()`` of the id
    tuple) in an open-addressing table: exact up to a fingerprint collision,
    which only makes :meth:`any_of` answer True when it need not."""

    def __init__(self, expected: int = 0) -> None:
        self.count = 0
        self.table = self._table(expected)

    @staticmethod
    def _table(keys: int) -> array[int]:
        """An empty table for ``keys`` keys (at most half full)."""
        size = 1 << max(16, (2 * keys - 1).bit_length())
        return array("q", [0]) * size

    def __len__(self) -> int:
        return self.count

    def add(self, keys: Iterable[Any]) -> None:
        """Remember ``keys`` (hashable)."""
        for key in keys:
            if 2 * (self.count + 1) > len(self.table):
                self._grow()
            if self._place(self.table, hash(key) or 1):
                self.count += 1

    def any_of(self, keys: Iterable[Any]) -> bool:
        """Whether one of ``keys`` may have been added."""
        table = self.table
        for key in keys:
            fingerprint = hash(key) or 1
            if table[self._slot(table, fingerprint)] == fingerprint:
                return True
        return False

    def clear(self) -> None:
        keys = len(self.table) // 2
        del self.table  # freed before its successor is made
        self.count = 0
        self.table = self._table(keys)

    @staticmethod
    def _slot(table: array[int], fingerprint: int) -> int:
        """Where ``fingerprint`` is in ``table``, or the empty slot it would take."""
        mask = len(table) - 1
        slot = fingerprint & mask
        while table[slot] not in (0, fingerprint):
            slot = (slot + 1) & mask
        return slot

    @classmethod
    def _place(cls, table: array[int], fingerprint: int) -> bool:
        slot = cls._slot(table, fingerprint)
        if table[slot] == fingerprint:
            return False
        table[slot] = fingerprint
        return True

    def _grow(self) -> None:
        table = self._table(2 * len(self.table))
        for fingerprint in self.table:
            if fingerprint:
                self._place(table, fingerprint)
        self.table = table


# -- values PostgreSQL takes as they are ---------------------------------------------


def _kinds(column: Sequence[Any]) -> set[type]:
    kinds = set(map(type, column))
    kinds.discard(_NONE)
    return kinds


def _text(max_length: int | None) -> ColumnCheck:
    def check(column: Sequence[Any]) -> bool:
        if not _kinds(column) <= {str}:
            return False
        texts = [value for value in column if value is not None]
        if not texts:
            return True
        if max_length is not None and max(map(len, texts)) > max_length:
            return False
        return "\x00" not in "".join(texts)

    return check


def _integers(low: int | None, high: int | None) -> ColumnCheck:
    def check(column: Sequence[Any]) -> bool:
        if not _kinds(column) <= {int}:
            return False
        values = [value for value in column if value is not None]
        if not values:
            return True
        return (low is None or min(values) >= low) and (high is None or max(values) <= high)

    return check


def _decimals(max_digits: int, places: int) -> ColumnCheck:
    limit = Decimal(10) ** (max_digits - places)

    def check(column: Sequence[Any]) -> bool:
        if not _kinds(column) <= {Decimal}:
            return False
        for value in column:
            if value is None:
                continue
            if not value.is_finite() or value.as_tuple().exponent < -places:  # type: ignore[operator,unused-ignore]
                return False  # rounded (perhaps up, past the limit) by the database
            if abs(value) >= limit:
                return False
        return True

    return check


def _typed(*kinds: type) -> ColumnCheck:
    allowed = set(kinds)

    def check(column: Sequence[Any]) -> bool:
        return _kinds(column) <= allowed

    return check


def _floats(column: Sequence[Any]) -> bool:
    kinds = _kinds(column)
    if not kinds <= {float, int}:
        return False
    return all(math.isfinite(v) for v in column if type(v) is float)


def _aware(column: Sequence[Any]) -> bool:
    if not _kinds(column) <= {dt.datetime}:
        return False
    return all(value.tzinfo is not None for value in column if value is not None)


_INTEGER_FIELDS: tuple[type[models.Field[Any, Any]], ...] = (
    models.IntegerField,
    models.BigIntegerField,
    models.SmallIntegerField,
    models.PositiveIntegerField,
    models.PositiveBigIntegerField,
    models.PositiveSmallIntegerField,
    models.AutoField,
    models.BigAutoField,
    models.SmallAutoField,
)
_TEXT_FIELDS: tuple[type[models.Field[Any, Any]], ...] = (
    models.CharField,
    models.SlugField,
    models.EmailField,
    models.URLField,
    models.TextField,
)
_POSITIVE_FIELDS = (
    models.PositiveIntegerField,
    models.PositiveBigIntegerField,
    models.PositiveSmallIntegerField,
)


def column_check(field: Any, alias: str) -> ColumnCheck | None:
    """How to tell that PostgreSQL takes a column of values of ``field`` as
    they are (None values aside: see :class:`UnwrittenChunks`), or None for a
    field whose values are not told (any class but Django's own text,
    integer, decimal, float, boolean, date and datetime fields, and foreign
    keys to those)."""
    if type(field) is models.ForeignKey:
        target = field.target_field
        return None if target.is_relation else column_check(target, alias)
    kind = type(field)
    if kind in _TEXT_FIELDS:
        return _text(field.max_length)
    if kind in _INTEGER_FIELDS:
        low, high = connections[alias].ops.integer_field_range(field.get_internal_type())
        return _integers(low, high)
    if kind is models.DecimalField:
        return _decimals(field.max_digits, field.decimal_places)
    if kind is models.BooleanField:
        return _typed(bool)
    if kind is models.DateField:
        return _typed(dt.date)
    if kind is models.FloatField:
        return _floats
    if kind is models.DateTimeField and settings.USE_TZ:
        return _aware
    return None


# -- the table as the model declares it ----------------------------------------------


def table_as_declared(model: type[models.Model], alias: str, unique_column: str | None) -> bool:
    """Whether ``model``'s table on PostgreSQL ``alias`` is what the model
    declares: see the module's docstring. ``unique_column`` is the column
    of the one unique field besides the primary key (None: there is none).
    A catalog query that fails (in a savepoint) answers False."""
    try:
        with transaction.atomic(using=alias):
            return _table_as_declared(model, alias, unique_column)
    except DatabaseError:
        return False


def _table_as_declared(model: type[models.Model], alias: str, unique_column: str | None) -> bool:
    connection = connections[alias]
    table = connection.ops.quote_name(model._meta.db_table)
    fields = {f.column: f for f in model._meta.concrete_fields}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relkind, c.relrowsecurity,"
            " (SELECT count(*) FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal),"
            " (SELECT count(*) FROM pg_rewrite r WHERE r.ev_class = c.oid)"
            " FROM pg_class c WHERE c.oid = %s::regclass",
            [table],
        )
        relkind, row_security, triggers, rules = cursor.fetchone()
        if relkind != "r" or row_security or triggers or rules:
            return False
        cursor.execute(
            "SELECT attnum, attname, attnotnull, atttypid::regtype::text, atttypmod,"
            " atthasdef OR attidentity <> '' OR attgenerated <> '', attcollation"
            " FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
            " AND NOT attisdropped",
            [table],
        )
        columns = cursor.fetchall()
        numbers: dict[str, int] = {}
        for number, name, not_null, type_name, typmod, has_default, collation in columns:
            numbers[name] = number
            field = fields.pop(name, None)
            if field is None:
                if not_null and not has_default:
                    return False  # a column the model does not write refuses NULL
                continue
            if not _column_as_declared(field, connection, cursor, not_null, type_name, typmod):
                return False
            if collation not in (0, 100):  # none, or the database's default
                return False
        if fields:
            return False
        cursor.execute(
            "SELECT contype, conkey, condeferred, pg_get_constraintdef(oid)"
            " FROM pg_constraint WHERE conrelid = %s::regclass",
            [table],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT indkey::text, indisprimary, indpred IS NULL AND indexprs IS NULL"
            " FROM pg_index WHERE indrelid = %s::regclass AND indisunique",
            [table],
        )
        unique_indexes = cursor.fetchall()
    pk_number = numbers.get(str(model._meta.pk.column))
    unique_number = numbers.get(unique_column) if unique_column is not None else None
    by_number = {number: name for name, number in numbers.items()}
    by_column = {f.column: f for f in model._meta.concrete_fields}
    for kind, keys, deferred, definition in constraints:
        if kind == "p" and keys == [pk_number]:
            continue
        if kind == "u" and unique_number is not None and keys == [unique_number]:
            continue
        if kind == "f" and deferred:
            continue
        if kind == "c" and len(keys) == 1:
            field = by_column.get(by_number.get(keys[0], ""))
            if (
                field is not None
                and type(field) in _POSITIVE_FIELDS
                and definition.replace('"', "") == f"CHECK (({field.column} >= 0))"
            ):
                continue
        return False
    for keys, primary, plain in unique_indexes:
        if primary and keys == str(pk_number):
            continue
        if plain and unique_number is not None and keys == str(unique_number):
            continue
        return False
    return True


def _column_as_declared(
    field: Any, connection: Any, cursor: Any, not_null: bool, type_name: str, typmod: int
) -> bool:
    if not_null != (not field.null):
        return False
    declared = field.db_type(connection)
    if declared is None:
        return False
    cursor.execute("SELECT %s::regtype::text", [declared.split(" GENERATED")[0]])
    if cursor.fetchone()[0] != type_name:
        return False
    if type(field) is models.DecimalField:
        return bool(typmod == ((field.max_digits << 16) | field.decimal_places) + 4)
    if isinstance(field, models.CharField) and field.max_length is not None:
        return bool(typmod == field.max_length + 4)
    return typmod == -1


# -- the decision, chunk by chunk -------------------------------------------------


class UnwrittenChunks:
    """Which dry-run chunks are left unwritten (see the module's docstring).

    ``fields`` are the model fields a new row writes, but the primary key
    and the fields Django fills at save (``auto_now``), ``update_fields``
    those a changed row writes. ``unique_column`` is the column of the
    model's one unique field besides the primary key, when the chunk's
    existing rows are looked up by it among all of the table's rows (None:
    no such field; another unique field leaves every chunk written).
    ``allowed=False`` leaves every chunk written. ``expected_rows`` (the
    file's, when known) sizes the fingerprints at once.
    """

    def __init__(
        self,
        model: type[models.Model],
        alias: str,
        fields: list[Any],
        update_fields: list[Any],
        unique_column: str | None,
        *,
        allowed: bool = True,
        expected_rows: int = 0,
    ) -> None:
        self.chunks: list[int] = []
        self.keys = KeyFingerprints()
        self.checks: list[tuple[str, bool, ColumnCheck]] | None = None
        self.update_checks: list[tuple[str, bool, ColumnCheck]] = []
        if not allowed or connections[alias].vendor != "postgresql":
            return
        checks = [(f, column_check(f, alias)) for f in fields]
        if any(c is None for _f, c in checks) or any(
            f.is_relation and f.related_model is model for f in fields
        ):
            return
        if not table_as_declared(model, alias, unique_column):
            return
        self.checks = [(f.attname, bool(f.null), c) for f, c in checks if c is not None]
        self.keys = KeyFingerprints(expected_rows)  # sized only when it will be used
        wanted = {f.attname for f in update_fields}
        self.update_checks = [check for check in self.checks if check[0] in wanted]

    @property
    def possible(self) -> bool:
        """Whether any chunk of this run may be left unwritten."""
        return self.checks is not None

    def leave(
        self,
        index: int,
        creates: list[models.Model],
        updates: list[models.Model],
        keys: list[Any],
        outcomes: list[tuple[str, Any]],
    ) -> bool:
        """Whether chunk ``index`` (recorded, its writes still pending:
        ``creates`` and ``updates``) is left unwritten; its written rows'
        import ids (``keys``, with ``outcomes``) are then remembered. New
        rows with a primary key given are always written."""
        if self.checks is None or any(instance.pk is not None for instance in creates):
            return False
        written = [
            key
            for key, (kind, _detail) in zip(keys, outcomes, strict=True)
            if kind in _WRITTEN and key is not None
        ]
        if len(set(written)) != len(written):
            return False
        if not (
            self._accepted(creates, self.checks) and self._accepted(updates, self.update_checks)
        ):
            return False
        self.keys.add(key for key in written if None not in key)
        self.chunks.append(index)
        return True

    def named(self, keys: list[Any]) -> bool:
        """Whether a row of ``keys`` may name a row of an unwritten chunk
        (the unwritten chunks must then be written first)."""
        if not self.chunks or not len(self.keys):
            return False
        return self.keys.any_of(key for key in keys if isinstance(key, tuple))

    def written(self) -> None:
        """The unwritten chunks have now been written."""
        self.chunks.clear()
        self.keys.clear()

    @staticmethod
    def _accepted(
        instances: list[models.Model], checks: list[tuple[str, bool, ColumnCheck]]
    ) -> bool:
        if not instances:
            return True
        rows = [instance.__dict__ for instance in instances]
        for attname, null, check in checks:
            column = [row.get(attname, _NONE) for row in rows]
            if _NONE in column:
                return False  # not set: a default the model computes at save
            if not null and None in column:
                return False
            if not check(column):
                return False
        return True
