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
  + csv.writer or openpyxl write-only);
- ``copy``: new rows only, PostgreSQL only: csv.reader + psycopg's
  ``cursor.copy`` (``COPY books_book FROM STDIN``).

``jobs``, ``ext`` and ``die`` run once per resource of ``--resources``:
``example`` (the example's BookResource), ``default`` (the same resource with
django-import-export's default options) and ``rowhook`` (``default`` plus a
``before_import_row`` hook, so row by row); see ``bench/resources.py``.

A contender that would run past ``--budget`` seconds at a size runs on the
``--fallback`` file instead and its rows/s is compared (marked ``*``).

A measurement whose first run took under ``--repeat-under`` seconds (30) is
run ``--repeat`` times (3), each time on the table as the scenario starts
it, and the median run is reported with the others' times: on a shared
machine one run of a few seconds can be off by a quarter.

``--workers 1,2`` adds a part that times one import job per size through that
many real Celery worker processes on Redis (PostgreSQL only; see
``bench/workers.py``); ``--scenarios=`` and ``--api-rows 0`` leave only it.
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
from bench.workers import WorkersPart, add_arguments, worker_counts

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
EXT_VENV = BENCH_DIR / ".venv-ext"
CONTENDERS = ("jobs", "ext", "die", "raw", "copy")
LABELS = {
    "jobs": "drf-import-export-jobs",
    "ext": "import-export-extensions 1.11.0",
    "die": "django-import-export",
    "raw": "raw loop",
    "copy": "raw COPY",
}
# Short column titles of the table.
COLUMNS = {"jobs": "jobs", "ext": "ext", "die": "die", "raw": "raw", "copy": "COPY"}
SCENARIOS = ("import_new", "import_update", "export_csv", "export_xlsx")
RESOURCES = ("example", "default", "rowhook")
# The contenders that run a django-import-export resource (once per resource).
RESOURCE_CONTENDERS = ("jobs", "ext", "die")
# The scenarios the copy contender has (COPY only appends rows).
COPY_SCENARIOS = ("import_new",)


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
        help="'sqlite' (bench/var/bench.sqlite3), a sqlite:///PATH, a postgres:// or a "
        "mysql:// URL of a scratch database; the database is dropped and created anew",
    )
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--contenders", default=",".join(CONTENDERS))
    parser.add_argument(
        "--resources",
        default=",".join(RESOURCES),
        help="resources the jobs, ext and die contenders run: example,default,rowhook",
    )
    parser.add_argument("--import-format", default="csv", choices=("csv", "xlsx"))
    parser.add_argument("--budget", type=float, default=600, help="seconds per run (default 600)")
    parser.add_argument("--fallback", default="10k", help="size run by over-budget contenders")
    parser.add_argument(
        "--api-rows", default="1M", help="rows of the job whose REST requests are timed; 0: skip"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of each measurement that took under --repeat-under seconds; the median "
        "is reported (default 3)",
    )
    parser.add_argument(
        "--repeat-under",
        type=float,
        default=30,
        help="seconds: a measurement whose first run took longer is not repeated (default 30)",
    )
    parser.add_argument("--data-dir", default=str(BENCH_DIR / "data"))
    parser.add_argument("--json", help="also write the results to this JSON file")
    add_arguments(parser)
    return parser.parse_args(argv)


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.sizes = sorted(parse_size(s) for s in args.sizes.split(","))
        self.fallback = parse_size(args.fallback)
        self.scenarios = [s for s in args.scenarios.split(",") if s]
        self.contenders = [c for c in args.contenders.split(",") if c]
        self.resources = [r for r in args.resources.split(",") if r]
        unknown = (
            set(self.scenarios) - set(SCENARIOS)
            | set(self.contenders) - set(CONTENDERS)
            | set(self.resources) - set(RESOURCES)
        )
        if unknown:
            raise SystemExit(f"unknown scenario/contender/resource: {', '.join(sorted(unknown))}")
        if not self.resources:
            raise SystemExit("--resources: name at least one of " + ",".join(RESOURCES))
        if not self.scenarios:
            self.contenders = []
        self.data_dir = Path(args.data_dir)
        self.var = BENCH_DIR / "var"
        self.var.mkdir(exist_ok=True)
        self.database_url = self._database_url(args.database)
        self.results: list[dict[str, Any]] = []
        self.notes: list[str] = []
        counts = worker_counts(args.workers)
        self.workers = WorkersPart(self, counts) if counts else None
        if "copy" in self.contenders and not self.database_url.startswith("postgres"):
            self.contenders.remove("copy")
            self.notes.append(
                f"{LABELS['copy']}: skipped, COPY ... FROM STDIN needs PostgreSQL "
                f"(this run: {self.vendor()})."
            )
        # (contender, resource, scenario) -> rows/s; resource "" for raw and copy.
        self.rates: dict[tuple[str, str, str], float] = {}
        self.measured: dict[tuple[str, str, str, int], dict[str, Any]] = {}
        # What the books table holds: ("update", size) after an export setup.
        self.state: tuple[str, int] | None = None

    # -- environment ----------------------------------------------------------

    def _database_url(self, database: str) -> str:
        if database == "sqlite":
            return f"sqlite:///{self.var / 'bench.sqlite3'}"
        if not database.startswith(("sqlite:///", "postgres://", "postgresql://", "mysql://")):
            raise SystemExit(
                "--database: expected sqlite, sqlite:///PATH, postgres://... or mysql://..."
            )
        return database

    def vendor(self) -> str:
        if self.database_url.startswith("sqlite"):
            return "SQLite"
        if self.database_url.startswith("mysql"):
            return "MySQL/MariaDB"
        return "PostgreSQL"

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

    def ensure_mysqlclient(self) -> None:
        """MySQL runs need mysqlclient in this venv and, for ext, in its venv."""
        try:
            import MySQLdb  # noqa: F401
        except ImportError:
            raise SystemExit(
                "--database mysql://: install mysqlclient first: "
                ".venv/bin/uv pip install --python .venv/bin/python mysqlclient"
            ) from None
        if "ext" not in self.contenders:
            return
        python = str(EXT_VENV / "bin" / "python")
        if subprocess.run([python, "-c", "import MySQLdb"], capture_output=True).returncode:
            print("Installing mysqlclient into bench/.venv-ext...", flush=True)
            subprocess.run([python, "-m", "pip", "install", "--quiet", "mysqlclient"], check=True)

    def create_database(self) -> None:
        if self.database_url.startswith("sqlite"):
            Path(self.database_url.removeprefix("sqlite:///")).unlink(missing_ok=True)
        elif self.database_url.startswith("mysql"):
            from urllib.parse import unquote, urlsplit

            import MySQLdb

            url = urlsplit(self.database_url)
            name = url.path.lstrip("/")
            conn = MySQLdb.connect(
                host=url.hostname or "127.0.0.1",
                port=url.port or 3306,
                user=unquote(url.username or "root"),
                password=unquote(url.password or ""),
            )
            try:
                cursor = conn.cursor()
                cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
                cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
            finally:
                conn.close()
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

    def effective_size(self, contender: str, resource: str, scenario: str, size: int) -> int:
        """``size``, or the fallback size when the run would exceed the budget."""
        if size <= self.fallback:
            return size
        rate = self.rates.get((contender, resource, scenario))
        if rate is None:
            self.measure(contender, resource, scenario, self.fallback)
            rate = self.rates[(contender, resource, scenario)]
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

    def measure(self, contender: str, resource: str, scenario: str, size: int) -> dict[str, Any]:
        key = (contender, resource, scenario, size)
        if key in self.measured:
            return self.measured[key]
        self.setup(scenario, size)
        file = ""
        if scenario.startswith("import"):
            kind = "new" if scenario == "import_new" else "update"
            file = str(self.file(size, kind))
        label = f"{LABELS[contender]} ({resource})" if resource else LABELS[contender]
        print(f"  {scenario:<13} {label:<42} {human(size):>5} ...", end="", flush=True)
        takes: list[dict[str, Any]] = []
        while True:
            if takes:
                self.setup(scenario, size)
            take = self.step(contender, "run", contender, scenario, resource or "-", file)
            if file:
                self.state = None
                verdict = take.pop("check")
                if not verdict["ok"]:
                    raise RuntimeError(f"{contender} {scenario} left a wrong table: {verdict}")
            takes.append(take)
            if len(takes) >= self.args.repeat or takes[0]["seconds"] > self.args.repeat_under:
                break
        # The median run (by time); the others' times are kept with it.
        result = sorted(takes, key=lambda t: t["seconds"])[(len(takes) - 1) // 2]
        result["rate"] = result["rows"] / result["seconds"] if result["seconds"] else 0.0
        result["takes"] = [t["seconds"] for t in takes]
        spread = ""
        if "import_seconds" in result:
            spread += (
                f"  (dry run {result['dry_run_seconds']:.1f} s, "
                f"import {result['import_seconds']:.1f} s)"
            )
        if len(takes) > 1:
            spread += f"  (median of {', '.join(f'{t:.1f}' for t in result['takes'])} s)"
        print(f" {result['seconds']:8.1f} s {result['rate']:>10,.0f} rows/s{spread}", flush=True)
        self.measured[key] = result
        self.rates[(contender, resource, scenario)] = result["rate"]
        return result

    def runs(self, scenario: str) -> list[tuple[str, str]]:
        """(contender, resource) pairs of a scenario; resource "" for raw and copy."""
        pairs = []
        for contender in self.contenders:
            if contender in RESOURCE_CONTENDERS:
                pairs += [(contender, resource) for resource in self.resources]
            elif contender != "copy" or scenario in COPY_SCENARIOS:
                pairs.append((contender, ""))
        return pairs

    def run(self) -> None:
        started = time.monotonic()
        if "ext" in self.contenders:
            self.ensure_ext_venv()
        if self.database_url.startswith("mysql"):
            self.ensure_mysqlclient()
        print(f"Database: {self.describe_database()}", flush=True)
        for note in self.notes:
            print(note, flush=True)
        self.create_database()
        for size in self.sizes:
            print(f"{human(size)} rows", flush=True)
            for scenario in self.scenarios:
                for contender, resource in self.runs(scenario):
                    used = self.effective_size(contender, resource, scenario, size)
                    result = self.measure(contender, resource, scenario, used)
                    self.results.append(
                        {
                            "size": size,
                            "scenario": scenario,
                            "contender": contender,
                            "resource": resource or None,
                            "ran_size": used,
                            **result,
                        }
                    )
        if self.workers:
            self.workers.run()
        api = None
        api_rows = parse_size(self.args.api_rows)
        if api_rows:
            self.step("raw", "prepare")
            self.state = None
            api = self.step("jobs", "api", str(api_rows))
        if self.results or api:
            print()
            print(self.table(api, api_rows))
        if self.workers:
            print()
            print(self.workers.table())
        print(f"\nTotal time: {time.monotonic() - started:.0f} s")
        if self.args.json:
            Path(self.args.json).write_text(
                json.dumps(
                    {
                        "results": self.results,
                        "table": self.rows(),
                        "notes": self.notes,
                        "api": api,
                        "workers": self.workers.json() if self.workers else None,
                    },
                    indent=2,
                )
            )

    def describe_database(self) -> str:
        if self.database_url.startswith("sqlite"):
            return "SQLite " + self.database_url.removeprefix("sqlite:///")
        return f"{self.vendor()} {self.database_url.rsplit('@', 1)[-1]}"

    # -- output ---------------------------------------------------------------

    def rows(self) -> list[dict[str, Any]]:
        """One entry per size, scenario and resource: every contender's result
        (raw and copy, which run no resource, repeated on each) and this
        package's rows/s divided by each other contender's."""
        entries = []
        for size in self.sizes:
            for scenario in self.scenarios:
                done = [r for r in self.results if r["size"] == size and r["scenario"] == scenario]
                for resource in self.resources:
                    runs = {r["contender"]: r for r in done if r["resource"] in (resource, None)}
                    ours = runs.get("jobs")
                    ratios = {
                        contender: ours["rate"] / r["rate"]
                        for contender, r in runs.items()
                        if ours and contender != "jobs" and r["rate"]
                    }
                    entries.append(
                        {
                            "size": size,
                            "scenario": scenario,
                            "resource": resource,
                            "engine": ours.get("engine") if ours else None,
                            "runs": runs,
                            "jobs_vs": ratios,
                        }
                    )
        return entries

    def table(self, api: dict[str, Any] | None, api_rows: int) -> str:
        contenders = self.contenders
        others = [c for c in contenders if c != "jobs"] if "jobs" in contenders else []
        titles = [
            "rows",
            "scenario",
            "resource",
            *(["engine"] if "jobs" in contenders else []),
            *(f"{COLUMNS[c]} rows/s" for c in contenders),
            *(f"jobs ÷ {COLUMNS[c]}" for c in others),
            "peak RSS MB " + " / ".join(COLUMNS[c] for c in contenders),
        ]
        aligns = ["---:", "---", "---", *(["---"] if "jobs" in contenders else [])]
        aligns += ["---:"] * (len(titles) - len(aligns))
        lines = [
            f"Database: {self.describe_database()}, import files: {self.args.import_format}",
            "",
            "| " + " | ".join(titles) + " |",
            "|" + "|".join(aligns) + "|",
        ]
        footnote = False
        for entry in self.rows():
            size, runs = entry["size"], entry["runs"]
            rates, memory = [], []
            for contender in contenders:
                r = runs.get(contender)
                if r is None:
                    rates.append("")
                    memory.append("-")
                    continue
                cell = f"{r['rate']:,.0f}"
                if r["ran_size"] != size:
                    cell += f" ({human(r['ran_size'])}*)"
                    footnote = True
                rates.append(cell)
                memory.append(f"{r['peak_rss_mb']:.0f}")
            ratios = [
                ratio_text(entry["jobs_vs"][c]) if c in entry["jobs_vs"] else "" for c in others
            ]
            cells = [
                human(size),
                entry["scenario"],
                entry["resource"],
                *([entry["engine"] or ""] if "jobs" in contenders else []),
                *rates,
                *ratios,
                " / ".join(memory),
            ]
            lines.append("| " + " | ".join(cells) + " |")
        if footnote:
            lines.append(
                f"\n\\* would run past ~{self.args.budget / 60:.0f} min at this size: ran on "
                f"the {human(self.fallback)} file instead; its rows/s is compared."
            )
        lines += [f"\n{note}" for note in self.notes]
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
