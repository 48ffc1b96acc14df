"""Settings of the guides' example project: the quickstart's settings
(docs/quickstart.md; tests/test_docs_examples.py checks that every line of
the page is here) and what ``startproject`` writes. The test suite runs
``manage.py check`` and ``migrate`` with them."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "quickstart-only-not-secret")
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

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
    "drf_spectacular_sidecar",  # Swagger UI's files, served by your server
    "import_export",
    "drf_import_export_jobs",
    "library",  # your app, with its resources
]

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
# SQLite to try things out; PostgreSQL in production (see Deployment). The
# web server and the worker share the file: WAL lets readers (a poll) run
# while an import writes, IMMEDIATE makes writers queue instead of failing.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / "db.sqlite3",
        "OPTIONS": {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL;",
        },
    }
}
# Uploads, exports and error reports go to the default storage: files here.
MEDIA_ROOT = BASE_DIR / "media"
# The test suite puts the database and the files in a folder of its own.
if os.environ.get("SQLITE_PATH"):
    DATABASES["default"]["NAME"] = os.environ["SQLITE_PATH"]
if os.environ.get("MEDIA_ROOT"):
    MEDIA_ROOT = os.environ["MEDIA_ROOT"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
STATIC_URL = "static/"

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Library API",
    # Separate request components: binary uploads, clean generated clients.
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and Redoc from drf-spectacular-sidecar's static files.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
# The job tasks take a model label and an id: JSON is all they need.
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]

DRF_IMPORT_EXPORT_JOBS = {
    "MAX_UPLOAD_SIZE": 20 * 1024 * 1024,  # 20 MiB
    "IMPORT_FORMATS": ["csv", "xlsx"],
}
