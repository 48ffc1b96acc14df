"""REST viewsets of the example (import and export jobs for books and authors)
and the page at ``/app/`` that drives them."""

from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.generic import TemplateView

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


@method_decorator(ensure_csrf_cookie, name="get")
class AppView(TemplateView):
    """The page at ``/app/`` (source in ``example_project/frontend/``): it calls
    the API through the generated TypeScript SDK. The CSRF cookie lets it
    make unsafe requests when the browser also holds a session (the admin)."""

    template_name = "books/app.html"
