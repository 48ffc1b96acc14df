"""Jobs started from Python code (docs/usage.md includes the sections below;
tests/test_docs_examples.py runs them against a real worker)."""

from pathlib import Path
from typing import Any

from django.core.files import File

from drf_import_export_jobs.swapping import get_export_job_model, get_import_job_model


# --8<-- [start:import]
def start_import(path: Path, user: Any) -> Any:
    """Store the file and create the job; the dry run starts after commit."""
    ImportJob = get_import_job_model()
    job = ImportJob(
        resource_path="library.resources.BookResource",
        file_format_name="csv",
        original_filename=path.name,  # shown to people; never used as a path
        created_by=user,
    )
    with path.open("rb") as fh:
        # Stored under a generated name in the STORAGE setting's storage.
        job.data_file.save(path.name, File(fh), save=False)
    job.save()  # the parse task is sent once the transaction commits
    return job


def confirm_if_clean(job: Any) -> bool:
    """Confirm the import once its dry run found no error."""
    job.refresh_from_db()
    if job.status != "parsed":
        return False  # still running, or input_error / parse_error: see below
    print("dry run:", job.parse_result["totals"])
    job.confirm_import()  # parsed -> import_confirmed; the import task is sent
    return True


# --8<-- [end:import]


# --8<-- [start:errors]
def explain(job: Any) -> list[str]:
    """What went wrong with an import, one line per problem."""
    job.refresh_from_db()
    if job.status == "parse_error":  # the file itself could not be read
        return [job.error_message]
    result = job.import_result or job.parse_result or {}
    lines = [f"row {e['row']}, {e['field'] or '-'}: {e['message']}" for e in result["errors"]]
    if result.get("error_count", 0) > len(lines):  # the CSV report has them all
        lines.append(f"... all {result['error_count']} in {job.error_report.name}")
    return lines


# --8<-- [end:errors]


# --8<-- [start:export]
def start_export(user: Any) -> Any:
    """Export the books in stock, dearest first, to XLSX."""
    ExportJob = get_export_job_model()
    return ExportJob.objects.create(  # the export task is sent after commit
        resource_path="library.resources.BookResource",
        file_format_name="xlsx",
        filters={"in_stock": True, "price__gte": "10"},  # BookFilterSet's names
        ordering=["-price"],
        fields=["isbn", "title", "price"],
        created_by=user,
    )


# --8<-- [end:export]
