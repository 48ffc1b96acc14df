"""Writing an export file row by row.

CSV, TSV, XLSX (openpyxl write-only mode), JSON and YAML are written as rows
arrive, so memory stays flat however many rows are exported. ODS has no
streaming writer and is built in memory. Text cells that a spreadsheet would
run as formulas are escaped in CSV, TSV, XLSX and ODS when ``ESCAPE_FORMULAS``
is on; JSON and YAML are data formats and are written unchanged.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
import time
from collections.abc import Iterable
from decimal import Decimal
from itertools import islice
from typing import IO, Any

import yaml
from django.utils import timezone

from ...conf import jobs_settings
from ...exceptions import JobCancelled
from ...formats import get_file_format, get_format
from ...progress import ProgressReporter
from ..escaping import escape_cell

_ILLEGAL_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class RowWriter:
    """Writes a header and rows to a binary file object."""

    def __init__(self, out: IO[bytes], headers: list[str]) -> None:
        self.out = out
        self.headers = headers

    def write(self, row: list[Any]) -> None:
        raise NotImplementedError

    def write_many(self, rows: list[list[Any]]) -> None:
        """Write several rows (writers override this when they can batch)."""
        for row in rows:
            self.write(row)

    def close(self) -> None:
        """Finish the file (the output stays open)."""


class DelimitedWriter(RowWriter):
    """csv writes each batch of rows into a text buffer that goes to ``out``
    UTF-8 encoded in one write (cheaper than a text wrapper over ``out``,
    which does its bookkeeping on every row). csv writes None as an empty cell."""

    def __init__(self, out: IO[bytes], headers: list[str], delimiter: str = ",") -> None:
        super().__init__(out, headers)
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer, delimiter=delimiter)
        self.write_many([headers])

    def write(self, row: list[Any]) -> None:
        self.write_many([row])

    def write_many(self, rows: list[list[Any]]) -> None:
        self.writer.writerows(rows)
        self.out.write(self.buffer.getvalue().encode("utf-8"))
        self.buffer.seek(0)
        self.buffer.truncate()


class XlsxWriter(RowWriter):
    def __init__(self, out: IO[bytes], headers: list[str]) -> None:
        super().__init__(out, headers)
        from openpyxl import Workbook

        self.workbook = Workbook(write_only=True)
        self.sheet = self.workbook.create_sheet()
        self.sheet.append(self._cells(headers))

    def write(self, row: list[Any]) -> None:
        self.sheet.append(self._cells(row))

    def _cells(self, values: list[Any]) -> list[Any]:
        """Values for ``append``; text that openpyxl would store as a formula
        (``=...``) or an error code (``#N/A``) becomes an explicit text cell,
        so an export never holds a live formula, escaped or not."""
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.cell.cell import ERROR_CODES

        cells: list[Any] = []
        for value in values:
            value = _xlsx_value(value)
            if isinstance(value, str) and (value.startswith("=") or value in ERROR_CODES):
                cell = WriteOnlyCell(self.sheet, value)
                cell.data_type = "s"
                value = cell
            cells.append(value)
        return cells

    def close(self) -> None:
        self.workbook.save(self.out)


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, str):
        return _ILLEGAL_XLSX.sub("", value)
    if isinstance(value, datetime.datetime) and timezone.is_aware(value):
        return timezone.make_naive(value)
    if isinstance(value, datetime.time) and value.tzinfo is not None:
        return value.replace(tzinfo=None)
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return value


class JsonWriter(RowWriter):
    def __init__(self, out: IO[bytes], headers: list[str]) -> None:
        super().__init__(out, headers)
        self.first = True
        self.out.write(b"[")

    def write(self, row: list[Any]) -> None:
        record = {h: _plain(v) for h, v in zip(self.headers, row, strict=False)}
        data = json.dumps(record, ensure_ascii=False, default=str).encode()
        self.out.write(b"\n" + data if self.first else b",\n" + data)
        self.first = False

    def close(self) -> None:
        self.out.write(b"\n]\n")


class YamlWriter(RowWriter):
    def write(self, row: list[Any]) -> None:
        record = {h: _plain(v) for h, v in zip(self.headers, row, strict=False)}
        text = yaml.safe_dump([record], allow_unicode=True, sort_keys=False)
        self.out.write(text.encode())

    def close(self) -> None:
        if self.out.tell() == 0:
            self.out.write(b"[]\n")


class BufferedWriter(RowWriter):
    """For formats without a streaming writer: collects a tablib Dataset."""

    def __init__(self, out: IO[bytes], headers: list[str], format_name: str) -> None:
        super().__init__(out, headers)
        import tablib

        self.format_name = format_name
        self.dataset = tablib.Dataset(headers=headers)

    def write(self, row: list[Any]) -> None:
        self.dataset.append(row)

    def close(self) -> None:
        data = get_format(self.format_name).export_data(self.dataset)
        self.out.write(data.encode() if isinstance(data, str) else data)


# Streaming writers by format name; other writable formats are collected
# in a tablib Dataset and written by django-import-export (BufferedWriter).
STREAMING_WRITERS: dict[str, type[RowWriter]] = {
    "xlsx": XlsxWriter,
    "json": JsonWriter,
    "yaml": YamlWriter,
}


def make_writer(format_name: str, out: IO[bytes], headers: list[str]) -> RowWriter:
    """The writer of ``format_name`` files (declared in ``formats.FORMATS``)."""
    delimiter = get_file_format(format_name).delimiter
    if delimiter is not None:
        return DelimitedWriter(out, headers, delimiter=delimiter)
    if format_name in STREAMING_WRITERS:
        return STREAMING_WRITERS[format_name](out, headers)
    return BufferedWriter(out, headers, format_name)


def write_export(
    out: IO[bytes],
    format_name: str,
    headers: list[str],
    rows: Iterable[list[Any]],
    progress: ProgressReporter,
    *,
    escaped: bool = False,
    check_every: float = 0.0,
) -> int:
    """Write ``headers`` and ``rows`` to ``out``; returns the row count.

    Rows are escaped against formula injection (see :func:`escapes_formulas`)
    unless ``escaped`` says the caller already did. After every ``CHUNK_SIZE``
    rows, but no more often than once per ``check_every`` seconds, progress is
    counted and the job is checked (:class:`JobCancelled` is raised when it
    was cancelled or otherwise left the run, ``progress.should_stop()``).
    """
    escape = escapes_formulas(format_name)
    writer = make_writer(format_name, out, [escape_cell(h) if escape else h for h in headers])
    size = max(1, int(jobs_settings.CHUNK_SIZE))
    count = pending = 0
    checked_at = time.monotonic()
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        if escape and not escaped:
            chunk = [[escape_cell(v) for v in row] for row in chunk]
        writer.write_many(chunk)
        count += len(chunk)
        pending += len(chunk)
        if check_every and time.monotonic() - checked_at < check_every:
            continue
        checked_at = time.monotonic()
        if len(chunk) == size and progress.should_stop():
            raise JobCancelled()
        progress.advance(pending)
        pending = 0
    writer.close()
    progress.advance(pending)
    return count


def escapes_formulas(format_name: str) -> bool:
    """Whether cells of ``format_name`` files are escaped (``ESCAPE_FORMULAS``)."""
    return get_file_format(format_name).spreadsheet and bool(jobs_settings.ESCAPE_FORMULAS)
