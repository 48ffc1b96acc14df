"""The purge of old jobs, and job files that never outlive their job."""

from __future__ import annotations

import logging
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from drf_import_export_jobs import housekeeping
from drf_import_export_jobs.housekeeping import purge_jobs
from drf_import_export_jobs.managers import JobQuerySet
from drf_import_export_jobs.models import ExportJob, ImportJob
from tests.conftest import book_rows, csv_bytes, stored_job_files

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("empty_job_storage"),
]


def jobs_config(**values: Any) -> override_settings:
    from django.conf import settings

    return override_settings(DRF_IMPORT_EXPORT_JOBS={**settings.DRF_IMPORT_EXPORT_JOBS, **values})


def import_job(status: str, age_days: float, report: bool = True) -> ImportJob:
    job = ImportJob(resource_path="tests.testapp.resources.BookResource", file_format_name="csv")
    job.data_file.save("upload.csv", ContentFile(csv_bytes(book_rows(2))), save=False)
    if report:
        job.error_report.save("report.csv", ContentFile(b"row,error\n"), save=False)
    job.save()
    return aged(job, status, age_days)


def export_job(status: str, age_days: float) -> ExportJob:
    job = ExportJob(resource_path="tests.testapp.resources.BookResource", file_format_name="csv")
    job.data_file.save("out.csv", ContentFile(b"isbn\n1\n"), save=False)
    job.save()
    return aged(job, status, age_days)


def aged(job: Any, status: str, age_days: float) -> Any:
    when = timezone.now() - timedelta(days=age_days)
    type(job).objects.filter(pk=job.pk).update(status=status, updated_at=when, created_at=when)
    job.refresh_from_db()
    return job


def files_of(*jobs: Any) -> list[str]:
    return [
        str(Path(f.path))
        for job in jobs
        for f in (job.data_file, getattr(job, "error_report", None))
        if f
    ]


FINISHED_IMPORTS = (
    "parsed",
    "input_error",
    "parse_error",
    "imported",
    "import_error",
    "cancelled",
    "reverted",
    "revert_error",
)
ACTIVE_IMPORTS = (
    "created",
    "parsing",
    "import_confirmed",
    "importing",
    "revert_requested",
    "reverting",
)


def test_purge_deletes_old_finished_jobs_with_their_files_and_nothing_else():
    old_done = [import_job(status, 31) for status in FINISHED_IMPORTS]
    old_done += [export_job(status, 40) for status in ("exported", "export_error", "cancelled")]
    old_active = [import_job(status, 90) for status in ACTIVE_IMPORTS]
    old_active += [export_job(status, 90) for status in ("created", "exporting")]
    recent = [import_job("imported", 29), export_job("exported", 1)]
    doomed = files_of(*old_done)
    assert set(doomed) <= set(stored_job_files())

    counts = purge_jobs()

    assert counts == {
        "ledger entries": 0,
        "drf_import_export_jobs.ImportJob": len(FINISHED_IMPORTS),
        "drf_import_export_jobs.ExportJob": 3,
        "orphan files": 0,
    }
    kept = {(type(j).__name__, j.pk) for j in old_active + recent}
    left = {("ImportJob", pk) for pk in ImportJob.objects.values_list("pk", flat=True)}
    left |= {("ExportJob", pk) for pk in ExportJob.objects.values_list("pk", flat=True)}
    assert left == kept
    assert sorted(stored_job_files()) == sorted(files_of(*old_active, *recent))


def test_purge_in_several_batches(monkeypatch):
    monkeypatch.setattr(housekeeping, "PURGE_BATCH_SIZE", 2)
    jobs = [import_job("imported", 60, report=False) for _ in range(5)]
    assert purge_jobs()["drf_import_export_jobs.ImportJob"] == 5
    assert not ImportJob.objects.filter(pk__in=[j.pk for j in jobs]).exists()
    assert stored_job_files() == []


def test_a_job_that_became_active_meanwhile_is_not_deleted(monkeypatch):
    """The batch is locked and its statuses checked again before the DELETE."""
    confirmed = import_job("import_confirmed", 60)
    done = import_job("imported", 60)
    monkeypatch.setattr(JobQuerySet, "expired", lambda self, days: self.all())  # a stale selection
    purge_jobs()
    assert list(ImportJob.objects.values_list("pk", flat=True)) == [confirmed.pk]
    assert not ImportJob.objects.filter(pk=done.pk).exists()


def test_dry_run_and_days_and_retention_off():
    job = import_job("imported", 10)
    assert purge_jobs(dry_run=True) == {
        "ledger entries": 0,
        "drf_import_export_jobs.ImportJob": 0,
        "drf_import_export_jobs.ExportJob": 0,
        "orphan files": 0,
    }
    assert purge_jobs(7, dry_run=True)["drf_import_export_jobs.ImportJob"] == 1
    assert ImportJob.objects.filter(pk=job.pk).exists()
    with jobs_config(JOB_RETENTION_DAYS=None):
        assert purge_jobs() == {"ledger entries": 0}
    with jobs_config(JOB_RETENTION_DAYS=None, REVERT_RETENTION_DAYS=None):
        assert purge_jobs() == {}
    with jobs_config(JOB_RETENTION_DAYS=9):
        assert purge_jobs()["drf_import_export_jobs.ImportJob"] == 1
    assert not ImportJob.objects.exists()


def test_purge_command():
    import_job("imported", 100)
    export_job("exported", 100)
    out = StringIO()
    call_command("purge_import_export_jobs", "--dry-run", stdout=out)
    assert "drf_import_export_jobs.ImportJob: would delete 1" in out.getvalue()
    assert ImportJob.objects.count() == 1
    out = StringIO()
    call_command("purge_import_export_jobs", "--days", "50", stdout=out)
    assert "drf_import_export_jobs.ExportJob: deleted 1" in out.getvalue()
    assert not ImportJob.objects.exists() and not ExportJob.objects.exists()
    assert stored_job_files() == []
    with jobs_config(JOB_RETENTION_DAYS=None, REVERT_RETENTION_DAYS=None):
        out = StringIO()
        call_command("purge_import_export_jobs", stdout=out)
    assert "JOB_RETENTION_DAYS and REVERT_RETENTION_DAYS are None" in out.getvalue()


def test_purge_task():
    from drf_import_export_jobs.tasks import purge_jobs as purge_task

    import_job("input_error", 45)
    assert purge_task.apply().get()["drf_import_export_jobs.ImportJob"] == 1
    assert purge_task.apply(kwargs={"days": 0}).get()["drf_import_export_jobs.ImportJob"] == 0


def test_purge_deletes_old_files_no_job_refers_to():
    """A worker that died between storing a file and recording it leaves an
    orphan; the purge removes it once its day folder is old enough."""
    from drf_import_export_jobs.files import get_job_storage

    storage = get_job_storage()
    old_orphan = storage.save("import_export_jobs/exports/2020/01/31/lost.csv", ContentFile(b"x"))
    old_report = storage.save(
        "import_export_jobs/error-reports/2020/02/01/r.csv", ContentFile(b"x")
    )
    kept = import_job("created", 2000, report=False)  # an old upload still in use
    ImportJob.objects.filter(pk=kept.pk).update(
        data_file="import_export_jobs/imports/2020/01/31/u.csv"
    )
    in_use = storage.save("import_export_jobs/imports/2020/01/31/u.csv", ContentFile(b"x"))
    # A dry run's records of an upload in use are kept; of a gone upload, purged.
    records = storage.save(
        "import_export_jobs/imports/2020/01/31/u.csv.staged.jsonl", ContentFile(b"x")
    )
    old_records = storage.save(
        "import_export_jobs/imports/2020/01/31/gone.csv.staged.jsonl", ContentFile(b"x")
    )
    fresh = storage.save(
        f"import_export_jobs/exports/{timezone.now():%Y/%m/%d}/being-written.csv",
        ContentFile(b"x"),
    )
    storage.save("import_export_jobs/exports/2020/13/99/not-a-day.csv", ContentFile(b"x"))
    before = set(stored_job_files())

    assert purge_jobs(dry_run=True)["orphan files"] == 3
    assert set(stored_job_files()) == before
    assert purge_jobs()["orphan files"] == 3

    left = {Path(p).relative_to(Path(storage.path(""))).as_posix() for p in stored_job_files()}
    assert old_orphan not in left and old_report not in left and old_records not in left
    assert in_use in left and fresh in left and records in left


def test_purge_keeps_old_files_of_jobs_in_a_viewsets_own_model():
    """Files of a job model no setting names (a viewset's ``get_job_model()``)
    are not orphans."""
    from drf_import_export_jobs.files import get_job_storage
    from tests.testapp.models import ArchiveExportJob

    storage = get_job_storage()
    name = storage.save("import_export_jobs/exports/2020/01/31/archived.csv", ContentFile(b"x"))
    job = ArchiveExportJob.objects.create(
        resource_path="tests.testapp.resources.BookResource", file_format_name="csv"
    )
    ArchiveExportJob.objects.filter(pk=job.pk).update(data_file=name)
    assert purge_jobs(dry_run=True)["orphan files"] == 0
    assert purge_jobs()["orphan files"] == 0
    left = {Path(p).relative_to(Path(storage.path(""))).as_posix() for p in stored_job_files()}
    assert name in left


# -- files never outlive their job ------------------------------------------------------


def test_deleting_one_job_deletes_its_files():
    job = import_job("imported", 0)
    export = export_job("exported", 0)
    job.delete()
    export.delete()
    assert stored_job_files() == []


def test_deleting_jobs_in_the_admin_deletes_their_files(client):
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.create_superuser("admin", "a@example.com", "pw")
    client.force_login(admin)
    jobs = [import_job("imported", 0), import_job("parse_error", 0)]
    response = client.post(
        "/admin/drf_import_export_jobs/importjob/",
        {"action": "delete_selected", "_selected_action": [j.pk for j in jobs], "post": "yes"},
    )
    assert response.status_code == 302
    assert not ImportJob.objects.exists()
    assert stored_job_files() == []


def test_a_rolled_back_deletion_keeps_the_files():
    from django.db import transaction

    job = import_job("imported", 0)
    with pytest.raises(RuntimeError), transaction.atomic():
        ImportJob.objects.filter(pk=job.pk).delete()
        raise RuntimeError("rolled back")
    assert ImportJob.objects.filter(pk=job.pk).exists()
    assert sorted(stored_job_files()) == sorted(files_of(job))


def test_a_storage_failure_is_logged_not_raised(monkeypatch, caplog):
    job = import_job("imported", 0, report=False)
    storage = job.data_file.storage

    def broken(name: str) -> None:
        raise OSError("storage unavailable")

    monkeypatch.setattr(type(storage._wrapped), "delete", lambda self, name: broken(name))
    with caplog.at_level(logging.ERROR):
        job.delete()
    assert not ImportJob.objects.exists()
    assert "Could not delete the job file" in caplog.text and job.data_file.name in caplog.text
