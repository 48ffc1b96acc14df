"""Recording what an import writes, chunk by chunk, so that it can be reverted.

A :class:`LedgerRecorder` collects, for the chunk being imported, the
primary keys of the rows it created, the before-image of every row it
updated and of every row it deleted, and writes them as one
:class:`~drf_import_export_jobs.models.ImportLedgerEntry` in the chunk's
transaction (:meth:`LedgerRecorder.write_chunk`).

Where the facts come from:

* the bulk engine hands over the instances its per-chunk lookup fetched
  (:meth:`~LedgerRecorder.remember`, before any write) and the rows it wrote
  (:meth:`~LedgerRecorder.add_created`, :meth:`~LedgerRecorder.add_updated`);
* the resource's own per-row import (the rows engine, and a chunk the bulk
  engine hands to ``import_data_inner``) is watched through the model's
  ``pre_save``/``post_save``/``pre_delete``/``post_delete`` signals while the
  chunk runs (:meth:`~LedgerRecorder.watching`); a row about to be updated or
  deleted is read from the database first. Writes that send no signal
  (``use_bulk`` on the rows engine) cannot be seen: the entry is then marked
  incomplete and the job cannot be reverted.

Before the entry is written, a digest of each written row's values as the
import left it (its encoded after-image) is kept, so a revert can tell a row
somebody changed since. The bulk engine hands over the values it wrote
(:meth:`~LedgerRecorder.add_created`, :meth:`~LedgerRecorder.add_updated`
with ``images``): when every value is one the database stores and gives
back as it is (:func:`stored_form`), the after-image is taken from memory
(for the new rows of a ``COPY``, :meth:`~LedgerRecorder.add_created_values`
takes their digests right away, a column at a time). Every other row the
chunk touched is read back once (one query per batch of keys); rows created
and then rolled back by a row's savepoint are dropped.

Images are JSON objects ``{attname: value}``: plain JSON values as they are,
a ``JSONField``'s value as it is, dates, times, decimals, UUIDs, durations
as text and binary data as base64, turned back by the field's
``to_python()`` (:func:`decode_image`), so they round-trip exactly.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import itertools
import math
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextvars import ContextVar
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connections, models, router
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save
from django.utils.duration import duration_string
from import_export.results import Result

from ...models.ledger import ImportLedgerEntry
from .queries import batches, filter_in

_PLAIN = (str, int, float, bool)
_PLAIN_OR_NONE = frozenset({*_PLAIN, type(None)})

# The recorder watching the signals of the current thread or task, if any.
_watching: ContextVar[LedgerRecorder | None] = ContextVar("import_ledger", default=None)


def image_fields(model: type[models.Model]) -> list[Any]:
    """The fields an image holds: every concrete field but generated ones."""
    return [f for f in model._meta.concrete_fields if not f.generated]


# How encode_value() writes values of these exact types (subclasses are
# matched one by one below, with the same result).
_ENCODERS: dict[type, Callable[[Any], Any]] = {
    dt.date: dt.date.isoformat,
    dt.datetime: dt.datetime.isoformat,
    dt.time: dt.time.isoformat,
    Decimal: str,
    uuid.UUID: str,
    dt.timedelta: duration_string,
}


def encode_value(field: Any, value: Any) -> Any:
    """``value`` of ``field`` as JSON that :func:`decode_value` turns back."""
    if value is None or type(value) in _PLAIN or isinstance(field, models.JSONField):
        return value
    encode = _ENCODERS.get(type(value))
    if encode is not None:
        return encode(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, dt.timedelta):
        return duration_string(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)


def decode_value(field: Any, value: Any) -> Any:
    """The Python value of ``field`` that :func:`encode_value` encoded."""
    if value is None or isinstance(field, models.JSONField):
        return value
    return field.to_python(value)


def encode_image(fields: list[Any], values: dict[str, Any]) -> dict[str, Any]:
    """``{attname: JSON value}`` of a row's ``values`` (by attname)."""
    return {f.attname: encode_value(f, values.get(f.attname)) for f in fields}


def encode_images(fields: list[Any], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """:func:`encode_image` of each of ``rows``, a column at a time (a column
    of text, integers, booleans and None only is encoded as it is)."""
    columns = []
    for field in fields:
        column = [values.get(field.attname) for values in rows]
        kinds = set(map(type, column))
        if not kinds <= _PLAIN_OR_NONE and not isinstance(field, models.JSONField):
            column = [encode_value(field, value) for value in column]
        columns.append(column)
    names = [field.attname for field in fields]
    return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]


def decode_image(fields: list[Any], image: dict[str, Any]) -> dict[str, Any]:
    """``{attname: Python value}`` of an encoded image (fields it lacks are left out)."""
    return {f.attname: decode_value(f, image[f.attname]) for f in fields if f.attname in image}


def image_digest(image: dict[str, Any]) -> str:
    """A digest of an encoded image (its values in the model's field order,
    as :func:`encode_image` gives them), stable across processes."""
    return values_digest(tuple(image.values()))


def values_digest(values: tuple[Any, ...]) -> str:
    """24 hex digits of BLAKE2b over the ``repr`` of an encoded image's
    values (JSON values: their ``repr`` is the same in every process). It
    tells a changed row, it does not sign one."""
    return hashlib.blake2b(repr(values).encode(), digest_size=12).hexdigest()


# A value whose stored form is not known without reading it back.
UNKNOWN: Any = object()

_TEXT_TYPES = frozenset({"CharField", "TextField", "SlugField", "EmailField", "URLField"})
_INTEGER_TYPES = frozenset(
    {
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveBigIntegerField",
        "PositiveSmallIntegerField",
        "AutoField",
        "BigAutoField",
        "SmallAutoField",
    }
)


def stored_form(field: Any, alias: str) -> Callable[[Any], Any] | None:
    """For ``field`` on database ``alias``: a function giving a written value
    as reading the row back would give it (:data:`UNKNOWN` when that cannot
    be told without reading), or None when no value of the field can be told.

    Told are None, text, integers, booleans, finite floats, dates, decimals
    that fit the field's places (``1.5`` reads back as ``1.50``) and, with
    ``USE_TZ``, datetimes in UTC. Never on MySQL/MariaDB without a strict
    SQL mode, which silently truncates or clamps values.
    """
    connection = connections[alias]
    if connection.vendor == "mysql" and not (
        {"STRICT_TRANS_TABLES", "STRICT_ALL_TABLES"} & set(getattr(connection, "sql_mode", ()))
    ):
        return None
    if field.is_relation:
        target = getattr(field, "target_field", None)
        return None if target is None or not field.concrete else stored_form(target, alias)
    kind = field.get_internal_type()
    if kind in _TEXT_TYPES:
        return _typed(str)
    if kind in _INTEGER_TYPES:
        return _typed(int)
    if kind == "BooleanField":
        return _typed(bool)
    if kind == "DateField":
        return _typed(dt.date)
    if kind == "FloatField":
        return _float
    if kind == "DecimalField" and connection.vendor in ("postgresql", "mysql"):
        return _decimal(field.decimal_places)
    if kind == "DateTimeField" and settings.USE_TZ:
        return _utc_datetime
    return None


def stored_json(field: Any, alias: str) -> Callable[[Any], Any] | None:
    """:func:`stored_form`, with the value given as :func:`encode_value`
    encodes it (what a read-back row's image holds)."""
    form = stored_form(field, alias)
    target = field.target_field if form is not None and field.is_relation else field
    kind = target.get_internal_type()
    if form is None or kind not in ("DateField", "DecimalField", "DateTimeField"):
        return form  # text, integers, booleans, floats: encoded as they are
    if kind == "DateField":
        return _iso_date

    def encoded(value: Any) -> Any:
        stored = form(value)
        return stored if stored is None or stored is UNKNOWN else encode_value(field, stored)

    return encoded


def _iso_date(value: Any) -> Any:
    if type(value) is dt.date:
        return value.isoformat()
    return None if value is None else UNKNOWN


# Types a column of stored_json() forms gives back as they are (None aside).
_AS_THEY_ARE = frozenset({str, int, bool})


def _stored_column(
    form: Callable[[Any], Any], column: Sequence[Any], unknown: set[int]
) -> Sequence[Any]:
    """``form`` (a :func:`stored_json` form) of every value of ``column``;
    the indexes of values whose form is :data:`UNKNOWN` are added to
    ``unknown``. A column of text, integers or booleans only is its own form."""
    kinds = set(map(type, column))
    kinds.discard(type(None))
    if len(kinds) == 1 and kinds <= _AS_THEY_ARE:
        sample = next(value for value in column if value is not None)
        if form(sample) is not UNKNOWN:  # the form of all values of that type
            return column
    values = list(map(form, column))
    unknown.update(i for i, value in enumerate(values) if value is UNKNOWN)
    return values


def _typed(kind: type) -> Callable[[Any], Any]:
    def form(value: Any) -> Any:
        return value if value is None or type(value) is kind else UNKNOWN

    return form


def _float(value: Any) -> Any:
    if value is None or (type(value) is float and math.isfinite(value)):
        return value
    return UNKNOWN


def _decimal(places: int) -> Callable[[Any], Any]:
    quantum = Decimal(1).scaleb(-places)

    def form(value: Any) -> Any:
        if value is None:
            return None
        if type(value) is not Decimal or not value.is_finite():
            return UNKNOWN
        exponent = value.as_tuple().exponent
        if exponent == -places:
            return value
        if isinstance(exponent, int) and exponent > -places:
            return value.quantize(quantum)  # padded with zeros, as stored
        return UNKNOWN  # rounded by the database

    return form


def _utc_datetime(value: Any) -> Any:
    if value is None:
        return None
    if type(value) is dt.datetime and value.utcoffset() == dt.timedelta(0):
        return value  # aware (a naive datetime's offset is None), in UTC
    return UNKNOWN


def pk_key(value: Any) -> Any:
    """A primary key as JSON (and as a dictionary key that matches it)."""
    return value if value is None or type(value) in _PLAIN else str(value)


def read_rows(
    model: type[models.Model], alias: str, pks: Iterable[Any], *, lock: bool = False
) -> dict[Any, dict[str, Any]]:
    """The rows of ``pks`` as ``{pk_key: {attname: value}}`` (one query per batch)."""
    fields = image_fields(model)
    names = [f.attname for f in fields]
    pk_name = model._meta.pk.attname
    found: dict[Any, dict[str, Any]] = {}
    size = 5000 if connections[alias].vendor == "postgresql" else 900
    for batch in batches(list(pks), size):
        rows = filter_in(model._base_manager.using(alias).all(), model._meta.pk, batch, alias)
        if lock:
            rows = rows.select_for_update()
        for values in rows.values(*names):
            found[pk_key(values[pk_name])] = values
    return found


class LedgerRecorder:
    """The ledger of one import job: one entry per chunk (see the module docs)."""

    def __init__(self, job: Any, model: type[models.Model], alias: str) -> None:
        self.job_model = str(job._meta.label_lower)
        self.job_id = str(job.pk)
        self.model = model
        self.alias = alias
        self.fields = image_fields(model)
        self.entry_alias = router.db_for_write(ImportLedgerEntry)
        forms = [(f.attname, stored_json(f, alias)) for f in self.fields]
        # (attname, stored form as encoded in an image) of every field, or
        # None when images are always read back.
        self.forms: list[tuple[str, Callable[[Any], Any]]] | None = None
        if all(form is not None for _name, form in forms):
            self.forms = [(name, form) for name, form in forms if form is not None]
        self.reset_chunk()

    def reset_chunk(self) -> None:
        """Forget what the current chunk recorded (its writes were rolled back)."""
        self.originals: dict[Any, Any] = {}  # pk -> instance or values dict, before the chunk
        self.created: dict[Any, Any] = {}  # pk -> pk, in order
        self.updated: dict[Any, Any] = {}
        self.deleted: dict[Any, Any] = {}
        # pk -> {attname: value} the chunk left, as far as known without reading
        self.written: dict[Any, dict[str, Any]] = {}
        # pk -> digest of a created row as the chunk left it, taken when written
        self.created_digests: dict[Any, str] = {}
        self.saves = 0
        self.deletes = 0
        self.complete = True

    # -- the bulk engine -----------------------------------------------------

    def remember(self, instances: Iterable[Any]) -> None:
        """Keep the rows the chunk's lookup fetched, as they were before any
        write (instances whose fields are all loaded are kept as they are;
        others are read again now)."""
        reread = []
        for instance in instances:
            if not isinstance(instance, models.Model) or instance.pk is None:
                continue
            key = pk_key(instance.pk)
            if key in self.originals:
                continue
            if instance.get_deferred_fields():
                reread.append(instance.pk)
            else:
                self.originals[key] = instance
        if reread:
            self.originals.update(read_rows(self.model, self.alias, reread))

    def add_created(
        self, pks: Iterable[Any], images: Iterable[dict[str, Any] | None] | None = None
    ) -> None:
        """Count rows the chunk created; ``images`` (in the order of ``pks``)
        are the values written, by attname (the primary key aside)."""
        pk_name = self.model._meta.pk.attname
        for pk, image in zip(pks, images or itertools.repeat(None), strict=False):
            key = pk_key(pk)
            self.created[key] = pk
            if image is None:
                self.written.pop(key, None)
            else:
                self.written[key] = {**image, pk_name: pk}

    def add_created_values(
        self, pks: Sequence[Any], names: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Count rows the chunk created from plain values: ``rows[i]`` holds
        the values of ``names`` (attnames; the primary key is ``pks[i]``).
        Their digests are taken now, a column at a time; a row whose values
        the database may store otherwise is read back when the entry is
        written, as is a row written again later in the chunk."""
        encoded = self._encoded_columns(pks, names, rows)
        created = self.created
        for pk in pks:
            created[pk_key(pk)] = pk
        if encoded is None:
            return
        columns, unknown = encoded
        digests = self.created_digests
        for index, (pk, values) in enumerate(zip(pks, zip(*columns, strict=True), strict=True)):
            if index not in unknown:
                digests[pk_key(pk)] = values_digest(values)

    def _encoded_columns(
        self, pks: Sequence[Any], names: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> tuple[list[Sequence[Any]], set[int]] | None:
        """The encoded stored values of ``rows``, a column per image field,
        and the indexes of rows with a value not known without reading."""
        forms = self.forms
        if forms is None or not rows:
            return None
        given = dict(zip(names, zip(*rows, strict=True), strict=True))
        given[self.model._meta.pk.attname] = tuple(pks)
        columns: list[Sequence[Any]] = []
        unknown: set[int] = set()
        for name, form in forms:
            column = given.get(name)
            if column is None:
                return None
            columns.append(_stored_column(form, column, unknown))
        return columns, unknown

    def add_updated(
        self, pks: Iterable[Any], images: Iterable[dict[str, Any] | None] | None = None
    ) -> None:
        """Count rows the chunk updated (their before-images come from
        :meth:`remember`); ``images`` (in the order of ``pks``) are the values
        written, by attname (fields left out kept their values)."""
        for pk, image in zip(pks, images or itertools.repeat(None), strict=False):
            key = pk_key(pk)
            self.updated[key] = pk
            self.created_digests.pop(key, None)
            base = self.written.get(key) or self._original(key)
            if image is None or base is None:
                self.written.pop(key, None)
            else:
                self.written[key] = {**base, **image}

    # -- the resource's own per-row import -----------------------------------

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        """Record the model's saves and deletes in this context (signals)."""
        uid = f"drf_import_export_jobs.ledger.{id(self)}"
        receivers = (
            (pre_save, self._pre_write),
            (post_save, self._post_save),
            (pre_delete, self._pre_write),
            (post_delete, self._post_delete),
        )
        for signal, receiver in receivers:
            signal.connect(receiver, sender=self.model, weak=False, dispatch_uid=uid)
        token = _watching.set(self)
        try:
            yield
        finally:
            _watching.reset(token)
            for signal, _receiver in receivers:
                signal.disconnect(sender=self.model, dispatch_uid=uid)

    def run_watched(self, run: Callable[[Any], Result], rows: Any) -> Result:
        """``run(rows)`` (the resource's own import of a chunk) with its saves
        and deletes recorded, as the chunk's only writes."""
        self.reset_chunk()
        with self.watching():
            result = run(rows)
        self.check_result(result.totals)
        return result

    def check_result(self, totals: dict[str, int]) -> None:
        """Mark the chunk incomplete when the resource reports more rows
        written (``totals`` per import type) than the signals showed."""
        if self.saves < totals.get("new", 0) + totals.get("update", 0):
            self.complete = False
        if self.deletes < totals.get("delete", 0):
            self.complete = False

    def _mine(self, kwargs: dict[str, Any]) -> bool:
        return _watching.get() is self and not kwargs.get("raw", False)

    def _pre_write(self, sender: Any, instance: Any, **kwargs: Any) -> None:
        if not self._mine(kwargs) or instance.pk is None:
            return
        key = pk_key(instance.pk)
        if key not in self.originals:
            found = read_rows(self.model, self.alias, [instance.pk])
            if key in found:
                self.originals[key] = found[key]

    def _post_save(self, sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
        if not self._mine(kwargs):
            return
        self.saves += 1
        if created:
            self.add_created([instance.pk])
        else:
            self.add_updated([instance.pk])

    def _post_delete(self, sender: Any, instance: Any, **kwargs: Any) -> None:
        if not self._mine(kwargs):
            return
        self.deletes += 1
        self.deleted[pk_key(instance.pk)] = instance.pk
        self.written.pop(pk_key(instance.pk), None)
        self.created_digests.pop(pk_key(instance.pk), None)

    # -- the entry -------------------------------------------------------------

    def _original(self, key: Any) -> dict[str, Any] | None:
        """The row's values before the chunk (by attname), if remembered."""
        original = self.originals.get(key)
        if original is None:
            return None
        return original if isinstance(original, dict) else original.__dict__

    def _known_after(self) -> dict[Any, dict[str, Any]]:
        """The encoded images of the rows the chunk wrote whose values as
        stored are known without reading them back (see :func:`stored_form`),
        taken a column at a time."""
        forms = self.forms
        if forms is None or not self.written:
            return {}
        images = list(self.written.values())
        unknown: set[int] = set()
        columns = [
            _stored_column(form, [image.get(name, UNKNOWN) for image in images], unknown)
            for name, form in forms
        ]
        names = [name for name, _form in forms]
        rows = zip(self.written, zip(*columns, strict=True), strict=True)
        return {
            key: dict(zip(names, values, strict=True))
            for index, (key, values) in enumerate(rows)
            if index not in unknown
        }

    def write_chunk(
        self,
        number: int,
        *,
        always: bool = False,
        result: dict[str, Any] | None = None,
    ) -> ImportLedgerEntry | None:
        """Write the entry of chunk ``number`` (in the current transaction),
        with what its rows came to (``result``), and start the next chunk.
        Returns it (None when the chunk wrote nothing, unless ``always``:
        the chunked commit mode marks every committed chunk with its entry)."""
        touched = {**self.created, **self.updated, **self.deleted}
        known = self._known_after()
        digests = self.created_digests
        unread = [pk for key, pk in touched.items() if key not in known and key not in digests]
        fields = self.fields
        now = {}  # pk key -> encoded image of the row as the chunk left it
        if unread:
            for key, values in read_rows(self.model, self.alias, unread).items():
                now[key] = encode_image(fields, values)
        now.update(known)
        created = []
        updated = []
        deleted = []
        for key in self.created:
            if key in digests:
                created.append([key, digests[key]])
            elif key in now:  # not rolled back nor deleted again
                created.append([key, image_digest(now[key])])
        keys = []
        originals = []
        for key in self.updated:
            if key in self.created or key not in now:
                continue
            original = self._original(key)
            if original is None:
                self.complete = False
                continue
            keys.append(key)
            originals.append(original)
        for key, before in zip(keys, encode_images(fields, originals), strict=True):
            left = now[key]
            if before == left:
                continue  # written as it was (or rolled back): nothing to undo
            updated.append([key, before, image_digest(left)])
        for key in self.deleted:
            if key in self.created or key in now:
                continue
            original = self._original(key)
            if original is None:
                self.complete = False
                continue
            deleted.append([key, encode_image(self.fields, original)])
        complete = self.complete
        self.reset_chunk()
        if not (created or updated or deleted) and complete and not always:
            return None
        entry = ImportLedgerEntry(
            job_model=self.job_model,
            job_id=self.job_id,
            chunk=number,
            model=self.model._meta.label_lower,
            database=self.alias,
            created=created,
            updated=updated,
            deleted=deleted,
            complete=complete,
            result=result,
        )
        entry.save(using=self.entry_alias, force_insert=True)
        return entry
