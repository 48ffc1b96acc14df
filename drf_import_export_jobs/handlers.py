"""Signal handlers: a deleted job takes its files, its import ledger and its
event log with it."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from django.core.files.storage import Storage
from django.db import router, transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from .events import delete_events
from .models import AbstractImportJob, BaseJob, ImportLedgerEntry, PendingImportChunk

logger = logging.getLogger(__name__)

JOB_FILE_FIELDS = ("data_file", "error_report")


def delete_stored_file(storage: Storage, name: str) -> None:
    """Delete ``name`` from ``storage``; a failure is logged with the file's
    name (so it can be removed by hand), never raised."""
    try:
        storage.delete(name)
    except Exception:
        logger.exception("Could not delete the job file %r from storage.", name)


@receiver(post_delete)
def delete_job_files(sender: type, instance: Any, **kwargs: Any) -> None:
    """Delete a job's stored files once its deletion commits (also for
    ``QuerySet.delete()``, the admin, the REST API and the purge)."""
    if not isinstance(instance, BaseJob):
        return
    for name in JOB_FILE_FIELDS:
        field_file = getattr(instance, name, None)
        if field_file:
            transaction.on_commit(
                partial(delete_stored_file, field_file.storage, field_file.name),
                using=router.db_for_write(sender),
            )
            if name == "data_file" and hasattr(instance, "delete_staged_results"):
                transaction.on_commit(
                    instance.delete_staged_results, using=router.db_for_write(sender)
                )


@receiver(post_delete)
def delete_job_ledger(sender: type, instance: Any, **kwargs: Any) -> None:
    """Delete an import job's ledger entries and pending chunks with the job
    (in its transaction)."""
    if isinstance(instance, AbstractImportJob):
        entries = ImportLedgerEntry.for_job(instance).using(router.db_for_write(ImportLedgerEntry))
        entries.only("pk").delete()  # the images are not loaded to be deleted
        pending = PendingImportChunk.for_job(instance)
        pending.using(router.db_for_write(PendingImportChunk)).delete()


@receiver(post_delete)
def delete_job_event_log(sender: type, instance: Any, **kwargs: Any) -> None:
    """Delete a job's event log with the job."""
    if isinstance(instance, BaseJob):
        delete_events(instance)
