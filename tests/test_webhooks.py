"""Signed webhooks, delivered by a real worker to a receiver on loopback.

Each backend gets a worker of its own (``webhook_worker``), on a queue of its
own, started with the receiver's endpoints in ``WEBHOOKS`` and short backoffs.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import override_settings

from drf_import_export_jobs.checks import check_event_settings
from drf_import_export_jobs.models import WebhookDelivery
from drf_import_export_jobs.webhooks import (
    SIGNATURE_HEADER,
    retry_delay,
    signature_header,
    verify_signature,
)
from tests.conftest import WorkerProcess, book_rows, csv_bytes, wait_for_status
from tests.testapp.models import Author

SECRET = "s3cret-for-the-webhook-tests"
BACKOFF = 0.3


class Receiver:
    """An HTTP server on loopback that records every request. ``/ok`` answers
    200, ``/flaky`` 500 twice then 200, ``/moved`` 302 to ``/target``."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.requests.append(
                        {
                            "path": self.path,
                            "headers": dict(self.headers),
                            "body": body,
                            "at": time.monotonic(),
                        }
                    )
                    flaky_calls = sum(1 for r in receiver.requests if r["path"] == "/flaky")
                if self.path == "/moved":
                    self.send_response(302)
                    self.send_header("Location", f"{receiver.url}/target")
                elif self.path == "/flaky" and flaky_calls <= 2:
                    self.send_response(500)
                else:
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def at(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r["path"] == path]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module", params=["celery", "django"])
def webhook_backend(
    request: pytest.FixtureRequest, django_db_setup: Any, django_db_blocker: Any
) -> Iterator[tuple[Receiver, dict[str, Any]]]:
    """A receiver, and a worker of each task backend started with settings
    that send to it (``TEST_JOBS_SETTINGS``)."""
    receiver = Receiver()
    queue = f"webhooks-{uuid.uuid4().hex[:8]}"
    jobs = {
        "TASK_QUEUE": queue,
        "WEBHOOKS": [
            {"url": f"{receiver.url}/ok", "secret": SECRET},
            {"url": f"{receiver.url}/flaky", "secret": SECRET, "events": ["parsed"]},
            {"url": f"{receiver.url}/moved", "secret": SECRET, "events": ["parsed"]},
            {
                "url": f"http://127.0.0.1:{closed_port()}/down",
                "secret": SECRET,
                "events": ["parsed"],
            },
        ],
        "WEBHOOK_MAX_ATTEMPTS": 3,
        "WEBHOOK_RETRY_BACKOFF": BACKOFF,
        "WEBHOOK_RETRY_BACKOFF_MAX": 5,
        "WEBHOOK_TIMEOUT": 3,
    }
    with django_db_blocker.unblock():
        db_name = str(connection.settings_dict["NAME"])
    log = Path(os.environ["TEST_RUN_DIR"]) / f"{queue}.log"
    env = {
        **os.environ,
        "TEST_DB_NAME": db_name,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "TEST_JOBS_SETTINGS": json.dumps(jobs),
    }
    if request.param == "celery":
        worker = WorkerProcess.start(log, env, "--concurrency=2", "-Q", queue, "-n", f"{queue}@%h")
    else:
        jobs.update(TASK_BACKEND="django", DJANGO_TASKS_BACKEND="isolated")
        env["TEST_JOBS_SETTINGS"] = json.dumps(jobs)
        worker = WorkerProcess.start_tasks_worker(
            log, env, "--backend", "isolated", "--queue-name", queue
        )
    try:
        yield receiver, jobs
    finally:
        worker.stop()
        receiver.stop()


@pytest.fixture
def webhook_worker(
    webhook_backend: tuple[Receiver, dict[str, Any]],
) -> Iterator[tuple[Receiver, dict[str, Any]]]:
    """The worker's settings in this process too, for this test only."""
    _receiver, jobs = webhook_backend
    with override_settings(DRF_IMPORT_EXPORT_JOBS={**settings.DRF_IMPORT_EXPORT_JOBS, **jobs}):
        yield webhook_backend


def wait_until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return result


def deliveries(job_id: int, url: str) -> list[WebhookDelivery]:
    return list(WebhookDelivery.objects.filter(job_id=str(job_id), url=url).order_by("id"))


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_status_changes_are_signed_retried_recorded_and_never_redirected(webhook_worker, api):
    receiver, jobs = webhook_worker
    Author.objects.create(name="Ann")
    response = api.post(
        "/api/books/imports/",
        {"file": SimpleUploadedFile("books.csv", csv_bytes(book_rows(60)))},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    job_id = response.json()["id"]
    from drf_import_export_jobs.models import ImportJob

    job = wait_for_status(ImportJob.objects.get(pk=job_id), {"parsed", "input_error"})
    # The job finished whatever the endpoints do (one is down, one redirects).
    assert job.status == "parsed", job.error_message
    ok, flaky, moved, down = (endpoint["url"] for endpoint in jobs["WEBHOOKS"])

    # Every status change reached /ok, signed (deliveries run concurrently:
    # their order is the delivery ids').
    def ok_requests() -> list[dict[str, Any]]:
        found = receiver.at("/ok")
        return found if len(found) >= 2 else []

    requests = wait_until(ok_requests, 30, "two deliveries to /ok")
    requests.sort(key=lambda r: int(r["headers"]["X-Jobs-Delivery"]))
    bodies = [json.loads(r["body"]) for r in requests]
    assert [b["job"]["status"] for b in bodies] == ["parsing", "parsed"]
    assert bodies[1]["job"]["previous_status"] == "parsing"
    assert bodies[1]["job"]["id"] == job_id and bodies[1]["job"]["kind"] == "import"
    assert bodies[1]["event"] == "job.status_changed"
    for r in requests:
        header = r["headers"][SIGNATURE_HEADER]
        assert verify_signature(r["body"], header, SECRET)
        assert not verify_signature(r["body"] + b" ", header, SECRET)
        assert not verify_signature(r["body"], header, "another-secret-of-some-length")
        assert r["headers"]["Content-Type"] == "application/json"
    records = wait_until(
        lambda: [d for d in deliveries(job_id, ok) if d.status == "delivered"] or None,
        30,
        "delivered records",
    )
    assert records[0].attempts == 1 and records[0].response_code == 200
    assert {d.event for d in deliveries(job_id, ok)} == {"import.parsing", "import.parsed"}

    # /flaky answers 500 twice: retried with growing waits, then delivered.
    flaky_record = wait_until(
        lambda: next((d for d in deliveries(job_id, flaky) if d.status == "delivered"), None),
        60,
        "the flaky delivery",
    )
    assert flaky_record.attempts == 3 and flaky_record.response_code == 200
    assert flaky_record.delivered_at is not None and flaky_record.last_error == ""
    times = [r["at"] for r in receiver.at("/flaky")]
    assert len(times) == 3
    assert times[1] - times[0] >= BACKOFF * 0.9
    assert times[2] - times[1] >= 2 * BACKOFF * 0.9
    assert len(deliveries(job_id, flaky)) == 1  # only "parsed" was asked for

    # /moved answers 302: never followed, retried, then failed.
    moved_record = wait_until(
        lambda: next((d for d in deliveries(job_id, moved) if d.status == "failed"), None),
        60,
        "the redirected delivery to fail",
    )
    assert moved_record.attempts == 3 and moved_record.response_code == 302
    assert "302" in moved_record.last_error
    assert len(receiver.at("/moved")) == 3
    assert receiver.at("/target") == []

    # Nothing listens at /down: connection errors, recorded, then failed.
    down_record = wait_until(
        lambda: next((d for d in deliveries(job_id, down) if d.status == "failed"), None),
        60,
        "the delivery to a closed port to fail",
    )
    assert down_record.attempts == 3 and down_record.response_code is None
    assert down_record.last_error
    job.refresh_from_db()
    assert job.status == "parsed" and job.error_message == ""


# -- signing ----------------------------------------------------------------------


def test_signatures_verify_and_expire():
    body = b'{"event":"job.status_changed"}'
    header = signature_header(body, SECRET, timestamp=1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert verify_signature(body, header, SECRET, now=1_700_000_100)
    assert not verify_signature(body, header, SECRET, now=1_700_000_000 + 301)
    assert not verify_signature(body, header, SECRET[:-1], now=1_700_000_100)
    assert not verify_signature(b"{}", header, SECRET, now=1_700_000_100)
    for broken in ("", "v1=abc", "t=x,v1=abc", "t=1700000000", "garbage"):
        assert not verify_signature(body, broken, SECRET, now=1_700_000_100)


def test_the_backoff_doubles_up_to_its_maximum():
    config = {
        **settings.DRF_IMPORT_EXPORT_JOBS,
        "WEBHOOK_RETRY_BACKOFF": 10,
        "WEBHOOK_RETRY_BACKOFF_MAX": 60,
    }
    with override_settings(DRF_IMPORT_EXPORT_JOBS=config):
        assert [retry_delay(n) for n in (1, 2, 3, 4, 5)] == [10, 20, 40, 60, 60]


@pytest.mark.django_db
def test_no_delivery_without_webhooks(make_import_job, authors, sent_tasks):
    job = make_import_job(csv_bytes(book_rows(2)))
    job.parse_data()
    assert not WebhookDelivery.objects.exists()
    assert "drf_import_export_jobs.deliver_webhook" not in sent_tasks.names()


@pytest.mark.django_db(transaction=True)
def test_a_status_change_records_and_sends_a_delivery_per_endpoint(
    make_import_job, authors, sent_tasks
):
    hooks = [
        {"url": "http://127.0.0.1:9/all", "secret": SECRET},
        {"url": "http://127.0.0.1:9/final", "secret": SECRET, "events": ["parsed"]},
    ]
    config = {**settings.DRF_IMPORT_EXPORT_JOBS, "WEBHOOKS": hooks}
    with override_settings(DRF_IMPORT_EXPORT_JOBS=config):
        job = make_import_job(csv_bytes(book_rows(2)))
        job.parse_data()
    records = list(WebhookDelivery.objects.order_by("id"))
    assert [(d.url.rsplit("/", 1)[1], d.event) for d in records] == [
        ("all", "import.parsing"),
        ("all", "import.parsed"),
        ("final", "import.parsed"),
    ]
    assert all(d.status == "pending" and d.attempts == 0 for d in records)
    sent = [
        args for name, args, _ in sent_tasks if name == "drf_import_export_jobs.deliver_webhook"
    ]
    assert sent == [[d.pk] for d in records]


# -- the setting's check ------------------------------------------------------------


@pytest.mark.parametrize(
    ("hooks", "names"),
    [
        ("https://example.com/hook", "DRF_IMPORT_EXPORT_JOBS['WEBHOOKS']"),
        ([{"url": "ftp://example.com/x", "secret": SECRET}], "['WEBHOOKS'][0]['url']"),
        ([{"url": "/relative", "secret": SECRET}], "['WEBHOOKS'][0]['url']"),
        ([{"url": "https://example.com/x", "secret": "short"}], "['WEBHOOKS'][0]['secret']"),
        ([{"url": "https://example.com/x"}], "['WEBHOOKS'][0]['secret']"),
        (
            [{"url": "https://example.com/x", "secret": SECRET, "events": ["done"]}],
            "['WEBHOOKS'][0]['events']",
        ),
        ([{"url": "https://a.example/x", "secret": SECRET, "retries": 3}], "unknown key"),
        (["https://example.com/x"], "['WEBHOOKS'][0]"),
    ],
)
def test_a_bad_webhooks_setting_is_a_check_error_naming_it(hooks, names):
    config = {**settings.DRF_IMPORT_EXPORT_JOBS, "WEBHOOKS": hooks}
    with override_settings(DRF_IMPORT_EXPORT_JOBS=config):
        errors = check_event_settings()
    assert errors, hooks
    assert any(names in error.msg for error in errors), [e.msg for e in errors]
    assert all(error.msg.startswith("DRF_IMPORT_EXPORT_JOBS[") for error in errors)


def test_good_webhooks_and_event_settings_pass_the_check():
    config = {
        **settings.DRF_IMPORT_EXPORT_JOBS,
        "WEBHOOKS": [
            {"url": "https://example.com/hooks/jobs", "secret": SECRET, "events": ["imported"]}
        ],
    }
    with override_settings(DRF_IMPORT_EXPORT_JOBS=config):
        assert check_event_settings() == []
    bad = {**settings.DRF_IMPORT_EXPORT_JOBS, "EVENTS_POLL_SECONDS": 0}
    with override_settings(DRF_IMPORT_EXPORT_JOBS=bad):
        assert "EVENTS_POLL_SECONDS" in check_event_settings()[0].msg


# -- staff ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_staff_see_deliveries_read_only_in_the_admin(admin_client, client, user):
    delivery = WebhookDelivery.objects.create(
        job_model="drf_import_export_jobs.ImportJob",
        job_id="7",
        event="import.imported",
        url="https://example.com/hooks/jobs",
        payload={"event": "job.status_changed"},
        status="failed",
        attempts=3,
        last_error="The endpoint answered HTTP 500.",
        response_code=500,
    )
    listing = admin_client.get("/admin/drf_import_export_jobs/webhookdelivery/")
    assert listing.status_code == 200
    assert (
        b"import.imported" in listing.content
        and b"https://example.com/hooks/jobs" in listing.content
    )
    page = admin_client.get(f"/admin/drf_import_export_jobs/webhookdelivery/{delivery.pk}/change/")
    assert page.status_code == 200
    assert b"The endpoint answered HTTP 500." in page.content
    assert b'name="_save"' not in page.content
    refused = admin_client.post(
        f"/admin/drf_import_export_jobs/webhookdelivery/{delivery.pk}/change/",
        {"status": "delivered"},
    )
    assert refused.status_code == 403
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert (
        admin_client.get("/admin/drf_import_export_jobs/webhookdelivery/add/").status_code == 403
    )
    client.force_login(user)
    assert client.get("/admin/drf_import_export_jobs/webhookdelivery/").status_code == 302


@pytest.mark.django_db
def test_staff_list_deliveries_over_rest(staff_user, user):
    from rest_framework.test import APIClient

    for job_id, status in (("1", "delivered"), ("2", "failed"), ("2", "pending")):
        WebhookDelivery.objects.create(
            job_model="drf_import_export_jobs.ImportJob",
            job_id=job_id,
            event="import.parsed",
            url="https://example.com/hooks/jobs",
            payload={"event": "job.status_changed", "job": {"id": int(job_id)}},
            status=status,
        )
    staff = APIClient()
    staff.force_authenticate(staff_user)
    listing = staff.get("/api/webhook-deliveries/")
    assert listing.status_code == 200
    assert listing.json()["count"] == 3
    failed = staff.get("/api/webhook-deliveries/", {"status": "failed"}).json()["results"]
    assert [(d["job_id"], d["status"]) for d in failed] == [("2", "failed")]
    assert staff.get("/api/webhook-deliveries/", {"job_id": "2"}).json()["count"] == 2
    one = staff.get(f"/api/webhook-deliveries/{failed[0]['id']}/").json()
    assert one["payload"]["event"] == "job.status_changed"
    assert staff.post("/api/webhook-deliveries/", {}).status_code == 405
    member = APIClient()
    member.force_authenticate(user)
    assert member.get("/api/webhook-deliveries/").status_code == 403
    assert APIClient().get("/api/webhook-deliveries/").status_code == 401
