"""URLs of the example project.

- ``/api/``: the job API (books and authors, imports and exports, each
  job's event stream), browsable; ``/api/webhook-deliveries/`` for staff;
- ``/api/schema/``: the OpenAPI schema; ``/api/docs/``: Swagger UI;
  ``/api/redoc/``: Redoc (both served offline by drf-spectacular-sidecar);
- ``/api/auth/login/``: session login (for the browsable API and Swagger UI);
  ``/api/auth/token/``: a token for ``Authorization: Token <key>``;
- ``/app/``: a page that imports and exports books through the generated
  TypeScript SDK (source in ``example_project/frontend/``);
- ``/admin/``: the admin (job files are served by the job admin pages);
- any other path under ``/api/``: a JSON 404 (``drf_import_export_jobs.notfound``).
"""

from books.views import (
    AppView,
    AuthorExportViewSet,
    AuthorImportViewSet,
    BookExportViewSet,
    BookImportViewSet,
)
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from drf_import_export_jobs.deliveries import WebhookDeliveryViewSet

from .auth import TokenView

router = DefaultRouter()
router.register("books/imports", BookImportViewSet, basename="book-import")
router.register("books/exports", BookExportViewSet, basename="book-export")
router.register("authors/imports", AuthorImportViewSet, basename="author-import")
router.register("authors/exports", AuthorExportViewSet, basename="author-export")
router.register("webhook-deliveries", WebhookDeliveryViewSet, basename="webhook-delivery")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("app/", AppView.as_view(), name="app"),
    path("api/", include(router.urls)),
    path("api/auth/", include("rest_framework.urls")),
    path("api/auth/token/", TokenView.as_view(), name="api-token"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    # Last under api/: any other path there is a JSON 404, not Django's HTML page.
    path("api/", include("drf_import_export_jobs.notfound")),
]
