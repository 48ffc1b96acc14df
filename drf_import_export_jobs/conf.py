"""Package settings, read from the single ``DRF_IMPORT_EXPORT_JOBS`` dict.

Usage::

    from drf_import_export_jobs.conf import jobs_settings
    jobs_settings.CHUNK_SIZE

Values are read from ``django.conf.settings`` on first access and cached; the
cache is dropped whenever Django sends ``setting_changed`` for
``DRF_IMPORT_EXPORT_JOBS`` (for example under ``override_settings``). Keys
listed in ``IMPORT_STRINGS`` hold dotted paths that are imported lazily, on
first access. This module never writes to ``django.conf.settings``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

SETTING_NAME = "DRF_IMPORT_EXPORT_JOBS"

DEFAULTS: dict[str, Any] = {
    # "app_label.ModelName" of the concrete import job model the package uses
    # (tasks, API, checks). Point it at your own subclass of AbstractImportJob
    # to add fields such as a tenant foreign key.
    "IMPORT_JOB_MODEL": "drf_import_export_jobs.ImportJob",
    # Same for exports: a concrete subclass of AbstractExportJob.
    "EXPORT_JOB_MODEL": "drf_import_export_jobs.ExportJob",
    # What runs the job tasks: "celery" (a Celery worker; CELERY_APP) or
    # "django" (Django's tasks framework: django.tasks on Django 6, the
    # django-tasks backport on 5.2; DJANGO_TASKS_BACKEND). See docs/task-backends.md.
    "TASK_BACKEND": "celery",
    # With TASK_BACKEND "django": the alias in settings.TASKS job tasks go to.
    "DJANGO_TASKS_BACKEND": "default",
    # Dotted path to the Celery app that dispatches job tasks, e.g.
    # "myproject.celery.app". None uses celery.current_app, which is your
    # project's app once its module has been imported (the usual celery.py).
    "CELERY_APP": None,
    # Queue the job tasks are sent to; None uses the app's default queue (with
    # TASK_BACKEND "django": the backend's queue_name, "default").
    "TASK_QUEUE": None,
    # Seconds before a job task gets SoftTimeLimitExceeded (the job then ends
    # in its error status). Celery only: Django's tasks have no time limits.
    "TASK_SOFT_TIME_LIMIT": 60 * 60,
    # Seconds before the worker process running a job task is killed (Celery only).
    "TASK_TIME_LIMIT": 60 * 60 + 5 * 60,
    # Alias in Django's STORAGES used for uploads, exports and error reports.
    "STORAGE": "default",
    # Folder inside that storage under which every job file is written.
    "FILES_DIR": "import_export_jobs",
    # Downloads of export files and error reports (REST API and admin) answer
    # 302 with the storage's URL for the file instead of streaming it through
    # the web process: with django-storages' S3 backend a presigned URL, valid
    # for the storage's querystring_expire seconds (3600 by default). A storage
    # whose url() is not absolute (FileSystemStorage) is streamed regardless
    # (system check drf_import_export_jobs.W060).
    "DOWNLOAD_REDIRECT": False,
    # Formats a resource may import from, unless the resource class declares
    # its own ``import_formats``. Names: csv tsv xlsx xls json yaml ods.
    "IMPORT_FORMATS": ["csv", "tsv", "xlsx", "xls", "json", "yaml", "ods"],
    # Formats a resource may export to, unless the resource class declares
    # its own ``export_formats``. Names: csv tsv xlsx json yaml ods.
    "EXPORT_FORMATS": ["csv", "tsv", "xlsx", "json", "yaml", "ods"],
    # Largest accepted upload, in bytes; larger files end in parse_error
    # (and the REST API refuses them before storing them).
    "MAX_UPLOAD_SIZE": 100 * 1024 * 1024,
    # Largest number of data rows (header excluded) an import may have.
    "MAX_ROWS": 1_000_000,
    # Largest number of columns an import file may have.
    "MAX_COLUMNS": 1000,
    # Largest size in bytes of one CSV/TSV cell.
    "MAX_CELL_SIZE": 128 * 1024,
    # Largest size in characters of one CSV/TSV row (a line, or several lines
    # when a quoted cell holds line breaks). Longer rows end in parse_error
    # without being read whole into memory.
    "MAX_LINE_SIZE": 1024 * 1024,
    # Text encoding of CSV/TSV uploads when the file has no byte order mark
    # (a UTF-8 or UTF-16 BOM always wins).
    "TEXT_ENCODING": "utf-8",
    # Rows handed to the resource at a time; also how often a running job
    # checks whether it was cancelled.
    "CHUNK_SIZE": 1000,
    # Import with the bulk engine, chunk by chunk with bulk writes (same
    # outcome as django-import-export's row-by-row import, much faster); see
    # docs/fast-import.md. False runs every import on the row-by-row engine.
    "BULK_IMPORT": True,
    # Python's garbage collector: while a job runs, its first generation waits
    # for this many allocations (Python's default is 700) so that it does not
    # walk the whole process every few rows. 0 or None leaves the process's
    # thresholds alone.
    "GC_THRESHOLD": 50_000,
    # Progress is written to the job row at most once per this many rows...
    "PROGRESS_EVERY_ROWS": 10_000,
    # ...or once per this many seconds, whichever comes first.
    "PROGRESS_EVERY_SECONDS": 2.0,
    # How many row errors are kept in the job's JSON results; every error is
    # in the error report file regardless.
    "MAX_ERRORS_IN_RESULT": 100,
    # Column matching: a file header that matches no resource field exactly
    # (nor ignoring case, accents and spaces, nor by verbose name) is reported
    # with the closest field as a suggestion when their similarity (difflib
    # ratio, 0 to 1) reaches this. Suggestions are never applied.
    "COLUMN_SUGGESTION_CUTOFF": 0.6,
    # A job created without a column mapping gets the newest mapping its
    # creator saved for the resource and files with the same headers. False:
    # such a saved mapping is only reported in the dry run's column report.
    "APPLY_SAVED_COLUMN_MAPPINGS": True,
    # Prefix exported text cells starting with = + - @ (tab, CR) with a quote
    # so spreadsheet programs do not run them as formulas. Plain numbers are
    # left alone.
    "ESCAPE_FORMULAS": True,
    # REST API: jobs per page of a job list (``?page_size=`` may ask for another
    # size up to API_MAX_PAGE_SIZE).
    "API_PAGE_SIZE": 20,
    # REST API: the largest ``?page_size=`` a client may ask for.
    "API_MAX_PAGE_SIZE": 100,
    # REST API: how many row errors a job representation shows in ``errors``
    # (all of them are at the job's ``errors_url``).
    "API_ERRORS_PREVIEW": 10,
    # REST API: row errors per page of ``{p}/{id}/errors/``.
    "API_ERRORS_PAGE_SIZE": 100,
    # REST API: DRF throttle scope per viewset action, e.g.
    # {"create": "job-uploads", "download": "job-downloads"}; each scope needs a
    # rate in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]. Actions not listed are
    # not throttled by the package (the project's DEFAULT_THROTTLE_CLASSES
    # still apply). A viewset's ``throttle_scopes`` attribute overrides this.
    "THROTTLE_SCOPES": {},
    # Seconds between two heartbeats of a running job: a background thread of
    # the task refreshes the row's ``heartbeat_at``, also while one chunk is
    # slow. 0 turns the thread off (progress writes still beat). A redelivered
    # task takes over a job whose worker on another host missed two beats.
    "HEARTBEAT_SECONDS": 30,
    # Seconds without a heartbeat after which a parsing/importing/exporting
    # job counts as lost (its worker died): the sweep ends it in
    # parse_error/import_error/export_error, a redelivery of its task takes it
    # over. Keep it well above HEARTBEAT_SECONDS and PROGRESS_EVERY_SECONDS.
    "STALE_JOB_TIMEOUT": 5 * 60,
    # Seconds a job may stay created/import_confirmed before the sweep sends
    # its task again (under the same task id, so a duplicate does nothing);
    # covers a broker that was down when the job was created. None: never.
    "RESEND_PENDING_AFTER": 10 * 60,
    # Celery ``retry_policy`` used when a job task is published: bounds how
    # long creating a job may wait for an unreachable broker before the
    # failure is logged and the job kept for the sweep.
    "TASK_PUBLISH_RETRY_POLICY": {
        "max_retries": 2,
        "interval_start": 0,
        "interval_step": 0.5,
        "interval_max": 1,
    },
    # Finished jobs (every status but created, parsing, import_confirmed,
    # importing, exporting) whose last change is older than this many days
    # are deleted, files included, by the purge command/task. None: never.
    "JOB_RETENTION_DAYS": 30,
    # Days after its end during which an imported job can be reverted
    # (POST {p}/{id}/revert/); older jobs answer 409 and the purge deletes
    # their ledger (what each chunk wrote). None: as long as the job exists.
    "REVERT_RETENTION_DAYS": 30,
    # Event stream ({p}/{id}/events/): seconds between two reads of a job's
    # event log. Each read takes a database connection and closes it again.
    "EVENTS_POLL_SECONDS": 1.0,
    # Event stream: seconds without events after which a comment line is
    # sent, so proxies and clients keep the connection open.
    "EVENTS_KEEPALIVE_SECONDS": 15.0,
    # Event stream: longest time in seconds one response streams; then it
    # ends and the client reconnects with Last-Event-ID (bounds how long a
    # WSGI worker thread serves one listener).
    "EVENTS_MAX_SECONDS": 300.0,
    # Event stream: the reconnection delay sent to clients (``retry:``), in
    # milliseconds.
    "EVENTS_RETRY_MILLISECONDS": 2000,
    # Webhook endpoints that receive each job status change as signed JSON:
    # a list of {"url": "https://...", "secret": "...", "events": [...]}
    # ("events": the statuses to send, e.g. ["imported", "import_error"];
    # left out or empty: every status). See docs/events.md.
    "WEBHOOKS": [],
    # Webhooks: seconds to wait for an endpoint to connect and answer.
    "WEBHOOK_TIMEOUT": 10.0,
    # Webhooks: attempts per delivery before it is recorded as failed.
    "WEBHOOK_MAX_ATTEMPTS": 5,
    # Webhooks: seconds before the first retry; each further retry waits
    # twice as long as the one before (exponential backoff).
    "WEBHOOK_RETRY_BACKOFF": 10.0,
    # Webhooks: the longest wait between two attempts, in seconds.
    "WEBHOOK_RETRY_BACKOFF_MAX": 10 * 60.0,
    # How an import commits when neither the job (commit_mode) nor the
    # viewset or resource (commit_mode / import_commit_mode) chooses:
    # "atomic" (one transaction) or "chunked" (each chunk commits with its
    # ledger entry; a failure or cancel compensates, a lost worker resumes).
    "COMMIT_MODE": "atomic",
    # How many tasks import one chunked import's chunks at once (the import
    # task and PARALLEL_IMPORT_TASKS - 1 more); a resource may set its own
    # (parallel_import_tasks). Needs a database with SELECT ... FOR UPDATE
    # SKIP LOCKED (PostgreSQL, MySQL 8, MariaDB 10.6); one task elsewhere.
    "PARALLEL_IMPORT_TASKS": 1,
}

# Keys whose values are dotted paths, imported on first access.
IMPORT_STRINGS: frozenset[str] = frozenset({"CELERY_APP"})


class JobsSettings:
    """Attribute access to the package settings with defaults and lazy imports."""

    def __init__(self) -> None:
        self._cache: dict[str, Any] = {}
        self._user: dict[str, Any] | None = None

    @property
    def user_settings(self) -> dict[str, Any]:
        """The project's ``DRF_IMPORT_EXPORT_JOBS`` dict (empty when unset)."""
        if self._user is None:
            value = getattr(settings, SETTING_NAME, {}) or {}
            if not isinstance(value, dict):
                raise ImproperlyConfigured(
                    f"settings.{SETTING_NAME} must be a dict, not {type(value).__name__}."
                )
            self._user = value
        return self._user

    def unknown_keys(self) -> list[str]:
        """Keys of the project's setting that this package does not know."""
        return sorted(set(self.user_settings) - set(DEFAULTS))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in DEFAULTS:
            raise AttributeError(f"Invalid {SETTING_NAME} setting: {name!r}")
        if name in self._cache:
            return self._cache[name]
        value = self.user_settings.get(name, DEFAULTS[name])
        if name in IMPORT_STRINGS and isinstance(value, str):
            try:
                value = import_string(value)
            except ImportError as exc:
                raise ImproperlyConfigured(
                    f"{SETTING_NAME}[{name!r}] = {value!r} could not be imported: {exc}"
                ) from exc
        self._cache[name] = value
        return value

    def raw(self, name: str) -> Any:
        """The configured value of ``name`` without importing dotted paths."""
        if name not in DEFAULTS:
            raise AttributeError(f"Invalid {SETTING_NAME} setting: {name!r}")
        return self.user_settings.get(name, DEFAULTS[name])

    def reload(self) -> None:
        """Forget cached values; the next access reads settings again."""
        self._cache.clear()
        self._user = None


jobs_settings = JobsSettings()


@receiver(setting_changed)
def _reload_jobs_settings(*, setting: str, **kwargs: Any) -> None:
    if setting == SETTING_NAME:
        jobs_settings.reload()
