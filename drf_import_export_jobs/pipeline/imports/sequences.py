"""Keeping primary key sequences safe while several imports run at once.

After every import that created rows, django-import-export's
``ModelResource.after_import`` resets the table's id sequence to the largest
id *this* transaction can see. An import running at the same time on another
connection has rows this one cannot see yet, with larger ids; the reset moves
the sequence back below them, and that import's next insert fails with a
duplicate key. Imports here run chunk by chunk in one long transaction, so on
PostgreSQL two imports of the same table at once would collide.

While the resource runs, :func:`forward_only_sequence_reset` replaces the
connection's reset SQL with one that only ever moves a sequence forward: to
the larger of the table's largest id and the sequence's own last value. Ids
given explicitly in a file still move the sequence past them, as before.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connections, models

AUTO_FIELDS = ("AutoField", "BigAutoField", "SmallAutoField")


def _forward_only_sql(ops: Any, model_list: Sequence[type[models.Model]]) -> list[str]:
    qn = ops.quote_name
    statements = []
    for model in model_list:
        for field in model._meta.local_fields:
            if field.get_internal_type() not in AUTO_FIELDS:
                continue
            table = model._meta.db_table
            sequence = f"pg_get_serial_sequence('{qn(table)}', '{field.column}')"
            statements.append(
                f"SELECT setval({sequence}, "
                f"GREATEST(COALESCE(MAX({qn(field.column)}), 1), "
                f"COALESCE(pg_sequence_last_value({sequence}), 1)), "
                f"MAX({qn(field.column)}) IS NOT NULL "
                f"OR pg_sequence_last_value({sequence}) IS NOT NULL) "
                f"FROM {qn(table)};"
            )
            break
    return statements


@contextmanager
def forward_only_sequence_reset(alias: str) -> Iterator[None]:
    """Within the block, sequence resets on ``alias`` never move a sequence
    backwards (PostgreSQL; other backends are left as they are)."""
    connection = connections[alias]
    if connection.vendor != "postgresql" or "sequence_reset_sql" in vars(connection.ops):
        yield  # not PostgreSQL, or already inside such a block
        return
    ops = connection.ops
    ops.sequence_reset_sql = lambda style, model_list: _forward_only_sql(  # type: ignore[method-assign]
        ops, model_list
    )
    try:
        yield
    finally:
        del ops.sequence_reset_sql
