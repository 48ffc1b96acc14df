"""The words of the job routes in the OpenAPI schema: summaries,
descriptions, operation id endings and error descriptions, per job kind and
action. :class:`~drf_import_export_jobs.schema.JobViewSetSchema` reads them."""

from __future__ import annotations

#: The event stream routes' description.
EVENTS_DESCRIPTION = (
    "The job's status changes and progress writes as Server-Sent Events "
    "(`text/event-stream`): each event has an `id:` (ordering the job's events), an "
    "`event:` (`status` or `progress`) and a `data:` line holding the JSON object of "
    "this response's schema. A comment line keeps the connection alive. The stream ends "
    "once the job is in a final status, or after `EVENTS_MAX_SECONDS`; reconnect with "
    "`Last-Event-ID` (or `?last_event_id=`) to go on after the last event received. "
    "204 when the job is final and nothing is left to send."
)

#: Operation summaries per (job kind, action).
SUMMARIES: dict[tuple[str, str], str] = {
    ("import", "list"): "List import jobs",
    ("export", "list"): "List export jobs",
    ("import", "create"): "Upload a file to import",
    ("export", "create"): "Start an export",
    ("import", "retrieve"): "Get an import job",
    ("export", "retrieve"): "Get an export job",
    ("import", "confirm"): "Confirm a parsed import",
    ("import", "cancel"): "Cancel an import",
    ("import", "revert"): "Revert an imported job",
    ("export", "cancel"): "Cancel an export",
    ("import", "destroy"): "Delete an import job",
    ("export", "destroy"): "Delete an export job",
    ("import", "errors"): "List the row errors of an import",
    ("import", "errors_file"): "Download the error report of an import",
    ("export", "download"): "Download the exported file",
    ("import", "events"): "Stream the events of an import",
    ("export", "events"): "Stream the events of an export",
    ("import", "reparse"): "Parse an import again with a column mapping",
    ("import", "mappings"): "List saved column mappings",
    ("import", "create_mapping"): "Save a column mapping",
    ("import", "mapping_detail"): "Get a saved column mapping",
    ("import", "delete_mapping"): "Delete a saved column mapping",
}

#: Operation descriptions per (job kind, action).
DESCRIPTIONS: dict[tuple[str, str], str] = {
    ("import", "list"): "The caller's import jobs of this resource, newest first.",
    ("export", "list"): "The caller's export jobs of this resource, newest first.",
    ("import", "create"): (
        "Upload a file (multipart) and create an import job; the dry run starts at once. "
        "The format comes from `file_format` or the file name's extension."
    ),
    ("export", "create"): "Create an export job (JSON body); the export starts at once.",
    ("import", "retrieve"): "The import job: status, progress, totals, first errors, links.",
    ("export", "retrieve"): "The export job: status, progress, options, download link.",
    ("import", "confirm"): (
        "Confirm a parsed import (`parsed -> import_confirmed`); the import starts. "
        "409 with the current status otherwise."
    ),
    ("import", "revert"): (
        "Undo an imported job (`imported -> revert_requested -> reverting -> reverted`, "
        "or `revert_error`): new rows are deleted, updated rows restored, deleted rows "
        "created again; rows changed by someone else since the import are kept and "
        "listed in `revert`. 409 with the current status when the job is not imported, "
        "is already reverting or reverted, or its ledger expired (`REVERT_RETENTION_DAYS`)."
    ),
    ("import", "cancel"): (
        "Cancel the import (from created, parsing, import_confirmed or importing); "
        "nothing is left half-imported. 409 with the current status otherwise."
    ),
    ("export", "cancel"): (
        "Cancel the export (from created or exporting). 409 with the current status otherwise."
    ),
    ("import", "destroy"): (
        "Delete the job and its files. 409 while it is active "
        "(created, parsing, import_confirmed, importing, revert_requested, reverting): "
        "cancel it first, or wait for the revert."
    ),
    ("export", "destroy"): (
        "Delete the job and its file. 409 while it is active (created, exporting): "
        "cancel it first."
    ),
    ("import", "errors"): (
        "Every row error of the latest run as JSON, paginated (`?page=`). "
        "`errors/file/` sends the whole report as a CSV file."
    ),
    ("import", "errors_file"): (
        "The whole per-row error report of the latest run as a CSV file "
        "(`row,field,message`; `Content-Disposition: attachment`, a `.csv` file name). "
        "The body is `application/octet-stream` whatever `Accept` asks for. With the "
        "`DOWNLOAD_REDIRECT` setting a stored report is answered with a 302 to the "
        "storage's URL for it."
    ),
    ("export", "download"): (
        "The exported file (`Content-Disposition: attachment`, the file name carries the "
        "format's extension). The body is `application/octet-stream` whatever `Accept` "
        "asks for. 409 with the current status until the job is exported. With the "
        "`DOWNLOAD_REDIRECT` setting the answer is a 302 to the storage's URL for the file."
    ),
    ("import", "reparse"): (
        "Parse the job's stored file again with a new column mapping "
        "(`parsed | input_error | parse_error -> created`; the dry run then runs "
        "again), without another upload. `column_mapping` or a saved mapping's "
        "`column_mapping_id`; neither: headers are matched automatically. "
        "`save_mapping` also saves it for the next file with the same headers. "
        "409 with the current status in any other status."
    ),
    ("import", "mappings"): (
        "The caller's saved column mappings for this resource, newest first. The dry "
        "run of a file with the same headers (header signature) applies the newest one "
        "when its job was created without a mapping."
    ),
    ("import", "create_mapping"): (
        "Save a column mapping for the caller's files of this resource with these "
        "headers (in any order)."
    ),
    ("import", "mapping_detail"): "One of the caller's saved column mappings.",
    ("import", "delete_mapping"): (
        "Delete one of the caller's saved column mappings; jobs keep the mapping they used."
    ),
    ("import", "events"): EVENTS_DESCRIPTION,
    ("export", "events"): EVENTS_DESCRIPTION,
}

#: The last part of the operation ids per action (``bookImportsConfirm``).
OPERATION_ID_ACTIONS: dict[str, str] = {
    "list": "List",
    "create": "Create",
    "retrieve": "Retrieve",
    "destroy": "Delete",
    "confirm": "Confirm",
    "cancel": "Cancel",
    "revert": "Revert",
    "errors": "Errors",
    "errors_file": "ErrorsFile",
    "download": "Download",
    "events": "Events",
    "reparse": "Reparse",
    "mappings": "MappingsList",
    "create_mapping": "MappingsCreate",
    "mapping_detail": "MappingsRetrieve",
    "delete_mapping": "MappingsDelete",
}

#: What each error status means, as the response description.
ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "Invalid input: messages per field.",
    401: "Not authenticated.",
    403: "Not allowed.",
    404: "No such job (or saved mapping) for the caller, or no such page.",
    406: "The `Accept` header asks for a media type this route cannot send.",
    409: "The job's status does not allow this: the current status.",
    413: "The upload is larger than `MAX_UPLOAD_SIZE`.",
    415: "Unsupported request media type.",
    429: "Too many requests (throttled).",
}
