"""The example's BookResource declared for django-import-export-extensions
(its jobs need a CeleryModelResource); only imported in that package's venv."""

from books.models import Author, Book
from import_export import fields, widgets
from import_export_extensions.resources import CeleryModelResource


class ExtBookResource(CeleryModelResource):
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
