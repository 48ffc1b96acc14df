"""``manage.py sweep_import_export_jobs``: end lost jobs, resend stuck ones."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ...housekeeping import sweep_jobs


class Command(BaseCommand):
    help = (
        "End parsing/importing/exporting jobs whose heartbeat is older than "
        "STALE_JOB_TIMEOUT in their error status (the worker was lost), and send "
        "the task of jobs pending for longer than RESEND_PENDING_AFTER again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--stale-after",
            type=float,
            default=None,
            help="Seconds without a heartbeat (default: STALE_JOB_TIMEOUT).",
        )
        parser.add_argument(
            "--resend-after",
            type=float,
            default=None,
            help="Seconds a job may stay pending (default: RESEND_PENDING_AFTER).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = sweep_jobs(options["stale_after"], options["resend_after"])
        for label in report.lost:
            self.stdout.write(f"lost worker: {label}")
        for label in report.resent:
            self.stdout.write(f"task sent again: {label}")
        for label in report.failed:
            self.stderr.write(f"failed: {label}")
        self.stdout.write(
            f"{len(report.lost)} lost, {len(report.resent)} sent again, "
            f"{len(report.failed)} failed."
        )
