"""Runs one import job and one export job end to end, printing what happens.

The jobs are executed by a worker, so one must be running: a Celery worker
(``celery -A example_project worker``), or with ``JOBS_TASK_BACKEND=django``
``manage.py db_worker``; ``run-demo`` starts the right one.
"""

import time
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser

from drf_import_export_jobs.swapping import get_export_job_model, get_import_job_model

SAMPLE_FILE = Path(__file__).resolve().parents[2] / "sample_data" / "books.csv"
POLL_SECONDS = 0.2
TOTALS_ORDER = ("new", "update", "delete", "skip", "error", "invalid")


class Command(BaseCommand):
    help = (
        "Import books/sample_data/books.csv with an import job (dry run, confirm, import), "
        "then export the books in stock to XLSX with an export job. Needs a running worker."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--file",
            type=Path,
            default=SAMPLE_FILE,
            help="CSV file to import (default: the sample data).",
        )
        parser.add_argument(
            "--username",
            default="demo",
            help="User recorded as the jobs' creator (default: demo).",
        )
        parser.add_argument(
            "--timeout",
            type=float,
            default=60.0,
            help="Seconds to wait for each step before giving up (default: 60).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.timeout = options["timeout"]
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        user = get_user_model()._default_manager.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(
                f"User {options['username']!r} does not exist; create it first "
                "(run-demo creates the user demo)."
            )
        started = time.monotonic()
        self.run_import(path, user)
        self.run_export(user)
        self.stdout.write(
            self.style.SUCCESS(f"Demo jobs finished in {time.monotonic() - started:.1f} s.")
        )

    # -- import -----------------------------------------------------------------

    def run_import(self, path: Path, user: Any) -> None:
        ImportJob = get_import_job_model()
        S = ImportJob.ImportStatus
        job = ImportJob(
            resource_path="books.resources.BookResource",
            file_format_name="csv",
            original_filename=path.name,
            created_by=user,
        )
        with path.open("rb") as fh:
            job.data_file.save(path.name, File(fh), save=False)
        job.save()
        self.stdout.write(
            f"Import job #{job.pk} created for {path.name}; waiting for the dry run."
        )
        self.wait(
            job, "Import", wanted=(S.PARSED,), failed=(S.INPUT_ERROR, S.PARSE_ERROR, S.CANCELLED)
        )
        self.show_totals("Dry run", job.parse_result)

        job.confirm_import()
        self.stdout.write(f"Import job #{job.pk} confirmed; waiting for the import.")
        self.wait(job, "Import", wanted=(S.IMPORTED,), failed=(S.IMPORT_ERROR, S.CANCELLED))
        self.show_totals("Import", job.import_result)

    # -- export -----------------------------------------------------------------

    def run_export(self, user: Any) -> None:
        ExportJob = get_export_job_model()
        S = ExportJob.ExportStatus
        job = ExportJob(
            resource_path="books.resources.BookResource",
            file_format_name="xlsx",
            filters={"in_stock": True},
            created_by=user,
        )
        job.save()
        self.stdout.write(f"Export job #{job.pk} created (books in stock, XLSX).")
        self.wait(job, "Export", wanted=(S.EXPORTED,), failed=(S.EXPORT_ERROR, S.CANCELLED))
        try:
            location = job.data_file.path
        except NotImplementedError:  # a storage without local paths
            location = job.data_file.name
        self.stdout.write(
            self.style.SUCCESS(f"Exported {job.progress_current} book(s) to {location}")
        )

    # -- helpers ----------------------------------------------------------------

    def wait(self, job: Any, kind: str, wanted: tuple[str, ...], failed: tuple[str, ...]) -> None:
        """Poll the job's row until its status is in ``wanted``; print every
        status seen on the way. Raise CommandError on ``failed`` or timeout."""
        started = time.monotonic()
        seen = job.status
        self.stdout.write(f"  {kind} job #{job.pk}: {seen}")
        while True:
            job.refresh_from_db()
            elapsed = time.monotonic() - started
            if job.status != seen:
                seen = job.status
                self.stdout.write(f"  {kind} job #{job.pk}: {seen} (+{elapsed:.1f} s)")
            if job.status in wanted:
                return
            if job.status in failed:
                self.show_failure(job)
                raise CommandError(f"{kind} job #{job.pk} ended in {job.status}.")
            if elapsed > self.timeout:
                raise CommandError(
                    f"{kind} job #{job.pk} is still {job.status} after {self.timeout:.0f} s. "
                    "Is a worker running? (run-demo logs it to var/worker.log)"
                )
            time.sleep(POLL_SECONDS)

    def show_totals(self, label: str, result: dict[str, Any] | None) -> None:
        totals = dict((result or {}).get("totals", {}))
        # A fixed order: a JSON column may hand the keys back in any order.
        order = [key for key in TOTALS_ORDER if key in totals]
        order += sorted(set(totals) - set(order))
        text = ", ".join(f"{key} {totals[key]}" for key in order)
        self.stdout.write(f"  {label} totals: {text or 'none'}")

    def show_failure(self, job: Any) -> None:
        if job.error_message:
            self.stderr.write(f"  {job.error_message}")
        for result in (getattr(job, "parse_result", None), getattr(job, "import_result", None)):
            for error in (result or {}).get("errors", [])[:10]:
                where = f"row {error['row']}" if error.get("row") else "file"
                field = f" [{error['field']}]" if error.get("field") else ""
                self.stderr.write(f"  {where}{field}: {error['message']}")
