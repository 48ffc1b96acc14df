"""Admins of the test models, with "Import" and "Export" from the package."""

from django.contrib import admin

from drf_import_export_jobs.admin_mixins import ImportExportJobAdminMixin

from .models import Author, Book
from .resources import AuthorResource, BookResource


@admin.register(Book)
class BookAdmin(ImportExportJobAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    import_resource_class = BookResource
    export_resource_class = BookResource
    list_display = ("isbn", "title", "author", "price", "in_stock")
    list_filter = ("in_stock",)
    search_fields = ("title", "isbn")


@admin.register(Author)
class AuthorAdmin(ImportExportJobAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    import_resource_class = AuthorResource
    export_resource_class = AuthorResource
    search_fields = ("name",)
