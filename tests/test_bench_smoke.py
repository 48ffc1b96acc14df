"""The benchmark harness still runs (at a toy size: two scenarios, two of the
resources, without the extensions contender, on its own SQLite file). This
checks that it works, not its speed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.run import Bench, arguments

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
            "jobs,raw,copy",
            "--resources",
            "example,rowhook",
            "--database",
            f"sqlite:///{tmp_path / 'bench.sqlite3'}",
            "--data-dir",
            str(tmp_path / "data"),
            "--api-rows",
            "1000",
            "--repeat",
            "2",
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
    assert (
        "| rows | scenario | resource | engine | jobs rows/s | raw rows/s | jobs ÷ raw "
        "| peak RSS MB jobs / raw |" in proc.stdout
    )
    assert "| 200 | import_update | example | bulk |" in proc.stdout
    assert "| 200 | import_update | rowhook | rows |" in proc.stdout
    assert "raw COPY: skipped, COPY ... FROM STDIN needs PostgreSQL" in proc.stdout
    assert "REST requests of a finished 1k-row import job" in proc.stdout
    data = json.loads(results.read_text())
    runs = {(r["scenario"], r["contender"], r["resource"]): r for r in data["results"]}
    assert set(runs) == {
        (scenario, contender, resource)
        for scenario in ("import_update", "export_csv")
        for contender, resource in (("jobs", "example"), ("jobs", "rowhook"), ("raw", None))
    }
    assert all(r["rows"] == 200 and r["peak_rss_mb"] > 0 for r in runs.values())
    # Each measurement ran twice (short runs are repeated); the median one is kept.
    assert all(len(r["takes"]) == 2 and r["seconds"] in r["takes"] for r in runs.values())
    assert runs[("import_update", "jobs", "example")]["engine"] == "bulk"
    job = runs[("import_update", "jobs", "example")]
    assert 0 < job["dry_run_seconds"] + job["import_seconds"] <= job["seconds"]
    assert runs[("import_update", "jobs", "rowhook")]["engine"] == "rows"
    table = {(e["scenario"], e["resource"]): e for e in data["table"]}
    assert set(table) == {
        (scenario, resource)
        for scenario in ("import_update", "export_csv")
        for resource in ("example", "rowhook")
    }
    assert all(set(e["jobs_vs"]) == {"raw"} for e in table.values())
    assert data["notes"] and data["api"]["detail_ms"] > 0
    assert (tmp_path / "data" / "books-new-200.csv").read_text().count("\n") == 201


def test_bench_options_are_checked_before_anything_runs() -> None:
    with pytest.raises(SystemExit, match="unknown scenario/contender/resource: nope"):
        Bench(arguments(["--resources", "default,nope"]))
    with pytest.raises(SystemExit, match="mysql://"):
        Bench(arguments(["--database", "oracle://db/books"]))
    bench = Bench(
        arguments(["--database", "mysql://root@127.0.0.1/scratch", "--contenders", "jobs,copy"])
    )
    assert bench.contenders == ["jobs"]
    assert bench.notes == [
        "raw COPY: skipped, COPY ... FROM STDIN needs PostgreSQL (this run: MySQL/MariaDB)."
    ]
    assert bench.resources == ["example", "default", "rowhook"]
    with pytest.raises(SystemExit, match="--workers needs PostgreSQL"):
        Bench(arguments(["--workers", "1,2"]))
    with pytest.raises(SystemExit, match="--workers: expected numbers"):
        Bench(arguments(["--workers", "1,two"]))
    assert Bench(arguments(["--scenarios="])).contenders == []


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres")
    or not os.environ.get("CELERY_BROKER_URL", "").startswith("redis"),
    reason="needs PostgreSQL (DATABASE_URL) and Redis (CELERY_BROKER_URL)",
)
def test_bench_times_one_import_job_on_1_and_2_celery_workers(tmp_path: Path) -> None:
    """The --workers part starts real worker processes, lets them run the
    job, checks the table and stops them again."""
    results = tmp_path / "results.json"
    server = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    database = f"{server}/{os.environ.get('TEST_DATABASE_NAME', 'test')}_bench_workers"
    env = {**os.environ, "DJANGO_MEDIA_ROOT": str(tmp_path / "media")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.run",
            *("--sizes", "300", "--scenarios=", "--api-rows", "0", "--workers", "1,2"),
            *("--database", database, "--broker", os.environ["CELERY_BROKER_URL"]),
            *("--data-dir", str(tmp_path / "data"), "--json", str(results)),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "| workers | dry run s | import s | import rows/s | whole flow rows/s" in proc.stdout
    assert "2 workers ÷ 1: import " in proc.stdout
    data = json.loads(results.read_text())["workers"]
    runs = {r["workers"]: r for r in data["results"]}
    assert set(runs) == {1, 2}
    for count, run in runs.items():
        assert run["rows"] == 300 and run["commit_mode"] == "chunked"
        assert set(run["tasks"]) == {f"bench{n}" for n in range(1, count + 1)}
        names = [name for tasks in run["tasks"].values() for name, _ in tasks]
        assert names.count("parse_import_job") == 1 and names.count("import_job_data") == 1
    assert [(e["workers"], e["vs_workers"]) for e in data["ratios"]] == [(2, 1)]
