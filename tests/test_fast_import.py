"""The bulk import path gives the outcome of django-import-export's own import.

Each case imports the same generated file twice from the same database state:
once with ``resource.import_data`` (row by row, the reference) and once on
the bulk path, and compares the totals, the per-row errors (row, field,
message) and the rows left in the database.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import pytest
import tablib
from django.db import transaction
from django.db.models.signals import pre_save
from django.test import override_settings

from drf_import_export_jobs.pipeline.imports.bulk import BulkImporter
from drf_import_export_jobs.pipeline.imports.engines import choose_engine
from drf_import_export_jobs.pipeline.imports.results import ResultCollector
from tests.conftest import COLUMNS, book_rows, csv_bytes, set_cell
from tests.testapp.models import Author, Book
from tests.testapp.resources import (
    BookResource,
    CleanBookResource,
    IdBookResource,
    OptedOutBookResource,
    RowHookBookResource,
)

CLEAN_RESOURCE = "tests.testapp.resources.CleanBookResource"


class _Rollback(Exception):
    pass


def snapshot() -> list[tuple[Any, ...]]:
    return list(
        Book.objects.order_by("isbn").values_list(
            "isbn",
            "title",
            "author__name",
            "price",
            "published",
            "pages",
            "in_stock",
            "description",
        )
    )


def outcome(collector: ResultCollector) -> dict[str, Any]:
    data = collector.as_dict()
    return {"totals": data["totals"], "rows": data["rows"], "errors": data["errors"]}


def isolated(run: Callable[[], ResultCollector]) -> tuple[dict[str, Any], list[Any]]:
    """Run ``run`` and return its outcome and the books it left (none when a
    row ended in error: a job rolls such an import back), then undo it."""
    box: dict[str, Any] = {}
    try:
        with transaction.atomic():
            with transaction.atomic():
                collector = run()
                if collector.has_row_errors:
                    transaction.set_rollback(True)
            box["outcome"] = outcome(collector)
            box["books"] = snapshot()
            collector.close()
            raise _Rollback
    except _Rollback:
        pass
    return box["outcome"], box["books"]


def rows_of(lines: list[str]) -> list[list[str]]:
    return [line.split(",") for line in lines]


def reference(resource: Any, lines: list[str], *, dry_run: bool, chunk: int) -> ResultCollector:
    """django-import-export's own import_data over the whole file."""
    collector = ResultCollector()
    rows = rows_of(lines)
    result = resource.import_data(
        tablib.Dataset(*rows, headers=COLUMNS),
        dry_run=dry_run,
        raise_errors=False,
        use_transactions=True,
        rollback_on_validation_errors=False,
    )
    collector.add_result(result, list(range(1, len(rows) + 1)))
    collector.errors.sort(key=lambda e: e["row"] or 0)
    return collector


def bulk(resource: Any, lines: list[str], *, dry_run: bool, chunk: int) -> ResultCollector:
    """The bulk engine, ``chunk`` rows at a time (a dry run in a transaction
    rolled back at its end, as the runner does)."""
    collector = ResultCollector()
    rows = rows_of(lines)
    with transaction.atomic():
        importer = BulkImporter(resource, COLUMNS, dry_run=dry_run)
        for start in range(0, len(rows), chunk):
            part = rows[start : start + chunk]
            result = importer.run_chunk(part)
            collector.add_result(result, list(range(start + 1, start + len(part) + 1)))
        if dry_run:
            transaction.set_rollback(True)
    collector.errors.sort(key=lambda e: e["row"] or 0)
    return collector


def assert_same(resource_class: type, lines: list[str], *, dry_run: bool, chunk: int) -> dict:
    expected = isolated(lambda: reference(resource_class(), lines, dry_run=dry_run, chunk=chunk))
    actual = isolated(lambda: bulk(resource_class(), lines, dry_run=dry_run, chunk=chunk))
    assert actual[0] == expected[0]
    assert actual[1] == expected[1]
    return actual[0]


def existing_books(count: int) -> None:
    ann = Author.objects.get(name="Ann")
    for line in book_rows(count):
        isbn, title, _author, price, published, pages, in_stock, description = line.split(",")
        Book.objects.create(
            isbn=isbn,
            title=title,
            author=ann,
            price=price,
            published=published,
            pages=pages,
            in_stock=in_stock == "1",
            description=description,
        )


def invalid_lines() -> list[str]:
    """New, updated and unchanged rows mixed with rows that fail validation."""
    lines = book_rows(40)  # 0..19 exist (unchanged), 20..39 are new
    lines[1] = set_cell(lines[1], "title", "Changed title")  # update
    lines[2] = set_cell(lines[2], "author", "Bob")  # update of the foreign key
    lines[3] = set_cell(lines[3], "price", "")  # missing required -> invalid
    lines[4] = set_cell(lines[4], "published", "2020-13-45")  # bad date -> invalid
    lines[5] = set_cell(lines[5], "title", "x" * 201)  # too long -> invalid
    lines[21] = set_cell(lines[21], "isbn", "97800000000211")  # too long isbn -> invalid
    lines[22] = set_cell(lines[22], "title", "")  # blank required -> invalid
    lines[23] = set_cell(lines[23], "pages", "-3")  # below the minimum -> invalid
    lines[24] = set_cell(lines[24], "price", "1234567.891")  # too many digits -> invalid
    lines[25] = set_cell(lines[25], "in_stock", "maybe")  # False, valid
    lines[26] = set_cell(lines[26], "published", "")  # blank allowed
    lines[27] = set_cell(lines[27], "published", "05/06/2021")  # another input format
    lines[28] = set_cell(lines[28], "pages", "")  # blank allowed
    lines[29] = set_cell(lines[29], "pages", "12.7")  # integer widget truncates
    # the same ISBN again in the file: once unchanged, once changed
    lines.append(lines[30])
    lines.append(set_cell(lines[31], "title", "Second version"))
    lines.append(set_cell(lines[3], "title", "Fixed but price still missing"))
    lines.append(set_cell(lines[22], "title", "Now with a title"))  # new after invalid
    return lines


def error_lines() -> list[str]:
    lines = invalid_lines()
    lines[6] = set_cell(lines[6], "price", "12.x")  # bad decimal -> error row
    lines[32] = set_cell(lines[32], "author", "Nobody")  # unknown author -> error row
    lines[33] = set_cell(lines[33], "pages", "many")  # bad integer -> error row
    return lines


@pytest.fixture
def books(authors: Any) -> None:
    existing_books(20)


@pytest.mark.parametrize("dry_run", [True, False])
@pytest.mark.parametrize("chunk", [1000, 7])
def test_invalid_rows_updates_and_unchanged_rows(books: None, dry_run: bool, chunk: int) -> None:
    result = assert_same(CleanBookResource, invalid_lines(), dry_run=dry_run, chunk=chunk)
    fields = {error["field"] for error in result["errors"]}
    assert {"price", "published", "title", "isbn", "pages"} <= fields
    totals = result["totals"]
    assert totals["new"] and totals["update"] and totals["skip"] and totals["invalid"]


@pytest.mark.parametrize("dry_run", [True, False])
@pytest.mark.parametrize("chunk", [1000, 9])
def test_error_rows(books: None, dry_run: bool, chunk: int) -> None:
    result = assert_same(CleanBookResource, error_lines(), dry_run=dry_run, chunk=chunk)
    assert result["totals"]["error"] == 3
    messages = [e["message"] for e in result["errors"] if e["field"] is None]
    assert "Author matching query does not exist." in messages


@pytest.mark.parametrize("dry_run", [True, False])
def test_every_row_new(authors: Any, dry_run: bool) -> None:
    result = assert_same(CleanBookResource, book_rows(120), dry_run=dry_run, chunk=50)
    assert result["totals"]["new"] == 120


def test_updates_of_every_row(books: None) -> None:
    lines = [set_cell(line, "price", "99.99") for line in book_rows(20)]
    result = assert_same(CleanBookResource, lines, dry_run=False, chunk=8)
    assert result["totals"]["update"] == 20


def test_generated_random_files(authors: Any) -> None:
    """Random mixes of good and bad cells, against existing rows."""
    existing_books(30)
    rng = random.Random(4)
    bad = {
        "price": ["", "1e3", "-0", "12345678.1", "0.001"],
        "published": ["", "2021-02-29", "2021-2-3", "31/12/2020"],
        "pages": ["", "0", "-1", "3.0", "2147483648"],
        "title": ["", "t" * 200, "t" * 201],
        "author": ["Ann", "Bob", ""],
        "in_stock": ["", "true", "no", "None"],
        "isbn": ["", "9780000000005", "9780000000031"],
    }
    for _ in range(3):
        lines = []
        for i in range(60):
            line = book_rows(1, start=rng.randrange(45))[0]
            for column, choices in bad.items():
                if rng.random() < 0.15:
                    line = set_cell(line, column, rng.choice(choices))
            lines.append(line)
            del i
        assert_same(CleanBookResource, lines, dry_run=False, chunk=13)
        assert_same(CleanBookResource, lines, dry_run=True, chunk=1000)


def test_default_options_match_by_id_and_author_id(authors: Any) -> None:
    existing_books(3)
    first = Book.objects.order_by("id").first()
    assert first is not None
    ann, bob = (a.pk for a in Author.objects.order_by("name"))
    header = ["id", "isbn", "title", "author", "price", "published", "pages"]
    lines = [
        f"{first.pk},{first.isbn},Renamed,{bob},1.00,2020-01-01,5",
        f",9781111111111,New,{ann},2.00,2020-01-02,6",
        f",9781111111112,Bad author,{bob + 100},2.00,2020-01-02,6",
        f"{first.pk + 1000},9781111111113,Explicit id,{ann},2.00,,",
    ]
    rows = [line.split(",") for line in lines]

    def run(make: Callable[[], Any]) -> tuple[dict[str, Any], list[Any]]:
        def go() -> ResultCollector:
            collector = ResultCollector()
            collector.add_result(make(), list(range(1, len(rows) + 1)))
            return collector

        return isolated(go)

    expected = run(
        lambda: IdBookResource().import_data(
            tablib.Dataset(*rows, headers=header), use_transactions=True
        )
    )
    actual = run(lambda: BulkImporter(IdBookResource(), header, dry_run=False).run_chunk(rows))
    assert expected[0]["totals"]["error"] == 1
    assert actual == expected


# -- which path runs ----------------------------------------------------------------


def refusal(resource: Any) -> str | None:
    """Why ``resource`` runs on the row-by-row engine, or None (bulk)."""
    choice = choose_engine(resource)
    return None if choice.bulk else choice.reason


def test_refusals_name_the_reason(db: Any) -> None:
    assert refusal(CleanBookResource()) is None
    assert refusal(BookResource()) is None  # django-import-export's default Meta
    assert "before_import_row" in str(refusal(RowHookBookResource()))
    assert "import_engine = 'rows'" in str(refusal(OptedOutBookResource()))
    with override_settings(DRF_IMPORT_EXPORT_JOBS={"BULK_IMPORT": False}):
        assert "BULK_IMPORT" in str(refusal(CleanBookResource()))


def test_signal_receivers_need_the_row_by_row_path(db: Any) -> None:
    def receiver(**kwargs: Any) -> None:
        pass

    pre_save.connect(receiver, sender=Book)
    try:
        assert "signal" in str(refusal(CleanBookResource()))
    finally:
        pre_save.disconnect(receiver, sender=Book)


def test_opting_in_overrides_hook_detection(db: Any) -> None:
    class Forced(RowHookBookResource):
        import_engine = "bulk"

    assert refusal(Forced()) is None


def test_row_hooks_still_run_in_a_job(authors: Any, make_import_job: Any) -> None:
    job = make_import_job(
        csv_bytes(book_rows(3)), resource=RowHookBookResource.__module__ + ".RowHookBookResource"
    )
    job.parse_data()
    job.confirm_import()
    job.import_data()
    job.refresh_from_db()
    assert job.status == "imported", job.error_message
    assert set(Book.objects.values_list("title", flat=True)) == {"TITLE 0", "TITLE 1", "TITLE 2"}


def run_job(make_import_job: Any, lines: list[str], **fields: Any) -> Any:
    job = make_import_job(csv_bytes(lines), resource=CLEAN_RESOURCE, **fields)
    job.parse_data()
    job.refresh_from_db()
    if job.status == "parsed":
        job.confirm_import()
        job.import_data()
        job.refresh_from_db()
    return job


@pytest.mark.parametrize("skip_invalid_rows", [False, True])
def test_job_results_match_the_row_by_row_path(
    books: None, make_import_job: Any, skip_invalid_rows: bool
) -> None:
    """One chunk: the row-by-row engine's dry run checks each chunk on its own."""
    lines = invalid_lines()
    outcomes = []
    for fast in (True, False):
        with override_settings(DRF_IMPORT_EXPORT_JOBS={"CHUNK_SIZE": 100, "BULK_IMPORT": fast}):
            box: dict[str, Any] = {}
            try:
                with transaction.atomic():
                    job = run_job(make_import_job, lines, skip_invalid_rows=skip_invalid_rows)
                    results = [
                        {k: v for k, v in (r or {}).items() if not k.startswith("engine")}
                        for r in (job.parse_result, job.import_result)
                    ]
                    box["job"] = (job.status, *results)
                    box["books"] = snapshot()
                    raise _Rollback
            except _Rollback:
                pass
            outcomes.append(box)
    assert outcomes[0] == outcomes[1]
    status = outcomes[0]["job"][0]
    assert status == ("imported" if skip_invalid_rows else "input_error")


def test_a_job_imports_new_rows_then_updates(authors: Any, make_import_job: Any) -> None:
    job = run_job(make_import_job, book_rows(120))
    assert job.status == "imported", job.error_message
    assert job.import_result["totals"]["new"] == 120
    changed = [set_cell(line, "title", "Again") for line in book_rows(120)]
    job = run_job(make_import_job, changed)
    assert job.status == "imported", job.error_message
    assert job.import_result["totals"]["update"] == 120
    assert set(Book.objects.values_list("title", flat=True)) == {"Again"}
    job = run_job(make_import_job, changed)
    assert job.import_result["totals"]["skip"] == 120


# -- the import replays the dry run's records ------------------------------------


@pytest.fixture
def replays(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the chunks an import writes from the dry run's records."""
    calls: list[int] = []
    original = BulkImporter._replay

    def counting(self: BulkImporter, state: Any, record: dict[str, Any]) -> Any:
        calls.append(record["rows"])
        return original(self, state, record)

    monkeypatch.setattr(BulkImporter, "_replay", counting)
    return calls


def staged_exists(job: Any) -> bool:
    from drf_import_export_jobs.pipeline.imports.replayfile import records_name

    return bool(job.data_file.storage.exists(records_name(job.data_file.name)))


def test_the_import_writes_what_the_dry_run_recorded(
    authors: Any, make_import_job: Any, replays: list[int]
) -> None:
    job = make_import_job(csv_bytes(book_rows(120)), resource=CLEAN_RESOURCE)
    job.parse_data()
    assert staged_exists(job)
    job.confirm_import()
    job.import_data()
    job.refresh_from_db()
    assert job.status == "imported", job.error_message
    assert replays == [50, 50, 20]
    assert Book.objects.count() == 120
    assert not staged_exists(job)


def test_changes_after_the_dry_run_are_seen_by_the_import(
    authors: Any, make_import_job: Any, replays: list[int]
) -> None:
    lines = book_rows(120)
    job = make_import_job(csv_bytes(lines), resource=CLEAN_RESOURCE)
    job.parse_data()
    job.refresh_from_db()
    assert job.parse_result["totals"]["new"] == 120
    # Meanwhile, books 50-59 (chunk 2) appear, one of them with another title.
    existing_books(60)
    Book.objects.filter(isbn__in=[line.split(",")[0] for line in lines[:50]]).delete()
    Book.objects.filter(isbn=lines[55].split(",")[0]).update(title="Meanwhile")
    job.confirm_import()
    job.import_data()
    job.refresh_from_db()
    assert job.status == "imported", job.error_message
    assert replays == [50, 20]  # the first and last chunks read what the dry run read
    totals = job.import_result["totals"]
    assert (totals["new"], totals["update"], totals["skip"]) == (110, 1, 9)
    assert Book.objects.get(isbn=lines[55].split(",")[0]).title == "Title 55"


def test_deleting_a_parsed_job_deletes_its_staged_results(
    authors: Any, make_import_job: Any, django_capture_on_commit_callbacks: Any
) -> None:
    job = make_import_job(csv_bytes(book_rows(10)), resource=CLEAN_RESOURCE)
    job.parse_data()
    assert staged_exists(job)
    with django_capture_on_commit_callbacks(execute=True):
        job.delete()
    assert not staged_exists(job)


def test_row_by_row_dry_runs_leave_no_staged_results(authors: Any, make_import_job: Any) -> None:
    job = make_import_job(
        csv_bytes(book_rows(10)), resource=RowHookBookResource.__module__ + ".RowHookBookResource"
    )
    job.parse_data()
    assert not staged_exists(job)


@pytest.mark.parametrize("dry_run", [True, False])
def test_custom_widgets_are_cleaned_by_their_own_clean(books: None, dry_run: bool) -> None:
    from tests.testapp.resources import CustomWidgetBookResource

    assert refusal(CustomWidgetBookResource()) is None
    lines = invalid_lines()
    lines[7] = set_cell(lines[7], "title", "boom")
    result = assert_same(CustomWidgetBookResource, lines, dry_run=dry_run, chunk=11)
    assert {"row": 8, "field": "title", "message": "No booms in titles."} in result["errors"]


def test_models_overriding_save_need_the_row_by_row_path(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import models

    def save(self: Any, *args: Any, **kwargs: Any) -> None:
        models.Model.save(self, *args, **kwargs)

    monkeypatch.setattr(Book, "save", save)
    assert "Book.save() is overridden" in str(refusal(CleanBookResource()))


@pytest.mark.parametrize("dry_run", [True, False])
def test_typed_cells_as_spreadsheets_give_them(books: None, dry_run: bool) -> None:
    """XLSX/ODS cells arrive as numbers, dates and booleans, not text."""
    import datetime as dt
    from decimal import Decimal

    rows: list[list[Any]] = []
    for i in range(30):
        rows.append(
            [
                9780000000000 + i,  # a number in a text column
                f"Title {i}" if i % 7 else 1234.5,
                "Ann" if i % 5 else "Bob",
                [10.5, Decimal("11.50"), 12, "13.5", 1e20][i % 5],
                [dt.datetime(2020, 1, 2, 3, 4), dt.date(2021, 5, 6), "2022-07-08", 44000][i % 4],
                [100, 100.0, 99.5, -1, None][i % 5],
                [True, False, 1, 0, None, "yes"][i % 6],
                None if i % 3 else f"Description {i}",
            ]
        )

    def run(make: Callable[[], Any]) -> tuple[dict[str, Any], list[Any]]:
        def go() -> ResultCollector:
            collector = ResultCollector()
            collector.add_result(make(), list(range(1, len(rows) + 1)))
            return collector

        return isolated(go)

    expected = run(
        lambda: CleanBookResource().import_data(
            tablib.Dataset(*rows, headers=COLUMNS), dry_run=dry_run, use_transactions=True
        )
    )
    actual = run(
        lambda: BulkImporter(CleanBookResource(), COLUMNS, dry_run=dry_run).run_chunk(rows)
    )
    for outcome, _books in (expected, actual):
        for error in outcome["errors"]:
            # The database's message names the row's id, taken from a sequence.
            error["message"] = error["message"].split("\n")[0]
    assert actual == expected
    assert expected[0]["totals"]["invalid"] and expected[0]["totals"]["update"]


def test_record_columns_round_trip_tagged_once_per_column() -> None:
    import datetime as dt
    from decimal import Decimal

    from drf_import_export_jobs.pipeline.imports.replayfile import decode_column, encode_column

    moment = dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.UTC)
    columns = [
        ["a", None, "c"],
        [1, True, None],
        [Decimal("1.50"), None, Decimal("-0.001")],
        [dt.date(2020, 1, 2), dt.date(1999, 12, 31), dt.date(2000, 2, 29)],
        [moment, None, moment],
        [dt.time(1, 2, 3), None, None],
        [Decimal("2"), 3, None],  # mixed: each value tagged
        [None, None, None],
    ]
    for column in columns:
        encoded = encode_column(column)
        assert json.loads(json.dumps(encoded)) == encoded
        decoded = decode_column(json.loads(json.dumps(encoded)))
        assert decoded == column
        assert [type(v) for v in decoded] == [type(v) for v in column]
    assert encode_column(columns[2]) == {"d": ["1.50", None, "-0.001"]}
    assert encode_column(columns[6]) == {"v": [{"d": "2"}, 3, None]}
