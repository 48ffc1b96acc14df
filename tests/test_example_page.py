"""The example project's page at /app/ (example_project/frontend/), driven in
Chromium as a person uses it: the example project runs in subprocesses (its
development server and a real Celery worker, on a temporary SQLite database
and filesystem broker), and Playwright drives the system's browser.

Screenshots are kept in ``build/screenshots/example-page/`` (or
``$SCREENSHOT_DIR``); with ``UPDATE_DOCS_SCREENSHOTS=1`` the ones that
docs/frontend.md shows are copied to ``docs/images/``.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "example_project"
FRONTEND = EXAMPLE / "frontend"
STATIC = EXAMPLE / "books" / "static" / "books" / "app"
SAMPLES = EXAMPLE / "books" / "sample_data"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR") or ROOT / "build" / "screenshots")
# The screenshots docs/frontend.md shows (docs/images/<name>).
DOCS_SCREENSHOTS = {"app-dry-run.png", "app-row-errors.png"}
USERNAME, PASSWORD = "reader", "page-test-password"
TIMEOUT_MS = 60_000

HEADER = "isbn,title,author,price,published,pages,in_stock,description"

pytestmark = [pytest.mark.slow, pytest.mark.integration]


# -- the example project in subprocesses ------------------------------------------


def example_env(var_dir: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE")
    }
    env.update(EXAMPLE_VAR_DIR=str(var_dir), DJANGO_DEBUG="1", PYTHONUNBUFFERED="1")
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a process started in a session of its own, with its children."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGCONT)
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@dataclass
class ExampleSite:
    """The example project's server and worker, on a temporary folder."""

    url: str
    worker: subprocess.Popen[bytes]

    @contextmanager
    def worker_paused(self) -> Iterator[None]:
        """Freeze the worker (SIGSTOP): new jobs wait for it, as when every
        worker is busy."""
        os.killpg(self.worker.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.killpg(self.worker.pid, signal.SIGCONT)

    def api(self, method: str, path: str) -> tuple[int, Any]:
        """A request of another client of the same user (HTTP Basic)."""
        credentials = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
        request = urllib.request.Request(
            self.url + path, method=method, headers={"Authorization": f"Basic {credentials}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")


@pytest.fixture(scope="module")
def example_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExampleSite]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (CI installs it)")
    folder = tmp_path_factory.mktemp("example-page")
    env = example_env(folder)

    def manage(*args: str) -> None:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=EXAMPLE,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-3000:]

    manage("migrate", "--noinput")
    manage(
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model; "
        f"get_user_model().objects.create_user({USERNAME!r}, password={PASSWORD!r})",
    )
    worker_log = folder / "worker.log"
    with worker_log.open("wb") as out:
        worker = subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "-A", "example_project", "worker"),
                *("--loglevel=INFO", "--concurrency=1", "--without-gossip", "--without-mingle"),
            ],
            cwd=EXAMPLE,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    port = free_port()
    server_log = folder / "server.log"
    with server_log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=EXAMPLE,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    site = ExampleSite(f"http://127.0.0.1:{port}", worker)
    try:
        deadline = time.monotonic() + 60
        while "ready." not in worker_log.read_text(errors="replace"):
            assert worker.poll() is None and time.monotonic() < deadline, worker_log.read_text()
            time.sleep(0.2)
        while True:
            try:
                urllib.request.urlopen(f"{site.url}/app/", timeout=2).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, (
                    server_log.read_text()
                )
                time.sleep(0.2)
        yield site
    finally:
        stop(server)
        stop(worker)


# -- the browser ------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(example_site: ExampleSite) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any, example_site: ExampleSite) -> Iterator[Any]:
    """A new tab on /app/ that fails the test on a script error or on a
    request to another host."""
    context = browser.new_context(viewport={"width": 1000, "height": 800})
    tab = context.new_page()
    errors: list[str] = []
    outside: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))

    def local_only(route: Any) -> None:
        if route.request.url.startswith(("blob:", "data:", example_site.url)):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", local_only)
    tab.set_default_timeout(TIMEOUT_MS)
    tab.goto(f"{example_site.url}/app/")
    yield tab
    context.close()
    assert not errors
    assert not outside


def screenshot(tab: Any, name: str) -> None:
    folder = SCREENSHOTS / "example-page"
    folder.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(folder / name), full_page=True)
    if name in DOCS_SCREENSHOTS and os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1":
        shutil.copy(folder / name, ROOT / "docs" / "images" / name)


def sign_in(tab: Any, password: str = PASSWORD) -> None:
    tab.fill("#username", USERNAME)
    tab.fill("#password", password)
    tab.click("#signin-form button")


@pytest.fixture
def signed_in(page: Any) -> Any:
    sign_in(page)
    page.wait_for_selector("#import-form", state="visible")
    return page


def upload(tab: Any, path: Path) -> None:
    tab.set_input_files("#import-file", str(path))
    tab.click("#import-form button")


def wait_status(tab: Any, section: str, status: str) -> None:
    tab.wait_for_selector(f'#{section}-status[data-status="{status}"]')


def totals(tab: Any) -> dict[str, int]:
    cells = tab.locator("#import-totals td[data-total]")
    return {cell.get_attribute("data-total"): int(cell.inner_text()) for cell in cells.all()}


def csv_file(folder: Path, name: str, *rows: str) -> Path:
    path = folder / name
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


# -- the tests --------------------------------------------------------------------


def test_signing_in_with_a_wrong_password_says_so(page):
    sign_in(page, password="wrong")
    message = page.locator("#signin-message")
    message.wait_for()
    page.wait_for_function("document.getElementById('signin-message').textContent !== ''")
    assert "Unable to log in" in message.inner_text()
    assert page.locator("#import").is_hidden()
    sign_in(page)
    page.wait_for_selector("#import-form", state="visible")
    assert page.locator("#who").inner_text() == USERNAME
    assert page.locator("#signin").is_hidden()
    page.click("#signout")
    assert page.locator("#signin").is_visible()
    assert page.locator("#import").is_hidden()


def test_a_401_signs_the_page_out_and_says_so(signed_in):
    """The token was deleted. (The example's real 401 carries
    ``WWW-Authenticate: Basic``, on which Chromium waits for its login
    dialog: the answer is given here without it, as the API gives it when
    ``TokenAuthentication`` comes first.)"""
    tab = signed_in
    tab.route(
        "**/api/books/imports/",
        lambda route: route.fulfill(status=401, json={"detail": "Invalid token."}),
    )
    upload(tab, SAMPLES / "more-books.csv")
    tab.wait_for_selector("#signin", state="visible")
    assert tab.inner_text("#signin-message") == "You were signed out: sign in again."
    assert tab.locator("#import").is_hidden()
    assert tab.evaluate("sessionStorage.getItem('books-app-token')") is None


def test_a_session_of_the_same_site_does_not_break_its_requests(page, example_site):
    """Signed in to the browsable API too: DRF's session authentication
    answers first and wants the CSRF token, which the page sends."""
    page.goto(f"{example_site.url}/api/auth/login/?next=/app/")
    page.fill("#id_username", USERNAME)
    page.fill("#id_password", PASSWORD)
    page.click("form [type=submit]")
    page.wait_for_url("**/app/")
    sign_in(page)
    page.wait_for_selector("#import-form", state="visible")
    upload(page, SAMPLES / "more-books.csv")
    wait_status(page, "import", "parsed")
    assert page.inner_text("#import-message") == ""
    page.click("#import-discard")  # a DELETE: unsafe too
    page.wait_for_selector("#import-form", state="visible")
    assert page.inner_text("#import-message") == ""


def test_import_review_confirm_then_a_filtered_export_and_its_download(signed_in):
    tab = signed_in
    # The page follows its jobs through their event streams (Server-Sent Events).
    streams: list[tuple[str, int, str]] = []
    tab.on(
        "response",
        lambda response: (
            "/events/" in response.url
            and streams.append(
                (response.url, response.status, response.headers.get("content-type", ""))
            )
        ),
    )
    upload(tab, SAMPLES / "more-books.csv")
    wait_status(tab, "import", "parsed")
    assert totals(tab) == {"new": 6, "update": 0, "skip": 0, "delete": 0, "invalid": 0, "error": 0}
    assert "Nothing is written yet" in tab.inner_text("#import-hint")
    assert tab.locator("#import-confirm").is_visible()
    screenshot(tab, "app-dry-run.png")

    tab.click("#import-confirm")
    wait_status(tab, "import", "imported")
    assert totals(tab)["new"] == 6
    assert tab.get_attribute("#import-progress", "value") == "100"
    assert tab.locator("#import-confirm").is_hidden()
    assert tab.inner_text("#import-message") == ""
    screenshot(tab, "app-imported.png")

    tab.select_option("#export-in-stock", "yes")
    tab.fill("#export-author", "austen")
    tab.select_option("#export-format", "csv")
    tab.click("#export-form button")
    wait_status(tab, "export", "exported")
    screenshot(tab, "app-exported.png")
    with tab.expect_download() as download_info:
        tab.click("#export-download")
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
    assert [row["title"] for row in rows] == ["Northanger Abbey", "Sense and Sensibility"]
    assert {row["author"] for row in rows} == {"Jane Austen"}
    paths = {url.split("/api/", 1)[1].split("?")[0].split("/")[1] for url, _s, _t in streams}
    assert {"imports", "exports"} <= paths, streams
    assert all(
        status == 204 or (status == 200 and kind.startswith("text/event-stream"))
        for _u, status, kind in streams
    ), streams


def test_without_the_event_stream_the_page_polls(signed_in):
    """A stream that fails (a proxy that refuses it, an older server): the
    page follows the job by polling instead."""
    tab = signed_in
    refused: list[str] = []

    def refuse(route: Any) -> None:
        refused.append(route.request.url)
        route.fulfill(status=502, body="Bad Gateway")

    tab.route("**/events/**", refuse)
    upload(tab, SAMPLES / "more-books.csv")
    wait_status(tab, "import", "parsed")
    tab.click("#import-confirm")
    wait_status(tab, "import", "imported")
    assert tab.get_attribute("#import-progress", "value") == "100"
    assert tab.inner_text("#import-message") == ""
    assert refused, "the page did not try the event stream"


def test_row_errors_are_listed_with_the_report_to_download(signed_in, tmp_path):
    tab = signed_in
    path = csv_file(
        tmp_path,
        "errors.csv",
        "9780000009001,Hard Times,Charles Dickens,9.99,1854-04-01,352,true,",
        "9780000009002,Little Dorrit,Charles Dickens,cheap,1857-06-01,1020,true,",
        "9780000009003,Bleak House,Nobody Known,12.50,1853-09-01,1017,true,",
    )
    upload(tab, path)
    wait_status(tab, "import", "input_error")
    errors = tab.locator("#import-errors tbody tr")
    assert errors.count() == 2
    assert errors.nth(0).locator("td").nth(0).inner_text() == "2"
    assert errors.nth(0).locator("td").nth(1).inner_text() == "price"
    assert tab.locator("#import-confirm").is_hidden()
    assert "Fix these rows" in tab.inner_text("#import-hint")
    screenshot(tab, "app-row-errors.png")
    with tab.expect_download() as download_info:
        tab.click("#import-report")
    report = Path(download_info.value.path()).read_text().splitlines()
    assert report[0] == "row,field,message"
    assert report[1].startswith("2,price,")

    tab.click("#import-discard")
    tab.wait_for_selector("#import-form", state="visible")
    assert tab.locator("#import-job").is_hidden()


def test_a_file_that_cannot_be_imported_is_refused_with_the_reason(signed_in, tmp_path):
    tab = signed_in
    # No format to read it with: the API refuses the upload (400).
    path = tmp_path / "books.pdf"
    path.write_bytes(b"%PDF-1.7\n")
    upload(tab, path)
    tab.wait_for_function(
        "!['', 'Uploading…'].includes(document.getElementById('import-message').textContent)"
    )
    assert tab.inner_text("#import-message").startswith(
        "file_format: Cannot tell the format from the file name 'books.pdf'"
    )
    assert tab.locator("#import-job").is_hidden()
    screenshot(tab, "app-refused.png")

    # A CSV file without the resource's columns: the dry run cannot read it.
    path = tmp_path / "notes.csv"
    path.write_text("note\nnot a table\n")
    upload(tab, path)
    wait_status(tab, "import", "parse_error")
    assert tab.inner_text("#import-message") == ""
    assert tab.inner_text("#import-hint") != ""
    assert tab.locator("#import-confirm").is_hidden()
    assert tab.locator("#import-again").is_visible()
    screenshot(tab, "app-parse-error.png")


def test_a_confirm_made_elsewhere_first_is_a_409_shown_then_followed(
    signed_in, example_site, tmp_path
):
    tab = signed_in
    path = csv_file(
        tmp_path,
        "dickens.csv",
        "9780000009011,Hard Times,Charles Dickens,9.99,1854-04-01,352,false,",
    )
    upload(tab, path)
    wait_status(tab, "import", "parsed")
    # The same user confirms it from another tab or a script first.
    [job] = [
        job
        for job in example_site.api("GET", "/api/books/imports/")[1]["results"]
        if job["original_filename"] == "dickens.csv"
    ]
    status, _ = example_site.api("POST", f"/api/books/imports/{job['id']}/confirm/")
    assert status == 202
    tab.click("#import-confirm")
    message = tab.locator("#import-message")
    tab.wait_for_function("document.getElementById('import-message').textContent !== ''")
    assert message.inner_text().startswith("Not confirmed: meanwhile the job became “")
    # The page follows the job from its current status.
    wait_status(tab, "import", "imported")
    screenshot(tab, "app-conflict.png")
    assert totals(tab)["new"] == 1


def test_cancel_while_the_jobs_wait_for_a_worker(signed_in, example_site):
    tab = signed_in
    with example_site.worker_paused():
        upload(tab, SAMPLES / "books.csv")
        wait_status(tab, "import", "created")
        assert tab.inner_text("#import-status") == "waiting for a worker"
        assert tab.locator("#import-confirm").is_hidden()
        tab.click("#import-cancel")
        wait_status(tab, "import", "cancelled")
        assert "Nothing was imported" in tab.inner_text("#import-hint")
        assert tab.locator("#import-cancel").is_hidden()
        assert tab.locator("#import-again").is_visible()

        tab.click("#export-form button")
        wait_status(tab, "export", "created")
        assert tab.locator("#export-download").is_hidden()
        tab.click("#export-cancel")
        wait_status(tab, "export", "cancelled")
        assert tab.locator("#export-cancel").is_hidden()
        screenshot(tab, "app-cancelled.png")
    status, body = example_site.api("GET", "/api/books/imports/?status=cancelled")
    assert status == 200
    assert [job["original_filename"] for job in body["results"]] == ["books.csv"]


# -- the build --------------------------------------------------------------------


def test_the_committed_page_is_what_the_build_makes(tmp_path):
    """``make frontend`` (example_project/frontend/build) from the lockfile and
    the example project's schema gives the committed assets byte for byte."""
    for tool in ("node", "npm", "npx"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed: the page's build needs Node.js >= 20.19")
    env = {**os.environ, "OUT": str(tmp_path), "VENV": str(Path(sys.executable).parent.parent)}
    result = subprocess.run(
        [str(FRONTEND / "build")], env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for name in ("app.js", "app.css"):
        assert (tmp_path / name).read_bytes() == (STATIC / name).read_bytes(), (
            f"{name} is stale: run make frontend and commit example_project/books/static/"
        )
