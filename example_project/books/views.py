"""REST viewsets of the example: import and export jobs for books and authors."""

from drf_import_export_jobs.viewsets import ExportJobViewSet, ImportJobViewSet

from .resources import AuthorResource, BookResource


class BookImportViewSet(ImportJobViewSet):
    """Import books from CSV, TSV, XLSX, XLS, JSON, YAML or ODS files."""

    resource_class = BookResource


class BookExportViewSet(ExportJobViewSet):
    """Export books, filtered by the resource's filterset (price, stock, author...)."""

    resource_class = BookResource


class AuthorImportViewSet(ImportJobViewSet):
    """Import authors."""

    resource_class = AuthorResource


class AuthorExportViewSet(ExportJobViewSet):
    """Export authors."""

    resource_class = AuthorResource
