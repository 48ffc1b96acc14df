"""Django settings of the benchmark's scenario processes.

``BENCH_SUITE=jobs`` (default) runs the example project with this package;
``BENCH_SUITE=ext`` runs the example's ``books`` app with
django-import-export-extensions, in that package's own virtualenv. Both use
the database of ``BENCH_DATABASE_URL`` and store files under ``bench/var``.
"""

import os
import sys
from pathlib import Path

import dj_database_url

BENCH_DIR = Path(__file__).resolve().parent
VAR_DIR = BENCH_DIR / "var"
sys.path.insert(0, str(BENCH_DIR.parent / "example_project"))
SUITE = os.environ.get("BENCH_SUITE", "jobs")
os.environ.setdefault("DJANGO_MEDIA_ROOT", str(VAR_DIR / "media"))

if SUITE == "jobs":
    from example_project.settings import *  # noqa: F403

    # Room for the 1M-row files (about 125 MB as CSV).
    DRF_IMPORT_EXPORT_JOBS = {"MAX_UPLOAD_SIZE": 1024**3, "MAX_ROWS": 2_000_000}
    if os.environ.get("BENCH_BROKER_URL"):
        # The --workers part (bench/workers.py): Celery worker processes on a
        # Redis broker run the job's tasks from their own queue, chunked.
        CELERY_BROKER_URL = os.environ["BENCH_BROKER_URL"]
        CELERY_BROKER_TRANSPORT_OPTIONS = {}
        CELERY_TASK_ALWAYS_EAGER = False
        # A worker busy with a task reserves no other one: a second task of
        # the job goes to an idle worker.
        CELERY_WORKER_PREFETCH_MULTIPLIER = 1
        DRF_IMPORT_EXPORT_JOBS |= {
            "TASK_BACKEND": "celery",
            "CELERY_APP": "example_project.celery.app",
            "TASK_QUEUE": os.environ["BENCH_QUEUE"],
            "COMMIT_MODE": "chunked",
            "PARALLEL_IMPORT_TASKS": int(os.environ["BENCH_PARALLEL_TASKS"]),
        }
else:
    SECRET_KEY = "benchmark-only"
    INSTALLED_APPS = [
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "import_export",
        "import_export_extensions",
        "books",
    ]
    USE_TZ = True
    TIME_ZONE = "UTC"
    MEDIA_ROOT = os.environ["DJANGO_MEDIA_ROOT"]
    MEDIA_URL = "media/"
    STORAGES = {
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": MEDIA_ROOT},
        },
    }
    CELERY_TASK_ALWAYS_EAGER = True
    # Allow the benchmark's largest files (the default stops at 100,000 rows).
    IMPORT_EXPORT_MAX_DATASET_ROWS = 10_000_000

DEBUG = False
ALLOWED_HOSTS = ["*"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATABASES = {"default": dj_database_url.parse(os.environ["BENCH_DATABASE_URL"])}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {"timeout": 30}
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
