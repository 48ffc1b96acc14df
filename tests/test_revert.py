"""Reverting an imported job from its ledger: rows, conflicts, failures, 409s."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from drf_import_export_jobs import dispatch
from drf_import_export_jobs.exceptions import InvalidJobStatus, JobNotRevertible
from drf_import_export_jobs.housekeeping import purge_jobs
from drf_import_export_jobs.models import ImportJob, ImportLedgerEntry
from tests.conftest import HEADER, book_rows, csv_bytes
from tests.test_ledger import DELETING, ROWS, existing_books, imported, values
from tests.testapp.models import Author, Book


def reverted(job: ImportJob) -> ImportJob:
    job.revert_import()
    job.revert_data()
    job.refresh_from_db()
    return job


def snapshot() -> dict[int, dict[str, Any]]:
    return {book.pk: values(book) for book in Book.objects.all()}


@pytest.mark.parametrize("resource", ["tests.testapp.resources.BookResource", ROWS])
def test_revert_deletes_new_rows_and_restores_updated_ones(make_import_job, authors, resource):
    existing_books(authors)
    before = snapshot()
    with override_settings(DRF_IMPORT_EXPORT_JOBS={"CHUNK_SIZE": 2}):
        job = imported(make_import_job, csv_bytes(book_rows(7)), resource)
    assert Book.objects.count() == 7
    assert ImportLedgerEntry.for_job(job).count() == 4

    job = reverted(job)

    assert job.status == "reverted", job.error_message
    assert snapshot() == before
    assert job.revert_result == {
        "totals": {"reverted": 7, "kept": 0, "failed": 0},
        "rows": [],
    }
    assert job.progress["info"] == {"current": 7, "total": 7}
    assert job.revert_started_at and job.revert_finished_at


def test_revert_sends_the_revert_task_after_commit(
    make_import_job, authors, sent_tasks, django_capture_on_commit_callbacks
):
    job = imported(make_import_job, csv_bytes(book_rows(1)))
    with django_capture_on_commit_callbacks(execute=True):
        job.revert_import()
    job.refresh_from_db()
    assert job.status == "revert_requested" and job.revert_task_id
    assert sent_tasks[-1][0] == dispatch.REVERT_TASK
    assert sent_tasks[-1][2]["task_id"] == job.revert_task_id


def test_rows_changed_or_deleted_since_the_import_are_kept_and_reported(make_import_job, authors):
    old = existing_books(authors)
    job = imported(make_import_job, csv_bytes(book_rows(4)))
    new_changed = Book.objects.get(isbn="9780000000002")
    new_untouched = Book.objects.get(isbn="9780000000003")
    # Someone else changes a new row and an updated row, and deletes an updated row.
    Book.objects.filter(pk=new_changed.pk).update(title="Edited by hand")
    Book.objects.filter(pk=old[0].pk).update(price=Decimal("99.99"))
    Book.objects.filter(pk=old[1].pk).delete()

    job = reverted(job)

    assert job.status == "reverted", job.error_message
    assert Book.objects.get(pk=new_changed.pk).title == "Edited by hand"
    assert not Book.objects.filter(pk=new_untouched.pk).exists()
    assert Book.objects.get(pk=old[0].pk).price == Decimal("99.99")
    assert not Book.objects.filter(pk=old[1].pk).exists()
    assert job.revert_result["totals"] == {"reverted": 1, "kept": 3, "failed": 0}
    reported = {
        (r["pk"], r["action"], r["outcome"], r["reason"]) for r in job.revert_result["rows"]
    }
    assert reported == {
        (new_changed.pk, "delete", "kept", "changed since the import"),
        (old[0].pk, "restore", "kept", "changed since the import"),
        (old[1].pk, "restore", "kept", "deleted since the import"),
    }


def test_deleted_rows_are_created_again(make_import_job, authors):
    old = existing_books(authors)
    before = snapshot()
    lines = [book_rows(1)[0] + ",1", book_rows(1, start=1)[0] + ",1"]
    job = imported(make_import_job, csv_bytes(lines, HEADER + ",delete"), DELETING)
    assert not Book.objects.exists()
    job = reverted(job)
    assert job.status == "reverted", job.error_message
    assert snapshot() == before
    assert {b.pk for b in Book.objects.all()} == {b.pk for b in old}


def test_a_row_the_database_refuses_rolls_the_whole_revert_back(make_import_job, authors):
    ann, bob = authors
    lines = book_rows(2)
    first = Book.objects.create(
        isbn="9780000000000", title="Old", author=bob, price=Decimal("1.00")
    )
    job = imported(make_import_job, csv_bytes(lines))  # moves the first book to Ann
    assert Book.objects.get(pk=first.pk).author == ann
    Author.objects.filter(pk=bob.pk).delete()  # its before-image refers to Bob
    after_import = snapshot()

    job = reverted(job)

    assert job.status == "revert_error"
    assert "1 row(s) could not be reverted; nothing was reverted" in job.error_message
    assert snapshot() == after_import
    totals = job.revert_result["totals"]
    assert totals["reverted"] == 0 and totals["failed"] == 1
    assert any(r["outcome"] == "failed" for r in job.revert_result["rows"])
    # A failed revert changed nothing: it may be asked for again.
    Author.objects.create(pk=bob.pk, name="Bob")
    job = reverted(job)
    assert job.status == "reverted", job.error_message
    assert list(Book.objects.values_list("pk", "author__name")) == [(first.pk, "Bob")]


def test_a_new_row_others_refer_to_is_kept(make_import_job, authors):
    from tests.testapp.models import Author as AuthorModel

    job = imported(
        make_import_job,
        csv_bytes(["Zed"], header="name"),
        "tests.testapp.resources.AuthorResource",
    )
    zed = AuthorModel.objects.get(name="Zed")
    Book.objects.create(isbn="1", title="By Zed", author=zed, price=Decimal("1"))
    job = reverted(job)
    assert job.status == "reverted", job.error_message
    assert AuthorModel.objects.filter(pk=zed.pk).exists()
    (row,) = job.revert_result["rows"]
    assert row["outcome"] == "kept" and "testapp.book" in row["reason"]


@pytest.mark.parametrize(
    "status", ["parsed", "importing", "revert_requested", "reverting", "reverted", "cancelled"]
)
def test_only_imported_jobs_can_be_reverted(make_import_job, authors, status):
    job = imported(make_import_job, csv_bytes(book_rows(2)))
    ImportJob.objects.filter(pk=job.pk).update(status=status)
    job.refresh_from_db()
    with pytest.raises(InvalidJobStatus) as caught:
        job.revert_import()
    assert caught.value.current_status == status
    assert ImportJob.objects.get(pk=job.pk).status == status
    assert Book.objects.count() == 2


def test_an_expired_ledger_cannot_be_reverted(make_import_job, authors):
    job = imported(make_import_job, csv_bytes(book_rows(2)))
    ImportJob.objects.filter(pk=job.pk).update(
        import_finished_at=timezone.now() - dt.timedelta(days=31)
    )
    job.refresh_from_db()
    with pytest.raises(JobNotRevertible) as caught:
        job.revert_import()
    assert "REVERT_RETENTION_DAYS" in str(caught.value)
    assert caught.value.current_status == "imported"
    assert ImportJob.objects.get(pk=job.pk).status == "imported"
    # The purge deletes the expired ledger; a recent one stays.
    recent = imported(make_import_job, csv_bytes(book_rows(2, start=10)))
    assert purge_jobs()["ledger entries"] == 1
    assert not ImportLedgerEntry.for_job(job).exists()
    assert ImportLedgerEntry.for_job(recent).exists()
    with (
        override_settings(DRF_IMPORT_EXPORT_JOBS={"REVERT_RETENTION_DAYS": None}),
        pytest.raises(JobNotRevertible, match="no ledger"),
    ):
        job.revert_import()  # no retention bound now, but its ledger is gone


def test_an_incomplete_or_missing_ledger_cannot_be_reverted(make_import_job, authors):
    job = imported(make_import_job, csv_bytes(book_rows(2)))
    ImportLedgerEntry.for_job(job).update(complete=False)
    with pytest.raises(JobNotRevertible, match="could not record"):
        job.revert_import()
    ImportLedgerEntry.for_job(job).delete()
    with pytest.raises(JobNotRevertible, match="no ledger"):
        job.revert_import()


def test_a_lost_revert_is_restarted_by_its_redelivery(make_import_job, authors):
    job = imported(make_import_job, csv_bytes(book_rows(2)))
    job.revert_import()
    ImportJob.objects.filter(pk=job.pk).update(
        status="reverting", worker_token="dead", heartbeat_at=None
    )
    job.refresh_from_db()
    assert job.take_over("its process is gone")
    assert job.status == "revert_requested"
    job.revert_data()
    job.refresh_from_db()
    assert job.status == "reverted" and not Book.objects.exists()


def test_the_sweep_ends_a_lost_revert_in_revert_error(make_import_job, authors):
    job = imported(make_import_job, csv_bytes(book_rows(2)))
    job.revert_import()
    ImportJob.objects.filter(pk=job.pk).update(
        status="reverting", heartbeat_at=timezone.now() - dt.timedelta(hours=1)
    )
    job.refresh_from_db()
    assert job.fail_lost_worker(60)
    assert job.status == "revert_error"
    assert "nothing was reverted" in job.error_message
    assert Book.objects.count() == 2
    job = reverted(job)  # and it can be asked for again
    assert job.status == "reverted"


URL = "/api/books/imports/"


def test_post_revert_answers_202_and_the_job_shows_the_results(
    api, user, make_import_job, authors, django_capture_on_commit_callbacks, sent_tasks
):
    job = imported(make_import_job, csv_bytes(book_rows(2)), created_by=user)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{URL}{job.pk}/revert/")
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "revert_requested" and body["revert"] is None
    assert body["revert_requested_at"] is not None
    assert sent_tasks.names()[-1] == dispatch.REVERT_TASK
    job.refresh_from_db()
    job.revert_data()
    body = api.get(f"{URL}{job.pk}/").json()
    assert body["status"] == "reverted"
    assert body["progress"]["state"] == "reverted"
    assert body["revert"] == {"totals": {"reverted": 2, "kept": 0, "failed": 0}, "rows": []}
    assert not Book.objects.exists()


@pytest.mark.parametrize("status", ["parsed", "reverting", "reverted", "import_error"])
def test_post_revert_in_another_status_is_a_409_with_the_status(
    api, user, make_import_job, authors, status
):
    job = imported(make_import_job, csv_bytes(book_rows(2)), created_by=user)
    ImportJob.objects.filter(pk=job.pk).update(status=status)
    response = api.post(f"{URL}{job.pk}/revert/")
    assert response.status_code == 409
    assert response.json()["status"] == status
    assert response.json()["code"] == "invalid_status"
    assert ImportJob.objects.get(pk=job.pk).status == status
    assert Book.objects.count() == 2


def test_post_revert_of_an_expired_import_is_a_409_naming_the_setting(
    api, user, make_import_job, authors
):
    job = imported(make_import_job, csv_bytes(book_rows(2)), created_by=user)
    ImportJob.objects.filter(pk=job.pk).update(
        import_finished_at=timezone.now() - dt.timedelta(days=40)
    )
    response = api.post(f"{URL}{job.pk}/revert/")
    assert response.status_code == 409
    body = response.json()
    assert body["status"] == "imported"
    assert "cannot be reverted" in body["detail"] and "REVERT_RETENTION_DAYS" in body["detail"]
    assert ImportJob.objects.get(pk=job.pk).status == "imported"


def test_post_revert_of_another_users_job_is_a_404(api, other_user, make_import_job, authors):
    job = imported(make_import_job, csv_bytes(book_rows(1)), created_by=other_user)
    assert api.post(f"{URL}{job.pk}/revert/").status_code == 404
    assert ImportJob.objects.get(pk=job.pk).status == "imported"


def test_deleting_while_a_revert_is_pending_is_refused(api, user, make_import_job, authors):
    job = imported(make_import_job, csv_bytes(book_rows(1)), created_by=user)
    job.revert_import()
    response = api.delete(f"{URL}{job.pk}/")
    assert response.status_code == 409
    assert response.json()["status"] == "revert_requested"
    assert ImportJob.objects.filter(pk=job.pk).exists()


def test_changing_a_new_row_after_a_partial_file_keeps_only_that_row(make_import_job, authors):
    lines = book_rows(3)
    job = imported(make_import_job, csv_bytes(lines))
    pk = Book.objects.get(isbn="9780000000001").pk
    Book.objects.filter(pk=pk).update(description="changed")
    job = reverted(job)
    assert list(Book.objects.values_list("pk", flat=True)) == [pk]
    assert job.revert_result["totals"] == {"reverted": 2, "kept": 1, "failed": 0}
