"""System checks for the package settings (``manage.py check``).

Every message names the ``DRF_IMPORT_EXPORT_JOBS`` key to fix.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import storages
from django.utils.module_loading import import_string

from .conf import DEFAULTS, SETTING_NAME, jobs_settings
from .files import is_absolute_url, storage_url
from .formats import FORMATS
from .models import AbstractExportJob, AbstractImportJob
from .swapping import get_export_job_model, get_import_job_model

ID = "drf_import_export_jobs"
POSITIVE_NUMBERS = (
    "TASK_SOFT_TIME_LIMIT",
    "TASK_TIME_LIMIT",
    "MAX_UPLOAD_SIZE",
    "MAX_ROWS",
    "MAX_COLUMNS",
    "MAX_CELL_SIZE",
    "MAX_LINE_SIZE",
    "CHUNK_SIZE",
    "PROGRESS_EVERY_ROWS",
    "PROGRESS_EVERY_SECONDS",
    "MAX_ERRORS_IN_RESULT",
    "API_PAGE_SIZE",
    "API_MAX_PAGE_SIZE",
    "API_ERRORS_PAGE_SIZE",
)


def _celery_app_configured() -> bool:
    from celery import _state

    # Celery's private state: not in its type stubs.
    return (
        _state._tls.current_app is not None  # type: ignore[attr-defined]
        or _state.default_app is not None  # type: ignore[attr-defined]
    )


@register(Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """Check every key of ``DRF_IMPORT_EXPORT_JOBS``."""
    try:
        jobs_settings.reload()
        user = jobs_settings.user_settings
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id=f"{ID}.E001")]
    errors: list[Any] = []
    for key in jobs_settings.unknown_keys():
        errors.append(
            Warning(
                f"{SETTING_NAME}[{key!r}] is not a setting of this package and is ignored.",
                hint=f"Known keys: {', '.join(DEFAULTS)}.",
                id=f"{ID}.W001",
            )
        )
    for getter in (get_import_job_model, get_export_job_model):
        try:
            getter()
        except ImproperlyConfigured as exc:
            errors.append(Error(str(exc), id=f"{ID}.E002"))
    backend = user.get("TASK_BACKEND", DEFAULTS["TASK_BACKEND"])
    if backend == "celery":
        errors += _check_celery_app(user.get("CELERY_APP"))
    else:
        errors += check_task_backend(backend)
    for key, allowed in (
        ("IMPORT_FORMATS", set(FORMATS)),
        ("EXPORT_FORMATS", {name for name, f in FORMATS.items() if f.writable}),
    ):
        names = jobs_settings.raw(key)
        if isinstance(names, str) or not hasattr(names, "__iter__"):
            errors.append(
                Error(f"{SETTING_NAME}[{key!r}] must be a list of format names.", id=f"{ID}.E005")
            )
            continue
        for name in names:
            if name not in allowed:
                errors.append(
                    Error(
                        f"{SETTING_NAME}[{key!r}] names unknown format {name!r}.",
                        hint=f"Choose from: {', '.join(sorted(allowed))}.",
                        id=f"{ID}.E005",
                    )
                )
            elif not FORMATS[name].format_class.is_available():
                errors.append(
                    Error(
                        f"{SETTING_NAME}[{key!r}] names {name!r}, but the library it needs is not "
                        "installed.",
                        hint="Install django-import-export with the extra for it.",
                        id=f"{ID}.E006",
                    )
                )
    storage = jobs_settings.raw("STORAGE")
    if storage not in settings.STORAGES:
        errors.append(
            Error(
                f"{SETTING_NAME}['STORAGE'] = {storage!r} is not a key of settings.STORAGES.",
                id=f"{ID}.E007",
            )
        )
    for key in POSITIVE_NUMBERS:
        value = jobs_settings.raw(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            errors.append(
                Error(
                    f"{SETTING_NAME}[{key!r}] must be a positive number, not {value!r}.",
                    id=f"{ID}.E008",
                )
            )
    mode = jobs_settings.raw("COMMIT_MODE")
    if mode not in ("atomic", "chunked"):
        errors.append(
            Error(
                f"{SETTING_NAME}['COMMIT_MODE'] = {mode!r} is not a commit mode.",
                hint="Use 'atomic' (one transaction) or 'chunked' (a commit per chunk).",
                id=f"{ID}.E070",
            )
        )
    tasks = jobs_settings.raw("PARALLEL_IMPORT_TASKS")
    if isinstance(tasks, bool) or not isinstance(tasks, int) or tasks < 1:
        errors.append(
            Error(
                f"{SETTING_NAME}['PARALLEL_IMPORT_TASKS'] = {tasks!r} is not a number of tasks.",
                hint="Use an int >= 1: how many tasks import one chunked import at once.",
                id=f"{ID}.E071",
            )
        )
    threshold = jobs_settings.raw("GC_THRESHOLD")
    if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, int)):
        errors.append(
            Error(
                f"{SETTING_NAME}['GC_THRESHOLD'] = {threshold!r} is not a number of allocations.",
                hint="Use an int (0 or None leaves Python's garbage collector alone).",
                id=f"{ID}.E072",
            )
        )
    errors += _check_input_settings()
    if backend == "celery":
        errors += _check_celery_serialization()
    return errors


def _check_celery_app(app_path: Any) -> list[Any]:
    """``CELERY_APP`` imports, or a Celery app is configured."""
    errors: list[Any] = []
    if app_path is not None:
        try:
            import_string(app_path)
        except ImportError as exc:
            errors.append(
                Error(
                    f"{SETTING_NAME}['CELERY_APP'] = {app_path!r} cannot be imported: {exc}",
                    hint="Use the dotted path of your Celery instance, e.g. 'proj.celery.app'.",
                    id=f"{ID}.E003",
                )
            )
    elif not _celery_app_configured():
        errors.append(
            Error(
                "No Celery app is configured, so job tasks cannot be sent.",
                hint=f"Create your Celery app (usually proj/celery.py imported from "
                f"proj/__init__.py) or set {SETTING_NAME}['CELERY_APP'] to its dotted path.",
                id=f"{ID}.E004",
            )
        )
    return errors


def _tasks_framework() -> Any:
    """``django.tasks``, else the ``django_tasks`` backport, else None."""
    try:
        import django.tasks as framework
    except ImportError:
        try:
            import django_tasks as framework  # type: ignore[no-redef,import-not-found,unused-ignore]
        except ImportError:
            return None
    return framework


def check_task_backend(backend: Any) -> list[Any]:
    """``TASK_BACKEND`` names a known backend; with ``"django"``, the tasks
    framework is installed and ``DJANGO_TASKS_BACKEND`` is a usable alias of
    ``settings.TASKS`` that takes the job queue."""
    if backend != "django":
        return [
            Error(
                f"{SETTING_NAME}['TASK_BACKEND'] = {backend!r} is not a task backend.",
                hint="Use 'celery' (the default) or 'django' (Django's tasks framework).",
                id=f"{ID}.E040",
            )
        ]
    framework = _tasks_framework()
    if framework is None:
        return [
            Error(
                f"{SETTING_NAME}['TASK_BACKEND'] = 'django' needs Django's tasks framework, "
                "which is not installed.",
                hint="Use Django 6, or install the django-tasks backport on Django 5.2 "
                "(pip install 'django-tasks-db[compat]' brings it with a database backend).",
                id=f"{ID}.E041",
            )
        ]
    alias = jobs_settings.raw("DJANGO_TASKS_BACKEND")
    try:
        task_backend = framework.task_backends[alias]
    except Exception as exc:
        return [
            Error(
                f"{SETTING_NAME}['DJANGO_TASKS_BACKEND'] = {alias!r} is not a usable backend "
                f"of settings.TASKS ({TASK_BACKEND_SETTING}): {exc}",
                hint="Configure it in settings.TASKS, e.g. {'default': {'BACKEND': "
                "'django_tasks_db.DatabaseBackend'}} with 'django_tasks_db' in INSTALLED_APPS.",
                id=f"{ID}.E042",
            )
        ]
    errors: list[Any] = []
    module = type(task_backend).__module__.split(".")[0]
    if module == "django_tasks_db" and not apps.is_installed("django_tasks_db"):
        errors.append(
            Error(
                f"{SETTING_NAME}['DJANGO_TASKS_BACKEND'] = {alias!r} is django-tasks-db's "
                f"database backend ({TASK_BACKEND_SETTING}), but its app is not installed.",
                hint="Add 'django_tasks_db' to INSTALLED_APPS and run migrate.",
                id=f"{ID}.E042",
            )
        )
    queue = jobs_settings.raw("TASK_QUEUE") or "default"
    if task_backend.queues and queue not in task_backend.queues:
        errors.append(
            Error(
                f"{SETTING_NAME}['TASK_QUEUE'] = {queue!r} is not among the QUEUES of the "
                f"tasks backend {alias!r} ({TASK_BACKEND_SETTING}).",
                hint=f"Add {queue!r} to settings.TASKS[{alias!r}]['QUEUES'].",
                id=f"{ID}.E043",
            )
        )
    kind = type(task_backend).__name__
    if kind in {"ImmediateBackend", "DummyBackend"}:
        errors.append(
            Warning(
                f"{SETTING_NAME}['DJANGO_TASKS_BACKEND'] = {alias!r} is Django's {kind} "
                f"({TASK_BACKEND_SETTING}): job tasks "
                + ("run inside the web request." if kind == "ImmediateBackend" else "never run."),
                hint="Use a backend with a worker, e.g. django_tasks_db.DatabaseBackend "
                "and its db_worker command.",
                id=f"{ID}.W040",
            )
        )
    return errors


TASK_BACKEND_SETTING = f"{SETTING_NAME}['TASK_BACKEND'] = 'django'"


def _check_celery_serialization() -> list[Any]:
    """Warn when the Celery app would run pickled messages."""
    try:
        from .dispatch import get_celery_app

        conf = get_celery_app().conf
        accepted = {str(name).lower() for name in (conf.accept_content or ())}
    except Exception:  # no usable app: reported by the checks above
        return []
    if accepted & {"pickle", "application/x-python-serialize"}:
        return [
            Warning(
                "The Celery app accepts pickle messages (accept_content), so anyone who can "
                "write to the broker can run code on the workers. The job tasks need JSON only.",
                hint="Set CELERY_ACCEPT_CONTENT = ['json'] (accept_content of the Celery app).",
                id=f"{ID}.W020",
            )
        ]
    return []


def _check_input_settings() -> list[Any]:
    """TEXT_ENCODING names a codec; every THROTTLE_SCOPES scope has a rate."""
    import codecs

    from rest_framework.settings import api_settings

    errors: list[Any] = []
    encoding = jobs_settings.raw("TEXT_ENCODING")
    try:
        codecs.lookup(str(encoding))
    except LookupError:
        errors.append(
            Error(
                f"{SETTING_NAME}['TEXT_ENCODING'] = {encoding!r} is not a known text encoding.",
                hint="Use a Python codec name such as 'utf-8' or 'cp1252'.",
                id=f"{ID}.E020",
            )
        )
    scopes = jobs_settings.raw("THROTTLE_SCOPES")
    if not isinstance(scopes, dict):
        errors.append(
            Error(
                f"{SETTING_NAME}['THROTTLE_SCOPES'] must be a dict of action name to scope.",
                id=f"{ID}.E021",
            )
        )
        return errors
    rates = api_settings.DEFAULT_THROTTLE_RATES or {}
    for action, scope in scopes.items():
        if scope not in rates:
            errors.append(
                Error(
                    f"{SETTING_NAME}['THROTTLE_SCOPES'] gives action {action!r} the scope "
                    f"{scope!r}, which has no rate.",
                    hint=f"Add {scope!r} to REST_FRAMEWORK['DEFAULT_THROTTLE_RATES'].",
                    id=f"{ID}.E021",
                )
            )
    return errors


def _number(value: Any, *, allow_none: bool = False, allow_zero: bool = False) -> bool:
    if value is None:
        return allow_none
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return value >= 0 if allow_zero else value > 0


@register(Tags.compatibility)
def check_fault_settings(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """Check the heartbeat, sweep, publish and retention settings."""
    try:
        raw = {key: jobs_settings.raw(key) for key in FAULT_NUMBERS}
        policy = jobs_settings.raw("TASK_PUBLISH_RETRY_POLICY")
    except ImproperlyConfigured:
        return []  # reported by check_settings
    errors: list[Any] = []
    for key, (allow_none, allow_zero) in FAULT_NUMBERS.items():
        if not _number(raw[key], allow_none=allow_none, allow_zero=allow_zero):
            kind = "zero or more" if allow_zero else "a positive number"
            errors.append(
                Error(
                    f"{SETTING_NAME}[{key!r}] must be {kind}"
                    + (" or None" if allow_none else "")
                    + f", not {raw[key]!r}.",
                    id=f"{ID}.E030",
                )
            )
    if not isinstance(policy, dict) or not _number(policy.get("max_retries"), allow_zero=True):
        errors.append(
            Error(
                f"{SETTING_NAME}['TASK_PUBLISH_RETRY_POLICY'] must be a dict of Celery's "
                f"retry_policy with a bounded 'max_retries', not {policy!r}.",
                hint="An unbounded policy lets a job creation hang while the broker is down.",
                id=f"{ID}.E031",
            )
        )
    heartbeat, stale = raw["HEARTBEAT_SECONDS"], raw["STALE_JOB_TIMEOUT"]
    progress = jobs_settings.raw("PROGRESS_EVERY_SECONDS")
    if not errors and isinstance(progress, (int, float)):
        slowest = max(float(heartbeat) or float(progress), float(progress))
        if stale < 2 * slowest:
            errors.append(
                Warning(
                    f"{SETTING_NAME}['STALE_JOB_TIMEOUT'] = {stale!r} is less than twice "
                    f"HEARTBEAT_SECONDS / PROGRESS_EVERY_SECONDS ({slowest:g}): live jobs "
                    "may be taken for lost.",
                    id=f"{ID}.W030",
                )
            )
    return errors


# key -> (None allowed, zero allowed)
FAULT_NUMBERS: dict[str, tuple[bool, bool]] = {
    "HEARTBEAT_SECONDS": (False, True),
    "STALE_JOB_TIMEOUT": (False, False),
    "RESEND_PENDING_AFTER": (True, True),
    "JOB_RETENTION_DAYS": (True, True),
}


@register(Tags.compatibility)
def check_download_redirect(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """Check ``DOWNLOAD_REDIRECT``: a bool, and with it on a storage whose URLs
    a client can follow (else downloads are streamed and it has no effect)."""
    try:
        redirect = jobs_settings.raw("DOWNLOAD_REDIRECT")
        alias = jobs_settings.raw("STORAGE")
    except ImproperlyConfigured:
        return []  # reported by check_settings
    if not isinstance(redirect, bool):
        return [
            Error(
                f"{SETTING_NAME}['DOWNLOAD_REDIRECT'] must be True or False, not {redirect!r}.",
                id=f"{ID}.E060",
            )
        ]
    if not redirect or alias not in settings.STORAGES:
        return []

    name = f"{jobs_settings.raw('FILES_DIR')}/exports/check.csv"
    try:
        url = storage_url(storages[alias], name, "check.csv", None)
    except Exception as exc:  # any storage, any failure: reported
        url = f"(none: {type(exc).__name__}: {exc})"
    if is_absolute_url(url):
        return []
    return [
        Warning(
            f"{SETTING_NAME}['DOWNLOAD_REDIRECT'] is on, but the storage "
            f"{SETTING_NAME}['STORAGE'] = {alias!r} gives no absolute URL for a job file "
            f"({url}): downloads are streamed by the web process instead.",
            hint="Use a storage with http(s) URLs (django-storages' S3 backend gives "
            "presigned ones), or turn DOWNLOAD_REDIRECT off.",
            id=f"{ID}.W060",
        )
    ]


def check_event_settings(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """Check the event stream and webhook settings (``EVENTS_*``, ``WEBHOOK*``)."""
    try:
        raw = {key: jobs_settings.raw(key) for key in EVENT_NUMBERS}
        webhooks = jobs_settings.raw("WEBHOOKS")
    except ImproperlyConfigured:
        return []  # reported by check_settings
    errors: list[Any] = [
        Error(
            f"{SETTING_NAME}[{key!r}] must be a positive number, not {raw[key]!r}.",
            id=f"{ID}.E050",
        )
        for key in EVENT_NUMBERS
        if not _number(raw[key])
    ]
    return errors + _check_webhooks(webhooks)


def _check_webhooks(webhooks: Any) -> list[Any]:
    name = f"{SETTING_NAME}['WEBHOOKS']"
    if webhooks in (None, []):
        return []
    if not isinstance(webhooks, (list, tuple)):
        return [
            Error(f"{name} must be a list of endpoint dicts, not {webhooks!r}.", id=f"{ID}.E051")
        ]
    errors: list[Any] = []
    for index, endpoint in enumerate(webhooks):
        where = f"{name}[{index}]"
        if not isinstance(endpoint, dict):
            errors.append(
                Error(f"{where} must be a dict with 'url' and 'secret'.", id=f"{ID}.E051")
            )
            continue
        unknown = sorted(set(endpoint) - {"url", "secret", "events"})
        if unknown:
            errors.append(
                Error(
                    f"{where} has unknown key(s) {', '.join(map(repr, unknown))}; "
                    "accepted: 'url', 'secret', 'events'.",
                    id=f"{ID}.E051",
                )
            )
        url = endpoint.get("url")
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            errors.append(
                Error(
                    f"{where}['url'] must be an absolute http:// or https:// URL, not {url!r}.",
                    id=f"{ID}.E052",
                )
            )
        secret = endpoint.get("secret")
        if not isinstance(secret, str) or len(secret) < MIN_WEBHOOK_SECRET:
            errors.append(
                Error(
                    f"{where}['secret'] must be a string of at least {MIN_WEBHOOK_SECRET} "
                    "characters (the key receivers verify the signature with).",
                    hint="Generate one with secrets.token_hex(32).",
                    id=f"{ID}.E053",
                )
            )
        events = endpoint.get("events", [])
        known = set(AbstractImportJob.ImportStatus.values) | set(
            AbstractExportJob.ExportStatus.values
        )
        if not isinstance(events, (list, tuple)) or not all(e in known for e in events):
            errors.append(
                Error(
                    f"{where}['events'] must be a list of job statuses "
                    f"({', '.join(sorted(known))}), not {events!r}.",
                    id=f"{ID}.E054",
                )
            )
    return errors


MIN_WEBHOOK_SECRET = 16

#: Event stream and webhook settings that must be positive numbers.
EVENT_NUMBERS = (
    "EVENTS_POLL_SECONDS",
    "EVENTS_KEEPALIVE_SECONDS",
    "EVENTS_MAX_SECONDS",
    "EVENTS_RETRY_MILLISECONDS",
    "WEBHOOK_TIMEOUT",
    "WEBHOOK_MAX_ATTEMPTS",
    "WEBHOOK_RETRY_BACKOFF",
    "WEBHOOK_RETRY_BACKOFF_MAX",
)
