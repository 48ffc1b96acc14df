"""Reverting an import end to end: a real worker of each task backend (Celery
on a real broker, django.tasks' ``db_worker``) imports, then reverts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from drf_import_export_jobs.models import ImportLedgerEntry
from tests.conftest import book_rows, csv_bytes, wait_for_status
from tests.testapp.models import Author, Book

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_import_then_revert_through_the_worker(job_worker, make_import_job):
    ann = Author.objects.create(name="Ann")
    old = Book.objects.create(
        isbn="9780000000000", title="Before", author=ann, price=Decimal("3.30"), pages=None
    )
    job = make_import_job(csv_bytes(book_rows(120)))
    wait_for_status(job, "parsed")
    job.confirm_import()
    wait_for_status(job, "imported")
    assert Book.objects.count() == 120
    assert ImportLedgerEntry.for_job(job).count() == 3  # CHUNK_SIZE 50 in the test settings
    edited = Book.objects.get(isbn="9780000000005")
    Book.objects.filter(pk=edited.pk).update(title="Edited since")

    job.revert_import()
    wait_for_status(job, {"reverted", "revert_error"})

    assert job.status == "reverted", job.error_message
    assert job.revert_result["totals"] == {"reverted": 119, "kept": 1, "failed": 0}
    assert [(r["pk"], r["reason"]) for r in job.revert_result["rows"]] == [
        (edited.pk, "changed since the import")
    ]
    assert set(Book.objects.values_list("pk", flat=True)) == {old.pk, edited.pk}
    old_now = Book.objects.get(pk=old.pk)
    assert (old_now.title, old_now.price, old_now.pages) == ("Before", Decimal("3.30"), None)
    assert job.progress["info"] == {"current": 120, "total": 120}
