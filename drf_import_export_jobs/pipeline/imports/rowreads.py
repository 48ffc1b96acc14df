"""The reads of the rows engine, done once per chunk.

The rows engine (:func:`.runner.run_resource`) hands each chunk to the
resource's own ``import_data()``, where every per-row hook, ``save()`` and
signal runs as in django-import-export. Left alone, that reads the database
for every row: the existing instance (``ModelInstanceLoader.get_instance``)
and one ``get()`` per ``ForeignKeyWidget`` cell. :class:`RowReads` serves
those reads from one query per chunk each, while the chunk's
``import_data()`` runs (:meth:`RowReads.serving`):

* foreign keys: the chunk's distinct values of each exact
  ``ForeignKeyWidget`` column are looked up with one query
  (:class:`~.foreignkeys.FkResolver`); the widget's ``clean()`` answers a
  value found exactly once with a copy of the object (or its key with
  ``key_is_id``), any other value with the widget's own ``clean()``;
* existing instances: the rows of the chunk's import id values are fetched
  with one query (:func:`~.lookups.fetch_existing`); ``get_instance()``
  answers a key that query asked for with a copy of the row it found, or
  None when it found none. A key it did not ask for (a hook changed the
  row), or one whose row was saved or deleted during the chunk (``post_save``
  and ``post_delete`` receivers), goes to django-import-export's own
  ``get_instance()``, which reads the database;
* cells of the standard widgets: their ``clean()`` is answered by the
  bulk engine's converters (:mod:`.cells`), which give the widget's result
  for every input and hand anything unusual to the widget's own ``clean()``;
* the per-row diff (``deepcopy(instance)``, ``as_html()``), which the jobs
  never show, is skipped where nothing can observe it.

Both reads happen where django-import-export builds its instance loader,
after ``before_import()`` and outside every row's savepoint, so a row the
queries found cannot be undone by a rolled-back row. A hook's writes that
send no signal (``QuerySet.update()``, ``bulk_create()``, raw SQL) to the
rows a chunk has read are not seen by the rest of the chunk
(``docs/fast-import.md`` says so).
"""

from __future__ import annotations

import contextlib
import copy
from collections import OrderedDict
from collections.abc import Iterator
from functools import partial
from typing import TYPE_CHECKING, Any

from django.db import connections, models, transaction
from django.db.models.signals import post_delete, post_save
from import_export import fields as ie_fields
from import_export import instance_loaders, widgets
from import_export.resources import ModelResource

from .cells import Converter, converter_for
from .foreignkeys import FkResolver
from .lookups import ExistingRows, fetch_existing
from .state import clone_instance

if TYPE_CHECKING:
    from .ledger import LedgerRecorder

# Resource methods that see ``row_result.diff`` or the result's rows.
DIFF_READERS = (
    "after_import_row",
    "after_import",
    "import_row",
    "import_data_inner",
    "import_data",
)
# ... and those that see ``original`` (the copy ``skip_diff`` leaves out).
ORIGINAL_READERS = (*DIFF_READERS, "skip_row", "get_diff_class")
# The instance lookup is served only where django-import-export's own is used.
INSTANCE_METHODS = ("get_instance", "get_or_init_instance", "init_instance")


def _overrides(resource: ModelResource, name: str) -> bool:
    def function(kind: type) -> Any:
        method = getattr(kind, name, None)
        return getattr(method, "__func__", method)  # a classmethod's function

    return function(type(resource)) is not function(ModelResource)


class _ForeignKeyReads:
    """One exact ``ForeignKeyWidget`` column served from its chunk query."""

    def __init__(self, field: ie_fields.Field, widget: widgets.ForeignKeyWidget) -> None:
        self.field = field
        self.widget = widget
        self.resolver = FkResolver(widget)
        target = self.resolver.target
        # A new object of the model can match a found value only when the
        # lookup field allows duplicates.
        self.unique = target is not None and bool(target.unique)
        self.stale: set[Any] = set()  # primary keys saved or deleted during the chunk
        self.off = False

    def prepare(self, headers: list[str], rows: list[tuple[Any, ...]]) -> None:
        self.stale = set()
        self.off = self.resolver.target is None or self.field.column_name not in headers
        if not self.off:
            self.resolver.prepare(rows, headers.index(self.field.column_name))

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> Any:
        """``ForeignKeyWidget.clean`` answered from the chunk's query."""
        found = None if self.off else self.resolver.found(value)
        if found is None or found.pk in self.stale:
            return type(self.widget).clean(self.widget, value, row=row, **kwargs)
        return found.pk if self.widget.key_is_id else clone_instance(found)

    def written(self, instance: models.Model, created: bool) -> None:
        if created and not self.unique:
            self.off = True
        self.stale.add(instance.pk)


def _converted(convert: Converter, value: Any, row: Any = None, **kwargs: Any) -> Any:
    """A standard widget's ``clean()`` answered by its converter."""
    return convert(value)


class RowReads:
    """Serves a resource's per-row reads from per-chunk queries on the rows
    engine (see the module docs). ``ledger`` (an import) is given the rows
    found, as they were before the chunk wrote them."""

    def __init__(self, resource: ModelResource, ledger: LedgerRecorder | None = None) -> None:
        self.resource = resource
        self.ledger = ledger
        self.model: type[models.Model] | None = getattr(resource._meta, "model", None)
        self.alias = resource.get_db_connection_name()
        self.in_size = 5000 if connections[self.alias].vendor == "postgresql" else 500
        self.foreign_keys: list[_ForeignKeyReads] = []
        self.converted: list[tuple[widgets.Widget, Converter]] = []
        self.id_fields: list[ie_fields.Field] = []
        self.id_attrs: list[str] = []
        self.id_attnames: list[str] = []
        self.skip_html_diff = False
        self.skip_diff = False
        self.uid = f"{__name__}.{id(self)}"
        if self.model is None or not isinstance(resource, ModelResource):
            return
        for field in resource.get_import_fields():
            widget = field.widget
            if type(widget) is widgets.ForeignKeyWidget and not widget.use_natural_foreign_keys:
                self.foreign_keys.append(_ForeignKeyReads(field, widget))
                continue
            convert = converter_for(widget)
            if convert is not None:
                self.converted.append((widget, convert))
        if self._can_serve_instances():
            self.id_fields = [resource.fields[name] for name in resource.get_import_id_fields()]
            self.id_attrs = [str(f.attribute) for f in self.id_fields]
            meta = self.model._meta
            self.id_attnames = [meta.get_field(a).attname for a in self.id_attrs]
        opts = resource._meta
        self.skip_html_diff = not opts.skip_html_diff and not any(
            _overrides(resource, name) for name in DIFF_READERS
        )
        self.skip_diff = (
            not opts.skip_diff
            and not opts.skip_unchanged
            and not any(_overrides(resource, name) for name in ORIGINAL_READERS)
        )
        self._reset()

    def _can_serve_instances(self) -> bool:
        """Whether ``get_instance()`` is django-import-export's own
        ``queryset.get()`` by plain model fields (and saves send signals)."""
        resource, model = self.resource, self.model
        opts = resource._meta
        if model is None or opts.force_init_instance or opts.use_bulk:
            return False
        if opts.instance_loader_class not in (None, instance_loaders.ModelInstanceLoader):
            return False
        if any(_overrides(resource, name) for name in INSTANCE_METHODS):
            return False
        names = list(resource.get_import_id_fields())
        if not names:
            return False
        for name in names:
            field = resource.fields.get(name)
            if field is None or not field.attribute or "__" in field.attribute:
                return False
            try:
                model_field = model._meta.get_field(field.attribute)
            except Exception:
                return False
            if model_field.is_relation or not model_field.concrete:
                return False
        return True

    @property
    def serves_instances(self) -> bool:
        return bool(self.id_fields)

    @property
    def active(self) -> bool:
        """Whether there is anything to serve or to skip."""
        return bool(
            self.foreign_keys
            or self.converted
            or self.id_fields
            or self.skip_html_diff
            or self.skip_diff
        )

    def _reset(self) -> None:
        self.loader: Any = None
        self.existing: ExistingRows | None = None
        self.asked: set[tuple[Any, ...]] = set()
        self.key_of_pk: dict[Any, tuple[Any, ...]] = {}
        self.stale: set[Any] = set()
        self.current_key: Any = None

    # -- one chunk ------------------------------------------------------------

    @contextlib.contextmanager
    def serving(self) -> Iterator[None]:
        """Serve the reads of one chunk's ``import_data()`` run in this context.

        Installs, on the resource instance and its widgets only, a copy of
        the resource's options (the diff switches, an instance loader that
        first runs the chunk's queries), ``get_instance()`` and each served
        or converted widget's ``clean()``, and the receivers that mark rows written during
        the chunk; all are removed when the context ends."""
        if not self.active:
            yield
            return
        resource = self.resource
        saved_meta = vars(resource).get("_meta")
        opts = copy.copy(resource._meta)
        if self.skip_html_diff:
            opts.skip_html_diff = True
        if self.skip_diff:
            opts.skip_diff = True
        opts.instance_loader_class = partial(self._loader, opts.instance_loader_class)
        senders = {fk.resolver.model for fk in self.foreign_keys}
        if self.serves_instances and self.model is not None:
            senders.add(self.model)
        self._reset()
        resource._meta = opts
        if self.serves_instances:
            resource.get_instance = self._get_instance
        for fk in self.foreign_keys:
            fk.widget.clean = fk.clean
        for widget, convert in self.converted:
            widget.clean = partial(_converted, convert)
        for sender in senders:
            post_save.connect(self._saved, sender=sender, weak=False, dispatch_uid=self.uid)
            post_delete.connect(self._deleted, sender=sender, weak=False, dispatch_uid=self.uid)
        try:
            yield
        finally:
            for sender in senders:
                post_save.disconnect(sender=sender, dispatch_uid=self.uid)
                post_delete.disconnect(sender=sender, dispatch_uid=self.uid)
            for fk in self.foreign_keys:
                vars(fk.widget).pop("clean", None)
            for widget, _convert in self.converted:
                vars(widget).pop("clean", None)
            vars(resource).pop("get_instance", None)
            if saved_meta is None:
                vars(resource).pop("_meta", None)
            else:
                resource._meta = saved_meta
            self._reset()

    def _loader(self, loader_class: Any, resource: Any, dataset: Any = None) -> Any:
        """The resource's instance loader, built after the chunk's queries
        ran on ``dataset`` as ``before_import()`` left it."""
        self.loader = loader_class(resource, dataset)
        if dataset is not None:
            self._prefetch(list(dataset.headers or []), [tuple(r) for r in dataset])
        return self.loader

    def _prefetch(self, headers: list[str], rows: list[tuple[Any, ...]]) -> None:
        for fk in self.foreign_keys:
            fk.off = True
        try:
            with transaction.atomic(using=self.alias):
                for fk in self.foreign_keys:
                    fk.prepare(headers, rows)
                if self.serves_instances:
                    self._fetch_instances(headers, rows)
        except Exception:  # the resource's own reads will say what is wrong
            for fk in self.foreign_keys:
                fk.off = True
            self.existing = None

    def _fetch_instances(self, headers: list[str], rows: list[tuple[Any, ...]]) -> None:
        if any(f.column_name not in headers for f in self.id_fields):
            return
        keys: list[Any] = []
        for cells in rows:
            key = self._key(OrderedDict(zip(headers, cells, strict=False)))
            if key is not None:
                keys.append(key)
        existing = fetch_existing(
            self.resource.get_queryset(), self.id_attrs, keys, self.alias, self.in_size
        )
        if self.ledger is not None:
            self.ledger.remember(existing.found.values())
        if existing.strays:
            return
        self.existing = existing
        self.asked = set(keys)
        for key, obj in existing.found.items():
            if isinstance(obj, models.Model):
                self.key_of_pk[obj.pk] = key

    def _key(self, row: Any) -> tuple[Any, ...] | None:
        """The import id values ``ModelInstanceLoader`` would look ``row`` up
        by, or None when cleaning fails or gives an unhashable value."""
        try:
            key = tuple([field.clean(row) for field in self.id_fields])
            hash(key)
        except Exception:
            return None
        return key

    def _get_instance(self, instance_loader: Any, row: Any) -> Any:
        """``Resource.get_instance`` served from the chunk's query."""
        existing = self.existing
        if existing is not None and instance_loader is self.loader:
            if any(field.column_name not in row for field in self.id_fields):
                return None  # as django-import-export: no key, no instance
            key = self._key(row)
            self.current_key = key
            if key is not None and key in self.asked and key not in self.stale:
                found = existing.found.get(key)
                if found is None:
                    return None
                if isinstance(found, models.Model):
                    return clone_instance(found)
        return ModelResource.get_instance(self.resource, instance_loader, row)

    # -- writes during the chunk ------------------------------------------------

    def _saved(self, sender: Any, instance: Any, created: bool = False, **kwargs: Any) -> None:
        self._written(sender, instance, created)

    def _deleted(self, sender: Any, instance: Any, **kwargs: Any) -> None:
        self._written(sender, instance, False)

    def _written(self, sender: Any, instance: Any, created: bool) -> None:
        """A row of a model the chunk reads was saved or deleted: its answers
        are stale (read from the database from now on)."""
        for fk in self.foreign_keys:
            if fk.resolver.model is sender:
                fk.written(instance, created)
        if sender is not self.model or self.existing is None:
            return
        stale = self.stale
        stale.add(self.current_key)
        stale.add(self.key_of_pk.get(instance.pk))
        data = instance.__dict__
        if all(name in data for name in self.id_attnames):
            with contextlib.suppress(TypeError):
                stale.add(tuple(data[name] for name in self.id_attnames))
