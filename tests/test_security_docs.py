"""docs/security.md names tests that exist, and settings that exist."""

import re
from pathlib import Path

from drf_import_export_jobs.conf import DEFAULTS

ROOT = Path(__file__).resolve().parent.parent
TEXT = (ROOT / "docs" / "security.md").read_text()


def test_every_test_named_in_the_security_page_exists():
    defined = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        defined |= set(re.findall(r"^def (test_\w+)", path.read_text(), flags=re.M))
    named = set(re.findall(r"\b(test_\w+)\b(?!\.py)", TEXT))
    assert named, "the page names no test"
    assert sorted(named - defined) == []


def test_every_setting_named_in_the_security_page_exists():
    named = set(re.findall(r"`([A-Z][A-Z_]+)`", TEXT))
    # Django's, DRF's and Celery's own settings are named too.
    foreign = ("DEFAULT_", "DATA_UPLOAD_", "CELERY_")
    named = {name for name in named if "_" in name and not name.startswith(foreign)}
    assert named
    assert sorted(named - set(DEFAULTS)) == []
