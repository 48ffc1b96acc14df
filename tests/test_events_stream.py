"""``GET {p}/{id}/events/``: Server-Sent Events over a real HTTP server.

The integration test runs an import on a real worker (each task backend)
while a plain HTTP client reads the stream from pytest-django's live server.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.backends.signals import connection_created
from django.test import override_settings

from drf_import_export_jobs.events import read_events
from drf_import_export_jobs.streams import JobEventStream
from tests.conftest import book_rows, csv_bytes
from tests.sse_client import Event, open_stream
from tests.testapp.models import Author, Book

PASSWORD = "secret-pass-1"


def events_settings(**values: Any) -> Any:
    return override_settings(DRF_IMPORT_EXPORT_JOBS={**settings.DRF_IMPORT_EXPORT_JOBS, **values})


@pytest.fixture
def ann_login(user: Any) -> tuple[str, str]:
    user.set_password(PASSWORD)
    user.save()
    return (user.username, PASSWORD)


def statuses(events: list[Event]) -> list[str]:
    """The statuses of the status events, in order."""
    return [e.data["status"] for e in events if e.event == "status"]


def assert_ordered(events: list[Event]) -> None:
    ids = [e.id for e in events]
    assert all(i is not None for i in ids), ids
    assert ids == sorted(ids) and len(set(ids)) == len(ids), ids
    assert all(e.data["id"] == e.id for e in events)


# -- through a real worker ----------------------------------------------------------


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_an_import_streamed_from_upload_to_imported(live_server, job_worker, api, ann_login):
    Author.objects.create(name="Ann")
    with events_settings(EVENTS_POLL_SECONDS=0.05):
        created = api.post(
            "/api/books/imports/",
            {"file": SimpleUploadedFile("books.csv", csv_bytes(book_rows(230)))},
            format="multipart",
        )
        assert created.status_code == 201, created.json()
        job_id = created.json()["id"]
        detail = f"{live_server.url}/api/books/imports/{job_id}/"
        stream = open_stream(f"{detail}events/", ann_login)
        assert stream.status == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert stream.headers["cache-control"] == "no-cache"
        events: list[Event] = []
        while (event := stream.next_event()) is not None:
            events.append(event)
            if event.event == "status" and event.data["status"] == "parsed":
                assert api.post(f"/api/books/imports/{job_id}/confirm/").status_code == 202
        assert stream.closed and stream.retry == 2000
    assert_ordered(events)
    assert statuses(events) == ["parsing", "parsed", "import_confirmed", "importing", "imported"]
    for event in events:
        assert event.data["job"] == job_id
        assert event.data["url"] == detail
        assert set(event.data["progress"]) == {"current", "total"}
    # One event per progress write: the rows advance in steps of
    # PROGRESS_EVERY_ROWS (50) to 230 in each run.
    importing = [e for e in events if e.event == "progress" and e.data["status"] == "importing"]
    currents = [e.data["progress"]["current"] for e in importing]
    assert currents == sorted(currents) and currents[-1] == 230, currents
    assert len(importing) >= 4, currents
    assert events[-1].data["status"] == "imported"
    assert Book.objects.count() == 230

    # Resuming after the "parsed" event sends what followed it, and only that.
    parsed_id = next(e.id for e in events if e.data["status"] == "parsed" and e.event == "status")
    resumed = open_stream(f"{detail}events/", ann_login, last_event_id=parsed_id).read_all()
    assert [e.id for e in resumed] == [e.id for e in events if e.id > parsed_id]
    # The query parameter stands in for the header (EventSource cannot set it).
    by_param = open_stream(f"{detail}events/?last_event_id={parsed_id}", ann_login).read_all()
    assert [e.id for e in by_param] == [e.id for e in resumed]
    # Nothing left after the last event of a finished job: 204 (EventSource stops).
    done = open_stream(f"{detail}events/", ann_login, last_event_id=events[-1].id)
    assert done.status == 204


# -- over HTTP, with jobs set up by the test (slow: a live server) -----------------------


def parsed_job(user: Any, make_import_job: Any) -> Any:
    """An import job moved to ``parsed`` through real transitions (events logged)."""
    Author.objects.get_or_create(name="Ann")
    job = make_import_job(csv_bytes(book_rows(3)), created_by=user)
    job.parse_data()
    job.refresh_from_db()
    assert job.status == "parsed", job.error_message
    return job


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_access_over_http(live_server, make_import_job, user, other_user, ann_login):
    job = parsed_job(other_user, make_import_job)
    url = f"{live_server.url}/api/books/imports/{job.pk}/events/"
    anonymous = open_stream(url)
    assert anonymous.status == 401
    assert "www-authenticate" in anonymous.headers
    assert anonymous.headers["content-type"] == "application/json"
    others = open_stream(url, ann_login)
    assert others.status == 404
    assert others.headers["content-type"] == "application/json"
    missing = open_stream(f"{live_server.url}/api/books/imports/999999/events/", ann_login)
    assert missing.status == 404


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_listener_holds_no_database_connection_between_polls(
    live_server, make_import_job, user, ann_login
):
    job = parsed_job(user, make_import_job)
    opened: list[Any] = []

    def count(sender: Any, connection: Any, **kwargs: Any) -> None:
        opened.append(connection.alias)

    url = f"{live_server.url}/api/books/imports/{job.pk}/events/"
    connection_created.connect(count)
    try:
        with events_settings(
            EVENTS_POLL_SECONDS=0.1, EVENTS_MAX_SECONDS=1.2, EVENTS_KEEPALIVE_SECONDS=0.3
        ):
            stream = open_stream(url, ann_login)
            started = time.monotonic()
            events = stream.read_all()
            elapsed = time.monotonic() - started
            if connection.vendor == "postgresql":
                assert_no_idle_backend_during_a_stream(url, ann_login)
    finally:
        connection_created.disconnect(count)
    # A parsed job waits for its user: the stream stays open (keep-alive
    # comments) until EVENTS_MAX_SECONDS, then the client reconnects.
    assert statuses(events) == ["parsing", "parsed"]
    assert 1.0 <= elapsed < 5, elapsed
    assert "keep-alive" in stream.comments
    # Each poll opened a connection of its own: the previous one was closed.
    assert len(opened) >= 8, opened
    resumed = open_stream(url, ann_login, last_event_id=events[-1].id)
    assert resumed.status == 200


def assert_no_idle_backend_during_a_stream(url: str, login: tuple[str, str]) -> None:
    """PostgreSQL: while a stream waits between polls, the server holds no
    backend connection for it."""
    from django.db import connections

    def backends() -> int:
        with connections["default"].cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
            return int(cursor.fetchone()[0])

    before = backends()
    stream = open_stream(url, login, last_event_id=10**9)
    try:
        samples = []
        for _ in range(6):
            time.sleep(0.13)
            samples.append(backends())
        # A poll may be caught while it runs; most samples see no extra backend.
        assert sorted(samples)[len(samples) // 2] <= before, (before, samples)
    finally:
        stream.close()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_max_duration_ends_a_stream_and_last_event_id_resumes(
    live_server, make_import_job, user, ann_login
):
    job = parsed_job(user, make_import_job)
    url = f"{live_server.url}/api/books/imports/{job.pk}/events/"
    with events_settings(EVENTS_POLL_SECONDS=0.05, EVENTS_MAX_SECONDS=0.5):
        first = open_stream(url, ann_login).read_all()
        assert statuses(first) == ["parsing", "parsed"]
        job.confirm_import()
        again = open_stream(url, ann_login, last_event_id=first[-1].id).read_all()
    assert [e.data["status"] for e in again] == ["import_confirmed"]
    assert again[0].id > first[-1].id


# -- in process -------------------------------------------------------------------


@pytest.mark.django_db
def test_accept_headers_are_never_refused(api, make_import_job, user):
    job = make_import_job(csv_bytes(book_rows(2)), created_by=user, status="imported")
    for accept in ("text/event-stream", "application/json", "text/html", "*/*"):
        response = api.get(f"/api/books/imports/{job.pk}/events/", HTTP_ACCEPT=accept)
        assert response.status_code == 200, (accept, response.status_code)
        assert response["Content-Type"] == "text/event-stream"


@pytest.mark.django_db
def test_a_job_that_ended_without_events_sends_its_state_once(api, make_import_job, user):
    job = make_import_job(csv_bytes(book_rows(2)), created_by=user, status="imported")
    response = api.get(f"/api/books/imports/{job.pk}/events/")
    body = b"".join(response.streaming_content).decode()
    assert body.startswith("retry: ")
    assert "event: status" in body and '"status":"imported"' in body
    assert "\nid:" not in body


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "9" * 40])
def test_a_bad_last_event_id_is_a_400_naming_it(api, make_import_job, user, value):
    job = make_import_job(csv_bytes(book_rows(2)), created_by=user)
    url = f"/api/books/imports/{job.pk}/events/"
    header = api.get(url, HTTP_LAST_EVENT_ID=value)
    assert header.status_code == 400
    assert "Last-Event-ID" in header.json()["last_event_id"][0]
    param = api.get(url, {"last_event_id": value})
    assert param.status_code == 400
    assert "last_event_id" in param.json()["last_event_id"][0]


@pytest.mark.django_db
def test_export_jobs_stream_too(api, make_export_job, user):
    job = make_export_job(created_by=user)
    job.export_data()
    job.refresh_from_db()
    assert job.status == "exported", job.error_message
    response = api.get(f"/api/books/exports/{job.pk}/events/", HTTP_ACCEPT="text/event-stream")
    body = b"".join(response.streaming_content).decode()
    assert body.index('"status":"exporting"') < body.index('"status":"exported"')


@pytest.mark.django_db(transaction=True)
def test_the_asgi_stream_sends_the_same_events(user, authors, make_import_job):
    job = make_import_job(csv_bytes(book_rows(3)), created_by=user)
    job.parse_data()
    job.confirm_import()
    job.cancel_import()
    sync = JobEventStream(job, "http://testserver/x/")
    assert sync.start()
    sync_body = b"".join(iter(sync))

    async def collect() -> bytes:
        stream = JobEventStream(job, "http://testserver/x/")
        from asgiref.sync import sync_to_async

        await sync_to_async(stream.start)()
        return b"".join([chunk async for chunk in stream.stream_async()])

    assert asyncio.run(collect()) == sync_body
    assert [e.status for e in read_events(job._meta.label, str(job.pk), 0) if e.kind == "status"][
        -1
    ] == "cancelled"


@pytest.mark.django_db
def test_deleting_a_job_deletes_its_events(user, authors, make_import_job):
    job = make_import_job(csv_bytes(book_rows(3)), created_by=user)
    job.parse_data()
    label, pk = job._meta.label, str(job.pk)
    assert read_events(label, pk, 0)
    job.delete()
    assert read_events(label, pk, 0) == []
