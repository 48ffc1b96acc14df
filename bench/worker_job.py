"""The driver of the ``--workers`` part: ``python -m bench.worker_job FILE``.

Runs in its own process while Celery worker processes (started by
``bench.workers``) wait on the queue of the settings' ``TASK_QUEUE``. It
creates one import job of ``FILE`` with the ``default`` resource, as a client
would (the job's save sends the dry-run task), polls the job row until
``parsed``, confirms it and polls until ``imported``; the workers do the rest.
Then it checks the books table (untimed) and prints one JSON line:
``{"rows", "dry_run_s", "import_s", "whole_s", "engine", "check"}``. The
timings start before the file is stored, so ``dry_run_s + import_s`` is about
``whole_s`` (up to one poll apart).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from django.core.files import File

from bench.scenarios import RESOURCES, check  # sets Django up
from drf_import_export_jobs.models import ImportJob

POLL_SECONDS = 0.2
# A job whose status and progress stay the same this long counts as stuck.
STALL_SECONDS = 300.0


def wait(job: ImportJob, target: str, passing: tuple[str, ...]) -> None:
    """Poll the job row until it reaches ``target``; any status outside
    ``passing`` (or a stall) raises."""
    seen: tuple[str, int] = ("", -1)
    changed = time.monotonic()
    while True:
        job.refresh_from_db(fields=["status", "progress_current", "error_message"])
        if job.status == target:
            return
        if job.status not in passing:
            raise RuntimeError(
                f"job {job.pk} ended in {job.status!r} instead of {target!r}: {job.error_message}"
            )
        now = (job.status, job.progress_current)
        if now != seen:
            seen, changed = now, time.monotonic()
        elif time.monotonic() - changed > STALL_SECONDS:
            raise RuntimeError(f"job {job.pk} stuck in {job.status!r} at row {now[1]}")
        time.sleep(POLL_SECONDS)


def run(path: Path) -> dict[str, object]:
    started = time.perf_counter()
    job = ImportJob(resource_path=RESOURCES["default"], file_format_name=path.suffix[1:])
    with path.open("rb") as fh:
        job.data_file.save(path.name, File(fh), save=False)
    job.save()
    wait(job, "parsed", ("created", "parsing"))
    parsed = time.perf_counter()
    job.confirm_import()
    wait(job, "imported", ("import_confirmed", "importing"))
    done = time.perf_counter()
    job.refresh_from_db()
    result = job.import_result or {}
    return {
        "rows": int(result["rows"]),
        "dry_run_s": parsed - started,
        "import_s": done - parsed,
        "whole_s": done - started,
        "engine": result.get("engine"),
        "commit_mode": job.commit_mode,
        "check": check(str(path), "new"),
    }


if __name__ == "__main__":
    print(json.dumps(run(Path(sys.argv[1]))))
