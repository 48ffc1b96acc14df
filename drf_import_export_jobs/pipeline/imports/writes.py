"""Writing the rows of the bulk engine with few statements.

Django's ``bulk_update`` builds a ``CASE WHEN pk = ... THEN ...`` expression
per field and row, which costs more in Python and in the database than
writing the rows one by one once batches grow. :func:`update_rows` sends one
``UPDATE ... FROM`` statement per batch instead: on PostgreSQL with one array
parameter per column, on SQLite 3.33 or later with a ``VALUES`` list; each
value is prepared by its field as ``save()`` prepares it
(``get_db_prep_save``). Other backends use ``bulk_update``.
:func:`insert_rows` writes new rows with PostgreSQL's ``COPY``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.db import connections, models

# Bound parameters per statement, under the backends' limits
# (PostgreSQL 65535, SQLite 32766).
MAX_PARAMETERS = 30_000


def _supports_update_from(vendor: str, connection: object) -> bool:
    if vendor == "postgresql":
        return True
    if vendor == "sqlite":
        version = getattr(getattr(connection, "Database", None), "sqlite_version_info", (0,))
        return tuple(version) >= (3, 33)
    return False


def update_rows(
    model: type[models.Model],
    instances: Sequence[models.Model],
    field_names: Sequence[str],
    alias: str,
    batch_size: int | None = None,
) -> None:
    """Write ``field_names`` of ``instances`` (saved rows, by primary key)."""
    if not instances or not field_names:
        return
    connection = connections[alias]
    if not _supports_update_from(connection.vendor, connection):
        model._base_manager.db_manager(alias).bulk_update(
            instances, list(field_names), batch_size=batch_size
        )
        return
    meta = model._meta
    fields: list[Any] = [meta.get_field(name) for name in field_names]
    columns: list[Any] = [meta.pk, *fields]
    qn = connection.ops.quote_name
    postgres = connection.vendor == "postgresql"

    def placeholder(field: models.Field[Any, Any]) -> str:
        return f"%s::{field.cast_db_type(connection)}" if postgres else "%s"

    row_sql = "(" + ", ".join(placeholder(f) for f in columns) + ")"
    names = ", ".join(qn(f"c{i}") for i in range(len(columns)))
    assignments = ", ".join(
        f"{qn(f.column)} = v.{qn(f'c{i}')}" for i, f in enumerate(columns) if i
    )
    table = qn(str(meta.db_table))
    per_statement = max(1, MAX_PARAMETERS // len(columns))
    if batch_size:
        per_statement = min(per_statement, batch_size)
    if postgres:
        _update_by_arrays(connection, meta, columns, instances, batch_size)
        return
    with connection.cursor() as cursor:
        for start in range(0, len(instances), per_statement):
            batch = instances[start : start + per_statement]
            params: list[Any] = []
            for instance in batch:
                for field in columns:
                    value = getattr(instance, field.attname)
                    params.append(field.get_db_prep_save(value, connection))
            sql = (
                f"WITH v ({names}) AS (VALUES {', '.join([row_sql] * len(batch))}) "
                f"UPDATE {table} SET {assignments} FROM v "
                f"WHERE {table}.{qn(columns[0].column)} = v.{qn('c0')}"
            )
            cursor.execute(sql, params)


def _update_by_arrays(
    connection: Any,
    meta: Any,
    columns: list[Any],
    instances: Sequence[models.Model],
    batch_size: int | None,
) -> None:
    """PostgreSQL: one array parameter per column, unnested into rows (a
    short statement, whatever the number of rows)."""
    qn = connection.ops.quote_name
    table = qn(str(meta.db_table))
    arrays = ", ".join(
        f"unnest(%s::{f.cast_db_type(connection)}[]) AS {qn(f'c{i}')}"
        for i, f in enumerate(columns)
    )
    assignments = ", ".join(
        f"{qn(f.column)} = v.{qn(f'c{i}')}" for i, f in enumerate(columns) if i
    )
    sql = (
        f"UPDATE {table} SET {assignments} FROM (SELECT {arrays}) AS v "
        f"WHERE {table}.{qn(columns[0].column)} = v.{qn('c0')}"
    )
    size = batch_size or 5000
    with connection.cursor() as cursor:
        for start in range(0, len(instances), size):
            batch = instances[start : start + size]
            params = [_column_values(f, batch, connection) for f in columns]
            cursor.execute(sql, params)


def _column_values(field: Any, batch: Sequence[models.Model], connection: Any) -> list[Any]:
    """``field``'s prepared values for ``batch`` (PostgreSQL)."""
    values = [i.__dict__.get(field.attname, _MISSING) for i in batch]
    if field.get_internal_type() in COPY_TYPES and all(type(v) in _READY for v in values):
        return values
    return [field.get_db_prep_save(getattr(i, field.attname), connection) for i in batch]


# Field types whose prepared values psycopg's COPY writes as INSERT would.
COPY_TYPES = frozenset(
    {
        "CharField",
        "TextField",
        "SlugField",
        "EmailField",
        "URLField",
        "DecimalField",
        "DateField",
        "DateTimeField",
        "TimeField",
        "BooleanField",
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveBigIntegerField",
        "PositiveSmallIntegerField",
        "FloatField",
        "ForeignKey",
        "OneToOneField",
        "AutoField",
        "BigAutoField",
        "SmallAutoField",
    }
)


def can_copy(model: type[models.Model], alias: str) -> bool:
    """Whether :func:`insert_rows` may use COPY for ``model`` on ``alias``."""
    if connections[alias].vendor != "postgresql":
        return False
    return all(f.get_internal_type() in COPY_TYPES for f in model._meta.concrete_fields)


def insert_rows(
    model: type[models.Model],
    instances: Sequence[models.Model],
    alias: str,
    batch_size: int | None = None,
) -> None:
    """Insert new ``instances``: PostgreSQL's COPY when :func:`can_copy`,
    else ``bulk_create``. With COPY the instances get no primary key back."""
    if not instances:
        return
    if not can_copy(model, alias) or any(i.pk is not None for i in instances):
        model._base_manager.db_manager(alias).bulk_create(instances, batch_size=batch_size)
        return
    connection = connections[alias]
    fields = copy_fields(model)
    plain = [not _pre_saves(f) for f in fields]

    def values(instance: models.Model) -> list[Any]:
        data = instance.__dict__
        row = []
        for field, simple in zip(fields, plain, strict=True):
            value = data.get(field.attname, _MISSING) if simple else _MISSING
            if value is _MISSING or type(value) not in _READY:
                value = field.get_db_prep_save(field.pre_save(instance, True), connection)
            row.append(value)
        return row

    copy_rows(model, (values(i) for i in instances), alias)
    for instance in instances:
        instance._state.adding = False
        instance._state.db = alias


# Python types PostgreSQL's driver writes as they are: for these, a field's
# get_db_prep_save() returns the value unchanged on PostgreSQL.
_READY = frozenset({str, int, bool, float, Decimal, dt.date, dt.datetime, dt.time, type(None)})
_MISSING = object()


def _pre_saves(field: Any) -> bool:
    """Whether ``pre_save()`` may change the value (auto_now, auto_now_add)."""
    return bool(getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False))


def copy_fields(model: type[models.Model]) -> list[Any]:
    """The columns :func:`copy_rows` writes: every concrete field but the primary key."""
    return [f for f in model._meta.concrete_fields if not f.primary_key]


def can_copy_values(model: type[models.Model], alias: str) -> bool:
    """Whether rows of plain values (no ``pre_save()`` to run) may be copied."""
    return can_copy(model, alias) and not any(_pre_saves(f) for f in copy_fields(model))


def copy_rows(model: type[models.Model], rows: Iterable[list[Any]], alias: str) -> None:
    """COPY ``rows`` (values of :func:`copy_fields`, ready for the driver)."""
    connection = connections[alias]
    qn = connection.ops.quote_name
    columns = ", ".join(qn(f.column) for f in copy_fields(model))
    sql = f"COPY {qn(str(model._meta.db_table))} ({columns}) FROM STDIN"
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(sql) as copy,
    ):
        for row in rows:
            copy.write_row(row)
