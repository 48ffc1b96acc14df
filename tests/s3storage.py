"""The S3 storage of the shared-storage tests: django-storages' S3 backend on
a bucket of moto's S3-compatible server, which the tests start on loopback.

Used by the test process (``override_settings(STORAGES=...)``) and by the
worker process they start (``tests/storage_settings.py``), so that both
reach the same bucket and nothing else.
"""

from __future__ import annotations

from typing import Any

BUCKET = "diej-shared-storage"
#: moto accepts any credentials; these only have to be the same on both sides.
CREDENTIALS = {"access_key": "testing", "secret_key": "testing", "region_name": "us-east-1"}
#: Seconds a presigned download URL stays valid (django-storages' querystring_expire).
URL_EXPIRY = 300


def s3_storage(endpoint_url: str) -> dict[str, Any]:
    """A ``STORAGES`` entry for the test bucket on the server at ``endpoint_url``."""
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": BUCKET,
            "endpoint_url": endpoint_url,
            "addressing_style": "path",
            "signature_version": "s3v4",
            "querystring_expire": URL_EXPIRY,
            # Files read from the bucket spill to a local temporary file past
            # this size: small, so that the worker's reads of the test files do
            # (in its own TMPDIR, which must be empty again afterwards).
            "max_memory_size": 4096,
            **CREDENTIALS,
        },
    }


def s3_storages(endpoint_url: str) -> dict[str, Any]:
    """``STORAGES`` with the test bucket as the default (job) storage."""
    return {
        "default": s3_storage(endpoint_url),
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
