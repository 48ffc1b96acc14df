"""The quickstart's django-import-export resource."""

import django_filters
from import_export import resources

from .models import Book


class BookFilterSet(django_filters.FilterSet):
    """What an export may be filtered by: {"in_stock": true, "price__lte": "20"}."""

    class Meta:
        model = Book
        fields = {"price": ["gte", "lte"], "in_stock": ["exact"]}


class BookResource(resources.ModelResource):
    filterset_class = BookFilterSet  # validates and applies export filters

    class Meta:
        model = Book
        import_id_fields = ("isbn",)  # rows are matched on ISBN
        fields = ("isbn", "title", "author", "price", "in_stock")
        clean_model_instances = True  # model validation: errors name the field
