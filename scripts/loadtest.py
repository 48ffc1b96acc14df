"""A bounded load test of the REST API (loopback only).

``CLIENTS`` simulated users each upload a CSV of books, poll the job until it
is parsed, confirm it, and poll until it is imported, while ``EXPORTERS``
other clients run exports (filter, poll, download) side by side. At the end
every job must have finished as expected and the database must hold exactly
the rows uploaded; the report gives the latency of the status polls.

Run it through ``scripts/loadtest`` (``make loadtest``), which starts the
example project with Celery workers on PostgreSQL and Redis; by hand::

    python scripts/loadtest.py --base-url http://127.0.0.1:8000 --clients 50

Only the standard library is used. Every request has a timeout and the whole
run a deadline, so the test stops by itself.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import statistics
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any

AUTHORS = ("Jane Austen", "Charles Dickens", "Mark Twain", "Leo Tolstoy", "Mary Shelley")
HEADER = ["isbn", "title", "author", "price", "published", "pages", "in_stock", "description"]
REQUEST_TIMEOUT = 30.0


class LoadTestError(Exception):
    """A client met an answer it did not expect."""


@dataclass
class Stats:
    """Figures shared by all clients (guarded by ``lock``)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    poll_latencies: list[float] = field(default_factory=list)
    request_latencies: dict[str, list[float]] = field(default_factory=dict)
    job_seconds: dict[str, list[float]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    def record(self, kind: str, seconds: float, status: int) -> None:
        with self.lock:
            self.request_latencies.setdefault(kind, []).append(seconds)
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if kind == "poll":
                self.poll_latencies.append(seconds)

    def finished(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.job_seconds.setdefault(kind, []).append(seconds)

    def fail(self, message: str) -> None:
        with self.lock:
            self.failures.append(message)


class Client:
    """One simulated user of the API, authenticated with a token.

    The token is fetched once (``POST /api/auth/token/``): HTTP Basic would
    run the password hasher (deliberately slow) on every request, and the
    latencies would measure that instead of the API."""

    def __init__(self, base_url: str, username: str, password: str, stats: Stats) -> None:
        self.base_url = base_url.rstrip("/")
        self.stats = stats
        form = urllib.parse.urlencode({"username": username, "password": password}).encode()
        with urllib.request.urlopen(
            self.base_url + "/api/auth/token/", data=form, timeout=REQUEST_TIMEOUT
        ) as response:
            self.auth = f"Token {json.loads(response.read())['token']}"

    def request(
        self,
        kind: str,
        method: str,
        url: str,
        body: bytes | None = None,
        content_type: str | None = None,
        accept: str = "application/json",
    ) -> tuple[int, bytes]:
        if not url.startswith("http"):
            url = self.base_url + url
        request = urllib.request.Request(url, data=body, method=method)
        request.add_header("Authorization", self.auth)
        request.add_header("Accept", accept)
        if content_type:
            request.add_header("Content-Type", content_type)
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
                status, data = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, data = exc.code, exc.read()
        self.stats.record(kind, time.perf_counter() - started, status)
        return status, data

    def json(self, kind: str, method: str, url: str, payload: Any = None) -> tuple[int, Any]:
        body = None if payload is None else json.dumps(payload).encode()
        status, data = self.request(
            kind, method, url, body, "application/json" if body is not None else None
        )
        try:
            return status, json.loads(data) if data else None
        except ValueError as exc:
            raise LoadTestError(f"{method} {url}: {status}, not JSON: {data[:200]!r}") from exc

    def upload(self, url: str, filename: str, content: bytes) -> tuple[int, Any]:
        boundary = uuid.uuid4().hex
        body = (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        body += content + f"\r\n--{boundary}--\r\n".encode()
        status, data = self.request(
            "upload", "POST", url, body, f"multipart/form-data; boundary={boundary}"
        )
        return status, json.loads(data) if data else None

    def poll(self, url: str, wanted: set[str], failed: set[str], deadline: float) -> dict:
        """GET ``url`` until its status is in ``wanted``; raise on ``failed``."""
        while True:
            status, job = self.json("poll", "GET", url)
            if status != 200:
                raise LoadTestError(f"GET {url}: {status} {job}")
            if job["status"] in wanted:
                return job
            if job["status"] in failed:
                raise LoadTestError(f"{url} ended {job['status']}: {job.get('error_message')}")
            if time.monotonic() > deadline:
                raise LoadTestError(f"{url} still {job['status']} at the deadline")
            time.sleep(0.25)


def book_csv(client_number: int, rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for i in range(rows):
        writer.writerow(
            [
                f"97{client_number:05d}{i:06d}",
                f"Load test book {client_number}-{i}",
                AUTHORS[i % len(AUTHORS)],
                f"{(i % 50) + 5}.99",
                f"20{i % 25:02d}-0{i % 9 + 1}-1{i % 9}",
                100 + i,
                "true" if i % 2 else "false",
                f"Row {i} of client {client_number}",
            ]
        )
    return out.getvalue().encode()


def run_importer(
    number: int, args: argparse.Namespace, stats: Stats, deadline: float, results: list
) -> None:
    client = Client(args.base_url, f"load{number}", args.password, stats)
    started = time.monotonic()
    try:
        status, job = client.upload(
            "/api/books/imports/", f"client-{number}.csv", book_csv(number, args.rows)
        )
        if status != 201:
            raise LoadTestError(f"upload: {status} {job}")
        url = job["url"]
        job = client.poll(url, {"parsed"}, {"input_error", "parse_error", "cancelled"}, deadline)
        if job["totals"]["new"] != args.rows:
            raise LoadTestError(f"{url}: dry run totals {job['totals']}")
        status, confirmed = client.json("confirm", "POST", url + "confirm/")
        if status not in (200, 202):
            raise LoadTestError(f"confirm {url}: {status} {confirmed}")
        job = client.poll(url, {"imported"}, {"import_error", "cancelled"}, deadline)
        if job["totals"]["new"] != args.rows:
            raise LoadTestError(f"{url}: import totals {job['totals']}")
        stats.finished("import", time.monotonic() - started)
        results.append(("import", number, job["id"]))
    except Exception as exc:
        stats.fail(f"importer {number}: {exc}")


def run_exporter(
    number: int, args: argparse.Namespace, stats: Stats, deadline: float, results: list
) -> None:
    client = Client(args.base_url, f"load{number}", args.password, stats)
    for round_number in range(args.export_rounds):
        started = time.monotonic()
        try:
            status, job = client.json(
                "export",
                "POST",
                "/api/books/exports/",
                {"file_format": "csv", "filters": {"in_stock": True}, "ordering": ["-price"]},
            )
            if status != 201:
                raise LoadTestError(f"export: {status} {job}")
            job = client.poll(job["url"], {"exported"}, {"export_error", "cancelled"}, deadline)
            status, data = client.request(
                "download", "GET", job["download_url"], accept="application/octet-stream"
            )
            if status != 200:
                raise LoadTestError(f"download {job['download_url']}: {status}")
            rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
            if rows[0][0] != "isbn":
                raise LoadTestError(f"export {job['url']}: header {rows[0]}")
            stats.finished("export", time.monotonic() - started)
            results.append(("export", number, job["id"], len(rows) - 1))
        except Exception as exc:
            stats.fail(f"exporter {number} round {round_number}: {exc}")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def report(stats: Stats, seconds: float) -> None:
    def ms(value: float) -> str:
        return f"{value * 1000:8.1f}"

    print(f"\nfinished in {seconds:.1f} s; HTTP statuses: {dict(sorted(stats.statuses.items()))}")
    print(f"{'request':<10} {'count':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for kind, values in sorted(stats.request_latencies.items()):
        print(
            f"{kind:<10} {len(values):>6} {ms(statistics.median(values))} "
            f"{ms(percentile(values, 0.95))} {ms(max(values))}"
        )
    for kind, values in sorted(stats.job_seconds.items()):
        print(
            f"{kind} jobs: {len(values)} done, median {statistics.median(values):.1f} s, "
            f"slowest {max(values):.1f} s"
        )
    if stats.poll_latencies:
        print(
            f"status poll latency: p50 {ms(statistics.median(stats.poll_latencies)).strip()} ms, "
            f"p95 {ms(percentile(stats.poll_latencies, 0.95)).strip()} ms "
            f"over {len(stats.poll_latencies)} polls"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--clients", type=int, default=50, help="importing clients")
    parser.add_argument("--exporters", type=int, default=5, help="exporting clients")
    parser.add_argument("--export-rounds", type=int, default=3, help="exports per exporter")
    parser.add_argument("--rows", type=int, default=200, help="rows per uploaded file")
    parser.add_argument("--password", default="load-test")
    parser.add_argument("--deadline", type=float, default=600, help="seconds for the whole run")
    args = parser.parse_args(argv)

    stats = Stats()
    results: list = []
    started = time.monotonic()
    deadline = started + args.deadline
    threads = [
        threading.Thread(target=run_importer, args=(n, args, stats, deadline, results))
        for n in range(args.clients)
    ] + [
        threading.Thread(
            target=run_exporter, args=(args.clients + n, args, stats, deadline, results)
        )
        for n in range(args.exporters)
    ]
    print(
        f"{args.clients} importing clients x {args.rows} rows, {args.exporters} exporting "
        f"clients x {args.export_rounds} exports, against {args.base_url}"
    )
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()) + REQUEST_TIMEOUT)
    seconds = time.monotonic() - started
    report(stats, seconds)
    imports = [r for r in results if r[0] == "import"]
    exports = [r for r in results if r[0] == "export"]
    expected_exports = args.exporters * args.export_rounds
    ok = (
        not stats.failures
        and len(imports) == args.clients
        and len(exports) == expected_exports
        and not any(t.is_alive() for t in threads)
    )
    for failure in stats.failures:
        print("FAILED:", failure)
    print(
        f"imports imported: {len(imports)}/{args.clients}; "
        f"exports downloaded: {len(exports)}/{expected_exports}"
    )
    print("load test", "passed" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
