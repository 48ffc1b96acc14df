"""The quickstart's viewsets."""

# --8<-- [start:views]
# library/views.py
from drf_import_export_jobs.viewsets import ExportJobViewSet, ImportJobViewSet

from .resources import BookResource


class BookImportViewSet(ImportJobViewSet):
    resource_class = BookResource


class BookExportViewSet(ExportJobViewSet):
    resource_class = BookResource


# --8<-- [end:views]
