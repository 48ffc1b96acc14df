"""Imports and exports books through the Python client that
openapi-python-client generates from the API schema (package ``books_client``).

docs/python-client.md shows this code; tests/clients/test_python_client.py runs it
against a live server and a real Celery worker.
"""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Callable
from typing import Any

from books_client import AuthenticatedClient
from books_client.api.books import (
    book_exports_cancel,
    book_exports_create,
    book_exports_download,
    book_exports_retrieve,
    book_imports_cancel,
    book_imports_confirm,
    book_imports_create,
    book_imports_mappings_list,
    book_imports_reparse,
    book_imports_retrieve,
    book_imports_revert,
)
from books_client.models import (
    BookExportJobCreateRequest,
    BookImportJobCreateRequest,
    ImportJobReparseRequest,
)
from books_client.types import File, Response

FINISHED = {
    "parsed", "input_error", "parse_error", "imported", "import_error",
    "exported", "export_error", "cancelled", "reverted", "revert_error",
}  # fmt: skip


# --8<-- [start:client]
def make_client(base_url: str, username: str, password: str) -> AuthenticatedClient:
    """A client that sends HTTP Basic credentials with every request."""
    credentials = base64.b64encode(f"{username}:{password}".encode()).decode()
    return AuthenticatedClient(
        base_url=base_url,
        token=credentials,
        prefix="Basic",
        raise_on_unexpected_status=True,
    )


# --8<-- [end:client]


# --8<-- [start:poll]
def wait(fetch: Callable[[], Any], statuses: set[str], timeout: float = 60) -> Any:
    """Fetch the job until its status is one of ``statuses``."""
    deadline = time.monotonic() + timeout
    while True:
        job = fetch()
        if job.status in statuses:
            return job
        if job.status in FINISHED or time.monotonic() > deadline:
            raise RuntimeError(f"job {job.id} is {job.status}, expected {sorted(statuses)}")
        time.sleep(0.2)


# --8<-- [end:poll]


# --8<-- [start:import]
def import_books(client: AuthenticatedClient, name: str, content: bytes) -> Any:
    """Upload a file, review the dry run, confirm it and wait for the import."""
    body = BookImportJobCreateRequest(file=File(payload=io.BytesIO(content), file_name=name))
    job = book_imports_create.sync(client=client, body=body)

    def fetch() -> Any:
        return book_imports_retrieve.sync(job.id, client=client)

    job = wait(fetch, {"parsed"})
    print("dry run:", job.totals.to_dict())  # e.g. {"new": 3, "update": 0, ...}
    book_imports_confirm.sync(job.id, client=client)
    return wait(fetch, {"imported"})


# --8<-- [end:import]


# --8<-- [start:mapping]
def import_with_mapping(
    client: AuthenticatedClient, name: str, content: bytes, mapping: dict[str, str]
) -> tuple[dict[str, str], Any]:
    """Upload a file whose headers are not the resource's, read the dry run's
    suggestions, parse it again with ``mapping`` (saved for the next file with
    the same headers), confirm it and wait for the import."""
    body = BookImportJobCreateRequest(file=File(payload=io.BytesIO(content), file_name=name))
    job = book_imports_create.sync(client=client, body=body)

    def fetch() -> Any:
        return book_imports_retrieve.sync(job.id, client=client)

    job = wait(fetch, {"parsed", "input_error", "parse_error"})
    suggestions = {
        column.header: column.suggestion.field
        for column in job.columns.headers
        if column.suggestion is not None
    }  # e.g. {"ISBN-13": "isbn", "Autor": "author"}
    request = ImportJobReparseRequest.from_dict(
        {"column_mapping": mapping, "save_mapping": True, "mapping_name": "shop export"}
    )
    book_imports_reparse.sync(job.id, client=client, body=request)
    wait(fetch, {"parsed"})
    book_imports_confirm.sync(job.id, client=client)
    return suggestions, wait(fetch, {"imported"})


# --8<-- [end:mapping]


def saved_mappings(client: AuthenticatedClient) -> list[Any]:
    return book_imports_mappings_list.sync(client=client) or []


def parse(client: AuthenticatedClient, name: str, content: bytes) -> Any:
    """Upload a file and wait for its dry run to end."""
    job = start_import(client, name, content)
    return wait(
        lambda: book_imports_retrieve.sync(job.id, client=client),
        {"parsed", "input_error", "parse_error"},
    )


# --8<-- [start:revert]
def revert_import(client: AuthenticatedClient, job_id: int) -> Any:
    """Undo an imported job and wait for the revert; print what was kept."""
    book_imports_revert.sync(job_id, client=client)
    job = wait(lambda: book_imports_retrieve.sync(job_id, client=client), {"reverted"})
    print("revert:", job.revert.totals.to_dict())  # {"reverted": 3, "kept": 0, "failed": 0}
    for row in job.revert.rows:  # rows changed by someone else since the import
        print(row.pk, row.outcome.value, row.reason)
    return job


def revert(client: AuthenticatedClient, job_id: int) -> Response[Any]:
    return book_imports_revert.sync_detailed(job_id, client=client)


# --8<-- [end:revert]


# --8<-- [start:export]
def export_books(client: AuthenticatedClient, filters: dict[str, Any]) -> tuple[str, bytes]:
    """Export the matching books as CSV; return the file name and content."""
    body = BookExportJobCreateRequest.from_dict(
        {"file_format": "csv", "filters": filters, "ordering": ["-price"]}
    )
    job = book_exports_create.sync(client=client, body=body)
    wait(lambda: book_exports_retrieve.sync(job.id, client=client), {"exported"})
    response = book_exports_download.sync_detailed(job.id, client=client)
    return response.headers["Content-Disposition"], response.content


# --8<-- [end:export]


# --8<-- [start:conflict]
def cancel_export(client: AuthenticatedClient, job_id: int) -> Response[Any]:
    """Cancel an export; a job that already finished answers 409 with its status."""
    response = book_exports_cancel.sync_detailed(job_id, client=client)
    if response.status_code == 409:
        print("too late, the job is", response.parsed.status)
    return response


# --8<-- [end:conflict]


def start_export(client: AuthenticatedClient) -> Any:
    body = BookExportJobCreateRequest.from_dict({"file_format": "csv"})
    return book_exports_create.sync(client=client, body=body)


def start_import(client: AuthenticatedClient, name: str, content: bytes) -> Any:
    body = BookImportJobCreateRequest(file=File(payload=io.BytesIO(content), file_name=name))
    return book_imports_create.sync(client=client, body=body)


def download(client: AuthenticatedClient, job_id: int) -> Response[Any]:
    return book_exports_download.sync_detailed(job_id, client=client)


def confirm(client: AuthenticatedClient, job_id: int) -> Response[Any]:
    return book_imports_confirm.sync_detailed(job_id, client=client)


def cancel_import(client: AuthenticatedClient, job_id: int) -> Response[Any]:
    return book_imports_cancel.sync_detailed(job_id, client=client)
