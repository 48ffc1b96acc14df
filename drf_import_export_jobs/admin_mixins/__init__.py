"""Model admin mixins that add "Import" and "Export" to a changelist.

The pages create the same import and export jobs as the REST API; the task
backend's worker (Celery or Django's tasks) runs them. See the admin page of
the documentation.
"""

from __future__ import annotations

from .exports import ExportJobAdminMixin
from .imports import ImportJobAdminMixin

__all__ = ["ExportJobAdminMixin", "ImportExportJobAdminMixin", "ImportJobAdminMixin"]


class ImportExportJobAdminMixin(ImportJobAdminMixin, ExportJobAdminMixin):
    """Both "Import" and "Export" on a changelist: put it before
    ``admin.ModelAdmin`` in the bases and set ``import_resource_class`` and
    ``export_resource_class``."""
