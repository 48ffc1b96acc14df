"""Deciding whether a resource can run on the chunked bulk import path.

The bulk path (:mod:`.fastchunk`) reproduces what django-import-export's
``Resource.import_data`` does for a plain ``ModelResource``: the same rows
end up new, updated, skipped, invalid or in error, with the same messages,
and the same data is written. It does so without calling the resource's
per-row methods, so any resource or model that adds per-row behaviour runs
on the row-by-row path instead. :func:`fast_import_refusal` names the first
reason found, for the log and the documentation.

A resource may decide for itself with the class attribute ``fast_import``:
``False`` always takes the row-by-row path; ``True`` takes the bulk path
even when it overrides per-row hooks, saves or has signal receivers (the
resource declares they need not run), as long as the bulk path can handle
its fields and model at all. ``None`` (or no attribute) decides
automatically.
"""

from __future__ import annotations

from django.db import connections, models
from django.db.models.signals import post_save, pre_save
from import_export import fields, instance_loaders, resources, widgets

from ..conf import jobs_settings

# Resource methods the row-by-row engine calls per row or per dataset; the
# bulk path replaces them, so a resource that overrides one needs that path.
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
)

SUPPORTED_VENDORS = ("postgresql", "sqlite")


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


def _model_shape(model: type[models.Model]) -> str | None:
    meta = model._meta
    if meta.parents:
        return f"{model.__name__} uses multi-table inheritance"
    if meta.unique_together or meta.constraints:
        return f"{model.__name__} has unique_together or Meta.constraints"
    for field in meta.concrete_fields:
        if field.generated or field.has_db_default():
            return f"{model.__name__}.{field.name} is generated or has a db_default"
        if any(getattr(field, f"unique_for_{part}", None) for part in ("date", "month", "year")):
            return f"{model.__name__}.{field.name} uses unique_for_date/month/year"
        if field.is_relation and getattr(field.remote_field, "limit_choices_to", None):
            return f"{model.__name__}.{field.name} has limit_choices_to"
    return None


def _resource_fields(resource: resources.Resource, model: type[models.Model]) -> str | None:
    meta = model._meta
    names = {f.name for f in meta.concrete_fields} | {f.attname for f in meta.concrete_fields}
    for field in resource.get_import_fields():
        if type(field) is not fields.Field:
            return f"the field {field.column_name!r} is a custom Field class"
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


def fast_import_refusal(resource: resources.Resource) -> str | None:
    """Why ``resource`` must take the row-by-row path, or None when the bulk
    path may run it."""
    if not jobs_settings.FAST_IMPORT:
        return "the DRF_IMPORT_EXPORT_JOBS['FAST_IMPORT'] setting is off"
    choice = getattr(resource, "fast_import", None)
    if choice is False:
        return "the resource sets fast_import = False"
    if not isinstance(resource, resources.ModelResource) or resource._meta.model is None:
        return "the resource is not a ModelResource"
    meta = resource._meta
    model = meta.model
    vendor = connections[resource.get_db_connection_name()].vendor
    if vendor not in SUPPORTED_VENDORS:
        return f"the database is {vendor} (the bulk path runs on PostgreSQL and SQLite)"
    if not meta.clean_model_instances:
        return (
            "clean_model_instances is off (invalid values would only surface as "
            "database errors, which need row-by-row saves)"
        )
    if meta.use_bulk:
        return "the resource uses use_bulk"
    if meta.force_init_instance:
        return "the resource uses force_init_instance"
    loader = meta.instance_loader_class
    if loader not in (None, instance_loaders.ModelInstanceLoader):
        return "the resource uses a custom instance_loader_class"
    reason = _model_shape(model) or _resource_fields(resource, model)
    if reason or choice is True:
        return reason
    return _overridden(resource) or _model_hooks(model)
