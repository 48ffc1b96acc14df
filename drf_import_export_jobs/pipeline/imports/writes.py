"""Writing the rows of the bulk engine with few statements.

Django's ``bulk_update`` builds a ``CASE WHEN pk = ... THEN ...`` expression
per field and row, which costs more in Python and in the database than
writing the rows one by one once batches grow. :func:`update_rows` sends one
statement per batch instead: ``UPDATE ... FROM`` on PostgreSQL (one array
parameter per column) and on SQLite 3.33 or later (a ``VALUES`` list),
``UPDATE ... JOIN`` a ``UNION ALL`` of rows on MySQL/MariaDB; each value is
prepared by its field as ``save()`` prepares it (``get_db_prep_save``).

:func:`insert_rows` writes new rows as plain values (:func:`copy_rows`):
PostgreSQL's ``COPY``, elsewhere one multi-row ``INSERT`` per batch through
the driver's ``executemany`` (Django's ``bulk_create`` compiles every value of
every row into SQL first, which costs more than the write on MySQL).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from itertools import repeat
from typing import Any

from django.db import connections, models

from .queries import array_param

# Bound parameters per statement, under the backends' limits
# (PostgreSQL 65535, SQLite 32766).
MAX_PARAMETERS = 30_000


def _supports_update_from(vendor: str, connection: object) -> bool:
    if vendor in ("postgresql", "mysql"):
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
    if connection.vendor == "mysql":
        _update_by_join(connection, meta, columns, instances, per_statement)
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


def _update_by_join(
    connection: Any,
    meta: Any,
    columns: list[Any],
    instances: Sequence[models.Model],
    per_statement: int,
) -> None:
    """MySQL/MariaDB: ``UPDATE t JOIN (SELECT ... UNION ALL SELECT ...) v``."""
    qn = connection.ops.quote_name
    table = qn(str(meta.db_table))
    first = "SELECT " + ", ".join(f"%s AS {qn(f'c{i}')}" for i in range(len(columns)))
    other = "SELECT " + ", ".join(["%s"] * len(columns))
    assignments = ", ".join(
        f"{table}.{qn(f.column)} = v.{qn(f'c{i}')}" for i, f in enumerate(columns) if i
    )
    with connection.cursor() as cursor:
        for start in range(0, len(instances), per_statement):
            batch = instances[start : start + per_statement]
            params = [
                field.get_db_prep_save(getattr(instance, field.attname), connection)
                for instance in batch
                for field in columns
            ]
            rows = " UNION ALL ".join([first] + [other] * (len(batch) - 1))
            cursor.execute(
                f"UPDATE {table} JOIN ({rows}) AS v "
                f"ON {table}.{qn(columns[0].column)} = v.{qn('c0')} SET {assignments}",
                params,
            )


def _update_by_arrays(
    connection: Any,
    meta: Any,
    columns: list[Any],
    instances: Sequence[models.Model],
    batch_size: int | None,
) -> None:
    """PostgreSQL: one array parameter per column, unnested into rows (a
    short statement, whatever the number of rows). The rows to update are
    also named by their keys read through a subquery (as :func:`.queries.filter_in`
    does): otherwise, with statistics that lag behind a bulk load, the planner
    joins by a sequential scan and hash of the whole table, tens of
    milliseconds per batch, where the primary key's index takes one or two."""
    qn = connection.ops.quote_name
    table = qn(str(meta.db_table))
    pk = columns[0]
    arrays = ", ".join(
        f"unnest(%s::{f.cast_db_type(connection)}[]) AS {qn(f'c{i}')}"
        for i, f in enumerate(columns)
    )
    assignments = ", ".join(
        f"{qn(f.column)} = v.{qn(f'c{i}')}" for i, f in enumerate(columns) if i
    )
    key = f"{table}.{qn(pk.column)}"
    sql = (
        f"UPDATE {table} SET {assignments} FROM (SELECT {arrays}) AS v "
        f"WHERE {key} = v.{qn('c0')} "
        f"AND {key} = ANY(ARRAY(SELECT unnest(%s::{pk.cast_db_type(connection)}[])))"
    )
    size = batch_size or 5000
    with connection.cursor() as cursor:
        for start in range(0, len(instances), size):
            batch = instances[start : start + size]
            params = [array_param(_column_values(f, batch, connection)) for f in columns]
            cursor.execute(sql, [*params, params[0]])


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
    """Whether :func:`insert_rows` may write ``model``'s rows as plain values."""
    if connections[alias].vendor not in ("postgresql", "mysql", "sqlite"):
        return False
    return all(f.get_internal_type() in COPY_TYPES for f in model._meta.concrete_fields)


def insert_rows(
    model: type[models.Model],
    instances: Sequence[models.Model],
    alias: str,
    batch_size: int | None = None,
    *,
    returning: bool = False,
) -> list[Any]:
    """Insert new ``instances``: as plain values (:func:`copy_rows`) when
    :func:`can_copy`, else ``bulk_create``. As plain values the instances get
    no primary key back; with ``returning`` the new primary keys are returned
    in the order of ``instances``."""
    if not instances:
        return []
    if not can_copy(model, alias) or any(i.pk is not None for i in instances):
        model._base_manager.db_manager(alias).bulk_create(instances, batch_size=batch_size)
        return [i.pk for i in instances] if returning else []
    connection = connections[alias]
    fields = copy_fields(model)
    # The attribute read as it is, or a name no instance has (pre_save() runs).
    names = [_MISSING_NAME if _pre_saves(f) else f.attname for f in fields]
    ready = _READY if connection.vendor == "postgresql" else _READY_ANYWHERE

    def values(instance: models.Model) -> list[Any]:
        data = instance.__dict__
        return [
            value
            if type(value) in ready  # _MISSING never is
            else field.get_db_prep_save(field.pre_save(instance, True), connection)
            for field, value in zip(fields, map(data.get, names, repeat(_MISSING)), strict=True)
        ]

    pks = copy_rows(model, (values(i) for i in instances), alias, returning=returning)
    for instance in instances:
        instance._state.adding = False
        instance._state.db = alias
    return pks


# Python types PostgreSQL's driver writes as they are: for these, a field's
# get_db_prep_save() returns the value unchanged on PostgreSQL.
_READY = frozenset({str, int, bool, float, Decimal, dt.date, dt.datetime, dt.time, type(None)})
# Python types every backend's get_db_prep_save() returns unchanged.
_READY_ANYWHERE = frozenset({str, int, type(None)})
_MISSING = object()
_MISSING_NAME = "\x00 runs pre_save()"  # never an attname
# Rows per multi-row INSERT (MySQL/MariaDB, SQLite).
INSERT_BATCH = 1000


def _pre_saves(field: Any) -> bool:
    """Whether ``pre_save()`` may change the value (auto_now, auto_now_add)."""
    return bool(getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False))


def copy_fields(model: type[models.Model]) -> list[Any]:
    """The columns :func:`copy_rows` writes: every concrete field but the primary key."""
    return [f for f in model._meta.concrete_fields if not f.primary_key]


def can_copy_values(model: type[models.Model], alias: str) -> bool:
    """Whether rows of plain values (no ``pre_save()`` to run) may be copied."""
    return can_copy(model, alias) and not any(_pre_saves(f) for f in copy_fields(model))


def copy_rows(
    model: type[models.Model],
    rows: Iterable[list[Any]],
    alias: str,
    *,
    returning: bool = False,
) -> list[Any]:
    """Write ``rows`` (values of :func:`copy_fields`) as new rows: with COPY on
    PostgreSQL (values ready for psycopg), else with multi-row INSERTs (values
    other than text and integers prepared by their field here).

    With ``returning`` the new rows' primary keys are returned in the order
    of ``rows`` (for the import's ledger): on PostgreSQL they are taken from
    the table's sequence first and copied with the rows, elsewhere the
    INSERTs return them (in the order of their rows, as ``bulk_create``
    relies on).
    """
    connection = connections[alias]
    qn = connection.ops.quote_name
    fields = copy_fields(model)
    columns = ", ".join(qn(f.column) for f in fields)
    table = qn(str(model._meta.db_table))
    if connection.vendor != "postgresql":

        def prepared(row: list[Any]) -> list[Any]:
            return [
                v if type(v) in _READY_ANYWHERE else f.get_db_prep_save(v, connection)
                for f, v in zip(fields, row, strict=True)
            ]

        if returning:
            return _insert_returning(model, (prepared(row) for row in rows), alias)
        sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"
        with connection.cursor() as cursor:
            batch: list[list[Any]] = []
            for row in rows:
                batch.append(prepared(row))
                if len(batch) == INSERT_BATCH:
                    cursor.executemany(sql, batch)
                    batch = []
            if batch:
                cursor.executemany(sql, batch)
        return []
    pks: list[Any] = []
    if returning:
        rows = list(rows)
        pks = _next_ids(model, alias, len(rows))
        rows = [[pk, *row] for pk, row in zip(pks, rows, strict=True)]
        columns = f"{qn(str(model._meta.pk.column))}, {columns}"
    sql = f"COPY {table} ({columns}) FROM STDIN"
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(sql) as copy,
    ):
        for row in rows:
            copy.write_row(row)
    return pks


def _next_ids(model: type[models.Model], alias: str, count: int) -> list[Any]:
    """``count`` new values of the primary key's sequence (PostgreSQL)."""
    if not count:
        return []
    connection = connections[alias]
    meta = model._meta
    with connection.cursor() as cursor:
        # The sequence is looked up once, not once per value.
        cursor.execute(
            "WITH q AS MATERIALIZED (SELECT pg_get_serial_sequence(%s, %s)::regclass AS s) "
            "SELECT nextval(q.s) FROM q, generate_series(1, %s)",
            [connection.ops.quote_name(str(meta.db_table)), str(meta.pk.column), count],
        )
        return [row[0] for row in cursor.fetchall()]


def _insert_returning(
    model: type[models.Model], rows: Iterable[list[Any]], alias: str
) -> list[Any]:
    """Multi-row ``INSERT ... RETURNING pk`` of prepared ``rows`` (SQLite,
    MariaDB); returns the new primary keys."""
    connection = connections[alias]
    qn = connection.ops.quote_name
    fields = copy_fields(model)
    columns = ", ".join(qn(f.column) for f in fields)
    table = qn(str(model._meta.db_table))
    row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    per_statement = max(1, min(INSERT_BATCH, MAX_PARAMETERS // max(1, len(fields))))
    pk_column = qn(str(model._meta.pk.column))
    pks: list[Any] = []

    def insert(batch: list[list[Any]]) -> None:
        values = ", ".join([row_sql] * len(batch))
        params = [value for row in batch for value in row]
        cursor.execute(
            f"INSERT INTO {table} ({columns}) VALUES {values} RETURNING {pk_column}", params
        )
        pks.extend(row[0] for row in cursor.fetchall())

    with connection.cursor() as cursor:
        batch: list[list[Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) == per_statement:
                insert(batch)
                batch = []
        if batch:
            insert(batch)
    return pks
