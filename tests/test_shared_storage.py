"""Nothing assumes one machine: the whole import/export flow with job files in
an S3 bucket (django-storages' S3 backend on moto's S3-compatible server,
started on loopback here), a web process (this one, through DRF's APIClient)
and a Celery worker process that share nothing but the database, the broker
and the bucket: the worker has its own MEDIA_ROOT and TMPDIR, so a file handed
over through a local path would not be found.

Downloads are streamed by the API, or with ``DOWNLOAD_REDIRECT`` answered with
a 302 to a presigned URL that a plain HTTP client follows to the bytes.
"""

from __future__ import annotations

import os
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import override_settings
from moto.server import ThreadedMotoServer

from drf_import_export_jobs.models import ExportJob, ImportJob
from tests.conftest import WorkerProcess, book_rows, csv_bytes, set_cell, stored_job_files
from tests.s3storage import BUCKET, CREDENTIALS, URL_EXPIRY, s3_storages
from tests.testapp.models import Author, Book

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


class Bucket:
    """The test bucket on moto's server, seen through boto3."""

    def __init__(self, endpoint_url: str) -> None:
        self.endpoint_url = endpoint_url
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            aws_access_key_id=CREDENTIALS["access_key"],
            aws_secret_access_key=CREDENTIALS["secret_key"],
            region_name=CREDENTIALS["region_name"],
        )

    def stored(self) -> set[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
        return {item["Key"] for page in pages for item in page.get("Contents", [])}

    def read(self, key: str) -> bytes:
        return bytes(self.client.get_object(Bucket=BUCKET, Key=key)["Body"].read())


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    """moto's S3-compatible server on 127.0.0.1 (a free port); its endpoint URL."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="module")
def storage_worker(
    s3_server: str, django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: Any
) -> Iterator[tuple[WorkerProcess, str, Path]]:
    """A Celery worker on a queue of its own, with the bucket as job storage
    and local folders (MEDIA_ROOT, TMPDIR) the web process never sees."""
    with django_db_blocker.unblock():
        db_name = str(connection.settings_dict["NAME"])
    queue = f"storage-{uuid.uuid4().hex[:10]}"
    home = tmp_path_factory.mktemp("worker-machine")
    (home / "media").mkdir()
    (home / "tmp").mkdir()
    env = {
        **os.environ,
        "TEST_DB_NAME": db_name,
        "DJANGO_SETTINGS_MODULE": "tests.storage_settings",
        "TEST_S3_ENDPOINT_URL": s3_server,
        "TEST_MEDIA_ROOT": str(home / "media"),
        "TMPDIR": str(home / "tmp"),
    }
    log = Path(os.environ["TEST_RUN_DIR"]) / f"{queue}.log"
    worker = WorkerProcess.start(log, env, "--concurrency=2", "-Q", queue, "-n", f"{queue}@%h")
    yield worker, queue, home
    worker.stop()


@pytest.fixture
def bucket(s3_server: str) -> Iterator[Bucket]:
    """An empty test bucket, the job storage of this process while the test runs."""
    bucket = Bucket(s3_server)
    bucket.client.create_bucket(Bucket=BUCKET)
    with override_settings(STORAGES=s3_storages(s3_server)):
        yield bucket
    for key in bucket.stored():
        bucket.client.delete_object(Bucket=BUCKET, Key=key)
    bucket.client.delete_bucket(Bucket=BUCKET)


@pytest.fixture
def shared(storage_worker: Any, bucket: Bucket, empty_job_storage: None) -> Iterator[Any]:
    """The web process's settings for the flow: job tasks to the storage
    worker's queue, job files in the bucket."""
    worker, queue, home = storage_worker
    config = {**settings.DRF_IMPORT_EXPORT_JOBS, "TASK_QUEUE": queue}
    with override_settings(DRF_IMPORT_EXPORT_JOBS=config):
        yield worker, home


def poll(api: Any, url: str, statuses: set[str], worker: WorkerProcess) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        body = api.get(url).json()
        if body["status"] in statuses:
            return body
        assert time.monotonic() < deadline, (body, worker.output()[-3000:])
        time.sleep(0.1)


def local_files(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.rglob("*") if p.is_file())


def follow(url: str) -> tuple[bytes, Any]:
    """A plain HTTP GET of ``url`` (no client, no credentials): body, headers."""
    assert urlsplit(url).hostname == "127.0.0.1", url
    with urllib.request.urlopen(url, timeout=30) as answer:  # loopback only
        return answer.read(), answer.headers


def redirect_on() -> Any:
    config = {**settings.DRF_IMPORT_EXPORT_JOBS, "DOWNLOAD_REDIRECT": True}
    return override_settings(DRF_IMPORT_EXPORT_JOBS=config)


def test_the_whole_flow_shares_only_the_database_the_broker_and_the_bucket(shared, bucket, api):
    worker, home = shared
    Author.objects.create(name="Ann")

    # Upload: the web process writes it to the bucket.
    upload = csv_bytes(book_rows(120))
    assert len(upload) > 4096  # the worker spools it to its own TMPDIR (s3storage.py)
    response = api.post(
        "/api/books/imports/",
        {"file": SimpleUploadedFile("books.csv", upload)},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    url = response.json()["url"]
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert bucket.read(job.data_file.name) == upload

    # Parse and dry run on the worker, which reads the upload from the bucket
    # and leaves its records for the import there.
    parsed = poll(api, url, {"parsed", "input_error", "parse_error"}, worker)
    assert parsed["status"] == "parsed", parsed
    assert parsed["totals"]["new"] == 120
    records = f"{job.data_file.name}.staged.jsonl"
    assert records in bucket.stored()
    assert Book.objects.count() == 0

    # Confirm and import (again on the worker, from the bucket).
    assert api.post(f"{url}confirm/").status_code == 202
    imported = poll(api, url, {"imported", "import_error"}, worker)
    assert imported["status"] == "imported", imported
    assert Book.objects.count() == 120
    assert records not in bucket.stored()  # used up by the import

    # An import with a row error: the worker writes the report to the bucket.
    lines = book_rows(3, start=500)
    lines[1] = set_cell(lines[1], "price", "cheap")
    failed = api.post(
        "/api/books/imports/",
        {"file": SimpleUploadedFile("bad.csv", csv_bytes(lines))},
        format="multipart",
    ).json()
    report = poll(api, failed["url"], {"parsed", "input_error", "parse_error"}, worker)
    assert report["status"] == "input_error", report
    failed_job = ImportJob.objects.get(pk=failed["id"])
    report_bytes = bucket.read(failed_job.error_report.name)
    assert report_bytes.startswith(b"row,field,message") and b"\r\n2," in report_bytes
    streamed = api.get(report["errors_url"] + "file/")
    assert streamed.status_code == 200
    assert b"".join(streamed.streaming_content) == report_bytes

    # Export on the worker into the bucket; the API streams it from there.
    created = api.post(
        "/api/books/exports/", {"file_format": "csv", "fields": ["isbn"]}, format="json"
    ).json()
    exported = poll(api, created["url"], {"exported", "export_error"}, worker)
    assert exported["status"] == "exported", exported
    export_job = ExportJob.objects.get(pk=created["id"])
    export_bytes = bucket.read(export_job.data_file.name)
    assert export_bytes.decode().splitlines()[0] == "isbn"
    assert len(export_bytes.decode().splitlines()) == 121
    download = api.get(exported["download_url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == export_bytes

    # With DOWNLOAD_REDIRECT the same routes send the client to the bucket.
    with redirect_on():
        for route, expected, name in (
            (exported["download_url"], export_bytes, export_job.export_filename),
            (report["errors_url"] + "file/", report_bytes, f"import-{failed_job.pk}-errors.csv"),
        ):
            answer = api.get(route)
            assert answer.status_code == 302, answer
            location = answer["Location"]
            assert location.startswith(f"{bucket.endpoint_url}/{BUCKET}/")
            assert parse_qs(urlsplit(location).query)["X-Amz-Expires"] == [str(URL_EXPIRY)]
            body, headers = follow(location)
            assert body == expected
            assert headers["Content-Type"] == "application/octet-stream"
            assert "attachment" in headers["Content-Disposition"]
            assert name in headers["Content-Disposition"]

    # Nothing went through a local folder of either machine.
    assert stored_job_files() == []
    assert local_files(home) == []
    files = {job.data_file.name, failed_job.data_file.name, failed_job.error_report.name}
    files.add(export_job.data_file.name)
    assert files <= bucket.stored()

    # Deleting the jobs deletes their files from the bucket.
    for job_url in (url, failed["url"], created["url"]):
        assert api.delete(job_url).status_code == 204
    assert bucket.stored() == set()


def test_a_missing_file_is_a_404_streamed_or_redirected(shared, bucket, api):
    worker, _ = shared
    created = api.post("/api/books/exports/", {"file_format": "csv"}, format="json").json()
    exported = poll(api, created["url"], {"exported", "export_error"}, worker)
    assert exported["status"] == "exported", exported
    job = ExportJob.objects.get(pk=created["id"])
    bucket.client.delete_object(Bucket=BUCKET, Key=job.data_file.name)
    for redirect in (False, True):
        config = {**settings.DRF_IMPORT_EXPORT_JOBS, "DOWNLOAD_REDIRECT": redirect}
        with override_settings(DRF_IMPORT_EXPORT_JOBS=config):
            answer = api.get(exported["download_url"])
        assert answer.status_code == 404, answer
        assert "missing from storage" in answer.json()["detail"]


def test_the_admins_file_links_follow_the_setting(shared, bucket, client, admin_user):
    from rest_framework.test import APIClient

    worker, _ = shared
    api = APIClient()
    api.force_authenticate(admin_user)  # the admin lets the job's creator have its files
    created = api.post("/api/books/exports/", {"file_format": "csv"}, format="json").json()
    exported = poll(api, created["url"], {"exported", "export_error"}, worker)
    assert exported["status"] == "exported", exported
    job = ExportJob.objects.get(pk=created["id"])
    expected = bucket.read(job.data_file.name)
    client.force_login(admin_user)
    link = f"/admin/drf_import_export_jobs/exportjob/{job.pk}/file/data_file/"
    streamed = client.get(link)
    assert streamed.status_code == 200
    assert b"".join(streamed.streaming_content) == expected
    with redirect_on():
        answer = client.get(link)
    assert answer.status_code == 302
    assert follow(answer["Location"])[0] == expected
