"""What the dry run of the bulk engine hands on to the import: one JSON line per chunk.

For each chunk the dry run records the rows' outcomes, the values of the
rows it would write, and a digest of everything it read from the database
for that chunk (the foreign keys its values name, the existing instances of
its import ids with all their fields, the holders of its unique values).
The import reads the same things from the database again; when the digest
is the same, the chunk's outcome cannot differ from the dry run's, and the
import writes the recorded values instead of cleaning and validating the
chunk again. Any difference, and any chunk the dry run could not record
(rows in error, per-row queries, values JSON cannot carry), is processed
from the file as in the dry run.

The file is JSON lines, written to the job's storage next to the upload
(never pickle); values are tagged by type (``{"d": "1.50"}`` for a Decimal,
``{"D": ...}`` a date, ``{"T": ...}`` a datetime, ``{"t": ...}`` a time).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from typing import IO, Any

from django.core.files import File
from django.core.files.storage import Storage

logger = logging.getLogger(__name__)

_PLAIN = (str, int, float, bool)


class CannotRecord(Exception):
    """A chunk holds something the staging file cannot carry."""


def encode_value(value: Any) -> Any:
    if value is None or type(value) in _PLAIN:
        return value
    kind = type(value)
    if kind is Decimal:
        return {"d": str(value)}
    if kind is dt.date:
        return {"D": value.isoformat()}
    if kind is dt.datetime:
        return {"T": value.isoformat()}
    if kind is dt.time:
        return {"t": value.isoformat()}
    raise CannotRecord(kind.__name__)


def decode_value(value: Any) -> Any:
    if type(value) is not dict:
        return value
    ((tag, text),) = value.items()
    if tag == "d":
        return Decimal(text)
    if tag == "D":
        return dt.date.fromisoformat(text)
    if tag == "T":
        return dt.datetime.fromisoformat(text)
    return dt.time.fromisoformat(text)


def digest(parts: list[Any]) -> str:
    """A digest of ``parts`` stable across processes (``repr``, not ``hash``)."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()


class RecordWriter:
    """Collects chunk records during a dry run into a temporary file."""

    def __init__(self) -> None:
        self.file: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        self.chunks = 0

    def add(self, record: dict[str, Any] | None) -> None:
        """Append the next chunk's record (None: the import processes it)."""
        line = {"i": self.chunks, "skip": True} if record is None else {"i": self.chunks, **record}
        self.chunks += 1
        try:
            text = json.dumps(line, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError):
            text = json.dumps({"i": line["i"], "skip": True})
        self.file.write(text + "\n")

    def rewound(self) -> IO[str]:
        self.file.flush()
        self.file.seek(0)
        return self.file

    def close(self) -> None:
        self.file.close()


class RecordReader:
    """Hands the import the dry run's record of each chunk, in order."""

    def __init__(self, lines: Iterator[str | bytes]) -> None:
        self.lines = lines
        self.chunks = 0

    def skip_record(self) -> None:
        """Pass over the next chunk's record without reading it."""
        self.chunks += 1
        next(self.lines, None)

    def next_record(self) -> dict[str, Any] | None:
        """The record of the next chunk, or None when there is none to use."""
        index = self.chunks
        self.chunks += 1
        line = next(self.lines, None)
        if line is None:
            return None
        record = json.loads(line)
        if record.get("i") != index or record.get("skip"):
            return None
        return dict(record)


# -- the records file in the job's storage ------------------------------------------


#: What the name of a records file adds to the name of its upload.
RECORDS_SUFFIX = ".staged.jsonl"


def records_name(upload_name: str) -> str:
    """Where the dry run leaves its records: next to the upload."""
    return f"{upload_name}{RECORDS_SUFFIX}"


def save_records(storage: Storage, upload_name: str, writer: RecordWriter) -> None:
    """Store ``writer``'s records for the import of ``upload_name`` (a
    failure is logged: the import then processes every chunk again)."""
    name = records_name(upload_name)
    try:
        storage.delete(name)
        saved = storage.save(name, File(writer.rewound(), name=name))
        if saved != name:
            storage.delete(saved)
    except Exception:
        logger.warning("Could not store the dry run's records %s.", name, exc_info=True)


def delete_records(storage: Storage, upload_name: str) -> None:
    """Delete the dry run's records of ``upload_name``, if any."""
    try:
        storage.delete(records_name(upload_name))
    except Exception:
        logger.warning("Could not delete the dry run's records of %s.", upload_name, exc_info=True)


@contextlib.contextmanager
def open_records(
    storage: Storage, upload_name: str, *, keep: bool = False
) -> Iterator[RecordReader | None]:
    """The dry run's records of ``upload_name`` (None without any), deleted
    when the block ends unless ``keep`` (a chunked import reads them again
    on every pass and resume)."""
    name = records_name(upload_name)
    handle = None
    try:
        if storage.exists(name):
            handle = storage.open(name, "rb")
    except Exception:
        logger.warning("Could not open the dry run's records %s.", name, exc_info=True)
    try:
        yield None if handle is None else RecordReader(iter(handle))
    finally:
        if handle is not None:
            handle.close()
        if not keep:
            delete_records(storage, upload_name)
