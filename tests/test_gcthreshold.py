"""Fewer garbage collector passes while a job runs (:mod:`...pipeline.gcthreshold`)."""

from __future__ import annotations

import gc
import io
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings

from drf_import_export_jobs.checks import check_settings
from drf_import_export_jobs.pipeline.gcthreshold import fewer_collections
from drf_import_export_jobs.pipeline.imports import runner
from drf_import_export_jobs.pipeline.imports.results import ResultCollector
from tests.conftest import QuietProgress, book_rows, csv_bytes
from tests.testapp import parity_resources as shapes


@pytest.fixture(autouse=True)
def default_thresholds() -> Iterator[None]:
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*saved)


def test_the_first_generation_waits_for_the_setting_within_the_block() -> None:
    with override_settings(DRF_IMPORT_EXPORT_JOBS={"GC_THRESHOLD": 40_000}), fewer_collections():
        assert gc.get_threshold() == (40_000, 10, 10)
    assert gc.get_threshold() == (700, 10, 10)


def test_thresholds_come_back_when_the_block_raises() -> None:
    with pytest.raises(ZeroDivisionError), fewer_collections():
        assert gc.get_threshold()[0] == 50_000  # the default setting
        1 / 0  # noqa: B018
    assert gc.get_threshold() == (700, 10, 10)


@pytest.mark.parametrize("setting", [0, None, -5, "50000", 1.5e6, True])
def test_zero_none_or_a_value_that_is_not_an_int_leaves_the_collector_alone(
    setting: Any,
) -> None:
    """A value system check E072 refuses does not stop a job either."""
    with override_settings(DRF_IMPORT_EXPORT_JOBS={"GC_THRESHOLD": setting}), fewer_collections():
        assert gc.get_threshold() == (700, 10, 10)


def test_a_higher_threshold_of_the_project_is_kept() -> None:
    gc.set_threshold(200_000, 5, 5)
    with fewer_collections():
        assert gc.get_threshold() == (200_000, 5, 5)
    assert gc.get_threshold() == (200_000, 5, 5)


def test_a_disabled_first_generation_stays_disabled() -> None:
    gc.set_threshold(0, 10, 10)
    with fewer_collections():
        assert gc.get_threshold()[0] == 0
    assert gc.get_threshold() == (0, 10, 10)


def test_overlapping_jobs_restore_the_thresholds_when_the_last_one_ends() -> None:
    """Two jobs on two threads: the one that ends first leaves the raised
    threshold to the other; the process's own comes back after both."""
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, Any] = {}

    def first() -> None:
        with fewer_collections():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with fewer_collections():
            second_in.set()
            first_out.wait(5)
            seen["after the first ended"] = gc.get_threshold()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen["after the first ended"] == (50_000, 10, 10)
    assert gc.get_threshold() == (700, 10, 10)


@pytest.mark.django_db
@pytest.mark.parametrize("resource", [shapes.DefaultBookResource, shapes.RowHookBookResource])
def test_an_import_runs_its_chunks_with_the_raised_threshold(authors: Any, resource: Any) -> None:
    """On both engines the resource's code runs with the raised threshold,
    and the process's thresholds are back once the run ends."""
    seen: list[int] = []

    class Watching(resource):  # type: ignore[misc, valid-type]
        def get_queryset(self) -> Any:
            seen.append(gc.get_threshold()[0])
            return super().get_queryset()

    collector = ResultCollector()
    runner.run_resource(
        io.BytesIO(csv_bytes(book_rows(5, author="Ann"))),
        "csv",
        Watching(),
        dry_run=False,
        collector=collector,
        progress=QuietProgress(),  # type: ignore[arg-type]
    )
    assert collector.totals["new"] == 5
    assert seen and set(seen) == {50_000}
    assert gc.get_threshold() == (700, 10, 10)


@pytest.mark.parametrize("value", ["50000", 1.5, True])
def test_a_threshold_that_is_not_an_int_is_a_check_error(value: Any) -> None:
    with override_settings(DRF_IMPORT_EXPORT_JOBS={"GC_THRESHOLD": value}):
        errors = [e for e in check_settings() if e.id == "drf_import_export_jobs.E072"]
    assert len(errors) == 1
    assert "GC_THRESHOLD" in errors[0].msg


@pytest.mark.parametrize("value", [0, None, 10_000])
def test_valid_thresholds_pass_the_check(value: Any) -> None:
    with override_settings(DRF_IMPORT_EXPORT_JOBS={"GC_THRESHOLD": value}):
        assert not [e for e in check_settings() if e.id == "drf_import_export_jobs.E072"]
