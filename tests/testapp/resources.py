"""Resources used by the tests."""

import django_filters
from import_export import fields, resources, widgets

from .models import Author, Book


class BookFilterSet(django_filters.FilterSet):
    class Meta:
        model = Book
        fields = {"price": ["gte", "lte"], "in_stock": ["exact"], "author__name": ["exact"]}


class BookResource(resources.ModelResource):
    author = fields.Field(
        attribute="author",
        column_name="author",
        widget=widgets.ForeignKeyWidget(Author, field="name"),
    )
    filterset_class = BookFilterSet

    class Meta:
        model = Book
        import_id_fields = ("isbn",)
        fields = ("isbn", "title", "author", "price", "published", "pages", "in_stock",
                  "description")
        skip_unchanged = True
        report_skipped = True


class CsvOnlyBookResource(BookResource):
    import_formats = ["csv"]
    export_formats = ["csv"]


class AuthorResource(resources.ModelResource):
    class Meta:
        model = Author
        import_id_fields = ("name",)
        fields = ("name",)


class BrokenHookBookResource(BookResource):
    def before_import(self, dataset, **kwargs):
        raise ValueError("hook refused the data")
