"""Two export viewsets of different resources that would share component names."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from drf_import_export_jobs.viewsets import ExportJobViewSet
from tests.testapp.resources import AuthorResource, BookResource


class BookExportViewSet(ExportJobViewSet):
    resource_class = BookResource


class AuthorAsBookExportViewSet(ExportJobViewSet):
    resource_class = AuthorResource
    schema_component_prefix = "Book"


router = SimpleRouter()
router.register("books", BookExportViewSet, basename="books")
router.register("authors", AuthorAsBookExportViewSet, basename="authors")
urlpatterns = [path("", include(router.urls))]
