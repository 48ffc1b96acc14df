"""Running a django-import-export resource over an uploaded file, chunk by chunk.

The file is streamed (see :mod:`.reading`); every ``CHUNK_SIZE`` rows become
a small ``tablib.Dataset`` that the resource imports with its own
``import_data()``, so resource hooks, widgets and validation behave as they do
in django-import-export. Hooks that receive the dataset (``before_import``,
``after_import``) therefore run once per chunk. Between chunks the run records
progress and stops if the job was cancelled.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import IO, Any

import tablib
from import_export.resources import Resource

from ..conf import jobs_settings
from ..exceptions import FileParseError, JobCancelled
from ..progress import ProgressReporter
from .fastchunk import BulkImporter
from .fastpath import fast_import_refusal
from .reading import Table, open_table
from .results import ResultCollector
from .sequences import forward_only_sequence_reset
from .staging import StageReader, StageWriter

logger = logging.getLogger(__name__)


class RowsFailed(Exception):
    """An import (not a dry run) met row errors and must be rolled back."""


def check_columns(headers: list[str], resource: Resource) -> None:
    """Raise FileParseError when the header lacks the columns the resource
    identifies rows by, or shares no column with the resource at all."""
    known = [field.column_name for field in resource.get_import_fields()]
    id_fields = list(resource.get_import_id_fields())
    required = []
    if id_fields != ["id"]:
        required = [
            resource.fields[name].column_name for name in id_fields if name in resource.fields
        ]
    if not set(known) & set(headers):
        raise FileParseError(
            "None of the file's columns is one this import knows. Expected some of: "
            + ", ".join(known)
            + "."
        )
    missing = [column for column in required if column not in headers]
    if missing:
        raise FileParseError(
            "The file lacks required column(s): "
            + ", ".join(missing)
            + ". Its header has: "
            + ", ".join(h for h in headers if h)
            + "."
        )


def open_checked(stream: IO[bytes], format_name: str, resource: Resource) -> Table:
    table = open_table(stream, format_name)
    check_columns(table.headers, resource)
    return table


def run_resource(
    stream: IO[bytes],
    format_name: str,
    resource: Resource,
    *,
    dry_run: bool,
    collector: ResultCollector,
    progress: ProgressReporter,
    stop_when: Callable[[ResultCollector], bool] | None = None,
    import_kwargs: dict[str, Any] | None = None,
    stage_writer: StageWriter | None = None,
    stage_reader: StageReader | None = None,
) -> bool:
    """Import (or dry-run) every row of ``stream`` through ``resource``.

    Results go to ``collector``. On the bulk path, a dry run records its
    chunks in ``stage_writer`` and an import replays them from
    ``stage_reader`` (see :mod:`.staging`). Returns whether the bulk path
    ran. Raises :class:`RowsFailed` as soon as
    ``stop_when(collector)`` is true after a chunk. Raises
    :class:`JobCancelled` when, between chunks, the job was cancelled or
    otherwise left the run (``progress.should_stop()``).
    """
    table = open_checked(stream, format_name, resource)
    progress.set_total(table.total)
    size = max(1, int(jobs_settings.CHUNK_SIZE))
    kwargs = dict(import_kwargs or {})
    bulk = choose_bulk_importer(resource, table.headers, dry_run=dry_run, import_kwargs=kwargs)
    if bulk is not None:
        bulk.stage_writer = stage_writer
        bulk.stage_reader = stage_reader
    chunk: list[list[Any]] = []
    numbers: list[int] = []
    number = 0
    reported = 0

    def flush() -> None:
        nonlocal reported
        if progress.should_stop():
            raise JobCancelled()
        if chunk:
            with forward_only_sequence_reset(resource.get_db_connection_name()):
                if bulk is not None:
                    result = bulk.run_chunk(chunk)
                else:
                    result = resource.import_data(
                        tablib.Dataset(*chunk, headers=table.headers),
                        dry_run=dry_run,
                        raise_errors=False,
                        use_transactions=True,
                        collect_failed_rows=False,
                        rollback_on_validation_errors=False,
                        **kwargs,
                    )
            collector.add_result(result, list(numbers), resource)
            chunk.clear()
            numbers.clear()
        progress.advance(number - reported)
        reported = number
        if stop_when is not None and stop_when(collector):
            raise RowsFailed()

    for cells, problem in table.rows():
        number += 1
        if problem:
            collector.add_bad_row(number, problem)
        else:
            chunk.append(cells)
            numbers.append(number)
        if number - reported >= size:
            flush()
    flush()
    if number == 0:
        raise FileParseError("The file has a header row but no data rows.")
    return bulk is not None


def choose_bulk_importer(
    resource: Resource,
    headers: list[str],
    *,
    dry_run: bool,
    import_kwargs: dict[str, Any],
) -> BulkImporter | None:
    """The bulk path's importer for ``resource``, or None (and a log line
    saying why) when it takes the row-by-row path."""
    refusal = fast_import_refusal(resource)
    name = type(resource).__name__
    if refusal is not None:
        logger.info("%s imports row by row: %s.", name, refusal)
        return None
    logger.info("%s imports on the bulk path.", name)
    return BulkImporter(resource, headers, dry_run=dry_run, import_kwargs=import_kwargs)


def scan_rows(
    stream: IO[bytes],
    format_name: str,
    resource: Resource,
    *,
    collector: ResultCollector,
    progress: ProgressReporter,
) -> None:
    """Check the file's structure and count its rows without running the
    resource (used when the dry run is skipped)."""
    table = open_checked(stream, format_name, resource)
    progress.set_total(table.total)
    number = 0
    for _cells, problem in table.rows():
        number += 1
        if problem:
            collector.add_bad_row(number, problem)
        else:
            collector.rows += 1
        if number % 10_000 == 0:
            _step(progress, 10_000)
    progress.advance(number % 10_000)
    if number == 0:
        raise FileParseError("The file has a header row but no data rows.")


def _step(progress: ProgressReporter, rows: int) -> None:
    if progress.should_stop():
        raise JobCancelled()
    progress.advance(rows)
