"""The API schema passes ``redocly lint`` with the recommended rules (except
the trailing slash and ambiguous paths rules: tests/clients/ts/redocly.yaml):
the reviewed schema of the tests and the example project's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.clients.commands import SCHEMA_LINT, fill
from tests.clients.conftest import TS_DIR, run

ROOT = TS_DIR.parent.parent.parent
GOLDEN = ROOT / "tests" / "schema" / "openapi.yaml"


def example_schema(folder: Path) -> Path:
    path = folder / "example-openapi.yaml"
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE")
    }
    subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--file", str(path)],
        cwd=ROOT / "example_project",
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return path


@pytest.mark.slow
def test_the_schemas_pass_redocly_lint(node_modules: Any, tmp_path: Path) -> None:
    for schema in (GOLDEN, example_schema(tmp_path)):
        out = run(fill(SCHEMA_LINT, config=TS_DIR / "redocly.yaml", schema=schema), TS_DIR)
        assert "warning" not in out.lower(), out
