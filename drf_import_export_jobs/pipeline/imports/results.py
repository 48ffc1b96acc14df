"""Collecting import results as JSON, and the per-row error report file.

Results are plain JSON::

    {
      "totals": {"new": 0, "update": 0, "delete": 0, "skip": 0, "error": 0, "invalid": 0},
      "rows": 0,                  # data rows processed
      "error_count": 0,           # every error entry, also those not listed below
      "errors": [                 # the first MAX_ERRORS_IN_RESULT entries
        {"row": 3, "field": "price", "message": "Enter a number."},
        {"row": null, "field": null, "message": "..."}   # not tied to a row
      ],
      "engine": "bulk",           # or "rows" (absent when no engine ran)
      "engine_reason": "...",     # why that engine
      "columns": {...}            # how the headers were matched (see .columns)
    }

Row numbers count data rows from 1 (the header is not a row), as
django-import-export does. Every entry also goes to a CSV error report
(columns ``row, field, message``) that is saved to storage with the job.
"""

from __future__ import annotations

import csv
import tempfile
from typing import IO, Any

from django.core.exceptions import NON_FIELD_ERRORS
from import_export.results import Result

from ...conf import jobs_settings
from ..escaping import escape_cell
from .messages import describe_row_error

ROW_TYPES = ("new", "update", "delete", "skip", "error", "invalid")


class ResultCollector:
    """Accumulates totals and errors over the chunks of one run."""

    def __init__(self) -> None:
        self.totals: dict[str, int] = dict.fromkeys(ROW_TYPES, 0)
        self.rows = 0
        self.errors: list[dict[str, Any]] = []
        self.error_count = 0
        self.base_error_count = 0
        self.max_errors = int(jobs_settings.MAX_ERRORS_IN_RESULT)
        # {"engine": ..., "engine_reason": ...} once an engine ran the rows.
        self.engine: dict[str, str] = {}
        # The column report (ColumnReport.as_dict()) once the header was read.
        self.columns: dict[str, Any] | None = None
        self._report: IO[str] | None = None
        self._writer: Any = None
        # The chunk being collected (start_chunk()): its first figures and errors.
        self._chunk_start: tuple[dict[str, int], int] | None = None
        self._chunk_errors: list[dict[str, Any]] = []

    # -- adding -------------------------------------------------------------

    def add_error(self, row: int | None, field: str | None, message: str) -> None:
        """Record one error entry (``row``/``field`` may be None)."""
        self.error_count += 1
        entry = {"row": row, "field": field, "message": message}
        if len(self.errors) < self.max_errors:
            self.errors.append(entry)
        if self._chunk_start is not None:
            self._chunk_errors.append(entry)
        if self._writer is None:
            # Kept open across chunks; closed by close().
            self._report = tempfile.TemporaryFile("w+", encoding="utf-8", newline="")  # noqa: SIM115
            self._writer = csv.writer(self._report)
            self._writer.writerow(["row", "field", "message"])
        self._writer.writerow(
            ["" if row is None else row, escape_cell(field or ""), escape_cell(message)]
        )

    def add_base_error(self, message: str) -> None:
        """An error not tied to a row (for example raised by a resource hook)."""
        self.base_error_count += 1
        self.add_error(None, None, message)

    def add_bad_row(self, number: int, message: str) -> None:
        """A row that never reached the resource (wrong number of cells)."""
        self.rows += 1
        self.totals["invalid"] += 1
        self.add_error(number, None, message)

    def add_result(self, result: Result, numbers: list[int], resource: Any = None) -> None:
        """Merge a django-import-export ``Result`` of one chunk; ``numbers[i]``
        is the file row number of the chunk's row ``i + 1``. With the chunk's
        ``resource``, raw number errors name their column."""
        for key in ROW_TYPES:
            self.totals[key] += int(result.totals.get(key, 0))
        self.rows += len(numbers)
        for error in result.base_errors:
            self.add_base_error(str(error.error))
        for error_row in result.error_rows:
            number = numbers[error_row.number - 1]
            for error in error_row.errors:
                self.add_error(number, *describe_row_error(error, resource))
        for invalid in result.invalid_rows:
            number = numbers[invalid.number - 1]
            for field, messages in invalid.error_dict.items():
                name = None if field == NON_FIELD_ERRORS else field
                for message in messages:
                    self.add_error(number, name, str(message))

    # -- one chunk at a time --------------------------------------------------

    def start_chunk(self) -> None:
        """Start collecting one chunk's own figures (see :meth:`chunk_result`)."""
        self._chunk_start = (dict(self.totals), self.rows)
        self._chunk_errors = []

    def chunk_result(self) -> dict[str, Any]:
        """What the rows since :meth:`start_chunk` came to, with every error
        of the chunk: ``{"totals": {...}, "rows": n, "errors": [...]}``."""
        totals, rows = self._chunk_start or (dict.fromkeys(ROW_TYPES, 0), 0)
        result = {
            "totals": {key: self.totals[key] - totals[key] for key in ROW_TYPES},
            "rows": self.rows - rows,
            "errors": list(self._chunk_errors),
        }
        self._chunk_start = None
        self._chunk_errors = []
        return result

    def add_chunk_result(self, result: dict[str, Any] | None) -> None:
        """Add a chunk's stored :meth:`chunk_result` (a ledger entry's)."""
        if not result:
            return
        for key in ROW_TYPES:
            self.totals[key] += int(result.get("totals", {}).get(key, 0))
        self.rows += int(result.get("rows", 0))
        for error in result.get("errors", ()):
            self.add_error(error.get("row"), error.get("field"), str(error.get("message", "")))

    # -- reading ------------------------------------------------------------

    @property
    def has_row_errors(self) -> bool:
        """Rows raised errors (not validation): always fatal for the run."""
        return self.totals["error"] > 0 or self.base_error_count > 0

    @property
    def has_invalid_rows(self) -> bool:
        return self.totals["invalid"] > 0

    def as_dict(self) -> dict[str, Any]:
        result = {
            "totals": dict(self.totals),
            "rows": self.rows,
            "error_count": self.error_count,
            "errors": list(self.errors),
            **self.engine,
        }
        if self.columns is not None:
            result["columns"] = self.columns
        return result

    def report_file(self) -> IO[str] | None:
        """The CSV error report rewound for reading, or None without errors."""
        if self._report is None:
            return None
        self._report.flush()
        self._report.seek(0)
        return self._report

    def close(self) -> None:
        if self._report is not None:
            self._report.close()
            self._report = None
            self._writer = None
