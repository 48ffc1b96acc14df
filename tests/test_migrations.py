"""The package's migrations match its models."""

import io

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_missing_migrations():
    out = io.StringIO()
    try:
        call_command(
            "makemigrations", "drf_import_export_jobs", "--check", "--dry-run", stdout=out
        )
    except SystemExit as exc:  # raised by --check when a migration is missing
        pytest.fail(f"models changed without a migration:\n{out.getvalue()} ({exc})")
