"""A setup check run before an import reads its file: the tables the
resource writes to exist.

Without it, a project whose migrations were not run sees every row of the
dry run fail with the database's "no such table" error; with it, the job
ends at once in its error status with one message naming the table and the
command that creates it.
"""

from __future__ import annotations

from django.db import connections, models, router
from import_export.resources import Resource

from .exceptions import MissingTableError


def resource_models(resource: Resource) -> list[type[models.Model]]:
    """The concrete models whose tables an import through ``resource`` writes:
    its model and, with multi-table inheritance, the model's parents."""
    model = getattr(resource._meta, "model", None)
    if model is None:
        return []
    concrete = model._meta.concrete_model
    return [concrete, *concrete._meta.get_parent_list()]


def check_resource_tables(resource: Resource) -> None:
    """Raise :class:`~drf_import_export_jobs.exceptions.MissingTableError` when
    a table of the resource's model does not exist in the database the model
    is written to. One introspection query per database."""
    known: dict[str, set[str]] = {}
    for model in resource_models(resource):
        alias = router.db_for_write(model)
        if alias not in known:
            connection = connections[alias]
            with connection.cursor() as cursor:
                known[alias] = set(connection.introspection.table_names(cursor, True))
        table = model._meta.db_table
        if table not in known[alias]:
            database = "" if alias == "default" else f" --database {alias}"
            raise MissingTableError(
                f"The table {table!r} of {model._meta.label} does not exist in the "
                f"database {alias!r}: run `python manage.py migrate{database}` to create it "
                f"(first `python manage.py makemigrations {model._meta.app_label}` if the "
                "app has no migration for it)."
            )
