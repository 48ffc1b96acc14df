"""Running an export: a resource's queryset rendered and written to a file.

Plain resources are read with ``values_list`` (:mod:`.values`); others row by
row through ``resource.export_resource``. The rows go to the format's writer
(:mod:`.writers`), chunk by chunk, with progress and cancel checks between
chunks.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import IO, Any

from django.db import models

from ...formats import get_file_format
from ...progress import ProgressReporter
from ..gcthreshold import fewer_collections
from .values import plan_values_export
from .writers import escapes_formulas, write_export

logger = logging.getLogger(__name__)

# On the values_list path, seconds between cancel checks / progress writes
# (a chunk takes milliseconds there).
VALUES_CHECK_SECONDS = 0.5


def run_export(
    out: IO[bytes],
    format_name: str,
    resource: Any,
    queryset: models.QuerySet[Any],
    selected: list[str] | None,
    progress: ProgressReporter,
) -> None:
    """Write the ``selected`` fields (None: all) of ``queryset`` to ``out``.

    Raises :class:`~drf_import_export_jobs.exceptions.JobCancelled` when the
    job was cancelled or left the run between chunks."""
    resource.before_export(queryset)
    headers = resource.get_export_headers(selected_fields=selected)
    rows, by_values = export_rows(resource, queryset, selected, format_name)
    with fewer_collections():
        write_export(
            out,
            format_name,
            headers,
            rows,
            progress,
            escaped=by_values,
            check_every=VALUES_CHECK_SECONDS if by_values else 0.0,
        )


def export_rows(
    resource: Any, queryset: models.QuerySet[Any], selected: list[str] | None, format_name: str
) -> tuple[Iterable[list[Any]], bool]:
    """The rendered rows to write and whether they come from the
    ``values_list`` path (escaped against formula injection already)."""
    native = get_file_format(format_name).native_types
    plan = plan_values_export(
        resource,
        queryset,
        resource.get_export_fields(selected_fields=selected),
        native=native,
        escape=escapes_formulas(format_name),
    )
    name = type(resource).__name__
    if plan is not None:
        logger.info("%s exports with values_list.", name)
        return plan.rows(), True
    logger.info("%s exports through %s.export_resource.", name, name)
    rows = (
        resource.export_resource(obj, selected_fields=selected, force_native_type=native)
        for obj in resource.iter_queryset(queryset)
    )
    return rows, False
