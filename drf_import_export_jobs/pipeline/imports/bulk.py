"""The bulk import engine: one chunk of rows converted, classified and written at once.

For a resource that :func:`~.engines.choose_engine` gives the bulk engine, a
:class:`BulkImporter` gives each chunk of rows the outcome django-import-export's
``Resource.import_data`` would give it, row by row in file order: the same
row types (new, update, skip, invalid, error), the same messages, the same
data written. The differences are in how:

* cells go through fast converters (:mod:`.cells`) for the standard
  widgets, other widgets through their own ``clean()``, and fields of a
  custom ``Field`` class through their own ``save()``;
* foreign keys looked up by a ``ForeignKeyWidget``, existing instances (by
  ``import_id_fields``) and the values of unique fields are fetched with one
  query per chunk, not per row;
* with ``clean_model_instances``, ``full_clean()`` is reproduced without its
  per-row queries (:mod:`.validation`); without it, as in
  django-import-export, only the widgets' errors make a row invalid and the
  database judges the rest;
* new rows are written with ``COPY`` (PostgreSQL) or ``bulk_create`` and
  changed rows with one ``UPDATE ... FROM`` per batch. Writes of the chunk
  happen in order; a row that depends on one written before it in the same
  chunk (same import id, or a unique value the earlier row freed) first
  flushes the writes before it.

The dry run writes too, inside a transaction that is rolled back at its end
(so later chunks see earlier ones, as in one ``import_data()`` call over the
whole file). When a write fails with a database error, the chunk's writes are
rolled back to a savepoint and the chunk alone is run through the resource's
own ``import_data()``, one savepoint per row, so the errors are
django-import-export's, on their rows.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import tablib
from django.core.exceptions import ValidationError
from django.core.management.color import no_style
from django.db import DatabaseError, connections, models, transaction
from django.db.models.fields import NOT_PROVIDED
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init
from import_export import fields as ie_fields
from import_export import widgets
from import_export.resources import ModelResource
from import_export.results import Error, Result, RowResult

from . import replay
from .cells import converter_for
from .foreignkeys import FkResolver
from .ledger import LedgerRecorder
from .lookups import ChunkLookups
from .replayfile import RecordReader, RecordWriter
from .sequences import forward_only_sequence_reset
from .state import ChunkState, Column, Entry, clone_instance, lazy_row
from .unwritten import UnwrittenChunks
from .validation import ChunkValidator
from .writes import can_copy_values, copy_fields, copy_rows, insert_rows, update_rows

_NEW = RowResult.IMPORT_TYPE_NEW
_UPDATE = RowResult.IMPORT_TYPE_UPDATE
_SKIP = RowResult.IMPORT_TYPE_SKIP
_ERROR = RowResult.IMPORT_TYPE_ERROR
_INVALID = RowResult.IMPORT_TYPE_INVALID
_MISSING = object()


def _values(instance: models.Model, names: list[str]) -> dict[str, Any] | None:
    """``{attname: value}`` of ``names`` (None when one is not loaded)."""
    data = instance.__dict__
    return {n: data[n] for n in names} if all(n in data for n in names) else None


class NeedsRowByRow(Exception):
    """A row of the chunk will fail in the database: run the chunk row by row."""


class UnwrittenChunkRefused(RuntimeError):
    """The database refused a dry-run chunk written late (see :mod:`.unwritten`)."""


class BulkImporter(ChunkLookups):
    """Runs chunks of one file through a resource on the bulk path.

    ``headers`` is the file's header row. With ``dry_run`` the chunks are
    written all the same: the caller runs them inside a transaction that it
    rolls back (see :func:`.runner.run_resource`).
    """

    def __init__(
        self,
        resource: ModelResource,
        headers: list[str],
        *,
        dry_run: bool,
        import_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.resource = resource
        self.headers = list(headers)
        self.dry_run = dry_run
        self.kwargs = dict(import_kwargs or {})
        self.model: type[models.Model] = resource._meta.model
        meta = self.model._meta
        self.alias = resource.get_db_connection_name()
        self.connection = connections[self.alias]
        self.batch_size = resource._meta.batch_size or None
        # Values per lookup query (one array parameter on PostgreSQL).
        self.in_size = 5000 if self.connection.vendor == "postgresql" else 500
        opts = resource._meta
        self.compare = bool(opts.skip_unchanged) and not opts.skip_diff
        self.clean_instances = bool(opts.clean_model_instances)
        # With use_bulk, django-import-export saves a batch at once: a row
        # never finds one of its own batch (a repeated key is new again).
        self.use_bulk = bool(opts.use_bulk)
        self.report_skipped = opts.report_skipped
        positions = {name: i for i, name in enumerate(self.headers)}
        self.columns: list[Column] = []
        self.compare_attrs: list[str] = []
        # Fields of a custom Field class set the instance through their own save().
        self.saved_by_field: list[ie_fields.Field] = []
        for ie_field in resource.get_import_fields():
            if ie_field.attribute is None:
                continue
            self.compare_attrs.append(self._compare_attr(ie_field.attribute))
            if ie_field.readonly or ie_field.column_name not in positions:
                continue
            if type(ie_field) is not ie_fields.Field:
                self.saved_by_field.append(ie_field)
                continue
            self.columns.append(self._column(ie_field, positions[ie_field.column_name]))
        self.id_columns: list[Column] = []
        self.id_attrs: list[str] = []
        lookup = True
        for name in resource.get_import_id_fields():
            ie_field = resource.fields[name]
            if ie_field.column_name not in positions:
                lookup = False
                break
            same = [c for c in self.columns if c.field is ie_field]
            self.id_columns.append(
                same[0] if same else self._column(ie_field, positions[ie_field.column_name])
            )
            self.id_attrs.append(ie_field.attribute)
        self.lookup = lookup and bool(self.id_columns) and not opts.force_init_instance
        self.model_fields = [f for f in meta.concrete_fields if not f.generated]
        set_attrs = {c.attribute for c in self.columns}
        set_attrs |= {str(f.attribute) for f in self.saved_by_field}
        # The primary key only needs checking when the file gives it. Without
        # clean_model_instances uniqueness is the database's to check.
        self.unique_fields = [
            f
            for f in meta.local_concrete_fields
            if f.unique
            and (not f.primary_key or {f.name, f.attname} & set_attrs)
            and self.clean_instances
        ]
        self.fk_fields = {f.name: f for f in self.model_fields if f.is_relation}
        self.validator = ChunkValidator(
            self.model,
            self.alias,
            self.connection.features.interprets_empty_strings_as_nulls,
            self.unique_fields,
        )
        # Without clean_model_instances only the widgets judge a row (the
        # database refuses what the model would have): full_clean() is not run.
        self.validate = self.validator.errors if self.clean_instances else None
        self.template = self._template()
        # Attributes without a data descriptor: setting them only fills __dict__.
        self.plain_attrs = frozenset(
            f.attname
            for f in self.model_fields
            if not f.is_relation
            and f.attname == f.name
            and type(self.model.__dict__.get(f.attname)) is DeferredAttribute
        )
        # ForeignKey attributes set without the descriptor, on one database.
        self.direct_fk: dict[str, tuple[Any, str, str, str]] = {}
        if len(connections.databases) == 1:
            for f in self.model_fields:
                if type(f) is models.ForeignKey and f.name in set_attrs:
                    target = f.target_field.attname
                    self.direct_fk[f.name] = (f.related_model, f.attname, target, f.name)
        self.fk_columns = [
            (c.attribute, meta.get_field(c.attribute))
            for c in self.columns
            if c.fk is not None and meta.get_field(c.attribute).is_relation
        ]
        # Import id fields hold the values the row was found by: not rewritten.
        self.update_fields = [
            f.name
            for f in self.model_fields
            if not f.primary_key
            and not (self.lookup and f.name in self.id_attrs)
            and (f.name in set_attrs or f.attname in set_attrs or getattr(f, "auto_now", False))
        ]
        self.update_attnames = [meta.get_field(name).attname for name in self.update_fields]
        # None passes full_clean() for blank=True fields; NOT NULL refuses it.
        self.null_refused = [
            f.attname
            for f in self.model_fields
            if self.clean_instances
            and f.blank
            and not f.null
            and not f.primary_key
            and not getattr(f, "auto_now", False)
            and not getattr(f, "auto_now_add", False)
        ]
        self.auto_now = [f for f in self.model_fields if getattr(f, "auto_now", False)]
        self.new_tokens = itertools.count()
        self.specs = [
            (c, c.index, c.convert, c.attribute, c.field.default, c.field.saves_null_values)
            for c in self.columns
        ]
        self.copy_values = can_copy_values(self.model, self.alias)
        self.record_writer: RecordWriter | None = None
        self.record_reader: RecordReader | None = None
        # What the import writes, chunk by chunk (None in a dry run).
        self.ledger: LedgerRecorder | None = None
        # Widgets without a converter and custom fields may read the database per row.
        self.stageable = (
            not (self.clean_instances and self.validator.custom_clean)
            and not self.saved_by_field
            and all(c.convert is not None or c.fk is not None for c in self.columns)
        )
        self.slow_kwargs = {"dry_run": dry_run, "using_transactions": True, **self.kwargs}
        # Dry-run chunks recorded but not written (made with the first chunk).
        self.unwritten: UnwrittenChunks | None = None
        self.expected_rows = 0  # the file's rows, when the runner knows them

    # -- setup ----------------------------------------------------------------

    def _template(self) -> models.Model | None:
        """An instance to copy for new rows, when copying gives what
        ``Model()`` would: no callable defaults, no init signal receivers."""
        if pre_init.has_listeners(self.model) or post_init.has_listeners(self.model):
            return None
        if any(f.has_default() and callable(f.default) for f in self.model_fields):
            return None
        return self.model()

    def _unwritten_chunks(self) -> UnwrittenChunks | None:
        """What decides which dry-run chunks are left unwritten (see
        :mod:`.unwritten`); None when every chunk is written."""
        if not self.dry_run or self.record_writer is None:
            return None
        if self.unwritten is None:
            meta = self.model._meta
            unique = [f for f in meta.concrete_fields if f.unique and not f.primary_key]
            manager = type(self.model._default_manager)
            unique_column = None
            if (
                len(unique) == 1
                and self._unique_by_lookup(unique[0])
                and manager.get_queryset is models.Manager.get_queryset
            ):
                unique_column = unique[0].column
            written = [
                f
                for f in self.model_fields
                if not f.primary_key
                and not getattr(f, "auto_now", False)
                and not getattr(f, "auto_now_add", False)
            ]
            updated = [f for f in written if f.name in self.update_fields]
            self.unwritten = UnwrittenChunks(
                self.model,
                self.alias,
                written,
                updated,
                unique_column,
                allowed=not meta.parents and self.stageable,
                expected_rows=self.expected_rows,
            )
        return self.unwritten if self.unwritten.possible else None

    def _write_unwritten(self, unwritten: UnwrittenChunks) -> None:
        """Write the dry run's unwritten chunks from their records."""
        assert self.record_writer is not None
        try:
            for record in self.record_writer.read_back(unwritten.chunks):
                state = ChunkState()
                replay.restore(self, state, record)
                self._flush(state, last=True)
        except DatabaseError as exc:
            raise UnwrittenChunkRefused(
                "The database refused rows of an earlier chunk that the dry run had "
                f"judged it would take: {exc}"
            ) from exc
        unwritten.written()

    def new_instance(self) -> models.Model:
        if self.template is None:
            return self.model()
        return clone_instance(self.template)

    def _compare_attr(self, attribute: str) -> str:
        """The attribute compared for ``skip_unchanged``: the model field's
        attname (related instances compare equal by primary key)."""
        model_field = self.model._meta.get_field(attribute)  # a name or an attname
        return str(getattr(model_field, "attname", attribute))

    def _column(self, ie_field: ie_fields.Field, index: int) -> Column:
        widget = ie_field.widget
        column = Column(ie_field, index, str(ie_field.attribute), converter_for(widget))
        if type(widget) is widgets.ForeignKeyWidget and not widget.use_natural_foreign_keys:
            column.fk = FkResolver(widget)
            column.convert = None
        return column

    # -- one chunk ------------------------------------------------------------

    def run_chunk(self, rows: Sequence[list[Any]], first_number: int = 1) -> Result:
        """Process ``rows`` (cells in header order); row ``i`` of the chunk is
        reported as number ``first_number + i`` of the chunk's Result."""
        result = Result()
        result.diff_headers = self.resource.get_diff_headers()
        result.total_rows = len(rows)
        if self.dry_run and not self.connection.in_atomic_block:
            raise RuntimeError(
                "A dry run writes its chunks: run it inside a transaction that is rolled back."
            )
        if self.ledger is not None:
            self.ledger.reset_chunk()
        try:
            with transaction.atomic(using=self.alias):
                outcomes = self._outcomes(rows, first_number)
        except (DatabaseError, NeedsRowByRow):
            if self.record_writer is not None:
                self.record_writer.add(None)
            if self.ledger is None:
                return self._row_by_row(rows)
            return self.ledger.run_watched(self._row_by_row, rows)  # bulk writes rolled back
        for n, ((kind, detail), cells) in enumerate(zip(outcomes, rows, strict=True)):
            number = first_number + n
            result.totals[kind] += 1
            if kind == _ERROR:
                row = self._row_dict(cells)
                result.append_error_row(number, row, [Error(detail, row=row, number=number)])
            elif kind == _INVALID:
                result.append_invalid_row(number, self._row_dict(cells), detail)
        return result

    def _outcomes(self, rows: Sequence[list[Any]], first_number: int) -> list[tuple[str, Any]]:
        """Each row's type and error; writes the rows that did not end in
        error (as ``import_data`` saves each good row in its own savepoint)."""
        state = ChunkState()
        for column in {id(c): c for c in self.columns + self.id_columns}.values():
            if column.fk is not None:
                column.fk.prepare(rows, column.index)
        cleaned_ids = self._clean_ids(rows)
        unwritten = self._unwritten_chunks()
        if unwritten is not None and unwritten.named(cleaned_ids):
            self._write_unwritten(unwritten)
        existing = self._fetch_existing(cleaned_ids)
        if self.ledger is not None:
            self.ledger.remember(existing.values())
        if self.record_reader is not None:
            record = self.record_reader.next_record()
            if (
                record is not None
                and record.get("rows") == len(rows)
                and replay.replayable_format(record)
                and self._replayable(record, existing)
            ):
                return self._replay(state, record)
        queries = self.validator.queries
        plans = [self._convert(cells, n) for n, cells in enumerate(rows, first_number)]
        self._fetch_unique(state, plans, existing, cleaned_ids)
        outcomes = [
            self._row(state, key, plan, existing, cells, number)
            for number, (key, plan, cells) in enumerate(
                zip(cleaned_ids, plans, rows, strict=True), first_number
            )
        ]
        if self.record_writer is not None:
            if self.validator.queries != queries or not self.stageable:
                state.pure = False
            kept = self.record_writer.add(replay.record(self, state, existing, rows, outcomes))
            if (
                kept
                and unwritten is not None
                and unwritten.leave(
                    self.record_writer.chunks - 1,
                    state.creates,
                    state.updates,
                    cleaned_ids,
                    outcomes,
                )
            ):
                return outcomes
        self._flush(state, last=True)
        self._reset_sequence(state)
        return outcomes

    def _replayable(self, record: dict[str, Any], existing: dict[Any, Any]) -> bool:
        seen = replay.reads_digest(self, existing, replay.decode_unique(record.get("unique", {})))
        return seen is not None and seen == record.get("digest")

    def _replay(self, state: ChunkState, record: dict[str, Any]) -> list[tuple[str, Any]]:
        """Write what the dry run recorded for this chunk (reads unchanged)."""
        replay.restore(self, state, record)
        self._flush(state, last=True)
        self._reset_sequence(state)
        return [
            (kind, ValidationError(detail) if kind == _INVALID else None)
            for kind, detail in record["outcomes"]
        ]

    def _row_dict(self, cells: list[Any]) -> dict[str, Any]:
        return OrderedDict(zip(self.headers, cells, strict=False))

    def _row_by_row(self, rows: Sequence[list[Any]]) -> Result:
        """The chunk through the resource's own per-row import, one savepoint
        per row (``import_data_inner``: the caller's transaction decides what
        is kept, so later chunks see this chunk's good rows, as in one
        ``import_data()`` call over the whole file)."""
        dataset = tablib.Dataset(*rows, headers=self.headers)
        with transaction.atomic(using=self.alias):
            return self.resource.import_data_inner(
                dataset,
                self.dry_run,
                False,  # raise_errors
                True,  # using_transactions
                False,  # collect_failed_rows
                **self.kwargs,
            )

    # -- cleaning -------------------------------------------------------------

    def _convert(
        self, cells: list[Any], number: int
    ) -> tuple[list[tuple[str, Any]], dict[str, Any], Exception | None]:
        """``import_instance`` without the instance: the values to set, the
        ValueError messages per attribute, or the exception that ends the row."""
        row = lazy_row(self.headers, cells)

        def kwargs() -> dict[str, Any]:
            return {**self.slow_kwargs, "row_number": number}

        values: list[tuple[str, Any]] = []
        errors: dict[str, Any] = {}
        for column, index, convert, attribute, default, keep_null in self.specs:
            try:
                if convert is not None:
                    value = convert(cells[index])
                    if default is not NOT_PROVIDED and (value is None or value == ""):
                        value = default() if callable(default) else default
                else:
                    value = column.clean(cells, row, kwargs)
            except ValueError as exc:
                errors[attribute] = ValidationError(str(exc), code="invalid")
                continue
            except Exception as exc:
                return values, errors, exc
            if value is not None or keep_null:
                values.append((attribute, value))
        return values, errors, None

    # -- one row --------------------------------------------------------------

    def _row(
        self,
        state: ChunkState,
        key: Any,
        plan: tuple[list[tuple[str, Any]], dict[str, Any], Exception | None],
        existing: dict[tuple[Any, ...], Any],
        cells: list[Any],
        number: int,
    ) -> tuple[str, Any]:
        if isinstance(key, Exception):
            return _ERROR, key
        entry = state.rows.get(key) if self._remembered(key) else None
        new = False
        if entry is not None:
            instance = clone_instance(entry.instance)
            token = entry.token
        else:
            found = existing.get(key) if key is not None else None
            if isinstance(found, Exception):
                return _ERROR, found
            if found is not None:
                instance = clone_instance(found)
                token = ("pk", found.pk)
            else:
                instance = self.new_instance()
                token = ("new", next(self.new_tokens))
                new = True
        values, errors, stop = plan
        data = instance.__dict__
        compare = self.compare_attrs
        before = [data.get(a) for a in compare] if self.compare else None
        plain = self.plain_attrs
        direct_fk = self.direct_fk
        for attr, value in values:
            if attr in plain:
                data[attr] = value
            elif attr in direct_fk and type(value) is direct_fk[attr][0]:
                # What the descriptor's __set__ does for a ForeignKey to an
                # instance of the right model (without its router checks).
                _model, attname, target, cache_name = direct_fk[attr]
                data[attname] = getattr(value, target)
                instance._state.fields_cache[cache_name] = value
            else:
                setattr(instance, attr, value)
        if stop is not None:
            return _ERROR, stop
        if self.saved_by_field:
            stop = self._save_fields(instance, errors, cells, number)
            if stop is not None:
                return _ERROR, stop
        if before is not None and not errors and [data.get(a) for a in compare] == before:
            return _SKIP, None
        if self.validate is None:
            if errors:
                return _INVALID, ValidationError(errors)
            self._save(state, key, instance, token, new)
            return (_NEW if new else _UPDATE), None
        for attribute, model_field in self.fk_columns:
            if attribute not in errors:
                state.known_fk.setdefault(model_field.name, set()).add(data[model_field.attname])
        problems = self.validate(instance, token, dict(errors), state.taken, state.known_fk)
        if problems:
            return _INVALID, ValidationError(problems)
        for name in self.null_refused:
            if data.get(name) is None:
                # full_clean() lets it through, the database refuses it: only
                # the row-by-row path reports that error as django-import-export does.
                raise NeedsRowByRow(name)
        self._save(state, key, instance, token, new)
        return (_NEW if new else _UPDATE), None

    def _remembered(self, key: Any) -> bool:
        """Whether a later row with ``key`` finds this chunk's row: not with
        ``use_bulk`` (rows of a batch are saved at once), nor for a key with
        an empty value (``get(id=None)`` finds no row just created)."""
        return key is not None and not self.use_bulk and None not in key

    def _save_fields(
        self, instance: models.Model, errors: dict[str, Any], cells: list[Any], number: int
    ) -> Exception | None:
        """Let each field of a custom Field class set ``instance`` with its own
        ``save()``, as ``import_field`` does; its ValueError is the field's
        error, any other exception ends the row (returned)."""
        row = self._row_dict(cells)
        for ie_field in self.saved_by_field:
            try:
                ie_field.save(instance, row, False, **self.slow_kwargs, row_number=number)
            except ValueError as exc:
                errors[str(ie_field.attribute)] = ValidationError(str(exc), code="invalid")
            except Exception as exc:
                return exc
        return None

    # -- saving ---------------------------------------------------------------

    def _save(
        self, state: ChunkState, key: Any, instance: models.Model, token: Any, new: bool
    ) -> None:
        claims = [(f.name, getattr(instance, f.attname)) for f in self.unique_fields]
        remembered = self._remembered(key)
        entry = state.rows.get(key) if remembered else None
        freed = bool(state.freed) and any(
            claim in state.freed for claim in claims if claim[1] is not None
        )
        if entry is not None or freed:
            state.pure = False  # depends on a write of this chunk: not replayable
        if freed or (entry is not None and entry.pending):
            self._flush(state)
        if entry is not None and entry.instance.pk is not None and not new:
            instance.pk = entry.instance.pk
            instance._state.adding = False
        held = state.held.setdefault(token, {}) if claims else {}
        for name, value in claims:
            old = held.get(name, _MISSING)
            taken = state.taken.setdefault(name, {})
            if old is not _MISSING and old != value and taken.get(old) == token:
                del taken[old]
                state.freed.add((name, old))
            if value is not None:
                taken[value] = token
            held[name] = value
        saved = Entry(instance, token, pending=True)
        if remembered:
            state.rows[key] = saved
        if instance._state.adding:
            if instance.pk is not None:
                state.explicit_pk = True
            state.creates.append(instance)
        else:
            state.updates.append(instance)
        state.pending.append(saved)

    def _flush(self, state: ChunkState, last: bool = False) -> None:
        """Write the pending rows. Before the chunk's ``last`` flush, later rows
        may need the new rows' primary keys, so only ``bulk_create`` will do."""
        ledger = self.ledger
        returning = ledger is not None
        if state.copy_rows:
            pks = copy_rows(self.model, state.copy_rows, self.alias, returning=returning)
            if ledger is not None:
                names = [f.attname for f in copy_fields(self.model)]
                ledger.add_created_values(pks, names, state.copy_rows)
            state.copy_rows.clear()
        if state.creates and last:
            pks = insert_rows(
                self.model, state.creates, self.alias, self.batch_size, returning=returning
            )
            if ledger is not None:
                ledger.add_created(pks, (i.__dict__ for i in state.creates))
        elif state.creates:
            manager = self.model._base_manager.db_manager(self.alias)
            manager.bulk_create(state.creates, batch_size=self.batch_size)
            for instance in state.creates:
                instance._state.adding = False
            if ledger is not None:
                ledger.add_created(
                    [i.pk for i in state.creates], (i.__dict__ for i in state.creates)
                )
        if state.updates:
            for instance in state.updates:
                for auto in self.auto_now:
                    auto.pre_save(instance, False)
            update_rows(self.model, state.updates, self.update_fields, self.alias, self.batch_size)
            if ledger is not None:
                names = self.update_attnames
                ledger.add_updated(
                    [i.pk for i in state.updates], (_values(i, names) for i in state.updates)
                )
        for entry in state.pending:
            entry.pending = False
        state.creates.clear()
        state.updates.clear()
        state.pending.clear()
        state.freed.clear()

    def _reset_sequence(self, state: ChunkState) -> None:
        """Move the id sequence past ids given in the file, as
        ``ModelResource.after_import`` does (only ever forward)."""
        if not state.explicit_pk:
            return
        with forward_only_sequence_reset(self.alias):
            statements = self.connection.ops.sequence_reset_sql(no_style(), [self.model])
            if statements:
                with self.connection.cursor() as cursor:
                    for sql in statements:
                        cursor.execute(sql)
