"""The job API as the golden schema documents it: books and authors,
imports and exports, and the staff list of webhook deliveries (mounted under
/api/ by tests/urls.py)."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from drf_import_export_jobs.deliveries import WebhookDeliveryViewSet
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
router.register("webhook-deliveries", WebhookDeliveryViewSet, basename="webhook-delivery")

urlpatterns = [path("api/", include(router.urls))]
