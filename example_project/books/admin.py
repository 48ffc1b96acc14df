from django.contrib import admin

from drf_import_export_jobs.admin_mixins import ImportExportJobAdminMixin

from .models import Author, Book
from .resources import AuthorResource, BookResource


@admin.register(Author)
class AuthorAdmin(ImportExportJobAdminMixin, admin.ModelAdmin):
    """Authors, with "Import" and "Export" on the list (background jobs)."""

    import_resource_class = AuthorResource
    export_resource_class = AuthorResource
    list_display = ("name", "book_count")
    search_fields = ("name",)

    @admin.display(description="books")
    def book_count(self, obj: Author) -> int:
        return obj.books.count()


@admin.register(Book)
class BookAdmin(ImportExportJobAdminMixin, admin.ModelAdmin):
    """Books, with "Import" and "Export" on the list and the action "Export
    selected books"; the export follows the list's filters and search."""

    import_resource_class = BookResource
    export_resource_class = BookResource
    list_display = ("title", "author", "isbn", "price", "published", "pages", "in_stock")
    list_filter = ("in_stock", "author")
    list_select_related = ("author",)
    search_fields = ("title", "isbn", "author__name")
    date_hierarchy = "published"
    autocomplete_fields = ("author",)
