"""The benchmark harness still runs (at a toy size: two scenarios, without the
extensions contender, on its own SQLite file). This checks that it works, not its speed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def test_bench_runs_every_scenario_at_a_toy_size(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    env = {**os.environ, "DJANGO_MEDIA_ROOT": str(tmp_path / "media")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.run",
            "--sizes",
            "200",
            "--scenarios",
            "import_update,export_csv",
            "--contenders",
            "jobs,raw",
            "--database",
            f"sqlite:///{tmp_path / 'bench.sqlite3'}",
            "--data-dir",
            str(tmp_path / "data"),
            "--api-rows",
            "1000",
            "--json",
            str(results),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "| 200 | import_update | drf-import-export-jobs | 200 |" in proc.stdout
    assert "REST requests of a finished 1k-row import job" in proc.stdout
    data = json.loads(results.read_text())
    runs = {(r["scenario"], r["contender"]): r for r in data["results"]}
    assert set(runs) == {
        (scenario, contender)
        for scenario in ("import_update", "export_csv")
        for contender in ("jobs", "raw")
    }
    assert all(r["rows"] == 200 and r["peak_rss_mb"] > 0 for r in runs.values())
    assert data["api"]["detail_ms"] > 0
    assert (tmp_path / "data" / "books-new-200.csv").read_text().count("\n") == 201
