"""django-filter FilterSets of job lists: ``?status=`` (repeatable).

They declare no model (the job model is chosen by a setting), only the
``status`` filter; an unknown status is a 400. Set ``filterset_class`` on a
viewset to filter on more.
"""

from __future__ import annotations

import django_filters

from .models import AbstractExportJob, AbstractImportJob


# django-filter has no type hints: its classes are Any to mypy.
class ImportJobFilterSet(django_filters.FilterSet):  # type: ignore[misc]
    """``?status=parsed&status=input_error``: import jobs in any of these statuses."""

    status = django_filters.MultipleChoiceFilter(
        choices=AbstractImportJob.ImportStatus.choices,
        help_text="Only jobs in one of these statuses (repeat the parameter for several).",
    )


class ExportJobFilterSet(django_filters.FilterSet):  # type: ignore[misc]
    """``?status=exported``: export jobs in any of these statuses."""

    status = django_filters.MultipleChoiceFilter(
        choices=AbstractExportJob.ExportStatus.choices,
        help_text="Only jobs in one of these statuses (repeat the parameter for several).",
    )
