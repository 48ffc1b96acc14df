"""The admin's import and export pages in a real browser (Debian's Chromium
driven by Playwright) against a live server with a real Celery worker: log
in, import a file, watch the progress, confirm, see the list, export the
selected rows and download the file. Screenshots are kept in the test run's
folder (``screenshots/``, the path is printed); with
``UPDATE_DOCS_SCREENSHOTS=1`` the ones that docs/admin.md shows are copied to
``docs/images/``."""

from __future__ import annotations

import csv
import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from tests.conftest import book_rows, csv_bytes, set_cell
from tests.testapp.models import Author, Book

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parent.parent
# The screenshots docs/admin.md shows (docs/images/<name>).
DOCS_SCREENSHOTS = {"admin-import-dry-run.png", "admin-import-errors.png", "admin-export-form.png"}
# Rows enough for the dry run to outlast the redirect to the job page, so
# the page shows it running and polls its progress.
ROWS = 6000
PASSWORD = "browser-test-password"


@pytest.fixture(scope="module")
def screenshots() -> Path:
    folder = Path(os.environ["TEST_RUN_DIR"]) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nadmin screenshots: {folder}")
    return folder


@pytest.fixture
def browser_page(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A Chromium tab (1100x720)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (CI installs it)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own
    # database queries (not the live server's) are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                viewport={"width": 1100, "height": 720}, accept_downloads=True
            )
            tab = context.new_page()
            errors: list[str] = []
            tab.on("pageerror", lambda error: errors.append(str(error)))
            tab.errors = errors
            yield tab
        finally:
            browser.close()


@pytest.fixture
def site(live_server: Any, celery_worker: Any, transactional_db: Any, settings: Any) -> str:
    """The live server's URL, with a superuser ``admin`` and the author Ann."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    get_user_model().objects.create_superuser("admin", "admin@example.com", PASSWORD)
    Author.objects.create(name="Ann")
    return str(live_server.url).replace("localhost", "127.0.0.1")


def screenshot(tab: Any, folder: Path, name: str, *, full_page: bool = False) -> None:
    """Save a screenshot of ``tab`` as ``folder/name``; with
    ``UPDATE_DOCS_SCREENSHOTS=1`` copy one docs/admin.md shows to docs/images/."""
    tab.screenshot(path=str(folder / name), full_page=full_page)
    if name in DOCS_SCREENSHOTS and os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1":
        shutil.copy(folder / name, ROOT / "docs" / "images" / name)


def log_in(tab: Any, site: str) -> None:
    tab.goto(f"{site}/admin/login/?next=/admin/testapp/book/")
    tab.fill("#id_username", "admin")
    tab.fill("#id_password", PASSWORD)
    tab.click("input[type=submit]")
    tab.wait_for_url("**/admin/testapp/book/")


def test_import_confirm_and_export_selected_in_the_admin(
    site, browser_page, tmp_path, screenshots
):
    tab = browser_page
    progress: list[dict[str, Any]] = []

    def record(response: Any) -> None:
        if response.url.endswith("/progress/") and response.ok:
            progress.append(response.json())

    tab.on("response", record)
    log_in(tab, site)
    upload = tmp_path / "books.csv"
    upload.write_bytes(csv_bytes(book_rows(ROWS)))

    # Upload: the dry run starts in the worker; the page polls its progress.
    tab.click("a.diej-import-link")
    tab.set_input_files("#id_file", str(upload))
    screenshot(tab, screenshots, "admin-import-form.png")
    tab.click("input[type=submit][value='Upload and check']")
    tab.wait_for_url("**/admin/testapp/book/import/*/")
    screenshot(tab, screenshots, "admin-import-progress.png")
    loads: list[str] = []
    tab.on("load", lambda page: loads.append(page.url))
    confirm = tab.locator("input[name=confirm]")
    confirm.wait_for(timeout=90_000)
    assert progress, "the job page never polled its progress"
    assert progress[0]["active"] is True
    # The bar was updated in place: one reload, when the dry run ended.
    assert len(loads) == 1
    assert tab.locator(".diej-total-new").inner_text() == str(ROWS)
    assert tab.locator(".diej-status").inner_text() == "Parsed"
    screenshot(tab, screenshots, "admin-import-dry-run.png", full_page=True)
    assert Book.objects.count() == 0

    # Confirm: the import runs; the page shows it done; back to the list.
    progress.clear()
    confirm.click()
    tab.locator(".diej-done").wait_for(timeout=90_000)
    assert progress and progress[0]["status"] in ("import_confirmed", "importing")
    assert tab.locator(".diej-status").inner_text() == "Imported"
    assert Book.objects.count() == ROWS
    tab.click("a.diej-back")
    tab.wait_for_url("**/admin/testapp/book/")
    assert f"{ROWS} books" in tab.locator(".paginator").inner_text()

    # Export selected: two rows, two fields, as CSV; then download.
    boxes = tab.locator("input.action-select")
    boxes.nth(0).check()
    boxes.nth(1).check()
    isbns = [
        tab.locator("#result_list tbody tr").nth(i).locator("th a").inner_text() for i in range(2)
    ]
    tab.select_option("select[name=action]", "export_selected")
    tab.click("button[name=index]")
    tab.wait_for_url("**/admin/testapp/book/")
    assert "Export the 2 selected rows." in tab.content()
    for name in ("author", "price", "published", "pages", "in_stock", "description"):
        tab.uncheck(f"input[name=export_fields][value={name}]")
    screenshot(tab, screenshots, "admin-export-form.png")
    tab.click("input[name=export]")
    tab.wait_for_url("**/admin/testapp/book/export/*/")
    download_link = tab.locator("a.diej-download")
    download_link.wait_for(timeout=90_000)
    screenshot(tab, screenshots, "admin-export-done.png")
    with tab.expect_download() as info:
        download_link.click()
    path = info.value.path()
    rows = list(csv.reader(io.StringIO(Path(path).read_text())))
    assert rows[0] == ["isbn", "title"]
    assert sorted(row[0] for row in rows[1:]) == sorted(isbns)
    assert not tab.errors


def test_row_errors_are_listed_page_by_page_with_the_report(
    site, browser_page, tmp_path, screenshots
):
    tab = browser_page
    log_in(tab, site)
    lines = book_rows(60)
    lines = [set_cell(line, "price", "cheap") if i % 2 else line for i, line in enumerate(lines)]
    upload = tmp_path / "bad.csv"
    upload.write_bytes(csv_bytes(lines))
    tab.goto(f"{site}/admin/testapp/book/import/")
    tab.set_input_files("#id_file", str(upload))
    tab.click("input[type=submit][value='Upload and check']")
    tab.locator("table.diej-errors").wait_for(timeout=90_000)
    assert tab.locator(".diej-status").inner_text() == "Input error"
    assert tab.locator("input[name=confirm]").count() == 0
    assert tab.locator("table.diej-errors tbody tr").count() == 25
    screenshot(tab, screenshots, "admin-import-errors.png")
    tab.click("a.diej-next")
    assert tab.locator("table.diej-errors tbody tr").count() == 5
    with tab.expect_download() as info:
        tab.click("a.diej-error-report")
    report = Path(info.value.path()).read_text()
    assert report.count("\n") == 31
    assert Book.objects.count() == 0
    assert not tab.errors
