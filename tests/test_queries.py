"""The query helpers of the per-chunk reads and writes (:mod:`...pipeline.imports.queries`)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from drf_import_export_jobs.pipeline.imports.queries import array_param, filter_in
from tests.testapp.models import Author

ODD_TEXT = [
    "plain",
    "",
    "NULL",
    'a "quoted" word',
    "back\\slash\\",
    '\\"',
    "{braces},commas",
    "  spaces  ",
    "line\nbreak\ttab",
    "ünïcödé ✓",
    "'single'",
]


def test_text_integers_booleans_decimals_and_dates_become_one_array_text() -> None:
    assert array_param(["a", None, 'b"c']) == '{"a",NULL,"b\\"c"}'
    assert array_param([1, True, False]) == "{1,t,f}"
    assert array_param([Decimal("1.50"), dt.date(2020, 1, 2)]) == "{1.50,2020-01-02}"
    assert array_param([]) == "{}"


@pytest.mark.parametrize(
    "odd", [1.5, Decimal("NaN"), uuid.uuid4(), dt.datetime(2020, 1, 1), b"x", ["a"]]
)
def test_other_values_leave_the_list_to_the_driver(odd: Any) -> None:
    values = ["a", odd]
    assert array_param(values) is values


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="array parameters are PostgreSQL's")
@pytest.mark.parametrize(
    ("values", "cast"),
    [
        ([*ODD_TEXT, None], "text"),
        ([0, -1, 2**62, None], "bigint"),
        ([True, False, None], "boolean"),
        ([Decimal("1.50"), Decimal("-0.001"), Decimal("1E+3"), None], "numeric"),
        ([dt.date(1, 1, 1), dt.date(2020, 2, 29), None], "date"),
    ],
)
def test_postgresql_reads_the_array_text_back_as_the_values(values: list[Any], cast: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT %s::{cast}[]", [array_param(values)])
        assert cursor.fetchone()[0] == values


@pytest.mark.django_db
def test_filter_in_finds_odd_text_values_exactly() -> None:
    for name in ODD_TEXT:
        Author.objects.create(name=name)
    Author.objects.create(name="not asked")
    field = Author._meta.get_field("name")
    found = filter_in(Author.objects.all(), field, ODD_TEXT, "default")
    assert sorted(found.values_list("name", flat=True)) == sorted(ODD_TEXT)
