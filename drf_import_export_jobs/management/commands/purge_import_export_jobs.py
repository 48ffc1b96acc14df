"""``manage.py purge_import_export_jobs``: delete old finished jobs and their files."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...conf import jobs_settings
from ...housekeeping import purge_jobs


class Command(BaseCommand):
    help = (
        "Delete finished import and export jobs whose last change is older than "
        "JOB_RETENTION_DAYS days, with their files. Active jobs are never deleted."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=float,
            default=None,
            help="Age in days (default: JOB_RETENTION_DAYS).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Only count the jobs that would be deleted."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"]
        if (
            days is None
            and jobs_settings.JOB_RETENTION_DAYS is None
            and jobs_settings.REVERT_RETENTION_DAYS is None
        ):
            self.stdout.write(
                "JOB_RETENTION_DAYS and REVERT_RETENTION_DAYS are None: jobs and their "
                "ledgers are kept; nothing to do."
            )
            return
        if days is not None and days < 0:
            raise CommandError("--days must be zero or more.")
        counts = purge_jobs(days, dry_run=options["dry_run"])
        verb = "would delete" if options["dry_run"] else "deleted"
        for label, count in counts.items():
            self.stdout.write(f"{label}: {verb} {count}")
