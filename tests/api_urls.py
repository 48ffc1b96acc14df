"""The job API as the golden schema documents it: books and authors,
imports and exports (mounted under /api/ by tests/urls.py)."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from tests.testapp.views import (
    AuthorExportViewSet,
    AuthorImportViewSet,
    BookExportViewSet,
    BookImportViewSet,
)

router = DefaultRouter()
router.register("books/imports", BookImportViewSet, basename="book-import")
router.register("books/exports", BookExportViewSet, basename="book-export")
router.register("authors/imports", AuthorImportViewSet, basename="author-import")
router.register("authors/exports", AuthorExportViewSet, basename="author-export")

urlpatterns = [path("api/", include(router.urls))]
