"""Resources for the export path tests: plain ones (values_list fast path) and
their row-by-row twins."""

from import_export import fields, resources, widgets

from .models import Book
from .resources import BookResource


class RegularBookResource(BookResource):
    """BookResource forced onto the row-by-row export path."""

    fast_export = False


class ShoutingWidget(widgets.CharWidget):
    """A widget the fast path does not know: its own render is used."""

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else str(value).upper()


class WideBookResource(resources.ModelResource):
    """Many widget kinds: the default foreign key (id), a related attribute
    path, a custom date format, a custom widget and a field without attribute."""

    author_name = fields.Field(attribute="author__name", column_name="author_name")
    published_de = fields.Field(
        attribute="published",
        column_name="published_de",
        widget=widgets.DateWidget(format="%d.%m.%Y"),
    )
    shout = fields.Field(attribute="title", column_name="shout", widget=ShoutingWidget())
    nothing = fields.Field(column_name="nothing")

    class Meta:
        model = Book
        fields = (
            "id",
            "isbn",
            "title",
            "author",
            "author_name",
            "price",
            "published",
            "published_de",
            "pages",
            "in_stock",
            "description",
            "shout",
            "nothing",
        )
        export_order = fields


class RegularWideBookResource(WideBookResource):
    fast_export = False


class DehydratingBookResource(BookResource):
    """A dehydrate method: exported through the resource row by row."""

    def dehydrate_title(self, book):
        return f"{book.title} ({book.pages or 0} pages)"


class OverridingExportField(BookResource):
    """Overrides export_field: exported row by row."""

    def export_field(self, field, instance, **kwargs):
        return super().export_field(field, instance, **kwargs)


class CustomField(fields.Field):
    def get_value(self, instance):
        return "custom"


class CustomFieldResource(BookResource):
    """A custom Field class: exported row by row."""

    title = CustomField(attribute="title", column_name="title")


class MethodAttributeResource(BookResource):
    """A field reading a method: exported row by row."""

    label = fields.Field(attribute="__str__", column_name="label")

    class Meta(BookResource.Meta):
        fields = (*BookResource.Meta.fields, "label")
