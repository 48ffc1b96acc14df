"""Settings of the worker process of ``test_shared_storage.py``: the test
settings with job files in the S3 bucket at ``TEST_S3_ENDPOINT_URL`` and local
folders of its own (``TEST_MEDIA_ROOT``; the test gives it its own TMPDIR too),
so that it shares nothing with the web process but the database, the broker
and the bucket."""

import os

from tests.s3storage import s3_storages
from tests.settings import *  # noqa: F403

MEDIA_ROOT = os.environ["TEST_MEDIA_ROOT"]
STORAGES = s3_storages(os.environ["TEST_S3_ENDPOINT_URL"])
