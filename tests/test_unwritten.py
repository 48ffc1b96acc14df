"""Dry-run chunks left unwritten on PostgreSQL (see :mod:`.pipeline.imports.unwritten`).

Whether a chunk was written is read from the book table's id sequence: a
chunk written in the dry run takes ids from it (a rollback does not give
them back), a chunk left unwritten does not.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, models
from django.test import override_settings

from drf_import_export_jobs.pipeline.imports.results import ResultCollector
from drf_import_export_jobs.pipeline.imports.unwritten import (
    KeyFingerprints,
    UnwrittenChunks,
    column_check,
    table_as_declared,
)
from tests.conftest import COLUMNS, book_rows, csv_bytes, set_cell
from tests.test_engine_parity import engine
from tests.testapp.models import Book
from tests.testapp.resources import BookResource

postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="chunks are left unwritten on PostgreSQL only"
)


# -- fingerprints of import ids --------------------------------------------------------


def test_fingerprints_remember_every_key_through_growth() -> None:
    keys = KeyFingerprints()
    added = [(f"978{i:010d}",) for i in range(100_000)]
    keys.add(added)
    keys.add(added[:10])  # again: counted once
    assert len(keys) == 100_000
    assert all(keys.any_of([key]) for key in added[::997])
    assert keys.any_of([("absent",), added[-1]])
    assert not keys.any_of([(f"979{i:010d}",) for i in range(10_000)])
    keys.clear()
    assert len(keys) == 0
    assert not keys.any_of(added[:100])


def test_fingerprints_sized_for_the_file_do_not_grow() -> None:
    keys = KeyFingerprints(200_000)
    size = len(keys.table)
    assert size == 1 << 19  # at most half full
    keys.add((i,) for i in range(200_000))
    assert len(keys.table) == size
    keys.clear()
    assert len(keys.table) == size and not keys.any_of([(5,)])


def test_fingerprints_of_equal_values_match() -> None:
    keys = KeyFingerprints()
    keys.add([(7, "a"), (Decimal("1.50"),)])
    assert keys.any_of([(7, "a")])
    assert keys.any_of([(Decimal("1.5"),)])  # equal values, as a lookup would find
    assert not keys.any_of([(7, "b"), ("7", "a")])


# -- values PostgreSQL takes as they are -----------------------------------------------


def check_of(name: str) -> Any:
    check = column_check(Book._meta.get_field(name), "default")
    assert check is not None
    return check


@pytest.mark.parametrize(
    ("field", "column", "taken"),
    [
        ("isbn", ["9780000000001", None], True),
        ("isbn", ["x" * 13], True),
        ("isbn", ["x" * 14], False),  # past max_length
        ("title", ["a\x00b"], False),  # NUL
        ("title", [7], False),  # not text
        ("description", ["y" * 100_000], True),  # no max_length
        ("pages", [0, 2_147_483_647, None], True),
        ("pages", [-1], False),  # a positive integer field
        pytest.param("pages", [2_147_483_648], False, marks=postgresql),  # past int4
        ("pages", [True], False),  # a bool is not an int here
        ("pages", [1.0], False),
        ("price", [Decimal("123456.78"), Decimal("0.5"), Decimal("-3")], True),
        ("price", [Decimal("1000000")], False),  # 8 digits, 2 of them places
        ("price", [Decimal("1.005")], False),  # rounded by the database
        ("price", [Decimal("NaN")], False),
        ("price", ["1.50"], False),
        ("in_stock", [True, False], True),
        ("in_stock", [1], False),
        ("published", [dt.date(2020, 1, 1), None], True),
        ("published", [dt.datetime(2020, 1, 1)], False),
        ("published", ["2020-01-01"], False),
        ("author", [1, 2], True),  # the target field's values
        ("author", ["1"], False),
    ],
)
def test_column_checks(field: str, column: list[Any], taken: bool) -> None:
    assert check_of(field)(column) is taken


def test_fields_of_other_classes_are_not_told() -> None:
    class Subclassed(models.CharField[str, str]):
        pass

    for field in (
        models.JSONField(),
        models.UUIDField(),
        models.TimeField(),
        Subclassed(max_length=5),
    ):
        assert column_check(field, "default") is None


# -- the table as the model declares it ------------------------------------------------

TABLE = Book._meta.db_table


@postgresql
@pytest.mark.django_db
def test_the_books_table_is_as_declared() -> None:
    assert table_as_declared(Book, "default", "isbn")
    # The unique isbn is allowed only as the import id looked up in all rows.
    assert not table_as_declared(Book, "default", None)


@postgresql
@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql",
    [
        f"ALTER TABLE {TABLE} ADD CONSTRAINT few_pages CHECK (pages < 5000)",
        f"CREATE UNIQUE INDEX one_title ON {TABLE} (title)",
        f"CREATE UNIQUE INDEX upper_isbn ON {TABLE} (upper(isbn))",
        f"ALTER TABLE {TABLE} ALTER COLUMN title TYPE varchar(50)",
        f"ALTER TABLE {TABLE} ALTER COLUMN description DROP NOT NULL",
        f"ALTER TABLE {TABLE} ADD COLUMN extra integer NOT NULL",
        f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY",
        "CREATE FUNCTION no_op() RETURNS trigger LANGUAGE plpgsql AS "
        "'BEGIN RETURN NEW; END'; "
        f"CREATE TRIGGER no_op BEFORE INSERT ON {TABLE} FOR EACH ROW EXECUTE FUNCTION no_op()",
        f"CREATE RULE keep AS ON INSERT TO {TABLE} DO ALSO NOTIFY books",
    ],
)
def test_what_the_model_does_not_declare_writes_every_chunk(sql: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql)  # rolled back with the test
    assert not table_as_declared(Book, "default", "isbn")


@postgresql
@pytest.mark.django_db
def test_an_extra_column_with_a_default_or_null_is_fine() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {TABLE} ADD COLUMN note text")
        cursor.execute(f"ALTER TABLE {TABLE} ADD COLUMN rank integer NOT NULL DEFAULT 0")
    assert table_as_declared(Book, "default", "isbn")


# -- the decision, chunk by chunk ------------------------------------------------------


def a_book(isbn: str, **values: Any) -> Book:
    fields = {
        "isbn": isbn,
        "title": "Title",
        "author_id": 1,
        "price": Decimal("9.50"),
        "published": dt.date(2020, 1, 1),
        "pages": 10,
        "in_stock": True,
        "description": "",
        **values,
    }
    return Book(**fields)


@postgresql
@pytest.mark.django_db
def test_which_chunks_are_left_unwritten() -> None:
    fields = [f for f in Book._meta.concrete_fields if not f.primary_key]
    chunks = UnwrittenChunks(Book, "default", fields, fields[1:2], "isbn")
    assert chunks.possible
    new = ("new", None)
    assert chunks.leave(0, [a_book("1")], [], [("1",)], [new])
    # A primary key given, a value past a limit, a key written twice: written.
    assert not chunks.leave(1, [a_book("2", id=5)], [], [("2",)], [new])
    assert not chunks.leave(1, [a_book("3", title="t" * 201)], [], [("3",)], [new])
    assert not chunks.leave(1, [a_book("4"), a_book("4")], [], [("4",), ("4",)], [new, new])
    assert not chunks.leave(1, [a_book("5", in_stock=None)], [], [("5",)], [new])
    # Rows not written (invalid, skipped) are not remembered.
    assert chunks.leave(1, [a_book("6")], [], [("6",), ("7",)], [new, ("invalid", None)])
    assert chunks.chunks == [0, 1]
    assert chunks.named([("9",), ("6",)])
    assert not chunks.named([("2",), ("3",), ("7",)])
    chunks.written()
    assert chunks.chunks == [] and not chunks.named([("1",)])


def test_another_database_writes_every_chunk(db: Any) -> None:
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL leaves chunks unwritten")
    fields = [f for f in Book._meta.concrete_fields if not f.primary_key]
    chunks = UnwrittenChunks(Book, "default", fields, fields, "isbn", expected_rows=10**6)
    assert not chunks.possible
    assert len(chunks.keys.table) == 1 << 16  # no table sized for the file


# -- dry runs --------------------------------------------------------------------------


def ids_taken() -> int:
    """The book table's id sequence's position."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT pg_get_serial_sequence('{TABLE}', 'id')")
        (sequence,) = cursor.fetchone()
        cursor.execute(
            f"SELECT last_value + (CASE WHEN is_called THEN 1 ELSE 0 END) FROM {sequence}"
        )
        return int(cursor.fetchone()[0])


def dry_run(lines: list[str]) -> dict[str, Any]:
    """The runner's dry run of ``lines`` in chunks of 7 rows, with a job's
    records, and how many ids it took from the sequence."""
    collector = ResultCollector()
    before = ids_taken()
    engine(BookResource, COLUMNS, [line.split(",") for line in lines], True)(collector)
    data = collector.as_dict()
    collector.close()
    return {"totals": data["totals"], "errors": data["errors"], "ids": ids_taken() - before}


def reference(lines: list[str]) -> dict[str, Any]:
    """django-import-export's own dry run of ``lines``."""
    import tablib

    result = BookResource().import_data(
        tablib.Dataset(*[line.split(",") for line in lines], headers=COLUMNS),
        dry_run=True,
        raise_errors=False,
        use_transactions=True,
    )
    return {kind: count for kind, count in result.totals.items() if count}


def totals(outcome: dict[str, Any]) -> dict[str, int]:
    return {kind: count for kind, count in outcome["totals"].items() if count}


@postgresql
def test_a_clean_file_is_judged_without_writing(authors: Any) -> None:
    lines = book_rows(30)
    outcome = dry_run(lines)
    assert totals(outcome) == reference(lines) == {"new": 30}
    assert outcome["ids"] == 0
    assert not Book.objects.exists()


@postgresql
def test_a_key_repeated_in_a_later_chunk_finds_the_earlier_row(authors: Any) -> None:
    lines = book_rows(30)
    lines[25] = set_cell(lines[2], "title", "Again")  # chunk 4 names a row of chunk 1
    outcome = dry_run(lines)
    assert totals(outcome) == reference(lines) == {"new": 29, "update": 1}
    assert outcome["ids"] > 0  # the unwritten chunks were written for it
    assert not Book.objects.exists()


@postgresql
def test_values_past_a_limit_are_judged_by_the_database(authors: Any) -> None:
    lines = book_rows(30)
    lines[17] = set_cell(lines[17], "title", "t" * 201)
    outcome = dry_run(lines)
    assert totals(outcome) == reference(lines)
    assert [e["row"] for e in outcome["errors"]] == [18]
    assert "too long" in outcome["errors"][0]["message"]
    assert 0 < outcome["ids"] < 30  # only the chunk holding the long title was written


@postgresql
def test_a_constraint_the_model_does_not_know_is_judged_by_the_database(authors: Any) -> None:
    with connection.cursor() as cursor:  # rolled back with the test
        cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT few_pages CHECK (pages < 5000)")
    lines = book_rows(30)
    lines[20] = set_cell(lines[20], "pages", "6000")
    outcome = dry_run(lines)
    assert totals(outcome) == reference(lines)
    assert [e["row"] for e in outcome["errors"]] == [21]
    assert "few_pages" in outcome["errors"][0]["message"]
    assert outcome["ids"] >= 30  # every chunk written


@postgresql
def test_a_job_imports_what_its_dry_run_left_unwritten(authors: Any, make_import_job: Any) -> None:
    lines = book_rows(120)
    lines[110] = set_cell(lines[5], "title", "Again")
    with override_settings(DRF_IMPORT_EXPORT_JOBS={"CHUNK_SIZE": 25}):
        job = make_import_job(csv_bytes(lines))
        job.parse_data()
        job.refresh_from_db()
        assert job.status == "parsed", job.error_message
        assert job.parse_result["totals"]["new"] == 119
        assert job.parse_result["totals"]["update"] == 1
        assert not Book.objects.exists()
        job.confirm_import()
        job.import_data()
        job.refresh_from_db()
    assert job.status == "imported", job.error_message
    assert job.import_result["totals"]["new"] == 119
    assert Book.objects.count() == 119
    assert Book.objects.get(isbn=str(9780000000005)).title == "Again"
