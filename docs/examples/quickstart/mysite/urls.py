"""The quickstart's URLs."""

# --8<-- [start:urls]
# mysite/urls.py
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from library.views import BookExportViewSet, BookImportViewSet
from rest_framework.routers import DefaultRouter

router = DefaultRouter()
router.register("books/imports", BookImportViewSet, basename="book-import")
router.register("books/exports", BookExportViewSet, basename="book-export")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include(router.urls)),
    path("api/auth/", include("rest_framework.urls")),  # log in for Swagger UI
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
]
# --8<-- [end:urls]
