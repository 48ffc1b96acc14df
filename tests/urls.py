from django.contrib import admin
from django.urls import include, path
from rest_framework.routers import SimpleRouter

from tests.testapp import views

extra = SimpleRouter()
extra.register("csv-books/imports", views.CsvBookImportViewSet, basename="csv-book-import")
extra.register("kwargs-books/imports", views.KwargsBookImportViewSet, basename="kwargs-import")
extra.register("in-stock/exports", views.InStockBookExportViewSet, basename="in-stock-export")
extra.register("session/imports", views.SessionFirstBookImportViewSet, basename="session-import")
extra.register("staff/imports", views.StaffOnlyBookImportViewSet, basename="staff-import")
extra.register("tenant/imports", views.TenantBookImportViewSet, basename="tenant-import")
extra.register("team/imports", views.TeamBookImportViewSet, basename="team-import")
extra.register("archive/imports", views.ArchiveBookImportViewSet, basename="archive-import")
extra.register("archive/exports", views.ArchiveBookExportViewSet, basename="archive-export")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("tests.api_urls")),
    path("extra/", include((extra.urls, "extra"), namespace="extra")),
    # Paths under api/ that no route matches are a JSON 404.
    path("api/", include("drf_import_export_jobs.notfound")),
]
