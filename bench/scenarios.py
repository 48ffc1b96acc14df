"""One benchmark step in a fresh process: ``python -m bench.scenarios STEP ...``.

Timed steps print one JSON line ``{"rows", "seconds", "peak_rss_mb", ...}``.
The orchestrator (``bench.run``) starts one process per step, so the peak
resident memory reported is that of the step alone (plus Django itself).

Steps:
  prepare                      authors exist, books and jobs rows deleted, tables settled
  load FILE                    load books from FILE with the raw loop, tables settled (setup)
  run CONTENDER SCENARIO RESOURCE FILE
                               time one contender on one scenario with one of
                               RESOURCES (imports: and check the books table
                               afterwards, untimed)
  api ROWS                     time the REST detail/list of a ROWS-row job
"""

from __future__ import annotations

import csv
import datetime
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

django.setup()

from books.models import Author, Book  # noqa: E402
from django.core.files import File  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils.module_loading import import_string  # noqa: E402

from bench.datafiles import AUTHORS, HEADERS  # noqa: E402

BOOK_RESOURCE = "books.resources.BookResource"
# The resources a contender runs, by name: the example's BookResource, the
# same resource with django-import-export's default options, and that one with
# a per-row hook (bench/resources.py; bench/ext_resources.py for the extensions).
RESOURCES = {
    "example": BOOK_RESOURCE,
    "default": "bench.resources.DefaultBookResource",
    "rowhook": "bench.resources.RowHookBookResource",
}
EXT_RESOURCES = {
    "example": "bench.ext_resources.ExtBookResource",
    "default": "bench.ext_resources.ExtDefaultBookResource",
    "rowhook": "bench.ext_resources.ExtRowHookBookResource",
}
BATCH = 1000
# What a timed step learnt besides its row count (e.g. the engine a job ran on).
DETAILS: dict[str, Any] = {}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- reading files by hand (the raw reference) ----------------------------------


def raw_rows(path: Path) -> Iterator[list[Any]]:
    """Data rows of a Book file as lists of cells (header skipped)."""
    if path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            next(reader)
            yield from reader
    else:
        from openpyxl import load_workbook

        workbook = load_workbook(path, read_only=True)
        rows = workbook.active.iter_rows(values_only=True)
        next(rows)
        for row in rows:
            yield ["" if cell is None else str(cell) for cell in row]
        workbook.close()


def chunks(rows: Iterator[list[Any]], size: int) -> Iterator[list[list[Any]]]:
    chunk: list[list[Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def convert(row: list[str], author_ids: dict[str, int]) -> dict[str, Any]:
    isbn, title, author, price, published, pages, in_stock, description = row
    return {
        "isbn": isbn,
        "title": title,
        "author_id": author_ids[author],
        "price": Decimal(price),
        "published": datetime.date.fromisoformat(published),
        "pages": int(pages),
        "in_stock": in_stock == "1",
        "description": description,
    }


def raw_import(path: Path, resource: str = "") -> int:
    """csv.reader, conversion by hand, bulk_create or bulk_update per chunk."""
    author_ids = dict(Author.objects.values_list("name", "id"))
    count = 0
    fields = HEADERS[1:]
    fields[fields.index("author")] = "author_id"
    with transaction.atomic():
        for chunk in chunks(raw_rows(path), BATCH):
            values = [convert(row, author_ids) for row in chunk]
            existing = Book.objects.in_bulk([v["isbn"] for v in values], field_name="isbn")
            new, changed = [], []
            for value in values:
                book = existing.get(value["isbn"])
                if book is None:
                    new.append(Book(**value))
                else:
                    for name in fields:
                        setattr(book, name, value[name])
                    changed.append(book)
            Book.objects.bulk_create(new, batch_size=BATCH)
            if changed:
                Book.objects.bulk_update(changed, fields, batch_size=BATCH)
            count += len(values)
    return count


def raw_export(path: Path, file_format: str, resource: str = "") -> int:
    rows = Book.objects.values_list(
        "isbn", "title", "author__name", "price", "published", "pages", "in_stock", "description"
    ).iterator(chunk_size=2000)
    count = 0
    if file_format == "csv":
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(HEADERS)
            for row in rows:
                writer.writerow(row)
                count += 1
        return count
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row)
        count += 1
    workbook.save(path)
    return count


def copy_import(path: Path, resource: str = "") -> int:
    """PostgreSQL only: csv.reader, authors turned into ids from a dict (as the
    raw loop does), every other cell sent as read through psycopg's
    ``cursor.copy`` (``COPY ... FROM STDIN``) in one transaction."""
    if connection.vendor != "postgresql":
        raise RuntimeError("the copy contender needs PostgreSQL")
    author_ids = dict(Author.objects.values_list("name", "id"))
    columns = ", ".join(
        connection.ops.quote_name(Book._meta.get_field(name).column) for name in HEADERS
    )
    table = connection.ops.quote_name(Book._meta.db_table)
    count = 0
    statement = f"COPY {table} ({columns}) FROM STDIN"
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        cursor.cursor.copy(statement) as copy,
    ):
        for row in raw_rows(path):
            row[2] = author_ids[row[2]]
            copy.write_row(row)
            count += 1
    return count


# -- plain django-import-export -------------------------------------------------


def load_dataset(path: Path) -> Any:
    from import_export.formats.base_formats import CSV, XLSX

    file_format = CSV() if path.suffix == ".csv" else XLSX()
    mode = "r" if file_format.is_binary() is False else "rb"
    with path.open(mode, **({"encoding": "utf-8"} if mode == "r" else {})) as fh:
        return file_format.create_dataset(fh.read())


def die_import(path: Path, resource: str) -> int:
    resource_class = import_string(RESOURCES[resource])
    result = resource_class().import_data(load_dataset(path), dry_run=False, use_transactions=True)
    if result.has_errors() or result.has_validation_errors():
        raise RuntimeError("django-import-export reported errors")
    return result.total_rows


def die_export(path: Path, file_format: str, resource: str) -> int:
    dataset = import_string(RESOURCES[resource])().export(Book.objects.all())
    data = dataset.export(file_format)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return len(dataset)


# -- this package ---------------------------------------------------------------


def _no_dispatch() -> None:
    from drf_import_export_jobs import dispatch

    dispatch.send_job_task = lambda *args, **kwargs: None  # type: ignore[assignment]


def jobs_import(path: Path, resource: str) -> int:
    from drf_import_export_jobs.models import ImportJob

    _no_dispatch()
    job = ImportJob(resource_path=RESOURCES[resource], file_format_name=path.suffix[1:])
    with path.open("rb") as fh:
        job.data_file.save(path.name, File(fh), save=False)
    job.save()
    started = time.perf_counter()
    job.parse_data()
    parsed = time.perf_counter()
    job.refresh_from_db()
    if job.status != "parsed":
        raise RuntimeError(f"parse ended in {job.status}: {job.error_message}")
    job.confirm_import()
    confirmed = time.perf_counter()
    job.import_data()
    DETAILS["dry_run_seconds"] = parsed - started
    DETAILS["import_seconds"] = time.perf_counter() - confirmed
    job.refresh_from_db()
    if job.status != "imported":
        raise RuntimeError(f"import ended in {job.status}: {job.error_message}")
    DETAILS["engine"] = job.import_result.get("engine")
    return int(job.import_result["rows"])


def jobs_export(path: Path, file_format: str, resource: str) -> int:
    from drf_import_export_jobs.models import ExportJob

    _no_dispatch()
    job = ExportJob(resource_path=RESOURCES[resource], file_format_name=file_format)
    job.save()
    job.export_data()
    job.refresh_from_db()
    if job.status != "exported":
        raise RuntimeError(f"export ended in {job.status}: {job.error_message}")
    return int(job.progress_current)


# -- django-import-export-extensions --------------------------------------------


def _ext_no_tasks() -> None:
    from import_export_extensions.models import ExportJob, ImportJob

    ImportJob.start_parse_data_task = lambda self: None
    ImportJob._start_import_data_task = lambda self: None
    ExportJob._start_export_data_task = lambda self: None


def ext_import(path: Path, resource: str) -> int:
    from import_export_extensions.models import ImportJob

    _ext_no_tasks()
    job = ImportJob(resource_path=EXT_RESOURCES[resource], resource_kwargs={})
    with path.open("rb") as fh:
        job.data_file.save(path.name, File(fh), save=False)
    job.save()
    job.parse_data()
    if job.import_status != job.ImportStatus.PARSED:
        raise RuntimeError(f"parse ended in {job.import_status}: {job.error_message}")
    job.confirm_import()
    job.import_data()
    if job.import_status != job.ImportStatus.IMPORTED:
        raise RuntimeError(f"import ended in {job.import_status}: {job.error_message}")
    return int(job.result.total_rows)


def ext_export(path: Path, file_format: str, resource: str) -> int:
    from import_export_extensions.models import ExportJob

    _ext_no_tasks()
    fmt = {"csv": "CSV", "xlsx": "XLSX"}[file_format]
    job = ExportJob(
        resource_path=EXT_RESOURCES[resource],
        file_format_path=f"import_export.formats.base_formats.{fmt}",
        resource_kwargs={},
    )
    job.save()
    job.export_data()
    if job.export_status != job.ExportStatus.EXPORTED:
        raise RuntimeError(f"export ended in {job.export_status}: {job.error_message}")
    return Book.objects.count()


IMPORTERS: dict[str, Callable[[Path, str], int]] = {
    "raw": raw_import,
    "copy": copy_import,
    "die": die_import,
    "jobs": jobs_import,
    "ext": ext_import,
}
EXPORTERS: dict[str, Callable[[Path, str, str], int]] = {
    "raw": raw_export,
    "die": die_export,
    "jobs": jobs_export,
    "ext": ext_export,
}


def run(contender: str, scenario: str, resource: str, file: str) -> dict[str, Any]:
    """Time one scenario; imports then check the books table (untimed)."""
    started = time.perf_counter()
    if scenario.startswith("import"):
        rows = IMPORTERS[contender](Path(file), resource)
    else:
        file_format = scenario.split("_", 1)[1]
        with tempfile.TemporaryDirectory() as tmp:
            rows = EXPORTERS[contender](Path(tmp) / f"out.{file_format}", file_format, resource)
    seconds = time.perf_counter() - started
    out = {"rows": rows, "seconds": seconds, "peak_rss_mb": peak_rss_mb(), **DETAILS}
    if scenario.startswith("import"):
        out["check"] = check(file, "new" if scenario == "import_new" else "update")
    return out


# -- setup steps ----------------------------------------------------------------


def prepare() -> dict[str, Any]:
    """Authors present, no books and no job rows (in either package's
    tables), nor this package's ledger entries and job events."""
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
        for table in (
            "drf_import_export_jobs_importjob",
            "drf_import_export_jobs_exportjob",
            "drf_import_export_jobs_importledgerentry",
            "drf_import_export_jobs_jobevent",
            "import_export_extensions_importjob",
            "import_export_extensions_exportjob",
            "books_book",
        ):
            if table in tables:
                cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")
    Author.objects.bulk_create(
        [Author(name=name) for name in AUTHORS], ignore_conflicts=True, batch_size=BATCH
    )
    settle()
    return {"books": Book.objects.count()}


def settle() -> None:
    """Leave the tables as every contender finds them: on PostgreSQL the
    first scan after a bulk load rewrites every page (hint bits), a cost that
    would otherwise fall on whichever contender runs first; VACUUM ANALYZE
    pays it here, untimed, along with fresh planner statistics (ANALYZE TABLE
    on MySQL/MariaDB, ANALYZE on SQLite)."""
    tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in (Author, Book))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"VACUUM ANALYZE {tables}")
        elif connection.vendor == "mysql":
            cursor.execute(f"ANALYZE TABLE {tables}")
            cursor.fetchall()
        else:
            cursor.execute("ANALYZE")


def check(file: str, kind: str) -> dict[str, Any]:
    """The books table holds the file's rows (``kind`` new or update), each
    ISBN once."""
    path = Path(file)
    expected = sum(1 for _ in raw_rows(path))
    count = Book.objects.count()
    isbns = Book.objects.values("isbn").distinct().count()
    edited = Book.objects.filter(title__endswith="(2nd ed.)").count()
    ok = count == expected == isbns and edited == (expected if kind == "update" else 0)
    return {"ok": ok, "books": count, "expected": expected, "isbns": isbns, "edited": edited}


def api(rows: int) -> dict[str, Any]:
    """Median server time of the detail and list requests of an imported job
    with ``rows`` rows and a full error preview, among 200 jobs of the user."""
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.utils import timezone

    from drf_import_export_jobs.models import ImportJob

    _no_dispatch()
    user, _ = get_user_model().objects.get_or_create(username="bench")
    totals = {"new": rows, "update": 0, "delete": 0, "skip": 0, "error": 0, "invalid": 0}
    result = {
        "totals": totals,
        "rows": rows,
        "error_count": 0,
        "errors": [{"row": n, "field": "price", "message": "Enter a number."} for n in range(100)],
    }
    now = timezone.now()
    jobs = [
        ImportJob(
            resource_path=BOOK_RESOURCE,
            file_format_name="csv",
            data_file=f"bench/{n}.csv",
            status="imported",
            created_by=user,
            progress_current=rows,
            progress_total=rows,
            parse_result=result,
            import_result=result,
            parse_finished_at=now,
            import_finished_at=now,
        )
        for n in range(200)
    ]
    ImportJob.objects.bulk_create(jobs)
    job = ImportJob.objects.filter(created_by=user).latest("pk")
    client = Client()
    client.force_login(user)

    def median_ms(url: str) -> float:
        timings = []
        for _ in range(25):
            started = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"GET {url} answered {response.status_code}")
        timings.sort()
        return timings[len(timings) // 2]

    detail = median_ms(f"/api/books/imports/{job.pk}/")
    listing = median_ms("/api/books/imports/")
    return {"detail_ms": detail, "list_ms": listing, "peak_rss_mb": peak_rss_mb()}


def main(argv: list[str]) -> None:
    step, args = argv[0], argv[1:]
    if step == "prepare":
        out = prepare()
    elif step == "load":
        started = time.perf_counter()
        out = {"rows": raw_import(Path(args[0])), "seconds": time.perf_counter() - started}
        settle()
    elif step == "run":
        out = run(*args)
    elif step == "api":
        out = api(int(args[0]))
    else:
        raise SystemExit(f"unknown step {step!r}")
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
