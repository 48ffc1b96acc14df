"""Resource shapes of the engine parity suite (tests/test_engine_parity.py).

Each is written the way django-import-export's documentation writes one;
most keep every Meta option at its default.
"""

from import_export import fields, resources, widgets

from .models import Author, Book, Edition, Loan, Stamp

BOOK_FIELDS = ("isbn", "title", "author", "price", "published", "pages", "in_stock", "description")


class DefaultBookResource(resources.ModelResource):
    """Default Meta: rows found by ISBN, the author by name."""

    author = fields.Field(
        attribute="author", column_name="author", widget=widgets.ForeignKeyWidget(Author, "name")
    )

    class Meta:
        model = Book
        import_id_fields = ("isbn",)
        fields = BOOK_FIELDS


class CleaningBookResource(DefaultBookResource):
    class Meta(DefaultBookResource.Meta):
        clean_model_instances = True


class SkippingBookResource(DefaultBookResource):
    class Meta(DefaultBookResource.Meta):
        skip_unchanged = True
        report_skipped = True


class NaturalKeyBookResource(DefaultBookResource):
    """The author by its natural key (``Author.objects.get_by_natural_key``)."""

    author = fields.Field(
        attribute="author",
        column_name="author",
        widget=widgets.ForeignKeyWidget(Author, use_natural_foreign_keys=True),
    )


class UpperWidget(widgets.CharWidget):
    """A custom widget: refuses "boom", upper-cases the rest."""

    def clean(self, value, row=None, **kwargs):
        if value == "boom":
            raise ValueError("No booms in titles.")
        return super().clean(value, row, **kwargs).upper()


class CustomWidgetBookResource(DefaultBookResource):
    title = fields.Field(attribute="title", column_name="title", widget=UpperWidget())


class TrimmedField(fields.Field):
    """A custom Field: strips the cell and refuses a title of only digits."""

    def clean(self, row, **kwargs):
        value = super().clean(row, **kwargs)
        if isinstance(value, str):
            value = value.strip()
            if value.isdigit():
                raise ValueError("A title needs letters.")
        return value


class CustomFieldBookResource(DefaultBookResource):
    title = TrimmedField(attribute="title", column_name="title", widget=widgets.CharWidget())


class BulkBookResource(DefaultBookResource):
    class Meta(DefaultBookResource.Meta):
        use_bulk = True
        batch_size = 1000


class EditionResource(resources.ModelResource):
    """``unique_together = (title, year)``; rows found by code."""

    class Meta:
        model = Edition
        import_id_fields = ("code",)
        fields = ("code", "title", "year", "copies")


class CleaningEditionResource(EditionResource):
    class Meta(EditionResource.Meta):
        clean_model_instances = True


class EditionByTitleYearResource(resources.ModelResource):
    """Several import id fields."""

    class Meta:
        model = Edition
        import_id_fields = ("title", "year")
        fields = ("code", "title", "year", "copies")


class LoanResource(resources.ModelResource):
    """A ``UniqueConstraint`` and a ``CheckConstraint``; rows found by id."""

    class Meta:
        model = Loan
        fields = ("id", "reader", "number", "note")


class CleaningLoanResource(LoanResource):
    class Meta(LoanResource.Meta):
        clean_model_instances = True


class StampResource(resources.ModelResource):
    """The model overrides ``save()``: the row-by-row engine."""

    class Meta:
        model = Stamp
        import_id_fields = ("code",)
        fields = ("code", "label")


# -- the rows engine (per-row code runs; reads are served per chunk) ---------


class RowHookBookResource(DefaultBookResource):
    """A per-row hook that changes nothing: the rows engine."""

    def before_import_row(self, row, **kwargs):
        pass


class SkippingRowHookBookResource(RowHookBookResource):
    class Meta(DefaultBookResource.Meta):
        skip_unchanged = True
        report_skipped = True


class AuthorCreatingBookResource(DefaultBookResource):
    """Creates the author a row names when it does not exist yet."""

    def before_import_row(self, row, **kwargs):
        if row.get("author"):
            Author.objects.get_or_create(name=row["author"])


class KeyRewritingBookResource(DefaultBookResource):
    """Rewrites the import id cell: an ISBN may be written with dashes."""

    def before_import_row(self, row, **kwargs):
        row["isbn"] = str(row["isbn"]).replace("-", "")


class SpawningBookResource(DefaultBookResource):
    """A row titled ``spawn <isbn>`` creates the book of that ISBN (which a
    later row of the file names) before it is imported itself."""

    def before_import_row(self, row, **kwargs):
        title = str(row.get("title") or "")
        if title.startswith("spawn "):
            ann = Author.objects.get(name="Ann")
            Book.objects.get_or_create(
                isbn=title.split()[1], defaults={"title": "Spawned", "author": ann, "price": 1}
            )


class DeletingBookResource(DefaultBookResource):
    """A row titled ``DELETE`` deletes the book of its ISBN."""

    def for_delete(self, row, instance):
        return row.get("title") == "DELETE"


class AuthorIdBookResource(RowHookBookResource):
    """The author's key (``key_is_id``) set on ``author_id``."""

    author = fields.Field(
        attribute="author_id",
        column_name="author",
        widget=widgets.ForeignKeyWidget(Author, "name", key_is_id=True),
    )


class DiffReadingBookResource(DefaultBookResource):
    """Reads the row's diff and original: they must be there."""

    def after_import_row(self, row, row_result, **kwargs):
        if row_result.import_type in ("new", "update") and not row_result.diff:
            raise ValueError("The row has no diff.")
        if row_result.import_type == "update" and row_result.original is None:
            raise ValueError("The updated row has no original.")


class RowHookStampResource(StampResource):
    """``Stamp.save()`` upper-cases the label; a hook runs per row."""

    def before_import_row(self, row, **kwargs):
        pass


class RowHookEditionResource(EditionResource):
    def before_import_row(self, row, **kwargs):
        pass
