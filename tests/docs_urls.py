"""The customisation guide's viewsets (docs/examples/quickstart/library/customisation.py),
mounted for tests/test_docs_examples.py."""

from django.urls import include, path
from library import customisation as views
from rest_framework.routers import SimpleRouter

router = SimpleRouter()
router.register("csv/imports", views.CsvBookImportViewSet, basename="docs-csv-import")
router.register("batch/imports", views.BatchBookImportViewSet, basename="docs-batch-import")
router.register("in-stock/exports", views.InStockBookExportViewSet, basename="docs-stock-export")
router.register("team/imports", views.TeamBookImportViewSet, basename="docs-team-import")
router.register("reviewed/imports", views.ReviewedBookImportViewSet, basename="docs-review")
router.register("tenant/imports", views.TenantBookImportViewSet, basename="docs-tenant-import")
router.register("owned/imports", views.OwnedBookImportViewSet, basename="docs-owned-import")

urlpatterns = [path("docs/", include(router.urls))]
