"""Which import engine runs a resource: ``bulk`` (the default) or ``rows``.

Both engines take the file chunk by chunk (``CHUNK_SIZE`` rows at a time):

* ``bulk`` (:mod:`.bulk`) converts the chunk's cells with the resource's
  own fields and widgets, looks up existing rows and foreign keys once per
  chunk, and writes the chunk with a few statements. When the database
  refuses a write, that chunk alone goes through the resource's own
  ``import_data()`` (one savepoint per row), so the error lands on its row
  with django-import-export's message; the next chunk is bulk again.
* ``rows`` hands every chunk to the resource's own ``import_data()``. It is
  chosen only where per-row code must run: a resource overriding a per-row
  hook, a model overriding ``save()`` or with ``pre_save``/``post_save``
  receivers, many-to-many fields, and shapes the bulk engine cannot write.

:func:`choose_engine` returns the engine and the reason. A resource may
force either engine with the class attribute ``import_engine`` (``"bulk"``
or ``"rows"``; ``None`` decides automatically): ``"bulk"`` declares that its
per-row hooks, ``save()`` override or signal receivers need not run during
imports, as long as the bulk engine can handle its fields and model at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connections, models
from django.db.models.signals import post_save, pre_save
from import_export import instance_loaders, resources, widgets

from ...conf import jobs_settings

BULK = "bulk"
ROWS = "rows"

# Resource methods django-import-export calls per row or per dataset; the
# bulk engine replaces them, so a resource overriding one needs ``rows``.
PER_ROW_METHODS = (
    "import_data",
    "import_data_inner",
    "before_import",
    "after_import",
    "before_import_row",
    "after_import_row",
    "import_row",
    "get_instance",
    "get_or_init_instance",
    "init_instance",
    "after_init_instance",
    "after_import_instance",
    "import_instance",
    "import_obj",
    "import_field",
    "validate_instance",
    "skip_row",
    "for_delete",
    "delete_instance",
    "before_delete_instance",
    "after_delete_instance",
    "save_instance",
    "do_instance_save",
    "before_save_instance",
    "after_save_instance",
    "save_m2m",
    "handle_import_error",
    "bulk_create",
    "bulk_update",
    "bulk_delete",
)

SUPPORTED_VENDORS = ("postgresql", "sqlite", "mysql")
INSTANCE_LOADERS = (
    None,
    instance_loaders.ModelInstanceLoader,
    instance_loaders.CachedInstanceLoader,
)


@dataclass(frozen=True)
class EngineChoice:
    """The engine an import runs on (``"bulk"`` or ``"rows"``) and why."""

    engine: str
    reason: str

    @property
    def bulk(self) -> bool:
        return self.engine == BULK

    def as_dict(self) -> dict[str, str]:
        return {"engine": self.engine, "engine_reason": self.reason}


def _overridden(resource: resources.Resource) -> str | None:
    kind = type(resource)
    for name in PER_ROW_METHODS:
        if getattr(kind, name, None) is not getattr(resources.ModelResource, name, None):
            return f"the resource overrides {name}()"
    return None


def _model_hooks(model: type[models.Model]) -> str | None:
    if model.save is not models.Model.save:
        return f"{model.__name__}.save() is overridden"
    if pre_save.has_listeners(model) or post_save.has_listeners(model):
        return f"{model.__name__} has pre_save/post_save signal receivers"
    return None


def _model_shape(model: type[models.Model], clean: bool) -> str | None:
    meta = model._meta
    if meta.parents:
        return f"{model.__name__} uses multi-table inheritance"
    for field in meta.concrete_fields:
        if field.generated or field.has_db_default():
            return f"{model.__name__}.{field.name} is generated or has a db_default"
        if not clean:
            continue
        if any(getattr(field, f"unique_for_{part}", None) for part in ("date", "month", "year")):
            return f"{model.__name__}.{field.name} uses unique_for_date/month/year"
        if field.is_relation and getattr(field.remote_field, "limit_choices_to", None):
            return f"{model.__name__}.{field.name} has limit_choices_to"
    return None


def _resource_fields(resource: resources.Resource, model: type[models.Model]) -> str | None:
    meta = model._meta
    names = {f.name for f in meta.concrete_fields} | {f.attname for f in meta.concrete_fields}
    for field in resource.get_import_fields():
        if isinstance(field.widget, widgets.ManyToManyWidget):
            return f"the field {field.column_name!r} is many-to-many"
        if field.attribute is None or field.readonly:
            continue
        if "__" in field.attribute or field.attribute not in names:
            return f"the field {field.column_name!r} does not set a model field directly"
    for name in resource.get_import_id_fields():
        field = resource.fields.get(name)
        if field is None or field.attribute is None or "__" in field.attribute:
            return f"the import id field {name!r} is not a plain model field"
        model_field = meta.get_field(field.attribute.removesuffix("_id"))
        if model_field.is_relation and field.attribute == model_field.name:
            return f"the import id field {name!r} is a relation"
    return None


def _cannot_run(resource: resources.Resource) -> str | None:
    """Why the bulk engine cannot run ``resource`` at all, or None."""
    if not isinstance(resource, resources.ModelResource) or resource._meta.model is None:
        return "the resource is not a ModelResource"
    meta = resource._meta
    connection = connections[resource.get_db_connection_name()]
    vendor = connection.vendor
    if vendor not in SUPPORTED_VENDORS:
        return f"the database is {vendor} (the bulk engine runs on PostgreSQL, SQLite, MySQL)"
    if not connection.features.can_return_rows_from_bulk_insert:
        # A row repeating the key of a new row of its chunk updates it by id.
        return f"{vendor} does not return the ids of bulk inserts (MariaDB 10.5+ does)"
    if meta.instance_loader_class not in INSTANCE_LOADERS:
        return "the resource uses a custom instance_loader_class"
    return _model_shape(meta.model, bool(meta.clean_model_instances)) or _resource_fields(
        resource, meta.model
    )


def choose_engine(resource: resources.Resource) -> EngineChoice:
    """The engine that imports ``resource``'s files, with the reason."""
    choice = getattr(resource, "import_engine", None)
    if choice not in (None, BULK, ROWS):
        raise ValueError(
            f"{type(resource).__name__}.import_engine must be 'bulk', 'rows' or None, "
            f"not {choice!r}."
        )
    if not jobs_settings.BULK_IMPORT:
        return EngineChoice(ROWS, "the DRF_IMPORT_EXPORT_JOBS['BULK_IMPORT'] setting is off")
    if choice == ROWS:
        return EngineChoice(ROWS, "the resource sets import_engine = 'rows'")
    reason = _cannot_run(resource)
    if reason is not None:
        return EngineChoice(ROWS, reason)
    if choice == BULK:
        return EngineChoice(BULK, "the resource sets import_engine = 'bulk'")
    model = resource._meta.model
    reason = _overridden(resource) or _model_hooks(model)
    if reason is not None:
        return EngineChoice(ROWS, f"per-row code must run: {reason}")
    return EngineChoice(BULK, "no per-row hooks, save() override or signal receivers")
