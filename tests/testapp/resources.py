"""Resources used by the tests."""

import django_filters
from import_export import fields, resources, widgets

from .models import Author, Book, Unmigrated


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


class FileGatedBookResource(BookResource):
    """Waits at a :class:`~tests.testapp.gates.FileGate` (``gate_dir``,
    ``gate_key``: an ISBN) before the chunk holding that ISBN, in the dry run
    (``gate_phase="parse"``) or the import (``"import"``)."""

    def __init__(self, gate_dir="", gate_key="", gate_phase="import", **kwargs):
        from .gates import FileGate

        super().__init__(**kwargs)
        self.gate = FileGate(gate_dir, gate_key)
        self.gate_phase = gate_phase

    def import_data(self, dataset, *args, dry_run=False, **kwargs):
        if dry_run == (self.gate_phase == "parse"):
            for isbn in dataset["isbn"]:
                self.gate.meet(isbn)
        return super().import_data(dataset, *args, dry_run=dry_run, **kwargs)


class FileGatedExportBookResource(BookResource):
    """Waits at a file gate when exporting the book whose ISBN is ``gate_key``."""

    def __init__(self, gate_dir="", gate_key="", **kwargs):
        from .gates import FileGate

        super().__init__(**kwargs)
        self.gate = FileGate(gate_dir, gate_key)

    def dehydrate_title(self, book):
        self.gate.meet(book.isbn)
        return book.title


class FaultyBookResource(BookResource):
    """Raises ``fail_with`` ("time_limit" or "database") in the real import,
    at the chunk holding the ISBN ``fail_key`` (earlier chunks are written)."""

    def __init__(self, fail_key="", fail_with="database", **kwargs):
        super().__init__(**kwargs)
        self.fail_key = fail_key
        self.fail_with = fail_with

    def import_data(self, dataset, *args, dry_run=False, **kwargs):
        if not dry_run and self.fail_key in dataset["isbn"]:
            from celery.exceptions import SoftTimeLimitExceeded
            from django.db import OperationalError

            if self.fail_with == "time_limit":
                raise SoftTimeLimitExceeded()
            raise OperationalError("server closed the connection unexpectedly")
        return super().import_data(dataset, *args, dry_run=dry_run, **kwargs)


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
    import_engine = "rows"


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


class UnmigratedResource(resources.ModelResource):
    """Writes to a model whose table does not exist."""

    class Meta:
        model = Unmigrated
        fields = ("id", "name")


class DeletingBookResource(BookResource):
    """Deletes the books whose ``delete`` cell is 1 (the row-by-row engine)."""

    def for_delete(self, row, instance):
        return str(row.get("delete", "")) == "1"


class ChunkedBookResource(BookResource):
    """Imports in the chunked commit mode (the resource's attribute)."""

    import_commit_mode = "chunked"


class ChunkedGatedBookResource(GatedBookResource):
    """``GatedBookResource`` in the chunked commit mode."""

    import_commit_mode = "chunked"


class ChunkedFileGatedBookResource(FileGatedBookResource):
    """``FileGatedBookResource`` in the chunked commit mode."""

    import_commit_mode = "chunked"


class CompensationGatedBookResource(BookResource):
    """Chunked; the import (not the dry run) raises at the chunk holding
    ``fail_key``; in the process that runs it, deleting the book whose ISBN
    is ``gate_key`` (a rollback's compensation) waits at a
    :class:`~tests.testapp.gates.FileGate` first."""

    import_commit_mode = "chunked"

    def import_data(self, dataset, *args, dry_run=False, **kwargs):
        if not dry_run and self.fail_key in dataset["isbn"]:
            raise RuntimeError(f"failing at {self.fail_key}")
        return super().import_data(dataset, *args, dry_run=dry_run, **kwargs)

    def __init__(self, gate_dir="", gate_key="", fail_key="", **kwargs):
        from django.db.models.signals import pre_delete

        from .gates import FileGate

        super().__init__(**kwargs)
        self.fail_key = fail_key
        gate = FileGate(gate_dir, gate_key)

        def meet(sender, instance, **kwargs):
            gate.meet(instance.isbn)

        pre_delete.connect(meet, sender=Book, weak=False, dispatch_uid="compensation-gate")


class ParallelBookResource(BookResource):
    """Chunked, on two tasks at once (the bulk engine)."""

    import_commit_mode = "chunked"
    parallel_import_tasks = 2


class ParallelTracedBookResource(BookResource):
    """Chunked, on two tasks at once. The import (not the dry run) of each
    chunk takes ``pause`` seconds and appends a JSON line to
    ``<trace_dir>/trace.jsonl``: the process, the chunk's ISBNs, its start
    and end. The chunk holding the ISBN ``fail_key`` raises."""

    import_commit_mode = "chunked"
    parallel_import_tasks = 2

    def __init__(self, trace_dir="", pause=0.0, fail_key="", **kwargs):
        super().__init__(**kwargs)
        self.trace_dir = trace_dir
        self.pause = pause
        self.fail_key = fail_key

    def import_data(self, dataset, *args, dry_run=False, **kwargs):
        if dry_run:
            return super().import_data(dataset, *args, dry_run=dry_run, **kwargs)
        import json
        import os
        import time
        from pathlib import Path

        started = time.time()
        time.sleep(self.pause)
        isbns = list(dataset["isbn"])
        if self.fail_key and self.fail_key in isbns:
            raise RuntimeError(f"failing at {self.fail_key}")
        result = super().import_data(dataset, *args, dry_run=dry_run, **kwargs)
        line = {
            "pid": os.getpid(),
            "isbns": isbns,
            "titles": list(dataset["title"]),
            "start": started,
            "end": time.time(),
        }
        with (Path(self.trace_dir) / "trace.jsonl").open("a") as out:
            out.write(json.dumps(line) + "\n")
        return result
