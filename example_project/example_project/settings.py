"""Settings of the example project.

Without any environment variable it runs on SQLite and kombu's filesystem
broker, both kept under ``example_project/var/`` (``EXAMPLE_VAR_DIR`` moves
that folder: the tests run the project in a temporary one). ``DATABASE_URL`` (e.g.
``postgres://user:pass@localhost/books``) and ``CELERY_BROKER_URL`` (e.g.
``redis://localhost:6379/0``) switch to real servers. ``JOBS_TASK_BACKEND``
picks what runs the job tasks: ``celery`` (the default, a Celery worker) or
``django`` (Django's tasks framework on the database: django-tasks-db's
``manage.py db_worker``, no broker at all).
"""

import os
from pathlib import Path

import dj_database_url
import django
from celery.schedules import crontab


def env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("EXAMPLE_VAR_DIR") or BASE_DIR / "var")
VAR_DIR.mkdir(parents=True, exist_ok=True)
MEDIA_ROOT = Path(os.environ.get("DJANGO_MEDIA_ROOT") or VAR_DIR / "media")
MEDIA_ROOT.mkdir(parents=True, exist_ok=True)

DEBUG = env_flag("DJANGO_DEBUG", True)
SECRET_KEY = os.environ.get(
    "DJANGO_SECRET_KEY", "example-project-dev-only-insecure-key-change-me-in-production"
)
if DEBUG:
    ALLOWED_HOSTS = ["*"]
else:
    ALLOWED_HOSTS = [
        host.strip()
        for host in os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",")
        if host.strip()
    ]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "import_export",
    "drf_import_export_jobs",
    "books",
]

# What runs the job tasks: "celery" or "django" (DRF_IMPORT_EXPORT_JOBS below).
JOBS_TASK_BACKEND = os.environ.get("JOBS_TASK_BACKEND", "celery")
if JOBS_TASK_BACKEND == "django":
    # Django's tasks framework with a database backend and worker
    # (django-tasks-db); on Django 5.2 through the django-tasks backport.
    INSTALLED_APPS.append("django_tasks_db")
    if django.VERSION < (6,):
        INSTALLED_APPS.append("django_tasks")
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example_project.urls"
WSGI_APPLICATION = "example_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# -- database -------------------------------------------------------------------

# The server, the worker processes and demo_jobs share an SQLite file: wait for
# the write lock instead of failing, and take it when a transaction starts (no
# "database is locked" when a reading transaction later wants to write).
SQLITE_OPTIONS = {"timeout": 30, "transaction_mode": "IMMEDIATE"}

if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"])}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        DATABASES["default"]["OPTIONS"] = {
            **SQLITE_OPTIONS,
            **DATABASES["default"].get("OPTIONS", {}),
        }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
            "OPTIONS": SQLITE_OPTIONS,
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# -- files ----------------------------------------------------------------------

STATIC_URL = "static/"
MEDIA_URL = "media/"
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT)},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# -- Celery ---------------------------------------------------------------------

if os.environ.get("CELERY_BROKER_URL"):
    CELERY_BROKER_URL = os.environ["CELERY_BROKER_URL"]
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, str] = {}
else:
    # kombu's filesystem transport: messages are files in var/broker, so the
    # demo needs no broker server.
    BROKER_DIR = VAR_DIR / "broker"
    BROKER_CONTROL_DIR = VAR_DIR / "broker-control"
    BROKER_DIR.mkdir(parents=True, exist_ok=True)
    BROKER_CONTROL_DIR.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR),
        "data_folder_out": str(BROKER_DIR),
        "control_folder": str(BROKER_CONTROL_DIR),
    }
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
# Celery beat (``celery -A example_project worker -B`` in run-demo): the sweep
# ends jobs whose worker died and resends jobs stuck pending; the purge
# deletes finished jobs older than JOB_RETENTION_DAYS with their files.
CELERY_BEAT_SCHEDULE = {
    "sweep-import-export-jobs": {
        "task": "drf_import_export_jobs.sweep_jobs",
        "schedule": 60.0,
        "options": {"expires": 50},
    },
    "purge-import-export-jobs": {
        "task": "drf_import_export_jobs.purge_jobs",
        "schedule": crontab(hour=3, minute=30),
        "options": {"expires": 3600},
    },
}

DRF_IMPORT_EXPORT_JOBS = {
    "TASK_BACKEND": JOBS_TASK_BACKEND,
    "CELERY_APP": "example_project.celery.app",
}

# -- REST framework -------------------------------------------------------------

LOGIN_URL = "rest_framework:login"
LOGIN_REDIRECT_URL = "/api/docs/"

REST_FRAMEWORK = {
    # Basic first: a request without credentials, or with bad ones, is a 401
    # with `WWW-Authenticate: Basic` (DRF answers with the first class's
    # header; session authentication has none and would make it a 403).
    # Session (browsable API, Swagger UI after logging in) and token
    # (`Authorization: Token <key>`) are still accepted.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.BasicAuthentication",
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "drf-import-export-jobs example",
    "DESCRIPTION": (
        "Background import and export jobs for the books and authors of the example "
        "project.\n\n"
        "Authenticate with **Authorize** (HTTP Basic: demo/demo in the demo), or "
        "[log in with a session](/api/auth/login/?next=/api/docs/) and reload, or send "
        "`Authorization: Token <key>` with a token from `POST /api/auth/token/`."
    ),
    "VERSION": "0.1.0",
    "LICENSE": {"name": "MIT", "url": "https://opensource.org/licenses/MIT"},
    # Where generated clients send requests by default (EXAMPLE_API_URL).
    "SERVERS": [
        {
            "url": os.environ.get("EXAMPLE_API_URL", "http://127.0.0.1:8000"),
            "description": "The example project",
        }
    ],
    # The schema view itself is no operation of the API (nor its 100 `lang`s).
    "SERVE_INCLUDE_SCHEMA": False,
    # Request bodies get their own components (BookExportJobCreateRequest) and
    # uploads are typed as binary.
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and Redoc from drf-spectacular-sidecar: no CDN needed.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True},
}

# -- logging --------------------------------------------------------------------

# The package's INFO messages (skipped deliveries, cancelled jobs) show in the
# worker log, through the handler Celery installs on the root logger. Server
# errors (a 500 and its traceback) go to stderr also when DEBUG is off, where
# Django's defaults would only mail them to ADMINS.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {
        "drf_import_export_jobs": {"level": "INFO"},
        "django.request": {"handlers": ["stderr"], "level": "ERROR", "propagate": False},
    },
}
