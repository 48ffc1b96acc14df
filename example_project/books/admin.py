from django.contrib import admin

from .models import Author, Book


@admin.register(Author)
class AuthorAdmin(admin.ModelAdmin):
    list_display = ("name", "book_count")
    search_fields = ("name",)

    @admin.display(description="books")
    def book_count(self, obj: Author) -> int:
        return obj.books.count()


@admin.register(Book)
class BookAdmin(admin.ModelAdmin):
    list_display = ("title", "author", "isbn", "price", "published", "pages", "in_stock")
    list_filter = ("in_stock", "author")
    list_select_related = ("author",)
    search_fields = ("title", "isbn", "author__name")
    date_hierarchy = "published"
    autocomplete_fields = ("author",)
