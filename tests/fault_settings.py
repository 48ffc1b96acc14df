"""Settings of the worker processes that ``test_worker_faults.py`` kills: the
test settings with a fast heartbeat."""

from tests.settings import *  # noqa: F403
from tests.settings import DRF_IMPORT_EXPORT_JOBS as _BASE

DRF_IMPORT_EXPORT_JOBS = {**_BASE, "HEARTBEAT_SECONDS": 0.2}
