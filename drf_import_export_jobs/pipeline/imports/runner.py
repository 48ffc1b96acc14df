"""Running a django-import-export resource over an uploaded file, chunk by chunk.

The file is streamed (see :mod:`.reading`) and cut into chunks of
``CHUNK_SIZE`` rows. Each chunk goes to the engine :mod:`.engines` chose for
the resource: the bulk engine (:mod:`.bulk`), or the resource's own
``import_data()`` on a small ``tablib.Dataset`` (the row-by-row engine, where
hooks that receive the dataset, ``before_import`` and ``after_import``, run
once per chunk, and the chunk's instance and foreign key reads are served
from one query each, see :mod:`.rowreads`). Between chunks the run records
progress and stops if the job was cancelled.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import IO, Any

import tablib
from django.db import transaction
from import_export.resources import Resource
from import_export.results import Result

from ...conf import jobs_settings
from ...exceptions import FileParseError, JobCancelled
from ...progress import ProgressReporter
from ..gcthreshold import fewer_collections
from .bulk import BulkImporter
from .columns import ColumnReport, match_columns
from .engines import EngineChoice, choose_engine
from .ledger import LedgerRecorder
from .reading import Table, open_table
from .replayfile import RecordReader, RecordWriter
from .results import ResultCollector
from .rowreads import RowReads
from .schedule import EveryChunk
from .sequences import forward_only_sequence_reset

logger = logging.getLogger(__name__)

#: Matches a file's headers to the resource's fields (see :mod:`.columns`).
ColumnMatcher = Callable[[list[str], Resource], ColumnReport]


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
            + ". The results' column report suggests fields for the file's headers; "
            "parse the file again with a column mapping."
        )
    missing = [column for column in required if column not in headers]
    if missing:
        raise FileParseError(
            "The file lacks required column(s): "
            + ", ".join(missing)
            + ". Its header has: "
            + ", ".join(h for h in headers if h)
            + ". Map a header to each of them with a column mapping (the results' column "
            "report suggests fields)."
        )


def open_checked(
    stream: IO[bytes],
    format_name: str,
    resource: Resource,
    *,
    count: bool = True,
    match: ColumnMatcher | None = None,
    collector: ResultCollector | None = None,
) -> Table:
    """Open the file, match its headers to the resource's fields (``match``,
    by default without a column mapping) and check the result: the table's
    ``headers`` are then the column names the resource reads. The column
    report goes to ``collector`` before any check can fail."""
    table = open_table(stream, format_name, count=count)
    report = (match or match_columns)(table.headers, resource)
    if collector is not None:
        collector.columns = report.as_dict()
    report.check()
    table.headers = report.read_headers
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
    record_writer: RecordWriter | None = None,
    record_reader: RecordReader | None = None,
    choice: EngineChoice | None = None,
    match: ColumnMatcher | None = None,
    ledger: LedgerRecorder | None = None,
    schedule: EveryChunk | None = None,
) -> EngineChoice:
    """Import (or dry-run) every row of ``stream`` through ``resource``.

    Results go to ``collector``. On the bulk engine a dry run writes its
    chunks inside a transaction it rolls back, records them in
    ``record_writer``, and an import replays them from ``record_reader`` (see
    :mod:`.replayfile`). ``choice`` is the engine, chosen (and logged) here when
    not given; ``match`` matches the file's headers to the resource's fields
    (see :func:`open_checked`). With ``ledger`` (an import) each chunk's
    writes are recorded in it, with what its rows came to, in the chunk's
    transaction (:mod:`.ledger`).

    ``schedule`` (:mod:`.schedule`; by default :class:`~.schedule.EveryChunk`)
    says which chunks this run imports and wraps each in its transaction.
    Where each chunk commits on its own (the chunked commit mode), its
    ledger entry is written even when it wrote no row (the entry marks the
    chunk committed) and a chunk whose rows must stop the import is rolled
    back with it. Chunks the schedule passes over are read past without
    running the resource, their dry-run records skipped; only the rows of
    the chunks this run imports count in ``collector`` and ``progress``.
    Returns the engine that ran. Raises :class:`RowsFailed` as soon as
    ``stop_when(collector)`` is true after a chunk. Raises
    :class:`JobCancelled` when, between chunks, the job was cancelled or
    otherwise left the run (``progress.should_stop()``).
    """
    schedule = schedule or EveryChunk()
    if choice is None:
        choice = log_engine(resource)
    collector.engine = choice.as_dict()
    alias = resource.get_db_connection_name()
    # The import knows the total from its dry run: the file is read once.
    table = open_checked(
        stream,
        format_name,
        resource,
        count=progress.total is None,
        match=match,
        collector=collector,
    )
    if table.total is not None:
        progress.set_total(table.total)
    schedule.open(resource, table.headers)
    kwargs = dict(import_kwargs or {})
    import_chunk: Callable[[list[list[Any]]], Result]
    if choice.bulk:
        importer = BulkImporter(resource, table.headers, dry_run=dry_run, import_kwargs=kwargs)
        importer.record_writer = record_writer
        importer.record_reader = record_reader
        importer.ledger = ledger
        importer.expected_rows = table.total or progress.total or 0
        import_chunk = importer.run_chunk
    else:
        reads = RowReads(resource, ledger)

        def run_rows(rows: list[list[Any]]) -> Result:  # the rows engine
            with reads.serving():
                return resource.import_data(
                    tablib.Dataset(*rows, headers=table.headers),
                    dry_run=dry_run,
                    raise_errors=False,
                    use_transactions=True,
                    collect_failed_rows=False,
                    rollback_on_validation_errors=False,
                    **kwargs,
                )

        import_chunk = run_rows if ledger is None else partial(ledger.run_watched, run_rows)

    with fewer_collections(), _rolled_back(alias, dry_run and choice.bulk):
        for chunk in _chunks(table):
            if progress.should_stop():
                raise JobCancelled()
            schedule.read(chunk.number, chunk.rows)
            with schedule.take(chunk.number, alias) as taken:
                if not taken:
                    if chunk.rows and choice.bulk and record_reader is not None:
                        record_reader.skip_record()
                    continue
                collector.start_chunk()
                for number, problem in chunk.bad_rows:
                    collector.add_bad_row(number, problem)
                if chunk.rows:
                    with forward_only_sequence_reset(alias):
                        result = import_chunk(chunk.rows)
                    collector.add_result(result, chunk.numbers, resource)
                done = collector.chunk_result()
                if ledger is not None and (chunk.rows or schedule.commits):
                    ledger.write_chunk(chunk.number, always=schedule.commits, result=done)
                if stop_when is not None and stop_when(collector):
                    raise RowsFailed()
            progress.advance(chunk.read)
    return choice


@dataclass
class Chunk:
    """``CHUNK_SIZE`` consecutive rows of the file: the good ones with their
    row numbers, the ones with the wrong number of cells with the problem,
    and how many rows it holds in all (``read``)."""

    number: int
    rows: list[list[Any]] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    bad_rows: list[tuple[int, str]] = field(default_factory=list)
    read: int = 0


def _chunks(table: Table) -> Iterator[Chunk]:
    """The file's rows ``CHUNK_SIZE`` rows at a time, numbered from 1.
    Always yields at least once (the last chunk may hold no row)."""
    size = max(1, int(jobs_settings.CHUNK_SIZE))
    chunk = Chunk(1)
    number = 0
    for cells, problem in table.rows():
        number += 1
        chunk.read += 1
        if problem:
            chunk.bad_rows.append((number, problem))
        else:
            chunk.rows.append(cells)
            chunk.numbers.append(number)
        if number % size == 0:
            yield chunk
            chunk = Chunk(chunk.number + 1)
    yield chunk
    if number == 0:
        raise FileParseError("The file has a header row but no data rows.")


def chunk_count(rows: int) -> int:
    """How many chunks :func:`run_resource` reads from a file of ``rows``
    data rows (the last one may hold no row)."""
    return rows // max(1, int(jobs_settings.CHUNK_SIZE)) + 1


def log_engine(resource: Resource) -> EngineChoice:
    """Choose the engine for ``resource`` and log which and why."""
    choice = choose_engine(resource)
    logger.info(
        "%s imports on the %s engine: %s.", type(resource).__name__, choice.engine, choice.reason
    )
    return choice


@contextlib.contextmanager
def _rolled_back(alias: str, active: bool) -> Iterator[None]:
    """A transaction rolled back at its end (when ``active``)."""
    if not active:
        yield
        return
    with transaction.atomic(using=alias):
        yield
        transaction.set_rollback(True, using=alias)


def scan_rows(
    stream: IO[bytes],
    format_name: str,
    resource: Resource,
    *,
    collector: ResultCollector,
    progress: ProgressReporter,
    match: ColumnMatcher | None = None,
) -> None:
    """Check the file's structure and count its rows without running the
    resource (used when the dry run is skipped)."""
    table = open_checked(stream, format_name, resource, match=match, collector=collector)
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
