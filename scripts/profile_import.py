"""Time the import flow of the example project against a raw bulk_create loop.

Not the benchmark (``make bench`` is); a quick way to see where an import
spends its time while working on the import path. Each measurement runs in a
fresh process so its peak RSS is its own.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/profile_import \\
        .venv/bin/python scripts/profile_import.py 10000 100000

Add ``--profile`` to print the cProfile top functions of the job's flow;
``PROFILE_RESOURCE=<dotted path>`` profiles another resource of the example,
``PROFILE_COMMIT_MODE=chunked`` the chunked commit mode (on one task),
``PROFILE_PHASE=parse|import`` only the dry run or the import.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import resource
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AUTHORS = 200
CHUNK = 1000


def write_file(path: Path, rows: int, version: int) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["isbn", "title", "author", "price", "published", "pages", "in_stock", "description"]
        )
        for i in range(rows):
            writer.writerow(
                [
                    str(9780000000000 + i),
                    f"Title {i} v{version}",
                    f"Author {i % AUTHORS}",
                    f"{(i % 500) + version}.{i % 100:02d}",
                    (dt.date(2000, 1, 1) + dt.timedelta(days=i % 9000)).isoformat(),
                    str(50 + i % 900),
                    "1" if (i + version) % 3 else "0",
                    f"Description of book {i}, version {version}",
                ]
            )


def setup_django() -> None:
    sys.path.insert(0, str(ROOT / "example_project"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")
    # As in production: with DEBUG, Django keeps the last 9,000 queries' SQL.
    os.environ.setdefault("DJANGO_DEBUG", "0")
    import django

    django.setup()


def prepare(rows: int, scenario: str) -> Path:
    from books.models import Author, Book
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    # delete() would load every row; a DELETE would leave the table's dead rows
    # in the index lookups of the next run.
    table = connection.ops.quote_name(Book._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {table}")
        else:
            cursor.execute(f"DELETE FROM {table}")
    Author.objects.bulk_create(
        [Author(name=f"Author {i}") for i in range(AUTHORS)], ignore_conflicts=True
    )
    path = Path(f"/tmp/profile_import_{rows}_{scenario}.csv")
    if scenario == "update":
        first = Path(f"/tmp/profile_import_{rows}_new.csv")
        if not first.exists():
            write_file(first, rows, 0)
        raw_loop(first, "new")
    if not path.exists():
        write_file(path, rows, 1 if scenario == "update" else 0)
    return path


def raw_loop(path: Path, scenario: str) -> int:
    from books.models import Author, Book
    from django.db import transaction

    authors = dict(Author.objects.values_list("name", "id"))
    count = 0
    with transaction.atomic(), path.open(newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        batch: list[list[str]] = []

        def flush() -> None:
            books = [
                Book(
                    isbn=r[0],
                    title=r[1],
                    author_id=authors[r[2]],
                    price=Decimal(r[3]),
                    published=dt.date.fromisoformat(r[4]),
                    pages=int(r[5]),
                    in_stock=r[6] == "1",
                    description=r[7],
                )
                for r in batch
            ]
            if scenario == "new":
                Book.objects.bulk_create(books, batch_size=CHUNK)
            else:
                ids = dict(
                    Book.objects.filter(isbn__in=[b.isbn for b in books]).values_list("isbn", "id")
                )
                for book in books:
                    book.pk = ids[book.isbn]
                fields = ["title", "author", "price", "published", "pages", "in_stock"]
                Book.objects.bulk_update(books, [*fields, "description"], batch_size=CHUNK)
            batch.clear()

        for row in reader:
            batch.append(row)
            count += 1
            if len(batch) == CHUNK:
                flush()
        flush()
    return count


def job_flow(path: Path, profile: bool) -> int:
    from django.core.files import File

    from drf_import_export_jobs import dispatch
    from drf_import_export_jobs.models import ImportJob

    dispatch.send_job_task = lambda *args, **kwargs: None  # type: ignore[assignment]
    resource_path = os.environ.get("PROFILE_RESOURCE", "books.resources.BookResource")
    mode = os.environ.get("PROFILE_COMMIT_MODE", "")  # atomic, chunked; "": the resource's
    job = ImportJob(resource_path=resource_path, file_format_name="csv", commit_mode=mode)
    with path.open("rb") as handle:
        job.data_file.save("profile.csv", File(handle), save=False)
    job.save()

    def run() -> None:
        start, cpu = time.perf_counter(), time.process_time()
        job.parse_data()
        parsed, parsed_cpu = time.perf_counter(), time.process_time()
        if os.environ.get("STEPS"):
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"peak after the dry run {peak:.0f} MB")
        job.confirm_import()
        job.import_data()
        if os.environ.get("STEPS"):
            print(
                f"parse {parsed - start:.2f}s (cpu {parsed_cpu - cpu:.2f}s) "
                f"import {time.perf_counter() - parsed:.2f}s "
                f"(cpu {time.process_time() - parsed_cpu:.2f}s)"
            )

    if profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        phase = os.environ.get("PROFILE_PHASE", "")  # parse, import; "": both
        if phase:
            method = "parse_data" if phase == "parse" else "import_data"
            original = getattr(job, method)

            def profiled() -> None:
                profiler.runcall(original)

            setattr(job, method, profiled)
            run()
        else:
            profiler.runcall(run)
        pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "tottime")).print_stats(
            int(os.environ.get("TOP", "25"))
        )
    else:
        run()
    job.refresh_from_db()
    if job.status != "imported":
        raise SystemExit(f"job ended {job.status}: {job.error_message} {job.parse_result}")
    totals = job.import_result["totals"]
    job.delete()  # and its files
    return int(totals["new"] + totals["update"] + totals["skip"])


def measure(rows: int, scenario: str, mode: str, profile: bool) -> None:
    setup_django()
    path = prepare(rows, scenario)
    start, cpu = time.perf_counter(), time.process_time()
    done = raw_loop(path, scenario) if mode == "raw" else job_flow(path, profile)
    elapsed = time.perf_counter() - start
    if os.environ.get("STEPS"):
        print(f"{mode} cpu {time.process_time() - cpu:.2f}s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{rows:>8} {scenario:<7} {mode:<5} {done / elapsed:>10.0f} rows/s {peak:>7.0f} MB")


def main() -> None:
    args = sys.argv[1:]
    if args and args[0] == "--one":
        measure(int(args[1]), args[2], args[3], "--profile" in args)
        return
    profile = "--profile" in args
    sizes = [int(a) for a in args if a.isdigit()] or [10000]
    for rows in sizes:
        for scenario in ("new", "update"):
            for mode in ("raw", "job"):
                if mode == "raw" and scenario == "update" and rows > 20_000:
                    # bulk_update's CASE expressions make this loop quadratic
                    # per batch: compare with its rows/s on 10,000 rows.
                    print(f"{rows:>8} update  raw   skipped (use the 10000-row figure)")
                    continue
                command = [sys.executable, __file__, "--one", str(rows), scenario, mode]
                if profile and mode == "job":
                    command.append("--profile")
                subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
