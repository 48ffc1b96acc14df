"""The sweep (lost and stuck jobs) and the purge (old jobs and their files).

Both run from a management command or a Celery beat task:

- :func:`sweep_jobs` ends running jobs whose heartbeat is older than
  ``STALE_JOB_TIMEOUT`` in their error status (their worker died), and sends
  the task of jobs pending for longer than ``RESEND_PENDING_AFTER`` again
  (the broker was down when they were created or confirmed);
- :func:`purge_jobs` deletes finished jobs older than ``JOB_RETENTION_DAYS``
  with their files and ledgers, and never an active (pending or running)
  job; then :func:`purge_orphan_files` deletes files that no job refers to
  (left by a worker that died between storing a file and recording it), and
  :func:`purge_ledgers` the ledgers of imports older than
  ``REVERT_RETENTION_DAYS`` (they can no longer be reverted).
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from django.apps import apps
from django.core.files.storage import Storage
from django.db import DatabaseError, router, transaction
from django.db.models import Q
from django.utils import timezone

from .conf import jobs_settings
from .files import get_job_storage
from .handlers import JOB_FILE_FIELDS, delete_stored_file
from .managers import JobQuerySet
from .pipeline.imports.replayfile import RECORDS_SUFFIX
from .swapping import get_export_job_model, get_import_job_model

if TYPE_CHECKING:
    from .models import BaseJob

logger = logging.getLogger(__name__)

SWEEP_TASK = "drf_import_export_jobs.sweep_jobs"
PURGE_TASK = "drf_import_export_jobs.purge_jobs"
PURGE_BATCH_SIZE = 200
# Key of the orphan file count in the result of purge_jobs().
ORPHAN_FILES = "orphan files"
# Key of the expired ledger entry count in the result of purge_jobs().
LEDGER_ENTRIES = "ledger entries"


def job_models() -> list[type[BaseJob]]:
    """The configured import and export job models."""
    return [get_import_job_model(), get_export_job_model()]


def installed_job_models() -> list[type[BaseJob]]:
    """Every installed concrete job model, the configured ones first. A
    viewset may keep its jobs in a model of its own (``get_job_model()``):
    the sweep ends its lost jobs too, and a file is an orphan only when no
    job of any of them refers to it."""
    from .models import BaseJob

    models = job_models()
    models += [
        model
        for model in apps.get_models()
        if issubclass(model, BaseJob) and not model._meta.proxy and model not in models
    ]
    return models


def _jobs(model: type[BaseJob]) -> JobQuerySet:
    """The model's jobs with the sweep's filters, whatever its default manager."""
    return JobQuerySet(model)


def _label(job: BaseJob) -> str:
    return f"{job._meta.label} {job.pk}"


@dataclass
class SweepReport:
    """What one sweep did: jobs ended as lost, jobs sent again, failures."""

    lost: list[str] = field(default_factory=list)
    resent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        return {"lost": self.lost, "resent": self.resent, "failed": self.failed}


def sweep_jobs(stale_after: float | None = None, resend_after: float | None = None) -> SweepReport:
    """End lost running jobs and resend stuck pending ones.

    ``stale_after`` defaults to ``STALE_JOB_TIMEOUT``, ``resend_after`` to
    ``RESEND_PENDING_AFTER`` (``None`` in the setting: never resend). Every
    change is a conditional UPDATE, so sweeps may run on several machines.
    A database error on one job is logged and the sweep goes on.
    """
    stale = float(jobs_settings.STALE_JOB_TIMEOUT if stale_after is None else stale_after)
    if resend_after is None:
        resend_after = jobs_settings.RESEND_PENDING_AFTER
    report = SweepReport()
    for model in installed_job_models():
        for job in model._base_manager.filter(pk__in=_pks(_jobs(model).stale(stale))):
            try:
                if job.fail_lost_worker(stale):
                    report.lost.append(_label(job))
            except DatabaseError:
                logger.exception("Sweep: could not end %s.", _label(job))
                report.failed.append(_label(job))
        if resend_after is None:
            continue
        waiting = _jobs(model).waiting_longer_than(float(resend_after))
        for job in model._base_manager.filter(pk__in=_pks(waiting)):
            try:
                if job.resend_pending_task(float(resend_after)):
                    report.resent.append(_label(job))
            except DatabaseError:
                logger.exception("Sweep: could not resend the task of %s.", _label(job))
                report.failed.append(_label(job))
    if report.lost or report.resent or report.failed:
        logger.info("Sweep: %s", report.as_dict())
    return report


def _pks(queryset: object) -> list[object]:
    return list(queryset.values_list("pk", flat=True))  # type: ignore[attr-defined]


def purge_jobs(days: float | None = None, *, dry_run: bool = False) -> dict[str, int]:
    """Delete finished jobs whose last change is older than ``days`` days
    (``JOB_RETENTION_DAYS``; ``None`` there: keep jobs forever).

    Returns the number of jobs per model label (to be) deleted, under
    ``"orphan files"`` the number of files :func:`purge_orphan_files` removed
    and under ``"ledger entries"`` the number of expired ledger entries
    :func:`purge_ledgers` removed.
    Jobs are deleted in batches, each in its own transaction; their files are
    removed from storage when the batch commits. Active jobs are never
    deleted, also when one changes status during the purge.
    """
    if days is None:
        days = jobs_settings.JOB_RETENTION_DAYS
    counts: dict[str, int] = {}
    revert_days = jobs_settings.REVERT_RETENTION_DAYS
    if revert_days is not None:
        counts[LEDGER_ENTRIES] = purge_ledgers(float(revert_days), dry_run=dry_run)
    if days is None:
        return counts
    for model in job_models():
        expired = _jobs(model).expired(float(days))
        if dry_run:
            counts[model._meta.label] = expired.count()
            continue
        counts[model._meta.label] = _delete_in_batches(model, float(days))
    counts[ORPHAN_FILES] = purge_orphan_files(float(days), dry_run=dry_run)
    if any(counts.values()) and not dry_run:
        logger.info("Purge: deleted %s.", counts)
    return counts


def _delete_in_batches(model: type[BaseJob], days: float) -> int:
    alias = router.db_for_write(model)
    label = model._meta.label
    deleted = 0
    while True:
        expired = _jobs(model).expired(days).order_by("pk")
        batch = list(expired.values_list("pk", flat=True)[:PURGE_BATCH_SIZE])
        if not batch:
            return deleted
        with transaction.atomic(using=alias):
            # Locked and checked again: a job confirmed meanwhile stays.
            cutoff = timezone.now() - timedelta(days=days)
            rows = (
                model._base_manager.select_for_update()
                .filter(pk__in=batch, updated_at__lt=cutoff)
                .exclude(status__in=model.ACTIVE)
            )
            locked = list(rows.values_list("pk", flat=True))
            _, per_model = model._base_manager.filter(pk__in=locked).delete()
        deleted += per_model.get(label, 0)
        if len(batch) < PURGE_BATCH_SIZE:
            return deleted


def purge_ledgers(days: float, *, dry_run: bool = False) -> int:
    """Delete the ledger entries of imports that ended more than ``days``
    days ago (``REVERT_RETENTION_DAYS``): such jobs answer 409 to a revert.
    Returns the number of entries (to be) deleted."""
    from .models import AbstractImportJob, ImportLedgerEntry

    cutoff = timezone.now() - timedelta(days=days)
    count = 0
    for model in installed_job_models():
        if not issubclass(model, AbstractImportJob):
            continue
        ended = model._base_manager.filter(import_finished_at__lt=cutoff).exclude(
            status__in=model.ACTIVE
        )
        ids = [str(pk) for pk in ended.values_list("pk", flat=True)]
        for start in range(0, len(ids), PURGE_BATCH_SIZE):
            entries = ImportLedgerEntry._base_manager.filter(
                job_model=model._meta.label_lower, job_id__in=ids[start : start + PURGE_BATCH_SIZE]
            )
            if dry_run:
                count += entries.count()
            else:
                count += entries.only("pk").delete()[0]
    return count


def purge_orphan_files(days: float, *, dry_run: bool = False) -> int:
    """Delete the files under ``FILES_DIR`` that no job refers to, from day
    folders (``<kind>/<yyyy>/<mm>/<dd>``) more than ``days`` + 1 days old.

    Such files are left by a worker that died after storing an export or an
    error report and before recording it on the job. Recent folders are never
    looked at, so a file being written now is safe. Returns the number of
    files (to be) deleted.
    """
    storage = get_job_storage()
    before = (timezone.now() - timedelta(days=days + 1)).date()
    count = 0
    for name in _files_of_days_before(storage, jobs_settings.FILES_DIR, before):
        if _is_referenced(name):
            continue
        count += 1
        if not dry_run:
            logger.info("Purge: deleting %r, which no job refers to.", name)
            delete_stored_file(storage, name)
    return count


def _is_referenced(name: str) -> bool:
    # A dry run's records belong to their upload's job.
    name = name.removesuffix(RECORDS_SUFFIX)
    for model in installed_job_models():
        fields = [f for f in JOB_FILE_FIELDS if any(x.name == f for x in model._meta.fields)]
        query = Q()
        for field_name in fields:
            query |= Q(**{field_name: name})
        if fields and model._base_manager.filter(query).exists():
            return True
    return False


def _listdir(storage: Storage, path: str) -> tuple[list[str], list[str]]:
    try:
        folders, files = storage.listdir(path)
    except (FileNotFoundError, NotADirectoryError):
        return [], []
    return list(folders), list(files)


def _files_of_days_before(storage: Storage, root: str, before: datetime.date) -> Iterator[str]:
    for kind in _listdir(storage, root)[0]:
        for year in _listdir(storage, f"{root}/{kind}")[0]:
            for month in _listdir(storage, f"{root}/{kind}/{year}")[0]:
                for day in _listdir(storage, f"{root}/{kind}/{year}/{month}")[0]:
                    try:
                        date = datetime.date(int(year), int(month), int(day))
                    except ValueError:
                        continue
                    if date >= before:
                        continue
                    folder = f"{root}/{kind}/{year}/{month}/{day}"
                    for name in _listdir(storage, folder)[1]:
                        yield f"{folder}/{name}"
