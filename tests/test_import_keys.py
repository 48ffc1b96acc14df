"""The import keys of rows (pipeline/imports/keys.py), the per-chunk results
the ledger keeps (results.py) and the parallel-chunk settings' checks."""

from __future__ import annotations

import pytest
from django.test import override_settings
from import_export import fields, resources, widgets

from drf_import_export_jobs.checks import check_settings
from drf_import_export_jobs.pipeline.imports.keys import chunk_keys, key_reader
from drf_import_export_jobs.pipeline.imports.results import ResultCollector
from tests.testapp.models import Book
from tests.testapp.resources import BookResource


class PagesKeyResource(resources.ModelResource):
    """Rows named by an integer column (pages) and the title together."""

    pages = fields.Field(attribute="pages", column_name="pages", widget=widgets.IntegerWidget())

    class Meta:
        model = Book
        import_id_fields = ("pages", "title")
        fields = ("pages", "title")


def test_a_row_key_is_read_as_the_widgets_read_it():
    read = key_reader(PagesKeyResource(), ["title", "pages"])
    assert read(["A", "007"]) == read(["A", "7"]) == read(["A", " 7 "])
    assert read(["A", "7"]) != read(["B", "7"])
    # A cell the widget refuses is compared as trimmed text.
    assert read(["A", "seven "]) == read(["A", "seven"])


def test_rows_without_the_key_columns_name_no_instance():
    assert key_reader(BookResource(), ["title", "author"])(["A", "Ann"]) is None
    read = key_reader(BookResource(), ["isbn", "title"])
    assert read(["", "A"]) is None
    assert chunk_keys([["1", "A"], ["", "B"], ["1", "C"], ["2", "D"]], read) == {("1",), ("2",)}


def test_a_chunks_own_result_holds_its_rows_and_every_error():
    collector = ResultCollector()
    collector.max_errors = 1
    collector.add_bad_row(1, "Wrong number of cells.")
    collector.start_chunk()
    collector.add_bad_row(2, "Wrong number of cells.")
    collector.add_error(3, "price", "Enter a number.")
    part = collector.chunk_result()
    assert part == {
        "totals": {"new": 0, "update": 0, "delete": 0, "skip": 0, "error": 0, "invalid": 1},
        "rows": 1,
        "errors": [
            {"row": 2, "field": None, "message": "Wrong number of cells."},
            {"row": 3, "field": "price", "message": "Enter a number."},
        ],
    }
    total = ResultCollector()
    total.add_chunk_result(part)
    total.add_chunk_result(part)
    total.add_chunk_result(None)
    assert total.totals["invalid"] == 2 and total.rows == 2 and total.error_count == 4
    report = total.report_file()
    assert report is not None and report.read().count("Enter a number.") == 2
    total.close()


@pytest.mark.parametrize("value", [0, -2, "2", True, 1.5])
def test_the_system_check_names_a_bad_parallel_import_tasks(value):
    with override_settings(DRF_IMPORT_EXPORT_JOBS={"PARALLEL_IMPORT_TASKS": value}):
        errors = [e for e in check_settings() if e.id == "drf_import_export_jobs.E071"]
    assert len(errors) == 1 and f"['PARALLEL_IMPORT_TASKS'] = {value!r}" in errors[0].msg
    with override_settings(DRF_IMPORT_EXPORT_JOBS={"PARALLEL_IMPORT_TASKS": 4}):
        assert not [e for e in check_settings() if e.id == "drf_import_export_jobs.E071"]
