"""Every transition of both state machines, allowed and refused."""

from __future__ import annotations

import pytest

from drf_import_export_jobs.exceptions import InvalidJobStatus
from drf_import_export_jobs.models import ExportJob, ImportJob
from drf_import_export_jobs.transitions import transition
from tests.conftest import book_rows, csv_bytes

IMPORT_STATUSES = [s.value for s in ImportJob.ImportStatus]
EXPORT_STATUSES = [s.value for s in ExportJob.ExportStatus]

# method -> the only statuses it may start from
IMPORT_METHODS = {
    "parse_data": {"created"},
    "confirm_import": {"parsed"},
    # From rolling_back it goes on with a chunked import's compensation.
    "import_data": {"import_confirmed", "rolling_back"},
    "cancel_import": {"created", "parsing", "import_confirmed", "importing"},
    "revert_import": {"imported", "revert_error"},
    "revert_data": {"revert_requested"},
}
EXPORT_METHODS = {
    "export_data": {"created"},
    "cancel_export": {"created", "exporting"},
}


def test_status_values_are_the_lowercase_names() -> None:
    assert IMPORT_STATUSES == [
        "created",
        "parsing",
        "parsed",
        "input_error",
        "parse_error",
        "import_confirmed",
        "importing",
        "imported",
        "import_error",
        "cancelled",
        "revert_requested",
        "reverting",
        "reverted",
        "revert_error",
        "rolling_back",
    ]
    assert EXPORT_STATUSES == ["created", "exporting", "exported", "export_error", "cancelled"]
    assert ImportJob.ImportStatus.IMPORT_CONFIRMED.name == "IMPORT_CONFIRMED"


def refused(methods: dict[str, set[str]], statuses: list[str]) -> list[tuple[str, str]]:
    return [(m, s) for m in sorted(methods) for s in statuses if s not in methods[m]]


@pytest.mark.parametrize(("method", "status"), refused(IMPORT_METHODS, IMPORT_STATUSES))
def test_import_methods_refuse_other_statuses(make_import_job, authors, method, status):
    job = make_import_job(csv_bytes(book_rows(3)))
    ImportJob.objects.filter(pk=job.pk).update(status=status)
    job.refresh_from_db()
    with pytest.raises(InvalidJobStatus) as caught:
        getattr(job, method)()
    assert caught.value.current_status == status
    assert f"'{status}'" in str(caught.value)
    job.refresh_from_db()
    assert job.status == status


@pytest.mark.parametrize(("method", "status"), refused(EXPORT_METHODS, EXPORT_STATUSES))
def test_export_methods_refuse_other_statuses(make_export_job, method, status):
    job = make_export_job()
    ExportJob.objects.filter(pk=job.pk).update(status=status)
    job.refresh_from_db()
    with pytest.raises(InvalidJobStatus) as caught:
        getattr(job, method)()
    assert caught.value.current_status == status
    job.refresh_from_db()
    assert job.status == status


@pytest.mark.parametrize("status", sorted(IMPORT_METHODS["cancel_import"]))
def test_cancel_import_from_each_cancellable_status(make_import_job, status):
    job = make_import_job(csv_bytes(book_rows(1)))
    ImportJob.objects.filter(pk=job.pk).update(status=status)
    job.refresh_from_db()
    job.cancel_import()
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert job.cancelled_at is not None


@pytest.mark.parametrize("status", sorted(EXPORT_METHODS["cancel_export"]))
def test_cancel_export_from_each_cancellable_status(make_export_job, status):
    job = make_export_job()
    ExportJob.objects.filter(pk=job.pk).update(status=status)
    job.refresh_from_db()
    job.cancel_export()
    job.refresh_from_db()
    assert job.status == "cancelled"


def test_transition_uses_the_stored_status_not_the_instance(make_import_job):
    """A stale instance cannot win: the UPDATE checks the row, not memory."""
    job = make_import_job(csv_bytes(book_rows(1)))
    stale = ImportJob.objects.get(pk=job.pk)
    job.cancel_import()
    assert stale.status == "created"
    with pytest.raises(InvalidJobStatus) as caught:
        stale.parse_data()
    assert caught.value.current_status == "cancelled"
    assert stale.status == "cancelled"


def test_transition_of_a_deleted_job(make_import_job):
    job = make_import_job(csv_bytes(book_rows(1)))
    ImportJob.objects.filter(pk=job.pk).delete()
    with pytest.raises(InvalidJobStatus) as caught:
        transition(job, "parsing", ("created",))
    assert caught.value.current_status is None
    assert "deleted" in str(caught.value)
