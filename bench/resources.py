"""The Book resources the benchmark runs besides the example's ``BookResource``.

``DefaultBookResource`` is the Book resource as django-import-export's
defaults would have it: matched on ISBN, the author by name, the fields
listed, every other ``Meta`` option left alone (so no ``skip_unchanged`` and
no ``clean_model_instances``). ``RowHookBookResource`` is the same resource
with a ``before_import_row`` hook that changes nothing: a per-row hook, so its
imports run on the row-by-row engine.
"""

from __future__ import annotations

from typing import Any

from books.models import Author, Book
from import_export import fields, resources, widgets


class DefaultBookResource(resources.ModelResource):
    """Books matched on ISBN with django-import-export's default options."""

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


class RowHookBookResource(DefaultBookResource):
    """``DefaultBookResource`` with a per-row hook that leaves the row as it is."""

    def before_import_row(self, row: Any, **kwargs: Any) -> None:
        """Called for every row; changes nothing."""
