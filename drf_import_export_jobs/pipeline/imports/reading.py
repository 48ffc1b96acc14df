"""Reading uploaded files as a header plus a stream of rows.

CSV, TSV and XLSX are streamed: memory does not grow with the file. XLS, JSON,
YAML and ODS are parsed whole by their libraries (their size is bounded by
``MAX_UPLOAD_SIZE``). Every problem with the file itself raises
:class:`~drf_import_export_jobs.exceptions.FileParseError` with a message for
the person who uploaded it.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime
import decimal
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from ...conf import jobs_settings
from ...exceptions import FileParseError
from ...formats import get_file_format, get_format

# Formats stored as binary containers (ZIP or OLE), never decoded as text.

# A row as handed on: its cells, and a problem message when its shape is wrong.
Row = tuple[list[Any], str | None]

_SNIFF_BYTES = 64 * 1024
# An XLSX or ODS whose parts unpack to more than this many times MAX_UPLOAD_SIZE is
# refused as a likely zip bomb.
XLSX_MAX_EXPANSION = 20


@dataclass
class Table:
    """A readable table: ``headers``, then ``rows()`` yields every data row once."""

    headers: list[str]
    total: int | None
    _rows: Iterator[list[Any]]

    def rows(self) -> Iterator[Row]:
        """Data rows, blank ones skipped; short rows are padded with empty
        cells, rows with extra non-empty cells carry a problem message."""
        width = len(self.headers)
        limit = int(jobs_settings.MAX_ROWS)
        count = 0
        for raw in self._rows:
            cells = list(raw)
            # any(cells) answers most rows; a row of falsy cells (0, False) may still count.
            if not any(cells) and all(cell in (None, "") for cell in cells):
                continue
            count += 1
            if count > limit:
                raise FileParseError(
                    f"The file has more than {limit} data rows, the most an import accepts."
                )
            problem = None
            if len(cells) < width:
                cells.extend([""] * (width - len(cells)))
            elif len(cells) > width:
                extra = cells[width:]
                if any(cell not in (None, "") for cell in extra):
                    problem = (
                        f"This row has {len(cells)} cells but the header has {width} columns."
                    )
                cells = cells[:width]
            yield cells, problem


def open_table(stream: IO[bytes], format_name: str, *, count: bool = True) -> Table:
    """Open ``stream`` (binary, seekable) as a :class:`Table` of ``format_name``.

    Without ``count`` a delimited file is read once, not first counted (its
    ``total`` is None): for a file a dry run has read already."""
    stream.seek(0)
    head = stream.read(_SNIFF_BYTES)
    stream.seek(0)
    if not head.strip():
        raise FileParseError("The file is empty.")
    delimiter = get_file_format(format_name).delimiter
    if delimiter is not None:
        table = _open_delimited(stream, head, delimiter, count)
    elif format_name == "xlsx":
        table = _open_xlsx(stream, head)
    else:
        table = _open_whole(stream, head, format_name)
    _check_headers(table.headers)
    return table


def _check_headers(headers: list[str]) -> None:
    if not any(h.strip() for h in headers):
        raise FileParseError("The first row of the file, the header, is empty.")
    limit = int(jobs_settings.MAX_COLUMNS)
    if len(headers) > limit:
        raise FileParseError(f"The file has {len(headers)} columns; at most {limit} are accepted.")
    seen: set[str] = set()
    duplicates: list[str] = []
    for header in headers:
        if header and header in seen and header not in duplicates:
            duplicates.append(header)
        seen.add(header)
    if duplicates:
        names = ", ".join(repr(h) for h in duplicates)
        raise FileParseError(f"The header names these columns more than once: {names}.")


# -- CSV / TSV ------------------------------------------------------------------


def _text_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return str(jobs_settings.TEXT_ENCODING)


def _looks_binary(head: bytes, encoding: str) -> str | None:
    if head.startswith(b"PK\x03\x04"):
        return "a ZIP archive (an XLSX or ODS workbook?)"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "an old Office document (an XLS workbook?)"
    if encoding != "utf-16" and b"\x00" in head:
        sample = head[:4096]
        if sample.count(b"\x00") * 3 >= len(sample):
            # Every other byte zero: text in UTF-16 saved without a byte order mark.
            return "UTF-16 text without a byte order mark; save it as UTF-8 (or UTF-16 with a BOM)"
        return "binary data"
    return None


def _decode_error(encoding: str, exc: UnicodeDecodeError) -> FileParseError:
    bad = " ".join(f"0x{byte:02x}" for byte in exc.object[exc.start : exc.end][:4])
    return FileParseError(
        f"The file is not valid {encoding} text (it holds the byte(s) {bad}): save it as "
        "UTF-8 and upload it "
        f"again (the server reads text files without a byte order mark as {encoding}, "
        f'DRF_IMPORT_EXPORT_JOBS["TEXT_ENCODING"]).'
    )


class _RowBudget:
    """Characters read for the CSV record being parsed, against ``MAX_LINE_SIZE``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0


def _bounded_lines(text: IO[str], budget: _RowBudget, line: list[int]) -> Iterator[str]:
    """Physical lines of ``text``, never reading more than the budget allows:
    a record longer than ``MAX_LINE_SIZE`` is refused before it is read whole."""
    while True:
        piece = text.readline(budget.limit - budget.used + 1)
        if not piece:
            return
        budget.used += len(piece)
        if budget.used > budget.limit:
            raise FileParseError(
                f"Line {line[0] + 1} of the file is longer than {budget.limit} characters, "
                'the most a row may have (DRF_IMPORT_EXPORT_JOBS["MAX_LINE_SIZE"]).'
            )
        yield piece


def _delimited_rows(stream: IO[bytes], encoding: str, delimiter: str) -> Iterator[list[str]]:
    stream.seek(0)
    text = io.TextIOWrapper(stream, encoding=encoding, errors="strict", newline="")
    budget = _RowBudget(int(jobs_settings.MAX_LINE_SIZE))
    line = [0]  # physical lines consumed by the rows yielded so far
    try:
        reader = csv.reader(_bounded_lines(text, budget, line), delimiter=delimiter, strict=False)
        for row in reader:
            line[0] = reader.line_num
            budget.used = 0
            yield row
    except UnicodeDecodeError as exc:
        raise _decode_error(encoding, exc) from exc
    except csv.Error as exc:
        raise FileParseError(
            f"The file cannot be read as CSV near line {line[0] + 1}: {exc}."
        ) from exc
    finally:
        with contextlib.suppress(ValueError):  # the underlying file was closed first
            text.detach()


def _open_delimited(stream: IO[bytes], head: bytes, delimiter: str, count: bool) -> Table:
    encoding = _text_encoding(head)
    kind = _looks_binary(head, encoding)
    if kind:
        raise FileParseError(f"The file is named as text but contains {kind}.")
    csv.field_size_limit(int(jobs_settings.MAX_CELL_SIZE))
    # First pass: count rows (for progress and the row limit) and surface
    # encoding or structure errors before any row is processed.
    probe = Table(headers=[], total=None, _rows=_delimited_rows(stream, encoding, delimiter))
    first = next(probe._rows, None)
    if first is None:
        raise FileParseError("The file is empty.")
    probe.headers = list(first)
    _check_headers(probe.headers)
    total = sum(1 for _ in probe.rows()) if count else None
    rows = _delimited_rows(stream, encoding, delimiter)
    headers = list(next(rows))
    return Table(headers=headers, total=total, _rows=rows)


# -- XLSX -------------------------------------------------------------------------


def _check_archive(stream: IO[bytes], kind: str) -> None:
    """Refuse a ZIP container (XLSX, ODS) that is broken or unpacks to more
    than ``XLSX_MAX_EXPANSION`` times ``MAX_UPLOAD_SIZE`` (a zip bomb), by its
    directory, before any part is unpacked. A part larger than its directory
    entry says fails its CRC check when read."""
    try:
        with zipfile.ZipFile(stream) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise FileParseError(f"The file is not a valid {kind} (broken ZIP).") from exc
    limit = int(jobs_settings.MAX_UPLOAD_SIZE) * XLSX_MAX_EXPANSION
    if unpacked > limit:
        raise FileParseError(
            f"The workbook unpacks to {unpacked} bytes, more than the {limit} accepted."
        )
    stream.seek(0)


def _open_xlsx(stream: IO[bytes], head: bytes) -> Table:
    if not head.startswith(b"PK"):
        raise FileParseError("The file is not an XLSX workbook.")
    _check_archive(stream, "XLSX workbook")
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
        if not workbook.worksheets:
            raise FileParseError("The workbook has no worksheet.")
        # The active sheet, as django-import-export reads it.
        sheet = workbook.active or workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        first = next(rows, None)
    except FileParseError:
        raise
    except Exception as exc:
        raise FileParseError(
            f"The file is not a readable XLSX workbook: {_root_cause(exc)}"
        ) from exc
    if first is None:
        raise FileParseError("The file is empty.")
    headers = ["" if h is None else str(h) for h in first]
    while headers and headers[-1] == "":
        headers.pop()
    max_row = getattr(sheet, "max_row", None)
    total = max(0, max_row - 1) if isinstance(max_row, int) else None
    return Table(headers=headers, total=total, _rows=_guard_xlsx(rows))


def _root_cause(exc: BaseException) -> str:
    """The innermost error of a chain, as ``Type: message`` (openpyxl's own
    messages name the stored file, which the uploader must not see)."""
    seen = {id(exc)}
    while True:
        inner = exc.__cause__ or exc.__context__
        if inner is None or id(inner) in seen:
            break
        seen.add(id(inner))
        exc = inner
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


def _guard_xlsx(rows: Iterator[tuple[Any, ...]]) -> Iterator[list[Any]]:
    try:
        for row in rows:
            yield list(row)
    except Exception as exc:
        raise FileParseError(f"The workbook could not be read to the end: {exc}") from exc


# -- formats read whole -------------------------------------------------------------


def _open_whole(stream: IO[bytes], head: bytes, format_name: str) -> Table:
    file_format = get_format(format_name)
    if format_name == "ods" and head.startswith(b"PK"):
        _check_archive(stream, "ODS spreadsheet")
    data: Any = stream.read()
    if not get_file_format(format_name).binary:
        encoding = _text_encoding(head)
        kind = _looks_binary(head, encoding)
        if kind:
            raise FileParseError(f"The file is named as .{format_name} text but contains {kind}.")
        try:
            data = data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise _decode_error(encoding, exc) from exc
    if format_name == "yaml":
        _refuse_yaml_aliases(data)
    try:
        dataset = file_format.create_dataset(data)
    except Exception as exc:
        raise FileParseError(f"The file cannot be read as {format_name.upper()}: {exc}") from exc
    headers = [str(h) for h in (dataset.headers or [])]
    if not headers:
        raise FileParseError("The file is empty or has no header.")
    rows: Iterator[list[Any]] = iter(dataset)
    if format_name in ("json", "yaml"):
        rows = _scalar_rows(rows, headers)
    return Table(headers=headers, total=len(dataset), _rows=rows)


# Cell values a JSON or YAML import accepts; lists and mappings are refused.
_SCALARS = (str, int, float, bool, type(None), decimal.Decimal, datetime.date, datetime.time)


def _scalar_rows(rows: Iterator[Any], headers: list[str]) -> Iterator[list[Any]]:
    for number, row in enumerate(rows, start=1):
        cells = list(row)
        for column, cell in zip(headers, cells, strict=False):
            if not isinstance(cell, _SCALARS):
                kind = "a list" if isinstance(cell, (list, tuple)) else "a nested object"
                raise FileParseError(
                    f"Row {number}, column {column!r} holds {kind}; cells must be text, "
                    "numbers, booleans or empty."
                )
        yield cells


def _refuse_yaml_aliases(text: str) -> None:
    """Refuse YAML aliases (``*name``), which can expand a few lines to
    gigabytes of cells, and nesting deeper than rows of plain cells (a list
    of mappings) needs, which PyYAML's scanner handles in quadratic time.
    Scans the event stream, which never builds the data."""
    import yaml

    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                raise FileParseError(
                    "The YAML file uses an alias (*name); imports do not accept aliases."
                )
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > 2:
                    raise FileParseError(
                        "The YAML file nests lists or mappings more than two levels deep; "
                        "an import needs a list of rows whose cells are plain values."
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return  # not valid YAML: reported when the file is read
