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
        fields = (
            "isbn",
            "title",
            "author",
            "price",
            "published",
            "pages",
            "in_stock",
            "description",
        )
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


class CrashingBookResource(BookResource):
    def import_data(self, *args, **kwargs):
        raise RuntimeError("loader exploded")


class GatedBookResource(BookResource):
    """Waits at ``GATE`` before importing the chunk holding the gate's ISBN
    (outside that chunk's own transaction)."""

    def import_data(self, dataset, *args, **kwargs):
        from .gates import GATE

        for isbn in dataset["isbn"]:
            GATE.meet(isbn)
        return super().import_data(dataset, *args, **kwargs)


class GatedExportBookResource(BookResource):
    """Waits at ``GATE`` when exporting the book with the gate's ISBN."""

    def dehydrate_title(self, book):
        from .gates import GATE

        GATE.meet(book.isbn)
        return book.title


class SlowBookResource(BookResource):
    """Takes a while per chunk, so a test can act while a worker runs it."""

    def import_data(self, dataset, *args, **kwargs):
        import time

        time.sleep(0.2)
        return super().import_data(dataset, *args, **kwargs)


class CleanBookResource(resources.ModelResource):
    """Validates instances with ``full_clean()``: runs on the bulk import path."""

    author = fields.Field(
        attribute="author",
        column_name="author",
        widget=widgets.ForeignKeyWidget(Author, field="name"),
    )

    class Meta:
        model = Book
        import_id_fields = ("isbn",)
        fields = (
            "isbn",
            "title",
            "author",
            "price",
            "published",
            "pages",
            "in_stock",
            "description",
        )
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True


class RowHookBookResource(CleanBookResource):
    """Changes every row before import: needs the row-by-row path."""

    def before_import_row(self, row, **kwargs):
        row["title"] = str(row["title"]).upper()


class OptedOutBookResource(CleanBookResource):
    fast_import = False


class IdBookResource(resources.ModelResource):
    """Default options: rows matched by ``id``, the author given by its id."""

    class Meta:
        model = Book
        fields = ("id", "isbn", "title", "author", "price", "published", "pages")
        clean_model_instances = True


class ShoutingWidget(widgets.CharWidget):
    """A custom widget: no fast converter, cleaned by its own clean()."""

    def clean(self, value, row=None, **kwargs):
        if value == "boom":
            raise ValueError("No booms in titles.")
        return super().clean(value, row, **kwargs).upper()


class CustomWidgetBookResource(CleanBookResource):
    title = fields.Field(attribute="title", column_name="title", widget=ShoutingWidget())
