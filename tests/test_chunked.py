"""The chunked commit mode: the mode's choice, chunk commits, the rollback
that compensates them (failure, cancel, rows changed by others), and the
resume of an import whose worker was lost."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.test import override_settings

from drf_import_export_jobs import dispatch
from drf_import_export_jobs.housekeeping import sweep_jobs
from drf_import_export_jobs.models import ImportJob, ImportLedgerEntry
from drf_import_export_jobs.models.chunked import ChunkedImportMixin
from drf_import_export_jobs.pipeline.imports import revert as revert_module
from tests.conftest import book_rows, csv_bytes, set_cell
from tests.test_api_imports import upload
from tests.test_api_schema import generate
from tests.test_ledger import existing_books, values
from tests.testapp.models import Book

CHUNKED = "tests.testapp.resources.ChunkedBookResource"
SMALL_CHUNKS = {"CHUNK_SIZE": 2}


def isbn(i: int) -> str:
    return str(9780000000000 + i)


def snapshot() -> dict[int, dict[str, Any]]:
    return {book.pk: values(book) for book in Book.objects.all()}


def confirmed(make_import_job: Any, data: bytes, resource: str = CHUNKED, **f: Any) -> ImportJob:
    """A job whose dry run was skipped: confirmed, ready to import."""
    job = make_import_job(data, resource=resource, skip_parse_step=True, **f)
    job.parse_data()
    job.refresh_from_db()
    assert job.status == "import_confirmed", job.error_message
    return job


def chunks(job: ImportJob) -> list[int]:
    return sorted(ImportLedgerEntry.for_job(job).values_list("chunk", flat=True))


# -- choosing the mode ---------------------------------------------------------------


def test_the_mode_comes_from_the_job_then_the_resource_then_the_setting(make_import_job):
    plain = make_import_job(csv_bytes(book_rows(1)))
    assert plain.get_commit_mode() == "atomic"
    with override_settings(DRF_IMPORT_EXPORT_JOBS={"COMMIT_MODE": "chunked"}):
        assert plain.get_commit_mode() == "chunked"
    assert (
        make_import_job(csv_bytes(book_rows(1)), resource=CHUNKED).get_commit_mode() == "chunked"
    )
    job = make_import_job(csv_bytes(book_rows(1)), resource=CHUNKED, commit_mode="atomic")
    assert job.get_commit_mode() == "atomic"
    with (
        override_settings(DRF_IMPORT_EXPORT_JOBS={"COMMIT_MODE": "sometimes"}),
        pytest.raises(ImproperlyConfigured, match=r"COMMIT_MODE'\] = 'sometimes'"),
    ):
        plain.get_commit_mode()


def test_the_api_stores_and_shows_the_mode(api, db, empty_job_storage):
    response = upload(api, csv_bytes(book_rows(1)), commit_mode="chunked")
    assert response.status_code == 201, response.data
    assert response.data["commit_mode"] == "chunked"
    assert response.data["rollback_status"] is None
    assert ImportJob.objects.get().commit_mode == "chunked"
    # Absent or null: the viewset's, the resource's, then the setting's mode.
    response = upload(api, csv_bytes(book_rows(1)))
    assert response.data["commit_mode"] == "atomic"
    with override_settings(DRF_IMPORT_EXPORT_JOBS={"COMMIT_MODE": "chunked"}):
        response = upload(api, csv_bytes(book_rows(1)), commit_mode="")
    assert response.status_code == 201, response.data
    assert response.data["commit_mode"] == "chunked"


def test_a_bad_mode_is_a_400_and_creates_nothing(api, db, empty_job_storage):
    response = upload(api, csv_bytes(book_rows(1)), commit_mode="parallel")
    assert response.status_code == 400
    assert "commit_mode" in response.data
    assert not ImportJob.objects.exists()


def test_the_schema_documents_the_mode_as_an_enum():
    components = generate()["components"]["schemas"]
    assert components["ImportCommitModeEnum"]["enum"] == ["atomic", "chunked"]
    assert "rolling_back" in components["ImportJobStatusEnum"]["enum"]
    create = components["BookImportJobCreateRequest"]["properties"]["commit_mode"]
    assert {"$ref": "#/components/schemas/ImportCommitModeEnum"} in create["oneOf"]
    shown = components["BookImportJob"]["properties"]
    assert shown["commit_mode"]["readOnly"] and shown["rollback_status"]["readOnly"]


# -- chunk commits ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_each_chunk_commits_with_its_ledger_entry(make_import_job, authors):
    with override_settings(DRF_IMPORT_EXPORT_JOBS=SMALL_CHUNKS):
        job = confirmed(make_import_job, csv_bytes(book_rows(7)))
        job.import_data()
    job.refresh_from_db()
    assert (job.status, job.commit_mode) == ("imported", "chunked"), job.error_message
    assert Book.objects.count() == 7
    assert chunks(job) == [1, 2, 3, 4]
    assert job.import_result["totals"]["new"] == 7


@pytest.mark.django_db(transaction=True)
def test_committed_chunks_are_visible_to_other_connections_mid_import(
    make_import_job, authors, monkeypatch
):
    seen = before_chunk(monkeypatch, 3, lambda: elsewhere(Book.objects.count))
    with override_settings(DRF_IMPORT_EXPORT_JOBS=SMALL_CHUNKS):
        job = confirmed(make_import_job, csv_bytes(book_rows(7)))
        job.import_data()
    job.refresh_from_db()
    assert seen == [4]  # chunks 1 and 2, seen from another connection before chunk 3
    assert job.status == "imported" and Book.objects.count() == 7


def before_chunk(monkeypatch: Any, number: int, meanwhile: Any) -> list[Any]:
    """Call ``meanwhile()`` in the importing thread right before chunk
    ``number``'s transaction opens (between two chunk commits); its return
    value is appended to the list returned."""
    seen: list[Any] = []
    real = ChunkedImportMixin.chunk_transaction
    count = [0]

    def hooked(self: Any, alias: str) -> Any:
        count[0] += 1
        if count[0] == number:
            seen.append(meanwhile())
        return real(self, alias)

    monkeypatch.setattr(ChunkedImportMixin, "chunk_transaction", hooked)
    return seen


def elsewhere(query: Any, **kwargs: Any) -> Any:
    """``query(**kwargs)`` on another connection (a thread of its own)."""
    result: list[Any] = []

    def run() -> None:
        try:
            result.append(query(**kwargs))
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    return result[0]


# -- rolling back ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_failure_compensates_the_committed_chunks(make_import_job, authors):
    existing_books(authors)
    before = snapshot()
    lines = book_rows(7)
    lines[5] = set_cell(lines[5], "price", "not a price")  # chunk 3
    with override_settings(DRF_IMPORT_EXPORT_JOBS=SMALL_CHUNKS):
        job = confirmed(make_import_job, csv_bytes(lines))
        job.import_data()
    job.refresh_from_db()
    assert job.status == "import_error"
    assert job.rollback_status == "import_error" and job.import_finished_at
    assert "row error" in job.error_message
    assert snapshot() == before  # new rows gone, the updated ones restored
    assert chunks(job) == []
    # Chunks 1 and 2 were compensated: 2 updated and 2 new rows.
    assert job.revert_result["totals"] == {"reverted": 4, "kept": 0, "failed": 0}
    # Progress counted the ledger's rows while compensating.
    assert job.progress["info"] == {"current": 4, "total": 4}


@pytest.mark.django_db(transaction=True)
def test_a_cancel_compensates_and_ends_cancelled(make_import_job, authors, monkeypatch):
    existing_books(authors)
    before = snapshot()
    with override_settings(DRF_IMPORT_EXPORT_JOBS=SMALL_CHUNKS):
        job = confirmed(make_import_job, csv_bytes(book_rows(7)))

        def cancel() -> tuple[str, str]:
            running = ImportJob.objects.get(pk=job.pk)
            running.cancel_import()
            return running.status, running.rollback_status

        seen = before_chunk(monkeypatch, 3, cancel)
        job.import_data()
    assert seen == [("rolling_back", "cancelled")]
    job.refresh_from_db()
    assert job.status == "cancelled" and job.cancelled_at
    assert snapshot() == before
    assert chunks(job) == []


@pytest.mark.django_db(transaction=True)
def test_a_row_changed_by_someone_else_is_kept_and_reported(make_import_job, authors, monkeypatch):
    lines = book_rows(7)
    lines[5] = set_cell(lines[5], "price", "not a price")
    with override_settings(DRF_IMPORT_EXPORT_JOBS=SMALL_CHUNKS):
        job = confirmed(make_import_job, csv_bytes(lines))

        def edit() -> int:
            return elsewhere(Book.objects.filter(isbn=isbn(1)).update, title="Edited by hand")

        seen = before_chunk(monkeypatch, 3, edit)
        job.import_data()
    assert seen == [1]
    job.refresh_from_db()
    assert job.status == "import_error"
    assert list(Book.objects.values_list("isbn", "title")) == [(isbn(1), "Edited by hand")]
    assert job.revert_result["totals"] == {"reverted": 3, "kept": 1, "failed": 0}
    (row,) = job.revert_result["rows"]
    assert (row["outcome"], row["reason"], row["chunk"]) == (
        "kept",
        "changed since the import",
        1,
    )


@pytest.mark.django_db(transaction=True)
def test_a_compensation_stopped_midway_continues_where_it_stopped(
    make_import_job, authors, monkeypatch, sent_tasks
):
    lines = book_rows(7)
    lines[6] = set_cell(lines[6], "price", "not a price")  # chunk 4
    real = revert_module.revert_entries
    calls = []

    def dies_on_the_second_chunk(entries: Any, advance: Any) -> Any:
        calls.append([e.chunk for e in entries])
        if len(calls) == 2:
            raise KeyboardInterrupt  # the worker is killed mid-compensation
        return real(entries, advance)

    monkeypatch.setattr(
        "drf_import_export_jobs.models.chunked.revert_entries", dies_on_the_second_chunk
    )
    with override_settings(DRF_IMPORT_EXPORT_JOBS=SMALL_CHUNKS):
        job = confirmed(make_import_job, csv_bytes(lines))
        with pytest.raises(KeyboardInterrupt):
            job.import_data()
    job.refresh_from_db()
    assert (job.status, job.rollback_status) == ("rolling_back", "import_error")
    assert chunks(job) == [1, 2]  # chunk 3 compensated, chunk 2's undone with its kill
    assert Book.objects.count() == 4
    # The sweep hands it to a new delivery of the import task, which goes on.
    assert sweep_jobs(stale_after=0).lost == [f"drf_import_export_jobs.ImportJob {job.pk}"]
    job.refresh_from_db()
    assert (job.status, job.worker_token) == ("rolling_back", "")
    assert sent_tasks[-1][0] == dispatch.IMPORT_TASK
    assert sent_tasks[-1][2]["task_id"] == job.import_task_id
    job.import_data()
    job.refresh_from_db()
    assert job.status == "import_error"
    assert calls == [[3], [2], [2], [1]]
    assert Book.objects.count() == 0 and chunks(job) == []
    assert job.revert_result["totals"]["reverted"] == 6


# -- resuming ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_lost_import_resumes_from_its_first_uncommitted_chunk(
    make_import_job, authors, sent_tasks, monkeypatch
):
    existing_books(authors)
    with override_settings(DRF_IMPORT_EXPORT_JOBS=SMALL_CHUNKS):
        job = confirmed(make_import_job, csv_bytes(book_rows(7)))
        # The sweep finds the import stale before chunk 3: it is put back to
        # import_confirmed and its task sent again; the old run's chunk 3
        # then rolls back (the job is no longer its own) and it stops.
        seen = before_chunk(monkeypatch, 3, lambda: sweep_jobs(stale_after=0).lost)
        job.import_data()
        assert seen == [[f"drf_import_export_jobs.ImportJob {job.pk}"]]
        job.refresh_from_db()
        assert (job.status, job.worker_restarts) == ("import_confirmed", 1)
        assert chunks(job) == [1, 2] and Book.objects.count() == 4
        assert sent_tasks[-1][2]["task_id"] == job.import_task_id
        job.import_data()
    job.refresh_from_db()
    assert job.status == "imported", job.error_message
    assert Book.objects.count() == 7
    assert Book.objects.values("isbn").distinct().count() == 7
    assert chunks(job) == [1, 2, 3, 4]
    # The results count the chunks committed before the resume too.
    totals = job.import_result["totals"]
    assert job.import_result["rows"] == 7 and job.progress_current == 7
    assert totals["new"] + totals["update"] + totals["skip"] == 7


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("rows_now", [9, 3])
def test_a_file_with_more_rows_than_its_dry_run_fails_and_leaves_nothing(
    make_import_job, authors, rows_now
):
    with override_settings(DRF_IMPORT_EXPORT_JOBS=SMALL_CHUNKS):
        job = confirmed(make_import_job, csv_bytes(book_rows(7)))
        # The stored upload is replaced behind the job's back.
        with job.data_file.storage.open(job.data_file.name, "wb") as out:
            out.write(csv_bytes(book_rows(rows_now)))
        job.import_data()
    job.refresh_from_db()
    assert job.status == "import_error"
    assert "changed since its dry run, which read 4 chunk(s)" in job.error_message
    assert Book.objects.count() == 0 and chunks(job) == []


@pytest.mark.django_db(transaction=True)
def test_a_bad_parallel_import_tasks_attribute_fails_the_import_naming_it(
    make_import_job, authors, monkeypatch
):
    from tests.testapp.resources import ChunkedBookResource

    monkeypatch.setattr(ChunkedBookResource, "parallel_import_tasks", 0, raising=False)
    job = confirmed(make_import_job, csv_bytes(book_rows(3)))
    job.import_data()
    job.refresh_from_db()
    assert job.status == "import_error"
    assert "ChunkedBookResource.parallel_import_tasks = 0" in job.error_message
    assert Book.objects.count() == 0


def test_an_atomic_import_still_ends_in_import_error_when_lost(make_import_job):
    job = make_import_job(csv_bytes(book_rows(1)))
    ImportJob.objects.filter(pk=job.pk).update(status="importing", commit_mode="atomic")
    job.refresh_from_db()
    assert job.fail_lost_worker(0)
    assert job.status == "import_error"


def test_a_chunked_import_lost_too_often_is_rolled_back(make_import_job, sent_tasks):
    job = make_import_job(csv_bytes(book_rows(1)), resource=CHUNKED)
    ImportJob.objects.filter(pk=job.pk).update(
        status="importing", commit_mode="chunked", worker_restarts=ImportJob.MAX_RESUMES
    )
    job.refresh_from_db()
    assert job.fail_lost_worker(0)
    assert (job.status, job.rollback_status) == ("rolling_back", "import_error")
    job.import_data()
    job.refresh_from_db()
    assert job.status == "import_error" and "worker" in job.error_message


def killed_before_chunk(monkeypatch: Any, number: int, job: ImportJob) -> ImportJob:
    """Import ``job`` until chunk ``number`` would start, then stop the run
    as a killed worker would (nothing more written, the job left importing),
    and record a process that is gone as its owner."""
    import subprocess
    import sys

    def killed() -> None:
        raise KeyboardInterrupt

    before_chunk(monkeypatch, number, killed)
    with pytest.raises(KeyboardInterrupt):
        job.import_data()
    monkeypatch.undo()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    ImportJob.objects.filter(pk=job.pk).update(worker_pid=gone.pid)
    job.refresh_from_db()
    assert job.status == "importing"
    return job


@pytest.mark.django_db(transaction=True)
def test_a_redelivered_task_resumes_the_import_of_a_dead_worker(
    make_import_job, authors, monkeypatch, caplog
):
    from drf_import_export_jobs.tasks import import_job_data

    with override_settings(DRF_IMPORT_EXPORT_JOBS=SMALL_CHUNKS):
        job = confirmed(make_import_job, csv_bytes(book_rows(7)))
        job = killed_before_chunk(monkeypatch, 3, job)
        assert chunks(job) == [1, 2] and Book.objects.count() == 4
        import_job_data.apply(args=[job._meta.label, job.pk], task_id=job.import_task_id)
    assert "resuming it from its first uncommitted chunk" in caplog.text
    job.refresh_from_db()
    assert (job.status, job.worker_restarts) == ("imported", 1), job.error_message
    assert Book.objects.count() == 7 and Book.objects.values("isbn").distinct().count() == 7
    assert chunks(job) == [1, 2, 3, 4]


@pytest.mark.django_db(transaction=True)
def test_a_cancel_after_the_worker_died_is_finished_by_the_task_it_sends(
    make_import_job, authors, monkeypatch, sent_tasks
):
    from drf_import_export_jobs.tasks import import_job_data

    with override_settings(DRF_IMPORT_EXPORT_JOBS=SMALL_CHUNKS):
        job = confirmed(make_import_job, csv_bytes(book_rows(7)))
        job = killed_before_chunk(monkeypatch, 3, job)
        job.cancel_import()
        assert (job.status, job.rollback_status) == ("rolling_back", "cancelled")
        assert sent_tasks[-1][0] == dispatch.IMPORT_TASK
        import_job_data.apply(args=[job._meta.label, job.pk], task_id=job.import_task_id)
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert Book.objects.count() == 0 and chunks(job) == []
    assert job.revert_result["totals"] == {"reverted": 4, "kept": 0, "failed": 0}


def test_the_system_check_names_a_bad_commit_mode():
    from drf_import_export_jobs.checks import check_settings

    with override_settings(DRF_IMPORT_EXPORT_JOBS={"COMMIT_MODE": "parallel"}):
        errors = [e for e in check_settings() if e.id == "drf_import_export_jobs.E070"]
    assert len(errors) == 1 and "['COMMIT_MODE'] = 'parallel'" in errors[0].msg
    assert not [e for e in check_settings() if e.id == "drf_import_export_jobs.E070"]
