"""Settings of the quickstart project (docs/quickstart.md shows the parts
marked below). The test suite runs ``manage.py check`` and ``migrate`` with
them, and serves ``mysite.urls`` to the quickstart's curl commands."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "quickstart-only-not-secret")
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

# --8<-- [start:apps]
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",  # ?status= on job lists, export filters
    "drf_spectacular",  # the OpenAPI schema and Swagger UI
    "import_export",
    "drf_import_export_jobs",
    "library",  # your app, with its resources
]
# --8<-- [end:apps]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "mysite.urls"
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
# --8<-- [start:database]
# SQLite to try things out; PostgreSQL in production (see Deployment). The
# web server and the worker share the file: WAL lets readers (a poll) run
# while an import writes, IMMEDIATE makes writers queue instead of failing.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("SQLITE_PATH", BASE_DIR / "db.sqlite3"),
        "OPTIONS": {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL;",
        },
    }
}
# --8<-- [end:database]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
STATIC_URL = "static/"
MEDIA_ROOT = os.environ.get("MEDIA_ROOT", BASE_DIR / "media")

# --8<-- [start:rest]
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Library API",
    # Separate request components: binary uploads, clean generated clients.
    "COMPONENT_SPLIT_REQUEST": True,
}
# --8<-- [end:rest]

# --8<-- [start:celery]
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
# The job tasks take a model label and an id: JSON is all they need.
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# --8<-- [end:celery]

# --8<-- [start:jobs]
DRF_IMPORT_EXPORT_JOBS = {
    "MAX_UPLOAD_SIZE": 20 * 1024 * 1024,  # 20 MiB
    "IMPORT_FORMATS": ["csv", "xlsx"],
}
# --8<-- [end:jobs]
