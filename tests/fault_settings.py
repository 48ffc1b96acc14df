"""Settings of the worker processes that ``test_worker_faults.py`` kills: the
test settings with a fast heartbeat and a short STALE_JOB_TIMEOUT (what a
redelivered task compares the heartbeat with)."""

import os

from tests.settings import *  # noqa: F403
from tests.settings import CELERY_BROKER_TRANSPORT_OPTIONS as _TRANSPORT
from tests.settings import DRF_IMPORT_EXPORT_JOBS as _BASE

# TEST_STALE_JOB_TIMEOUT: a worker that must not rely on the timeout at all.
DRF_IMPORT_EXPORT_JOBS = {
    **_BASE,
    "HEARTBEAT_SECONDS": 0.2,
    "STALE_JOB_TIMEOUT": float(os.environ.get("TEST_STALE_JOB_TIMEOUT", 2)),
}

# Redis hands an unacknowledged message (its worker was killed) to another
# worker once it has been out for this many seconds.
if os.environ.get("TEST_VISIBILITY_TIMEOUT"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        **_TRANSPORT,
        "visibility_timeout": float(os.environ["TEST_VISIBILITY_TIMEOUT"]),
    }

# A worker started with -B runs the sweep every TEST_BEAT_SWEEP_SECONDS on its
# own queue (the test's), as a project's beat schedule would.
if os.environ.get("TEST_BEAT_SWEEP_SECONDS"):
    CELERY_BEAT_SCHEDULE = {
        "sweep-import-export-jobs": {
            "task": "drf_import_export_jobs.sweep_jobs",
            "schedule": float(os.environ["TEST_BEAT_SWEEP_SECONDS"]),
            "options": {"queue": os.environ["TEST_BEAT_QUEUE"], "expires": 5},
        }
    }
