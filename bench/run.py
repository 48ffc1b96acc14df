"""Runs the benchmark: ``python -m bench.run [options]`` (``make bench``).

For every size, every scenario runs each contender in a fresh process on the
same database and prints rows/s, peak RSS and how this package compares:

- ``jobs``: this package's whole flow (create the job, parse_data -> parsed,
  confirm_import, import_data -> imported; export job -> exported), the model
  methods called in-process (no broker);
- ``ext``: django-import-export-extensions (its own virtualenv,
  ``bench/.venv-ext``, created on first use), the same flow;
- ``die``: plain django-import-export ``resource.import_data`` / ``export``;
- ``raw``: a hand-written loop (csv.reader + bulk_create/bulk_update; values_list
  + csv.writer or openpyxl write-only).

A contender that would run past ``--budget`` seconds at a size runs on the
``--fallback`` file instead and its rows/s is compared (marked ``*``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.datafiles import data_file

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
EXT_VENV = BENCH_DIR / ".venv-ext"
CONTENDERS = ("jobs", "ext", "die", "raw")
LABELS = {
    "jobs": "drf-import-export-jobs",
    "ext": "import-export-extensions 1.11.0",
    "die": "django-import-export",
    "raw": "raw loop",
}
SCENARIOS = ("import_new", "import_update", "export_csv", "export_xlsx")


def parse_size(text: str) -> int:
    text = text.strip().lower().replace("_", "")
    for suffix, factor in (("k", 1_000), ("m", 1_000_000)):
        if text.endswith(suffix):
            return int(float(text[:-1]) * factor)
    return int(text)


def human(size: int) -> str:
    if size % 1_000_000 == 0:
        return f"{size // 1_000_000}M"
    return f"{size // 1000}k" if size % 1000 == 0 else str(size)


def ratio_text(ratio: float) -> str:
    return f"{ratio:.2f}x" if ratio >= 0.1 else f"{ratio:.3f}x"


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--sizes", default="10k,100k,1M", help="row counts, e.g. 10k,100k,1M")
    parser.add_argument(
        "--database",
        default="sqlite",
        help="'sqlite' (bench/var/bench.sqlite3), a sqlite:///PATH or a postgres:// URL of a "
        "scratch database; the database is dropped and created anew",
    )
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--contenders", default=",".join(CONTENDERS))
    parser.add_argument("--import-format", default="csv", choices=("csv", "xlsx"))
    parser.add_argument("--budget", type=float, default=600, help="seconds per run (default 600)")
    parser.add_argument("--fallback", default="10k", help="size run by over-budget contenders")
    parser.add_argument(
        "--api-rows", default="1M", help="rows of the job whose REST requests are timed; 0: skip"
    )
    parser.add_argument("--data-dir", default=str(BENCH_DIR / "data"))
    parser.add_argument("--json", help="also write the results to this JSON file")
    return parser.parse_args(argv)


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.sizes = sorted(parse_size(s) for s in args.sizes.split(","))
        self.fallback = parse_size(args.fallback)
        self.scenarios = [s for s in args.scenarios.split(",") if s]
        self.contenders = [c for c in args.contenders.split(",") if c]
        unknown = set(self.scenarios) - set(SCENARIOS) | set(self.contenders) - set(CONTENDERS)
        if unknown:
            raise SystemExit(f"unknown scenario/contender: {', '.join(sorted(unknown))}")
        self.data_dir = Path(args.data_dir)
        self.var = BENCH_DIR / "var"
        self.var.mkdir(exist_ok=True)
        self.database_url = self._database_url(args.database)
        self.results: list[dict[str, Any]] = []
        self.rates: dict[tuple[str, str], float] = {}
        self.measured: dict[tuple[str, str, int], dict[str, Any]] = {}
        # What the books table holds: ("update", size) after an export setup.
        self.state: tuple[str, int] | None = None

    # -- environment ----------------------------------------------------------

    def _database_url(self, database: str) -> str:
        if database == "sqlite":
            return f"sqlite:///{self.var / 'bench.sqlite3'}"
        if not database.startswith(("sqlite:///", "postgres://", "postgresql://")):
            raise SystemExit("--database: expected sqlite, sqlite:///PATH or postgres://...")
        return database

    def python(self, contender: str) -> str:
        return str(EXT_VENV / "bin" / "python") if contender == "ext" else sys.executable

    def env(self, contender: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            BENCH_DATABASE_URL=self.database_url,
            BENCH_SUITE="ext" if contender == "ext" else "jobs",
            DJANGO_SETTINGS_MODULE="bench.settings",
            PYTHONPATH=str(ROOT),
        )
        return env

    def ensure_ext_venv(self) -> None:
        if (EXT_VENV / ".installed").exists():
            return
        print("Creating bench/.venv-ext (django-import-export-extensions)...", flush=True)
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", str(EXT_VENV)], check=True)
        pip = [str(EXT_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, "-r", str(BENCH_DIR / "requirements-ext.txt")], check=True)
        (EXT_VENV / ".installed").touch()

    def create_database(self) -> None:
        if self.database_url.startswith("sqlite"):
            Path(self.database_url.removeprefix("sqlite:///")).unlink(missing_ok=True)
        else:
            import psycopg
            from psycopg import sql

            name = self.database_url.rsplit("/", 1)[1].split("?")[0]
            admin = self.database_url.rsplit("/", 1)[0] + "/postgres"
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        suites = ["jobs"] + (["ext"] if "ext" in self.contenders else [])
        for suite in suites:
            subprocess.run(
                [self.python(suite), "-m", "django", "migrate", "-v0"],
                check=True,
                cwd=ROOT,
                env=self.env(suite),
            )

    def step(self, contender: str, *args: str) -> dict[str, Any]:
        proc = subprocess.run(
            [self.python(contender), "-m", "bench.scenarios", *args],
            cwd=ROOT,
            env=self.env(contender),
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            sys.stderr.write(proc.stdout + proc.stderr)
            raise RuntimeError(f"step {' '.join(args)} ({contender}) failed")
        return json.loads(proc.stdout.strip().splitlines()[-1])

    # -- running --------------------------------------------------------------

    def file(self, size: int, kind: str, file_format: str | None = None) -> Path:
        return data_file(self.data_dir, size, kind, file_format or self.args.import_format)

    def effective_size(self, contender: str, scenario: str, size: int) -> int:
        """``size``, or the fallback size when the run would exceed the budget."""
        if size <= self.fallback:
            return size
        rate = self.rates.get((contender, scenario))
        if rate is None:
            self.measure(contender, scenario, self.fallback)
            rate = self.rates[(contender, scenario)]
        return size if size / rate <= self.args.budget else self.fallback

    def setup(self, scenario: str, size: int) -> None:
        """Empty the books table and load what the scenario starts from."""
        state = ("update", size) if scenario.startswith("export") else None
        if state and state == self.state:
            return  # exports leave the table as it was
        self.step("raw", "prepare")
        if scenario == "import_update":
            self.step("raw", "load", str(self.file(size, "new", "csv")))
        elif state:
            self.step("raw", "load", str(self.file(size, "update", "csv")))
        self.state = state

    def measure(self, contender: str, scenario: str, size: int) -> dict[str, Any]:
        key = (contender, scenario, size)
        if key in self.measured:
            return self.measured[key]
        self.setup(scenario, size)
        file = ""
        if scenario.startswith("import"):
            kind = "new" if scenario == "import_new" else "update"
            file = str(self.file(size, kind))
        print(f"  {scenario:<13} {LABELS[contender]:<32} {human(size):>5} ...", end="", flush=True)
        result = self.step(contender, "run", contender, scenario, file)
        result["rate"] = result["rows"] / result["seconds"] if result["seconds"] else 0.0
        if file:
            self.state = None
            verdict = result.pop("check")
            if not verdict["ok"]:
                raise RuntimeError(f"{contender} {scenario} left a wrong table: {verdict}")
        print(f" {result['seconds']:8.1f} s {result['rate']:>10,.0f} rows/s", flush=True)
        self.measured[key] = result
        self.rates[(contender, scenario)] = result["rate"]
        return result

    def run(self) -> None:
        started = time.monotonic()
        if "ext" in self.contenders:
            self.ensure_ext_venv()
        print(f"Database: {self.describe_database()}", flush=True)
        self.create_database()
        for size in self.sizes:
            print(f"{human(size)} rows", flush=True)
            for scenario in self.scenarios:
                for contender in self.contenders:
                    used = self.effective_size(contender, scenario, size)
                    result = self.measure(contender, scenario, used)
                    self.results.append(
                        {
                            "size": size,
                            "scenario": scenario,
                            "contender": contender,
                            "ran_size": used,
                            **result,
                        }
                    )
        api = None
        api_rows = parse_size(self.args.api_rows)
        if api_rows:
            self.step("raw", "prepare")
            self.state = None
            api = self.step("jobs", "api", str(api_rows))
        print()
        print(self.table(api, api_rows))
        print(f"\nTotal time: {time.monotonic() - started:.0f} s")
        if self.args.json:
            Path(self.args.json).write_text(
                json.dumps({"results": self.results, "api": api}, indent=2)
            )

    def describe_database(self) -> str:
        if self.database_url.startswith("sqlite"):
            return "SQLite " + self.database_url.removeprefix("sqlite:///")
        return "PostgreSQL " + self.database_url.rsplit("@", 1)[-1]

    # -- output ---------------------------------------------------------------

    def table(self, api: dict[str, Any] | None, api_rows: int) -> str:
        head = "| rows | scenario | contender | ran on | rows/s | peak RSS MB | jobs ÷ this |"
        lines = [
            f"Database: {self.describe_database()}, import files: {self.args.import_format}",
            "",
            head,
            "|---:|---|---|---:|---:|---:|---:|",
        ]
        footnote = False
        for size in self.sizes:
            for scenario in self.scenarios:
                rows = [r for r in self.results if r["size"] == size and r["scenario"] == scenario]
                ours = next((r for r in rows if r["contender"] == "jobs"), None)
                for r in rows:
                    ran = human(r["ran_size"])
                    if r["ran_size"] != size:
                        ran += "*"
                        footnote = True
                    ratio = (
                        ratio_text(ours["rate"] / r["rate"])
                        if ours and r["contender"] != "jobs" and r["rate"]
                        else ""
                    )
                    lines.append(
                        f"| {human(size)} | {scenario} | {LABELS[r['contender']]} | {ran} "
                        f"| {r['rate']:,.0f} | {r['peak_rss_mb']:.0f} | {ratio} |"
                    )
        if footnote:
            lines.append(
                f"\n\\* would run past ~{self.args.budget / 60:.0f} min at this size: ran on "
                f"the {human(self.fallback)} file instead; its rows/s is compared."
            )
        if api:
            lines.append(
                f"\nREST requests of a finished {human(api_rows)}-row import job (median server "
                f"time): detail {api['detail_ms']:.1f} ms, list {api['list_ms']:.1f} ms."
            )
        return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    Bench(arguments(argv)).run()


if __name__ == "__main__":
    main()
