"""Viewset mixins for import and export jobs.

Combine them with DRF's ``GenericViewSet`` (the ready-made viewsets in
:mod:`drf_import_export_jobs.viewsets` do) and bind the viewset to a resource
with ``resource_class``. Everything is decided per request through DRF-style
class attributes and ``get_*`` / ``perform_*`` hooks; nothing is built when
the class is created.
"""

from .actions import CancelJobMixin, DestroyJobMixin
from .base import JobViewSetMixin
from .events import JobEventsMixin
from .exports import ExportJobMixin
from .imports import ImportJobMixin
from .mappings import ColumnMappingMixin

__all__ = [
    "CancelJobMixin",
    "ColumnMappingMixin",
    "DestroyJobMixin",
    "ExportJobMixin",
    "ImportJobMixin",
    "JobEventsMixin",
    "JobViewSetMixin",
]
