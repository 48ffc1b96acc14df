"""The rows engine reads once per chunk (:mod:`...pipeline.imports.rowreads`).

Parity with django-import-export is in tests/test_engine_parity.py; here:
the queries a chunk makes, and that nothing stays installed after it.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
import tablib
from django.db import connection
from django.db.models.signals import post_delete, post_save
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from drf_import_export_jobs.pipeline.imports import runner
from drf_import_export_jobs.pipeline.imports.results import ResultCollector
from drf_import_export_jobs.pipeline.imports.rowreads import RowReads
from tests.conftest import COLUMNS, QuietProgress, book_rows, csv_bytes, set_cell
from tests.testapp import parity_resources as shapes
from tests.testapp.models import Author, Book

ROWS = 40


def run(resource: Any, lines: list[str], dry_run: bool = False) -> tuple[ResultCollector, Any]:
    collector = ResultCollector()
    with (
        override_settings(DRF_IMPORT_EXPORT_JOBS={"CHUNK_SIZE": ROWS}),
        CaptureQueriesContext(connection) as queries,
    ):
        runner.run_resource(
            io.BytesIO(csv_bytes(lines)),
            "csv",
            resource,
            dry_run=dry_run,
            collector=collector,
            progress=QuietProgress(),  # type: ignore[arg-type]
        )
    return collector, queries


def statements(queries: Any) -> list[str]:
    return [q["sql"].lstrip().split(None, 1)[0].upper() for q in queries.captured_queries]


@pytest.mark.parametrize("dry_run", [True, False])
def test_new_rows_make_no_per_row_reads(authors: Any, dry_run: bool) -> None:
    """A chunk of new rows: one query for the authors, one for the existing
    books; per row only the savepoint and the INSERT."""
    lines = book_rows(ROWS // 2, author="Ann") + book_rows(ROWS // 2, start=100, author="Bob")
    collector, queries = run(shapes.RowHookBookResource(), lines, dry_run)
    assert collector.totals["new"] == ROWS
    kinds = statements(queries)
    assert kinds.count("INSERT") == ROWS
    assert kinds.count("SELECT") <= 4, queries.captured_queries  # not one per row
    per_row = 4  # SAVEPOINT, INSERT, RELEASE SAVEPOINT (+ one spare)
    assert len(kinds) <= per_row * ROWS, kinds


def test_updates_make_no_per_row_reads(authors: Any) -> None:
    ann = authors[0]
    for i in range(ROWS):
        Book.objects.create(isbn=str(9780000000000 + i), title="Old", author=ann, price=1)
    collector, queries = run(shapes.RowHookBookResource(), book_rows(ROWS, author="Bob"))
    assert collector.totals["update"] == ROWS
    kinds = statements(queries)
    assert kinds.count("UPDATE") == ROWS
    assert kinds.count("SELECT") <= 4, queries.captured_queries
    assert set(Book.objects.values_list("author__name", flat=True)) == {"Bob"}


def test_values_the_query_did_not_find_are_read_per_row(authors: Any) -> None:
    """An unknown author is asked for per row (never cached as missing)."""
    lines = book_rows(ROWS - 2) + book_rows(2, start=500, author="Nobody")
    collector, queries = run(shapes.RowHookBookResource(), lines)
    assert collector.totals["error"] == 2
    author_reads = [q for q in queries.captured_queries if "testapp_author" in q["sql"]]
    assert len(author_reads) == 1 + 2


def test_a_hook_creating_the_author_is_seen(authors: Any) -> None:
    lines = book_rows(3, author="Newcomer") + book_rows(3, start=10)
    collector, _queries = run(shapes.AuthorCreatingBookResource(), lines)
    assert collector.totals["new"] == 6 and not collector.errors
    assert Book.objects.filter(author__name="Newcomer").count() == 3


def test_nothing_stays_installed(authors: Any) -> None:
    resource = shapes.RowHookBookResource()
    widget = resource.fields["author"].widget
    saves, deletes = post_save.has_listeners(Book), post_delete.has_listeners(Book)
    run(resource, book_rows(5))
    assert "clean" not in vars(widget)
    assert not any("clean" in vars(field.widget) for field in resource.fields.values())
    assert "get_instance" not in vars(resource)
    assert "_meta" not in vars(resource)
    assert post_save.has_listeners(Book) == saves
    assert post_delete.has_listeners(Book) == deletes
    assert post_save.has_listeners(Author) is False
    assert type(resource)._meta.skip_diff is False
    assert type(resource)._meta.skip_html_diff is False


def test_standard_widgets_are_cleaned_by_their_converters(authors: Any) -> None:
    resource = shapes.RowHookBookResource()
    served = {type(widget).__name__ for widget, _convert in RowReads(resource).converted}
    assert {"CharWidget", "DecimalWidget", "DateWidget", "IntegerWidget"} <= served
    seen: list[Any] = []

    class Watching(shapes.RowHookBookResource):
        def before_import_row(self, row: Any, **kwargs: Any) -> None:
            seen.append(self.fields["pages"].widget.clean)

    run(Watching(), book_rows(2))
    assert seen and all(type(clean).__name__ == "partial" for clean in seen)


def test_converted_widgets_keep_the_widgets_errors(authors: Any) -> None:
    """Cells the converters do not take go to the widget's own clean(): the
    rows engine reports them as django-import-export does."""
    lines = book_rows(4)
    lines[1] = set_cell(lines[1], "price", "1.5x")
    lines[2] = set_cell(lines[2], "pages", "many")
    lines[3] = set_cell(lines[3], "published", "32/13/2020")
    collector, _queries = run(shapes.RowHookBookResource(), lines, dry_run=True)
    resource = shapes.RowHookBookResource()
    result = resource.import_data(
        tablib.Dataset(*[line.split(",") for line in lines], headers=COLUMNS),
        dry_run=True,
        raise_errors=False,
        rollback_on_validation_errors=False,
    )
    reference = ResultCollector()
    reference.add_result(result, [1, 2, 3, 4], resource)
    found, expected = collector.as_dict(), reference.as_dict()
    assert found["totals"] == expected["totals"]
    assert expected["totals"]["new"] == 1
    assert sorted(found["errors"], key=str) == sorted(expected["errors"], key=str)
    assert {e["row"] for e in found["errors"]} == {2, 3, 4}


def test_the_diff_is_skipped_only_where_nothing_sees_it() -> None:
    plain = RowReads(shapes.RowHookBookResource())
    assert plain.skip_diff and plain.skip_html_diff
    skipping = RowReads(shapes.SkippingRowHookBookResource())
    assert skipping.skip_html_diff and not skipping.skip_diff
    reading = RowReads(shapes.DiffReadingBookResource())
    assert not reading.skip_html_diff and not reading.skip_diff


def test_instances_are_served_only_from_the_default_lookup() -> None:
    assert RowReads(shapes.RowHookBookResource()).serves_instances
    assert RowReads(shapes.RowHookStampResource()).serves_instances

    class OwnLookup(shapes.RowHookBookResource):
        def get_instance(self, instance_loader: Any, row: Any) -> Any:
            return super().get_instance(instance_loader, row)

    class Bulk(shapes.RowHookBookResource):
        class Meta(shapes.RowHookBookResource.Meta):
            use_bulk = True

    assert not RowReads(OwnLookup()).serves_instances
    assert not RowReads(Bulk()).serves_instances
    assert RowReads(OwnLookup()).foreign_keys  # the authors still are
    assert not RowReads(shapes.NaturalKeyBookResource()).foreign_keys
