"""No pickle anywhere, no code run from data, no URL fetched from imported data."""

from __future__ import annotations

import ast
import io
import json
import selectors
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import override_settings
from openpyxl import Workbook

from drf_import_export_jobs import tasks
from drf_import_export_jobs.models import ExportJob, ImportJob
from tests.conftest import COLUMNS, book_rows, csv_bytes, set_cell
from tests.testapp.models import Book

PACKAGE = Path(tasks.__file__).resolve().parent
# Modules that deserialise into arbitrary objects, or run code from data.
UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "marshal", "shelve"}
UNSAFE_CALLS = {"eval", "exec", "unsafe_load", "full_load", "load_all"}


def package_modules() -> Iterator[tuple[Path, ast.AST]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path, ast.parse(path.read_text(), filename=str(path))


def test_the_package_imports_no_pickle_like_module():
    found = []
    for path, tree in package_modules():
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module.split(".")[0]]
            found += [f"{path.name}:{node.lineno} {n}" for n in names if n in UNSAFE_MODULES]
    assert found == []


def test_the_package_never_evaluates_data():
    """No eval/exec, and YAML is read with safe_load only (by tablib)."""
    found = []
    for path, tree in package_modules():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            is_yaml_load = name == "load" and getattr(func.value, "id", "") == "yaml"  # type: ignore[attr-defined]
            if name in UNSAFE_CALLS or is_yaml_load:
                found.append(f"{path.name}:{node.lineno} {name}")
    assert found == []


def test_job_tasks_are_sent_as_json_only():
    for task in (tasks.parse_import_job, tasks.import_job_data, tasks.export_job_data):
        assert task.serializer == "json"
    from tests.celery_app import app

    assert app.conf.accept_content == ["json"]
    assert app.conf.task_serializer == "json"


def test_a_celery_app_accepting_pickle_is_a_check_warning(monkeypatch):
    from drf_import_export_jobs.checks import check_settings
    from tests.celery_app import app

    # The suite records sent tasks with a stand-in app; the check reads the real one.
    monkeypatch.setattr("drf_import_export_jobs.dispatch.get_celery_app", lambda: app)

    assert not [e for e in check_settings() if e.id == "drf_import_export_jobs.W020"]
    app.conf.update(accept_content=["json", "pickle"])
    try:
        warnings = [e for e in check_settings() if e.id == "drf_import_export_jobs.W020"]
    finally:
        app.conf.update(accept_content=["json"])
    assert len(warnings) == 1
    assert "accept_content" in warnings[0].msg


def test_results_are_json_fields_holding_plain_json(make_import_job, authors):
    from django.db.models import JSONField

    for model, names in (
        (ImportJob, ["parse_result", "import_result", "resource_kwargs"]),
        (ExportJob, ["filters", "fields", "ordering", "resource_kwargs"]),
    ):
        for name in names:
            assert isinstance(model._meta.get_field(name), JSONField), name
    lines = book_rows(3)
    lines[1] = set_cell(lines[1], "price", "cheap")
    job = make_import_job(csv_bytes(lines))
    job.parse_data()
    job.refresh_from_db()
    assert job.status == "input_error"
    assert json.loads(json.dumps(job.parse_result)) == job.parse_result


def test_yaml_tags_that_build_objects_are_refused(make_import_job, tmp_path):
    marker = tmp_path / "ran"
    payload = f"- !!python/object/apply:os.system ['touch {marker}']\n".encode()
    job = make_import_job(payload, file_format="yaml")
    job.parse_data()
    job.refresh_from_db()
    assert job.status == "parse_error"
    assert "cannot be read as YAML" in job.error_message
    assert not marker.exists()


# -- URLs in imported data are never fetched ------------------------------------------------


@pytest.fixture
def listener() -> Iterator[tuple[str, socket.socket]]:
    """A socket listening on loopback; a test checks nothing connected to it."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    host, port = server.getsockname()
    yield f"http://{host}:{port}", server
    server.close()


def connections(server: socket.socket) -> int:
    selector = selectors.DefaultSelector()
    selector.register(server, selectors.EVENT_READ)
    count = 0
    while selector.select(timeout=0.2):
        conn, _addr = server.accept()
        conn.close()
        count += 1
    selector.close()
    return count


def test_the_listener_sees_a_real_connection(listener):
    """The check itself works: a connection is counted."""
    _url, server = listener
    host, port = server.getsockname()
    with socket.create_connection((host, port), timeout=2):
        pass
    assert connections(server) == 1


def xlsx_with_links(url: str) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(COLUMNS)
    cells: list[object] = book_rows(1)[0].split(",")
    cells[COLUMNS.index("title")] = f"{url}/title"
    cells[COLUMNS.index("pages")] = f'=WEBSERVICE("{url}/webservice")'
    cells[COLUMNS.index("description")] = f"{url}/description"
    sheet.append(cells)
    sheet["B2"].hyperlink = f"{url}/hyperlink"
    sheet["J1"] = f'=HYPERLINK("{url}/formula","x")'
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@pytest.mark.parametrize("file_format", ["csv", "xlsx", "json"])
def test_urls_in_imported_cells_are_never_requested(
    make_import_job, authors, listener, file_format
):
    url, server = listener
    if file_format == "xlsx":
        payload = xlsx_with_links(url)
    else:
        lines = [
            set_cell(set_cell(line, "title", f"{url}/t{i}"), "description", f"{url}/d{i}")
            for i, line in enumerate(book_rows(3))
        ]
        payload = csv_bytes(lines)
        if file_format == "json":
            rows = [dict(zip(COLUMNS, line.split(","), strict=True)) for line in lines]
            payload = json.dumps(rows).encode()
    job = make_import_job(payload, file_format=file_format)
    job.parse_data()
    job.refresh_from_db()
    assert job.status == "parsed", job.error_message
    job.confirm_import()
    job.import_data()
    job.refresh_from_db()
    assert job.status == "imported", job.error_message
    assert Book.objects.filter(title__startswith=url).exists()
    assert connections(server) == 0


@override_settings(DRF_IMPORT_EXPORT_JOBS={"ESCAPE_FORMULAS": True})
def test_urls_in_exported_cells_are_never_requested(make_export_job, authors, listener):
    url, server = listener
    Book.objects.create(isbn="1", title=f"{url}/x", author=authors[0], price=1)
    for file_format in ("csv", "xlsx", "ods", "json", "yaml", "tsv"):
        job = make_export_job(file_format=file_format)
        job.export_data()
        job.refresh_from_db()
        assert job.status == "exported", job.error_message
    assert connections(server) == 0
