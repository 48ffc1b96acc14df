"""Imports never move a table's id sequence backwards (PostgreSQL).

django-import-export resets the id sequence after importing new rows, to the
largest id the importing transaction can see. Rows that another import is
writing at the same time are not visible to it; a plain reset would hand their
ids out again and that import would fail with a duplicate key.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, connections
from django.db.models.signals import post_save

from tests.conftest import book_rows, csv_bytes
from tests.testapp.models import Book

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="id sequences are reset on PostgreSQL only"
)

SEQUENCE = "SELECT nextval(pg_get_serial_sequence(%s, 'id'))"


def test_ids_taken_by_another_import_meanwhile_are_not_handed_out_again(
    authors: Any, make_import_job: Any
) -> None:
    lines = book_rows(120)  # three chunks of CHUNK_SIZE=50 in the test settings
    last_isbn = lines[-1].split(",")[0]
    side = connections.create_connection("default")
    taken: list[int] = []

    def another_import_takes_ids(sender: Any, instance: Book, created: bool, **kw: Any) -> None:
        # While this import writes its last row, another connection takes ids
        # for rows it has not committed yet.
        if created and instance.isbn == last_isbn and not taken:
            with side.cursor() as cursor:
                for _ in range(3):
                    cursor.execute(SEQUENCE, [Book._meta.db_table])
                    taken.append(cursor.fetchone()[0])

    job = make_import_job(csv_bytes(lines))
    job.parse_data()
    job.confirm_import()
    post_save.connect(another_import_takes_ids, sender=Book)
    try:
        job.import_data()
    finally:
        post_save.disconnect(another_import_takes_ids, sender=Book)
        side.close()
    job.refresh_from_db()
    assert job.status == "imported", job.error_message
    assert Book.objects.count() == 120
    assert len(taken) == 3
    with connection.cursor() as cursor:
        cursor.execute(SEQUENCE, [Book._meta.db_table])
        next_id = cursor.fetchone()[0]
    assert next_id > max(taken)
