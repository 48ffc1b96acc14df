"""django-import-export resources of the example, used by the import and export jobs.

Besides the usual resource options, ``BookResource.filterset_class`` names the
django-filter FilterSet that export jobs validate and apply their ``filters``
with, e.g. ``{"in_stock": True, "price__lte": "10"}``.
"""

import django_filters
from import_export import fields, resources, widgets

from .models import Author, Book


class BookFilterSet(django_filters.FilterSet):
    class Meta:
        model = Book
        fields = {
            "price": ["gte", "lte"],
            "in_stock": ["exact"],
            "author__name": ["exact", "icontains"],
            "published": ["gte", "lte"],
        }


class BookResource(resources.ModelResource):
    """Books matched on ISBN; the ``author`` column holds the author's name,
    which must name an existing author."""

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
        clean_model_instances = True


class AuthorResource(resources.ModelResource):
    """Authors matched on name."""

    class Meta:
        model = Author
        import_id_fields = ("name",)
        fields = ("name",)
        skip_unchanged = True
        report_skipped = True
