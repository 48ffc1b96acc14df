"""The values_list export path writes exactly what the row-by-row path writes."""

from __future__ import annotations

import datetime
import io
import random
from decimal import Decimal

import pytest
from django.test import override_settings
from openpyxl import load_workbook

from drf_import_export_jobs.models import ExportJob
from drf_import_export_jobs.pipeline.exports.values import plan_values_export
from tests.testapp import export_resources
from tests.testapp.models import Author, Book

RESOURCES = "tests.testapp.export_resources."
TRICKY_TEXT = [
    "=SUM(A1:A2)",
    "+cmd",
    "-5.00",
    "-x",
    "@user",
    "\tindent",
    "\rreturn",
    "",
    "Ünïcødé ✓ 书",
    'quote " and, comma',
    "line\nbreak",
    "plain",
    "1e5",
]


@pytest.fixture
def generated_books(db):
    rng = random.Random(20261126)
    authors = [
        Author.objects.create(name=name) for name in ("Ann", "=Evil()", "Zoë", "+plus", "Bob, Jr.")
    ]
    books = []
    for number in range(300):
        books.append(
            Book(
                isbn=f"{9780000000000 + number}",
                title=rng.choice(TRICKY_TEXT) + f" {number}" * rng.randint(0, 1),
                author=rng.choice(authors),
                price=Decimal(rng.randint(-99999, 999999)) / 100,
                published=rng.choice(
                    [
                        None,
                        datetime.date(999, 1, 2),
                        datetime.date(2024, 2, 29),
                        datetime.date(1950, 1, 1) + datetime.timedelta(days=number * 37),
                    ]
                ),
                pages=rng.choice([None, 0, 1, 1234567]),
                in_stock=rng.random() < 0.5,
                description=rng.choice(TRICKY_TEXT),
            )
        )
    Book.objects.bulk_create(books)


def export(resource: str, file_format: str, **fields) -> bytes:
    job = ExportJob(resource_path=RESOURCES + resource, file_format_name=file_format, **fields)
    job.save()
    job.export_data()
    job.refresh_from_db()
    assert job.status == "exported", job.error_message
    with job.data_file.open("rb") as fh:
        return fh.read()


def xlsx_cells(data: bytes) -> list[tuple]:
    sheet = load_workbook(io.BytesIO(data), read_only=True).active
    return [tuple(cell.value for cell in row) for row in sheet.iter_rows()]


def uses_fast_path(resource_cls, file_format: str = "csv") -> bool:
    resource = resource_cls()
    plan = plan_values_export(
        resource,
        Book.objects.all(),
        resource.get_export_fields(),
        native=file_format == "xlsx",
        escape=True,
    )
    return plan is not None


def test_plain_resources_take_the_fast_path():
    assert uses_fast_path(export_resources.WideBookResource)
    assert uses_fast_path(export_resources.WideBookResource, "xlsx")
    assert not uses_fast_path(export_resources.RegularWideBookResource)


def test_resources_with_dehydrate_methods_take_the_regular_path(generated_books):
    assert not uses_fast_path(export_resources.DehydratingBookResource)
    data = export("DehydratingBookResource", "csv").decode()
    book = Book.objects.filter(pages__isnull=False).first()
    assert f"{book.title} ({book.pages} pages)".splitlines()[0] in data


@pytest.mark.parametrize("file_format", ["csv", "tsv"])
@pytest.mark.parametrize(
    "pair",
    [("BookResource", "RegularBookResource"), ("WideBookResource", "RegularWideBookResource")],
)
def test_delimited_output_is_byte_identical(generated_books, file_format, pair):
    fast, regular = (export(name, file_format) for name in pair)
    assert fast.count(b"\n") > 300
    assert b"'=SUM(A1:A2)" in fast
    assert fast == regular


@pytest.mark.parametrize(
    "pair",
    [("BookResource", "RegularBookResource"), ("WideBookResource", "RegularWideBookResource")],
)
def test_xlsx_output_is_cell_identical(generated_books, pair):
    fast, regular = (xlsx_cells(export(name, "xlsx")) for name in pair)
    assert len(fast) == 301
    assert fast == regular


def test_identical_without_formula_escaping_and_with_selected_fields(generated_books):
    selected = {"fields": ["title", "author", "price", "in_stock"]}
    with override_settings(DRF_IMPORT_EXPORT_JOBS={"ESCAPE_FORMULAS": False}):
        fast = export("BookResource", "csv", **selected)
        regular = export("RegularBookResource", "csv", **selected)
    assert fast.splitlines()[0] == b"title,author,price,in_stock"
    assert b"\n=Evil()" in fast or b",=Evil()," in fast
    assert fast == regular


@override_settings(USE_THOUSAND_SEPARATOR=True, LANGUAGE_CODE="de", USE_I18N=True)
def test_identical_with_localized_numbers(generated_books):
    from django.utils import translation

    with translation.override("de"):
        fast = export("WideBookResource", "csv")
        regular = export("RegularWideBookResource", "csv")
    assert fast == regular
    assert b"1.234.567" in fast


@pytest.mark.parametrize(
    "resource_cls",
    [
        export_resources.OverridingExportField,
        export_resources.CustomFieldResource,
        export_resources.MethodAttributeResource,
    ],
)
def test_resources_with_per_row_code_take_the_regular_path(resource_cls):
    assert not uses_fast_path(resource_cls)


def test_distinct_querysets_take_the_regular_path():
    resource = export_resources.BookResource()
    plan = plan_values_export(
        resource,
        Book.objects.distinct(),
        resource.get_export_fields(),
        native=False,
        escape=True,
    )
    assert plan is None


def test_per_row_resources_export_what_their_code_says(generated_books):
    data = export("CustomFieldResource", "csv", fields=["isbn", "title"]).decode()
    assert {line.split(",")[1] for line in data.splitlines()[1:]} == {"custom"}


def test_a_cancelled_fast_export_stops_and_keeps_no_file(generated_books, monkeypatch):
    from drf_import_export_jobs.pipeline.exports import runner
    from drf_import_export_jobs.pipeline.exports.values import ValuesExport

    monkeypatch.setattr(runner, "VALUES_CHECK_SECONDS", 0.0)
    job = ExportJob(resource_path=RESOURCES + "BookResource", file_format_name="csv")
    job.save()
    original_rows = ValuesExport.rows
    served = []

    def rows_then_cancel(self):
        for number, row in enumerate(original_rows(self)):
            if number == 120:
                ExportJob.objects.filter(pk=job.pk).update(status="cancelled")
            served.append(number)
            yield row

    monkeypatch.setattr(ValuesExport, "rows", rows_then_cancel)
    with override_settings(DRF_IMPORT_EXPORT_JOBS={"CHUNK_SIZE": 50}):
        job.export_data()
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert not job.data_file
    assert len(served) == 150  # stopped after the chunk in which it was cancelled


@pytest.mark.parametrize("places", range(7))
def test_decimals_written_as_fetched_read_as_the_widget_renders_them(places):
    """Up to six decimal places, csv's str() of a fetched Decimal is the text
    DecimalWidget renders (plain locale); more places keep the converter."""
    from django.db import models
    from import_export.widgets import DecimalWidget

    from drf_import_export_jobs.pipeline.exports.values import ValuesPlanner

    field = models.DecimalField(max_digits=30, decimal_places=places)
    planner = ValuesPlanner(Book, native=False, escape=True, vendor="postgresql")
    assert planner._decimal_as_str(field)
    quantum = Decimal(1).scaleb(-places)
    widget = DecimalWidget()
    for value in (0, 1, -1, "0.000001", "-0.5", "12345678901234567890", "-0"):
        fetched = Decimal(value).quantize(quantum)
        assert str(fetched) == widget.render(fetched), fetched
    seven = models.DecimalField(max_digits=30, decimal_places=7)
    assert not planner._decimal_as_str(seven)
    assert str(Decimal("0.0000001")) != widget.render(Decimal("0.0000001"))
    oracle = ValuesPlanner(Book, native=False, escape=True, vendor="oracle")
    assert not oracle._decimal_as_str(field)
