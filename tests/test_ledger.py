"""The import ledger: what each chunk of an import records, on both engines."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import DatabaseError, IntegrityError, transaction
from django.test import override_settings
from django.utils import timezone

from drf_import_export_jobs.models import ImportJob, ImportLedgerEntry
from drf_import_export_jobs.pipeline.imports import bulk
from drf_import_export_jobs.pipeline.imports.ledger import (
    UNKNOWN,
    decode_image,
    encode_image,
    image_digest,
    image_fields,
    stored_form,
)
from tests.conftest import HEADER, book_rows, csv_bytes, set_cell
from tests.testapp.models import Author, Book

BOOK = "tests.testapp.resources.BookResource"
ROWS = "tests.testapp.resources.OptedOutBookResource"
DELETING = "tests.testapp.resources.DeletingBookResource"


def imported(make_import_job: Any, data: bytes, resource: str = BOOK, **fields: Any) -> ImportJob:
    job = make_import_job(data, resource=resource, **fields)
    job.parse_data()
    job.refresh_from_db()
    assert job.status == "parsed", job.error_message
    job.confirm_import()
    job.import_data()
    job.refresh_from_db()
    assert job.status == "imported", job.error_message
    return job


def existing_books(authors: list[Author]) -> list[Book]:
    """Two books the file then updates: one with every nullable field null."""
    ann, bob = authors
    return [
        Book.objects.create(
            isbn="9780000000000",
            title="Old 0",
            author=bob,
            price=Decimal("7.05"),
            published=dt.date(1999, 12, 31),
            pages=12,
            in_stock=False,
            description="before",
        ),
        Book.objects.create(
            isbn="9780000000001",
            title="Old 1",
            author=ann,
            price=Decimal("0.10"),
            published=None,
            pages=None,
            description="",
        ),
    ]


def values(book: Book) -> dict[str, Any]:
    return {f.attname: getattr(book, f.attname) for f in image_fields(Book)}


def entries(job: ImportJob) -> list[ImportLedgerEntry]:
    return list(ImportLedgerEntry.for_job(job).order_by("chunk"))


@pytest.mark.parametrize("resource", [BOOK, ROWS], ids=["bulk", "rows"])
def test_ledger_records_created_pks_and_exact_before_images(make_import_job, authors, resource):
    old = existing_books(authors)
    before = {book.pk: values(book) for book in old}
    job = imported(make_import_job, csv_bytes(book_rows(5)), resource)
    assert job.import_result["engine"] == ("bulk" if resource == BOOK else "rows")

    (entry,) = entries(job)
    assert (entry.job_model, entry.job_id, entry.chunk) == (
        "drf_import_export_jobs.importjob",
        str(job.pk),
        1,
    )
    assert entry.model == "testapp.book" and entry.complete
    new_pks = set(Book.objects.exclude(pk__in=before).values_list("pk", flat=True))
    assert {pk for pk, _digest in entry.created} == new_pks and len(new_pks) == 3
    assert {pk for pk, _before, _after in entry.updated} == set(before)
    for pk, image, after in entry.updated:
        # The before-image decodes to exactly the values the row had.
        assert decode_image(image_fields(Book), image) == before[pk]
        now = Book.objects.get(pk=pk)
        assert after == image_digest(encode_image(image_fields(Book), values(now)))
    assert entry.deleted == []


def test_after_digests_are_those_of_the_rows_as_stored(make_import_job, authors):
    # Prices with fewer, as many and more places than the column keeps (the
    # database pads or rounds them), empty nullable cells, a row created and
    # then updated in the same chunk, and rows updated from the file. The
    # bulk engine takes the digests of the values it wrote where they are
    # stored as they are: they must be those of the rows read back.
    existing_books(authors)
    lines = book_rows(6)
    lines[0] = set_cell(lines[0], "price", "3")
    lines[2] = set_cell(set_cell(lines[2], "price", "4.5"), "published", "")
    lines[3] = set_cell(set_cell(lines[3], "price", "5.125"), "pages", "")
    lines[4] = set_cell(lines[4], "price", "6.375")
    lines.append(set_cell(lines[5], "title", "Again"))
    job = imported(make_import_job, csv_bytes(lines))
    assert job.import_result["engine"] == "bulk"

    (entry,) = entries(job)
    fields = image_fields(Book)
    digests = {pk: after for pk, _before, after in entry.updated}
    digests.update(dict(entry.created))
    assert len(entry.created) == 4 and len(entry.updated) == 2
    for pk, after in digests.items():
        now = Book.objects.get(pk=pk)
        assert after == image_digest(encode_image(fields, values(now))), now.price


def test_digests_taken_from_written_values_are_those_of_the_rows_read_back(make_import_job):
    # What the bulk engine's COPY path hands over: plain values a column at a
    # time. A column whose values the database may store otherwise (an int in
    # a text column, behind a None) leaves its rows to be read back.
    from drf_import_export_jobs.pipeline.imports.ledger import LedgerRecorder, values_digest
    from drf_import_export_jobs.pipeline.imports.writes import copy_fields

    job = make_import_job(csv_bytes(book_rows(1)))
    recorder = LedgerRecorder(job, Book, "default")
    names = [f.attname for f in copy_fields(Book)]
    row = {
        "isbn": "9781111111111",
        "title": "Kept",
        "author_id": 7,
        "price": Decimal("1.50"),
        "published": dt.date(2001, 2, 3),
        "pages": None,
        "in_stock": True,
        "description": "",
    }
    odd = {**row, "isbn": "9781111111112", "title": 5}
    first = {**row, "isbn": "9781111111110", "title": None}
    recorder.add_created_values(
        [1, 2, 3], names, [[r[n] for n in names] for r in (first, row, odd)]
    )
    assert set(recorder.created) == {1, 2, 3}
    if recorder.forms is None:  # SQLite: decimals are always read back
        assert recorder.created_digests == {}
        return
    assert set(recorder.created_digests) == {1, 2}
    # Only a None and an int in the text column: the int's row is read back.
    recorder.add_created_values([4, 5], names, [[r[n] for n in names] for r in (first, odd)])
    assert set(recorder.created_digests) == {1, 2, 4}
    image = encode_image(image_fields(Book), {**row, "id": 2})
    assert (
        recorder.created_digests[2] == image_digest(image) == values_digest(tuple(image.values()))
    )


def test_stored_form_tells_only_values_the_database_gives_back_as_they_are():
    price = stored_form(Book._meta.get_field("price"), "default")
    title = stored_form(Book._meta.get_field("title"), "default")
    pages = stored_form(Book._meta.get_field("pages"), "default")
    assert title is not None and pages is not None
    assert title("x") == "x" and title(None) is None and title(5) is UNKNOWN
    assert pages(5) == 5 and pages(True) is UNKNOWN and pages("5") is UNKNOWN
    if price is not None:  # PostgreSQL and MySQL/MariaDB
        assert str(price(Decimal("4.5"))) == "4.50" and str(price(Decimal("3"))) == "3.00"
        assert price(Decimal("5.125")) is UNKNOWN and price(Decimal("NaN")) is UNKNOWN
        assert price(4.5) is UNKNOWN


def test_before_images_round_trip_dates_decimals_foreign_keys_and_nulls(authors):
    book = existing_books(authors)[1]
    book.refresh_from_db()
    fields = image_fields(Book)
    image = encode_image(fields, values(book))
    assert image["price"] == "0.10" and image["published"] is None and image["pages"] is None
    assert image["author_id"] == authors[0].pk
    decoded = decode_image(fields, image)
    assert decoded == values(book)
    assert type(decoded["price"]) is Decimal and str(decoded["price"]) == "0.10"


def test_images_round_trip_datetimes_and_json(make_import_job):
    job = make_import_job(csv_bytes(book_rows(1)))
    ImportJob.objects.filter(pk=job.pk).update(
        import_result={"totals": {"new": 1}, "list": [1, "a", None]},
        confirmed_at=timezone.now().replace(microsecond=123456),
    )
    job.refresh_from_db()
    fields = image_fields(ImportJob)
    raw = {f.attname: getattr(job, f.attname) for f in fields}
    decoded = decode_image(fields, encode_image(fields, raw))
    assert decoded == raw
    assert decoded["confirmed_at"].microsecond == 123456
    assert decoded["confirmed_at"].tzinfo is not None


def test_one_entry_per_chunk_numbered_from_one(make_import_job, authors):
    with override_settings(DRF_IMPORT_EXPORT_JOBS={"CHUNK_SIZE": 50}):
        job = imported(make_import_job, csv_bytes(book_rows(120)))
    chunks = entries(job)
    assert [e.chunk for e in chunks] == [1, 2, 3]
    assert [len(e.created) for e in chunks] == [50, 50, 20]
    assert sum(len(e.created) for e in chunks) == Book.objects.count() == 120
    with pytest.raises(IntegrityError), transaction.atomic():
        ImportLedgerEntry.objects.create(
            job_model=chunks[0].job_model, job_id=chunks[0].job_id, chunk=2, model="testapp.book"
        )


def test_unchanged_rows_are_not_in_the_ledger(make_import_job, authors):
    imported(make_import_job, csv_bytes(book_rows(3)))
    lines = book_rows(3)
    lines[1] = set_cell(lines[1], "title", "Changed")
    job = imported(make_import_job, csv_bytes(lines))
    (entry,) = entries(job)
    assert entry.created == []
    assert [pk for pk, _b, _a in entry.updated] == [Book.objects.get(title="Changed").pk]


def test_dry_runs_and_failed_imports_record_nothing(make_import_job, authors):
    job = make_import_job(csv_bytes(book_rows(3)))
    job.parse_data()
    assert not ImportLedgerEntry.objects.exists()
    lines = book_rows(3)
    lines[2] = set_cell(lines[2], "author", "Nobody")  # an unknown author: a row error
    failed = make_import_job(csv_bytes(lines), skip_parse_step=True)
    failed.parse_data()
    failed.import_data()
    failed.refresh_from_db()
    assert failed.status == "import_error"
    assert not ImportLedgerEntry.objects.exists() and not Book.objects.exists()


def test_a_refused_chunk_redone_row_by_row_records_its_rows(make_import_job, authors, monkeypatch):
    old = existing_books(authors)
    before = {book.pk: values(book) for book in old}
    refusals = []
    real = bulk.update_rows

    def refuse_once(*args: Any, **kwargs: Any) -> Any:
        if not refusals:
            refusals.append(1)
            raise DatabaseError("refused")
        return real(*args, **kwargs)

    job = make_import_job(csv_bytes(book_rows(4)))
    job.parse_data()
    job.confirm_import()
    monkeypatch.setattr(bulk, "update_rows", refuse_once)
    job.import_data()
    job.refresh_from_db()
    assert job.status == "imported", job.error_message
    assert refusals == [1]
    (entry,) = entries(job)
    new_pks = set(Book.objects.exclude(pk__in=before).values_list("pk", flat=True))
    assert {pk for pk, _d in entry.created} == new_pks and len(new_pks) == 2
    assert {pk: decode_image(image_fields(Book), image) for pk, image, _a in entry.updated} == (
        before
    )
    assert entry.complete


def test_deleted_rows_keep_their_before_image(make_import_job, authors):
    old = existing_books(authors)
    before = values(old[0])
    lines = [set_cell(line, "title", "x") + ",1" for line in book_rows(1)]
    lines += [line + ",0" for line in book_rows(1, start=5)]
    job = imported(make_import_job, csv_bytes(lines, HEADER + ",delete"), DELETING)
    assert not Book.objects.filter(pk=old[0].pk).exists()
    (entry,) = entries(job)
    assert [(pk, decode_image(image_fields(Book), image)) for pk, image in entry.deleted] == [
        (old[0].pk, before)
    ]
    assert [pk for pk, _d in entry.created] == [Book.objects.get(isbn="9780000000005").pk]


def test_deleting_a_job_deletes_its_ledger(make_import_job, authors):
    job = imported(make_import_job, csv_bytes(book_rows(2)))
    assert entries(job)
    job.delete()
    assert not ImportLedgerEntry.objects.exists()
