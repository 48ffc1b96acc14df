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
from tests.testapp.models import Author, Book

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


def test_bulk_imports_leave_ids_taken_meanwhile_alone(
    authors: Any, make_import_job: Any, monkeypatch: Any
) -> None:
    """The bulk path takes its ids from the sequence as it writes; ids another
    import took meanwhile are never handed out again."""
    from drf_import_export_jobs.pipeline.imports import bulk as bulkchunk

    side = connections.create_connection("default")
    taken: list[int] = []

    def taking_ids_first(write: Any) -> Any:
        def write_rows(*args: Any, **kwargs: Any) -> Any:
            if not taken:
                with side.cursor() as cursor:
                    for _ in range(3):
                        cursor.execute(SEQUENCE, [Book._meta.db_table])
                        taken.append(cursor.fetchone()[0])
            return write(*args, **kwargs)

        return write_rows

    job = make_import_job(
        csv_bytes(book_rows(120)), resource="tests.testapp.resources.CleanBookResource"
    )
    job.parse_data()
    job.confirm_import()
    for name in ("insert_rows", "copy_rows"):
        monkeypatch.setattr(bulkchunk, name, taking_ids_first(getattr(bulkchunk, name)))
    try:
        job.import_data()
    finally:
        side.close()
    job.refresh_from_db()
    assert job.status == "imported", job.error_message
    assert Book.objects.count() == 120
    assert not set(Book.objects.values_list("id", flat=True)) & set(taken)
    with connection.cursor() as cursor:
        cursor.execute(SEQUENCE, [Book._meta.db_table])
        assert cursor.fetchone()[0] > max(taken)


def test_bulk_imports_move_the_sequence_past_ids_from_the_file(
    authors: Any, make_import_job: Any
) -> None:
    ann = Author.objects.get(name="Ann")
    lines = [f"{5000 + i},{9781000000000 + i},T{i},{ann.pk},1.00,2020-01-01,1" for i in range(3)]
    data = ("id,isbn,title,author,price,published,pages\n" + "\n".join(lines) + "\n").encode()
    job = make_import_job(data, resource="tests.testapp.resources.IdBookResource")
    job.parse_data()
    job.confirm_import()
    job.import_data()
    job.refresh_from_db()
    assert job.status == "imported", job.error_message
    with connection.cursor() as cursor:
        cursor.execute(SEQUENCE, [Book._meta.db_table])
        assert cursor.fetchone()[0] > 5002
