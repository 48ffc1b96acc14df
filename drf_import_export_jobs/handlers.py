"""Signal handlers: a deleted job takes its files with it."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db import router, transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from .models import BaseJob

JOB_FILE_FIELDS = ("data_file", "error_report")


@receiver(post_delete)
def delete_job_files(sender: type, instance: Any, **kwargs: Any) -> None:
    """Delete a job's stored files once its deletion commits."""
    if not isinstance(instance, BaseJob):
        return
    for name in JOB_FILE_FIELDS:
        field_file = getattr(instance, name, None)
        if field_file:
            transaction.on_commit(
                partial(field_file.storage.delete, field_file.name),
                using=router.db_for_write(sender),
            )
            if name == "data_file" and hasattr(instance, "delete_staged_results"):
                transaction.on_commit(
                    instance.delete_staged_results, using=router.db_for_write(sender)
                )
