"""The benchmark's Book resources declared for django-import-export-extensions
(its jobs need a CeleryModelResource); only imported in that package's venv.

``ExtBookResource`` is the example's ``BookResource``; ``ExtDefaultBookResource``
and ``ExtRowHookBookResource`` are ``bench.resources``' default and row-hook
resources."""

from typing import Any

from books.models import Author, Book
from import_export import fields, widgets
from import_export_extensions.resources import CeleryModelResource

BOOK_FIELDS = (
    "isbn",
    "title",
    "author",
    "price",
    "published",
    "pages",
    "in_stock",
    "description",
)


class ExtBookResource(CeleryModelResource):
    author = fields.Field(
        attribute="author",
        column_name="author",
        widget=widgets.ForeignKeyWidget(Author, field="name"),
    )

    class Meta:
        model = Book
        import_id_fields = ("isbn",)
        fields = BOOK_FIELDS
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True


class ExtDefaultBookResource(CeleryModelResource):
    author = fields.Field(
        attribute="author",
        column_name="author",
        widget=widgets.ForeignKeyWidget(Author, field="name"),
    )

    class Meta:
        model = Book
        import_id_fields = ("isbn",)
        fields = BOOK_FIELDS


class ExtRowHookBookResource(ExtDefaultBookResource):
    def before_import_row(self, row: Any, **kwargs: Any) -> None:
        """Called for every row; changes nothing."""
