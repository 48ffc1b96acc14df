"""Settings for the test suite.

SQLite (a file, so a worker process can share it) and kombu's filesystem
broker by default; ``DATABASE_URL`` and ``CELERY_BROKER_URL`` switch to real
servers, e.g. PostgreSQL and Redis.
"""

import json
import os
import sys
import tempfile
from pathlib import Path

import dj_database_url
import django

BASE_DIR = Path(__file__).resolve().parent
RUN_DIR = Path(os.environ.get("TEST_RUN_DIR") or tempfile.mkdtemp(prefix="diej-tests-"))
if os.environ.get("PYTEST_XDIST_WORKER"):
    # pytest -n: each test process has its own files (and database).
    RUN_DIR = RUN_DIR / os.environ["PYTEST_XDIST_WORKER"]
    RUN_DIR.mkdir(parents=True, exist_ok=True)
os.environ["TEST_RUN_DIR"] = str(RUN_DIR)

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
USE_TZ = True
# The test app's migrations create BigAutoField ids (Django 6's default);
# on Django 5.2 the models must say so too, or their tables differ from them.
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
TIME_ZONE = "UTC"
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    # The live server of the browser tests serves the admin's CSS and scripts.
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "import_export",
    "drf_import_export_jobs",
    "tests.testapp",
    # Django's tasks framework with its database backend: the job tasks' other
    # backend (TASK_BACKEND "django", tests/test_django_tasks_integration.py).
    "django_tasks_db",
]
if django.VERSION < (6,):
    INSTALLED_APPS.append("django_tasks")  # the backport of django.tasks

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
ROOT_URLCONF = "tests.urls"

_sqlite_path = RUN_DIR / "test.sqlite3"
if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"])}
    DATABASES["default"].setdefault("TEST", {})
    # Lets several checkouts run the suite on one server side by side.
    if os.environ.get("TEST_DATABASE_NAME"):
        DATABASES["default"]["TEST"]["NAME"] = os.environ["TEST_DATABASE_NAME"]
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(_sqlite_path),
            # A file, not memory: the worker process of the integration tests
            # opens the same database.
            "TEST": {"NAME": str(_sqlite_path)},
            # WAL: readers (an export, a status poll) never block the writer.
            # IMMEDIATE: a transaction takes the write lock when it starts, so
            # two workers wait for each other instead of failing at once with
            # "database is locked" when a reader tries to become a writer.
            "OPTIONS": {
                "timeout": 30,
                "init_command": "PRAGMA journal_mode=WAL;",
                "transaction_mode": "IMMEDIATE",
            },
        }
    }

# The integration tests' worker process is pointed at the test database.
if os.environ.get("TEST_DB_NAME"):
    DATABASES["default"]["NAME"] = os.environ["TEST_DB_NAME"]

STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(RUN_DIR / "media")},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# pytest-django's live_server (the generated-client tests) serves static
# files under this prefix and fails on every request without it.
STATIC_URL = "/static/"

# Tests create users with passwords (the admin's, the API's Basic auth): the
# default hasher's ~1M PBKDF2 rounds cost a third of a second per user, which
# would dominate the fast tier. Not a setting for a real project.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

for _folder in ("broker", "broker-control", "media"):
    (RUN_DIR / _folder).mkdir(parents=True, exist_ok=True)

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {}
    if os.environ.get("CELERY_BROKER_URL")
    else {
        "data_folder_in": str(RUN_DIR / "broker"),
        "data_folder_out": str(RUN_DIR / "broker"),
        "control_folder": str(RUN_DIR / "broker-control"),
        "polling_interval": 0.1,
    }
)
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]

# Any queue: each worker-fault test has a queue of its own.
TASKS = {
    "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": []},
    # For tests that start a db_worker of their own with other settings (the
    # webhook tests): the session's db_worker, which takes every queue of
    # "default", never takes these tasks.
    "isolated": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": []},
}

DRF_IMPORT_EXPORT_JOBS = {
    # The django.tasks worker process of the integration tests gets "django".
    "TASK_BACKEND": os.environ.get("TEST_TASK_BACKEND", "celery"),
    "CELERY_APP": "tests.celery_app.app",
    "CHUNK_SIZE": 50,
    "PROGRESS_EVERY_ROWS": 50,
}
# The webhook tests start workers of their own with more settings (JSON): the
# receiver's endpoints, a queue of their own, short backoffs.
if os.environ.get("TEST_JOBS_SETTINGS"):
    DRF_IMPORT_EXPORT_JOBS.update(json.loads(os.environ["TEST_JOBS_SETTINGS"]))

REST_FRAMEWORK = {
    # Basic first, so an anonymous request is a 401 (with WWW-Authenticate).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.BasicAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "drf-import-export-jobs test API",
    "VERSION": "0.0.0",
    "COMPONENT_SPLIT_REQUEST": True,
    "LICENSE": {"name": "MIT", "url": "https://opensource.org/licenses/MIT"},
    "SERVERS": [{"url": "http://127.0.0.1:8000", "description": "The test server"}],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"drf_import_export_jobs": {"handlers": ["console"], "level": "INFO"}},
}

# The documentation's quickstart project (docs/examples/quickstart): its app
# is installed so that the tests run the code the docs show.
DOCS_QUICKSTART = BASE_DIR.parent / "docs" / "examples" / "quickstart"
if str(DOCS_QUICKSTART) not in sys.path:
    sys.path.insert(0, str(DOCS_QUICKSTART))
INSTALLED_APPS.append("library")
