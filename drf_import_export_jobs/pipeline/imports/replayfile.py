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
(never pickle). Values are tagged by type (``{"d": "1.50"}`` for a Decimal,
``{"D": ...}`` a date, ``{"T": ...}`` a datetime, ``{"t": ...}`` a time);
the rows to write are kept a column at a time (:func:`encode_column`), so a
column of one such type is tagged once (``{"d": ["1.50", null, ...]}``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import tempfile
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import IO, Any

from django.core.files import File
from django.core.files.storage import Storage

logger = logging.getLogger(__name__)

_PLAIN = (str, int, float, bool)
_PLAIN_TYPES = frozenset(_PLAIN)


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
    return _PARSERS[tag](text)


_PARSERS: dict[str, Callable[[str], Any]] = {
    "d": Decimal,
    "D": dt.date.fromisoformat,
    "T": dt.datetime.fromisoformat,
    "t": dt.time.fromisoformat,
}
# The tag and text of a column whose values are all of one of these types.
_COLUMN_TAGS: dict[type, tuple[str, Callable[[Any], str]]] = {
    Decimal: ("d", str),
    dt.date: ("D", dt.date.isoformat),
    dt.datetime: ("T", dt.datetime.isoformat),
    dt.time: ("t", dt.time.isoformat),
}


def encode_column(values: list[Any]) -> Any:
    """A column of values as JSON: the list itself when each value is JSON
    as it is, ``{tag: [text or None, ...]}`` when each is None or of one
    tagged type, else ``{"v": [encoded value, ...]}``."""
    kinds = set(map(type, values))
    kinds.discard(type(None))
    if kinds <= _PLAIN_TYPES:
        return values
    if len(kinds) == 1:
        tagged = _COLUMN_TAGS.get(kinds.pop())
        if tagged is not None:
            tag, text = tagged
            if None in values:
                return {tag: [None if v is None else text(v) for v in values]}
            return {tag: list(map(text, values))}
    return {"v": [encode_value(v) for v in values]}


def decode_column(encoded: Any) -> list[Any]:
    """The values :func:`encode_column` encoded."""
    if type(encoded) is list:
        return encoded
    ((tag, items),) = encoded.items()
    if tag == "v":
        return [decode_value(v) for v in items]
    parse = _PARSERS[tag]
    if None in items:
        return [None if t is None else parse(t) for t in items]
    return list(map(parse, items))


def digest(parts: list[Any]) -> str:
    """A digest of ``parts`` stable across processes (``repr``, not ``hash``)."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()


class RecordWriter:
    """Collects chunk records during a dry run into a temporary file."""

    def __init__(self) -> None:
        self.file: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        self.chunks = 0

    def add(self, record: dict[str, Any] | None) -> bool:
        """Append the next chunk's record (None: the import processes it).
        Returns whether the record was kept (JSON can carry it)."""
        line = {"i": self.chunks, "skip": True} if record is None else {"i": self.chunks, **record}
        self.chunks += 1
        try:
            text = json.dumps(line, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError):
            text = json.dumps({"i": line["i"], "skip": True})
            record = None
        self.file.write(text + "\n")
        return record is not None

    def read_back(self, indexes: Sequence[int]) -> Iterator[dict[str, Any]]:
        """The records of the chunks numbered ``indexes`` (from 0, in file
        order), read back from what was written so far."""
        wanted = set(indexes)
        self.file.flush()
        self.file.seek(0)
        try:
            for line in self.file:
                if int(line[5 : line.index(",")]) in wanted:
                    yield json.loads(line)
        finally:
            self.file.seek(0, 2)

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
