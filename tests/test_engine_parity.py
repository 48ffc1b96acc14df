"""The import engines give the outcome of the resource's own ``import_data()``.

For every resource shape of :mod:`tests.testapp.parity_resources`, the same
generated file is imported from the same database state twice: once with the
resource's own ``import_data()`` over the whole file (the reference), once
through the package's runner (:func:`runner.run_resource`, small chunks,
the engine it chooses). Compared: the totals per row type, the per-row errors
(row, field, message) and the rows left in the database, for the dry run and
for the import. The rows engine's dry run is compared with the resource's own
dry run of each chunk (each chunk starts from the database, as documented).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

import pytest
import tablib
from django.db import models, transaction
from django.test import override_settings

from drf_import_export_jobs.pipeline.imports import runner
from drf_import_export_jobs.pipeline.imports.engines import choose_engine
from drf_import_export_jobs.pipeline.imports.replayfile import RecordWriter
from drf_import_export_jobs.pipeline.imports.results import ResultCollector
from tests.conftest import QuietProgress
from tests.testapp import parity_resources as shapes
from tests.testapp.models import Author, Book, Edition, Loan, Stamp

CHUNK = 7  # small chunks: duplicates and errors fall across chunk borders


class _Undo(Exception):
    pass


def snapshot(model: type[models.Model]) -> list[tuple[Any, ...]]:
    names = [f.attname for f in model._meta.concrete_fields if not f.primary_key]
    return sorted(model._base_manager.values_list(*names), key=repr)


def csv_of(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def outcome(collector: ResultCollector) -> dict[str, Any]:
    data = collector.as_dict()
    errors = [
        # A database's message may name an id taken from a sequence.
        {**e, "message": e["message"].split("\n")[0].split(" DETAIL:")[0]}
        for e in data["errors"]
    ]
    # The reference lists a file's error rows before its invalid rows, the
    # runner does so per chunk: compare in row order.
    errors.sort(key=lambda e: (e["row"] or 0, e["field"] or "", e["message"]))
    return {"totals": data["totals"], "errors": errors}


def isolated(
    model: type[models.Model], run: Callable[[ResultCollector], None]
) -> tuple[dict[str, Any], list[Any]]:
    """Run, keep the outcome and the rows it leaves (none when a row ended
    in error: the job rolls the import back), then undo everything."""
    box: dict[str, Any] = {}
    try:
        with transaction.atomic():
            collector = ResultCollector()
            with transaction.atomic():
                run(collector)
                if collector.has_row_errors:
                    transaction.set_rollback(True)
            box["outcome"] = outcome(collector)
            box["rows"] = snapshot(model)
            collector.close()
            raise _Undo
    except _Undo:
        pass
    return box["outcome"], box["rows"]


def reference(resource_class: type, header: list[str], rows: list[list[str]], dry_run: bool):
    def run(collector: ResultCollector) -> None:
        resource = resource_class()
        result = resource.import_data(
            tablib.Dataset(*rows, headers=header),
            dry_run=dry_run,
            raise_errors=False,
            use_transactions=True,
            collect_failed_rows=False,
            rollback_on_validation_errors=False,
        )
        collector.add_result(result, list(range(1, len(rows) + 1)), resource)

    return run


def reference_per_chunk(resource_class: type, header: list[str], rows: list[list[str]]):
    """The dry run of the rows engine as documented: the resource's own
    ``import_data(dry_run=True)`` per chunk, each chunk rolled back."""

    def run(collector: ResultCollector) -> None:
        resource = resource_class()
        for start in range(0, len(rows), CHUNK):
            result = resource.import_data(
                tablib.Dataset(*rows[start : start + CHUNK], headers=header),
                dry_run=True,
                raise_errors=False,
                use_transactions=True,
                collect_failed_rows=False,
                rollback_on_validation_errors=False,
            )
            numbers = list(range(start + 1, min(start + CHUNK, len(rows)) + 1))
            collector.add_result(result, numbers, resource)

    return run


def engine(resource_class: type, header: list[str], rows: list[list[str]], dry_run: bool):
    """The runner, its dry run recording its chunks as a job's does (on
    PostgreSQL it then leaves the chunks it can unwritten)."""

    def run(collector: ResultCollector) -> None:
        records = RecordWriter() if dry_run else None
        with override_settings(DRF_IMPORT_EXPORT_JOBS={"CHUNK_SIZE": CHUNK}):
            try:
                runner.run_resource(
                    io.BytesIO(csv_of(header, rows)),
                    "csv",
                    resource_class(),
                    dry_run=dry_run,
                    collector=collector,
                    progress=QuietProgress(),  # type: ignore[arg-type]
                    record_writer=records,
                )
            finally:
                if records is not None:
                    records.close()

    return run


def assert_parity(
    resource_class: type,
    model: type[models.Model],
    header: list[str],
    rows: list[list[str]],
    engine_name: str = "bulk",
) -> dict[str, Any]:
    assert choose_engine(resource_class()).engine == engine_name, choose_engine(resource_class())
    before = snapshot(model)
    found = {}
    for dry_run in (True, False):
        if dry_run and engine_name == "rows":  # each chunk starts from the database
            expected = isolated(model, reference_per_chunk(resource_class, header, rows))
        else:
            expected = isolated(model, reference(resource_class, header, rows, dry_run))
        actual = isolated(model, engine(resource_class, header, rows, dry_run))
        assert actual[0] == expected[0], f"dry_run={dry_run}"
        assert actual[1] == expected[1], f"dry_run={dry_run}"
        if dry_run:
            assert actual[1] == before
        found[dry_run] = actual[0]
    return found[False]


# -- generated files ----------------------------------------------------------

BOOK_HEADER = list(shapes.BOOK_FIELDS)


def book(i: int, **cells: str) -> list[str]:
    row = {
        "isbn": str(9780000000000 + i),
        "title": f"Title {i}",
        "author": "Ann" if i % 3 else "Bob",
        "price": f"{i % 90 + 10}.50",
        "published": f"2020-01-{i % 28 + 1:02d}",
        "pages": str(100 + i),
        "in_stock": "1" if i % 2 else "0",
        "description": f"Description {i}",
    }
    row.update(cells)
    return [row[name] for name in BOOK_HEADER]


def book_file() -> list[list[str]]:
    """New rows, updates of existing ones, unchanged rows, invalid cells of
    each type, unknown authors, and keys repeated inside a chunk and across
    chunks."""
    rows = [book(i) for i in range(40)]  # 0..11 exist already
    rows[1] = book(1, title="Changed title")
    rows[2] = book(2, author="Ann" if 2 % 3 == 0 else "Bob")
    rows[13] = book(13, price="12.x")  # decimal widget: error in django-import-export
    rows[14] = book(14, published="2020-13-45")  # bad date: invalid
    rows[15] = book(15, pages="many")  # bad integer
    rows[16] = book(16, author="Nobody")  # unknown foreign key
    rows[17] = book(17, in_stock="maybe")
    rows[18] = book(18, title="boom")
    rows[19] = book(19, title="  4242  ")
    rows[20] = book(20, published="05/06/2021")  # another accepted date format
    rows[21] = book(21, pages="")  # blank allowed
    rows += [
        book(22, title="Same chunk, second version"),  # rows 22 and 40: other chunks
        book(3, title="Updated twice"),
        book(3, title="Updated twice, again"),
        book(30),  # unchanged repeat of a new row from another chunk
    ]
    return rows


def valid_book_file() -> list[list[str]]:
    """Only rows the database accepts, each key once (with ``use_bulk``
    django-import-export saves a batch at once: a repeated key is a second
    new row, and the database's refusal is an error of no row)."""
    rows = [book(i) for i in range(30)]
    rows[1] = book(1, title="Changed title")
    rows[5] = book(5, published="2020-13-45")  # invalid, never written
    return rows


@pytest.fixture
def library(db: Any) -> None:
    ann = Author.objects.create(name="Ann")
    Author.objects.create(name="Bob")
    for i in range(12):
        cells = dict(zip(BOOK_HEADER, book(i), strict=True))
        Book.objects.create(
            isbn=cells["isbn"],
            title=cells["title"],
            author=ann,
            price=cells["price"],
            published=cells["published"],
            pages=int(cells["pages"]),
            in_stock=cells["in_stock"] == "1",
            description=cells["description"],
        )


@pytest.mark.parametrize(
    "resource_class",
    [
        shapes.DefaultBookResource,
        shapes.CleaningBookResource,
        shapes.SkippingBookResource,
        shapes.NaturalKeyBookResource,
        shapes.CustomWidgetBookResource,
        shapes.CustomFieldBookResource,
    ],
)
def test_book_shapes(library: None, resource_class: type) -> None:
    rows = book_file()
    if resource_class is shapes.NaturalKeyBookResource:
        at = BOOK_HEADER.index("author")
        for row in rows:  # natural keys are JSON lists
            row[at] = json.dumps([row[at]])
    result = assert_parity(resource_class, Book, BOOK_HEADER, rows)
    assert result["totals"]["new"] and result["totals"]["update"]
    assert result["errors"]


def test_book_shapes_that_import(library: None) -> None:
    """Files without errors are imported, and equally so."""
    rows = [row for n, row in enumerate(book_file()) if n not in range(13, 20)]
    for resource_class in (shapes.DefaultBookResource, shapes.SkippingBookResource):
        result = assert_parity(resource_class, Book, BOOK_HEADER, rows)
        assert not result["errors"]
        assert result["totals"]["new"] > 20


def test_use_bulk(library: None) -> None:
    result = assert_parity(shapes.BulkBookResource, Book, BOOK_HEADER, valid_book_file())
    assert result["totals"]["invalid"] == 1


EDITION_HEADER = ["code", "title", "year", "copies"]


@pytest.fixture
def editions(db: Any) -> None:
    Edition.objects.create(code="E1", title="Dune", year=1965, copies=3)
    Edition.objects.create(code="E2", title="Emma", year=1815, copies=1)


def edition_file() -> list[list[str]]:
    rows = [[f"N{i}", f"Title {i}", str(1900 + i), str(i)] for i in range(20)]
    rows[3] = ["N3", "Dune", "1965", "1"]  # clashes with an existing row
    rows[9] = ["N9", "Title 2", "1902", "1"]  # clashes with row 3 of the file
    rows[12] = ["E2", "Emma", "1815", "7"]  # an update
    rows[15] = ["N15", "Title 15", "year", "1"]  # invalid integer
    rows[16] = ["N16", "Title 16", "1916", "-4"]  # below PositiveIntegerField's minimum
    return rows


@pytest.mark.parametrize(
    "resource_class", [shapes.EditionResource, shapes.CleaningEditionResource]
)
def test_unique_together(editions: None, resource_class: type) -> None:
    result = assert_parity(resource_class, Edition, EDITION_HEADER, edition_file())
    assert result["totals"]["error"] + result["totals"]["invalid"] >= 2


def test_several_import_id_fields(editions: None) -> None:
    rows = [
        ["X1", "Dune", "1965", "9"],  # update found by (title, year)
        ["X2", "Dune", "1966", "1"],
        ["X3", "Dune", "1966", "2"],  # same key again: update of the row before
        *[[f"Y{i}", f"T{i}", "2000", "1"] for i in range(10)],
        ["X4", "Dune", "1966", "3"],  # again, in another chunk
    ]
    result = assert_parity(shapes.EditionByTitleYearResource, Edition, EDITION_HEADER, rows)
    assert result["totals"]["update"] == 3


LOAN_HEADER = ["id", "reader", "number", "note"]


@pytest.mark.parametrize("resource_class", [shapes.LoanResource, shapes.CleaningLoanResource])
def test_unique_and_check_constraints(db: Any, resource_class: type) -> None:
    Loan.objects.create(reader="ann", number=1)
    rows = [["", f"r{i}", str(i), ""] for i in range(16)]
    rows[2] = ["", "ann", "1", "clashes with an existing loan"]
    rows[4] = ["", "r0", "0", "clashes with row 1 of the file"]
    rows[10] = ["", "neg", "-1", "refused by the check constraint"]
    rows[12] = ["", "x" * 60, "5", "too long for its column"]
    result = assert_parity(resource_class, Loan, LOAN_HEADER, rows)
    assert {e["row"] for e in result["errors"]} >= {3, 5, 11}


def test_a_model_overriding_save_runs_row_by_row(db: Any) -> None:
    Stamp.objects.create(code="S1", label="OLD")
    rows = [[f"S{i}", f"label {i}"] for i in range(12)]
    result = assert_parity(shapes.StampResource, Stamp, ["code", "label"], rows, "rows")
    assert result["totals"] == {**result["totals"], "new": 11, "update": 1}
    assert "save() is overridden" in choose_engine(shapes.StampResource()).reason


# -- the rows engine: per-row code, reads served per chunk -----------------------


@pytest.mark.parametrize(
    "resource_class",
    [
        shapes.RowHookBookResource,
        shapes.SkippingRowHookBookResource,
        shapes.AuthorCreatingBookResource,
        shapes.AuthorIdBookResource,
        shapes.DiffReadingBookResource,
    ],
)
def test_rows_engine_book_shapes(library: None, resource_class: type) -> None:
    """Updates, new rows, invalid cells, an unknown author, keys repeated in
    a chunk and across chunks, on the rows engine."""
    rows = book_file()
    rows += [book(50, author="Newcomer"), book(51, author="Newcomer"), book(3, author="Newcomer")]
    rows += [book(52 + i) for i in range(5)] + [book(57, author="Newcomer")]
    result = assert_parity(resource_class, Book, BOOK_HEADER, rows, "rows")
    assert result["totals"]["new"] and result["totals"]["update"]
    if resource_class is shapes.AuthorCreatingBookResource:
        assert not any("Author matching" in e["message"] for e in result["errors"])
    else:
        assert any("Author matching" in e["message"] for e in result["errors"])
    if resource_class is shapes.SkippingRowHookBookResource:
        assert result["totals"]["skip"]


def test_rows_engine_book_shapes_that_import(library: None) -> None:
    rows = [row for n, row in enumerate(book_file()) if n not in range(13, 20)]
    for resource_class in (shapes.RowHookBookResource, shapes.SkippingRowHookBookResource):
        result = assert_parity(resource_class, Book, BOOK_HEADER, rows, "rows")
        assert not result["errors"]
        assert result["totals"]["update"] > 2


def test_rows_engine_hook_rewrites_the_import_id(library: None) -> None:
    def dashed(i: int, **cells: str) -> list[str]:
        row = book(i, **cells)
        row[0] = f"{row[0][:3]}-{row[0][3:]}"
        return row

    rows = [
        dashed(1, title="Found after the hook"),  # exists
        book(2),
        dashed(2, title="Same key, other spelling"),
        dashed(20),  # new
        book(20, title="New, then found"),
        *[book(30 + i) for i in range(4)],
        dashed(20, title="In the next chunk"),
        dashed(5),
    ]
    result = assert_parity(shapes.KeyRewritingBookResource, Book, BOOK_HEADER, rows, "rows")
    assert result["totals"]["update"] >= 5


def test_rows_engine_hook_creates_a_later_row(library: None) -> None:
    isbn = book(25)[0]
    rows = [
        book(20, title=f"spawn {isbn}"),
        book(21),
        book(25, title="Made by the hook, updated here"),  # same chunk
        *[book(30 + i) for i in range(5)],
        book(22, title=f"spawn {book(26)[0]}"),
        book(26, title="From the chunk before"),
    ]
    result = assert_parity(shapes.SpawningBookResource, Book, BOOK_HEADER, rows, "rows")
    assert result["totals"]["update"] == 2


def test_rows_engine_deletes(library: None) -> None:
    rows = [
        book(4, title="DELETE"),
        book(4, title="Back again"),  # deleted in the same chunk: new
        book(5, title="DELETE"),
        book(6),
        book(40, title="DELETE"),  # not there: skipped
        *[book(30 + i) for i in range(3)],
        book(5, title="Back in the next chunk"),
        book(4, title="DELETE"),
    ]
    result = assert_parity(shapes.DeletingBookResource, Book, BOOK_HEADER, rows, "rows")
    assert result["totals"]["delete"] == 3


def test_rows_engine_model_overriding_save(db: Any) -> None:
    Stamp.objects.create(code="S1", label="OLD")
    rows = [[f"S{i % 9}", f"label {i}"] for i in range(20)]
    result = assert_parity(shapes.RowHookStampResource, Stamp, ["code", "label"], rows, "rows")
    assert result["totals"] == {**result["totals"], "new": 8, "update": 12}


def test_rows_engine_letter_case(library: None, editions: None) -> None:
    """Values that differ from stored ones in letter case only: found on
    MySQL/MariaDB (case-insensitive collation), not on PostgreSQL and SQLite."""
    rows = [book(i, author=name) for i, name in enumerate(["ann", "Ann", "ANN", "bob"] * 3)]
    assert_parity(shapes.RowHookBookResource, Book, BOOK_HEADER, rows, "rows")
    rows = [["e1", "Dune", "1965", "4"], ["E2", "Emma", "1815", "2"], ["e2", "Emma", "1815", "5"]]
    rows += [[f"N{i}", f"Title {i}", "2000", "1"] for i in range(8)]
    rows += [["E1", "Dune", "1965", "6"]]
    assert_parity(shapes.RowHookEditionResource, Edition, EDITION_HEADER, rows, "rows")
