"""The ``--workers`` part of the benchmark: one import job through real Celery
worker processes.

For every size and every worker count W of ``--workers`` (e.g. ``1,2``): the
books table is emptied, W ``celery worker --concurrency 1 --pool prefork``
processes are started on a queue of their own on the ``--broker`` Redis (each
its own process, as on W machines), and ``bench.worker_job`` creates one
import job of the size's new-rows file with the ``default`` resource, in the
``chunked`` commit mode with ``PARALLEL_IMPORT_TASKS`` = ``--parallel-tasks``
(the same for every W: with one worker the extra tasks find nothing left).
It times the dry run (until ``parsed``) and the import (``confirm_import()``
until ``imported``) by polling the job row, and checks the books table.
The workers are then stopped (SIGTERM, SIGKILL after a timeout), also when
something failed. Worker logs are kept in ``bench/var/workers``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.run import Bench

ROOT = Path(__file__).resolve().parent.parent
QUEUE = "bench_workers"
READY_SECONDS = 120.0
STOP_SECONDS = 30.0
SUCCEEDED = re.compile(r"Task (?:drf_import_export_jobs\.)?(\S+)\[\S+\] succeeded in ([\d.]+)s")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workers",
        default="",
        help="also time one import job through this many Celery worker processes each, "
        "e.g. 1,2 (PostgreSQL only; default: skipped)",
    )
    parser.add_argument(
        "--broker",
        default=os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/9"),
        help="Redis URL of the --workers part (default $BENCH_BROKER_URL or "
        "redis://127.0.0.1:6379/9); its queue 'bench_workers' is emptied first",
    )
    parser.add_argument(
        "--parallel-tasks",
        type=int,
        default=2,
        help="PARALLEL_IMPORT_TASKS of the --workers part's job (default 2)",
    )


def worker_counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise SystemExit(f"--workers: expected numbers such as 1,2, not {text!r}") from None
    if any(count < 1 for count in counts):
        raise SystemExit("--workers: every count must be at least 1")
    return counts


@dataclass
class Worker:
    """One ``celery worker`` process and its log file."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def tasks(self) -> list[tuple[str, float]]:
        """(task name, seconds) of every task this worker finished."""
        return [(m[1], float(m[2])) for m in SUCCEEDED.finditer(self.log_text())]


def tail(worker: Worker, lines: int = 30) -> str:
    return f"--- {worker.log} (last {lines} lines)\n" + "\n".join(
        worker.log_text().splitlines()[-lines:]
    )


class WorkersPart:
    """Runs the ``--workers`` part for a :class:`~bench.run.Bench`."""

    def __init__(self, bench: Bench, counts: list[int]) -> None:
        if not bench.database_url.startswith(("postgres://", "postgresql://")):
            raise SystemExit(
                f"--workers needs PostgreSQL (--database postgres://...): its worker "
                f"processes write to the database at once (this run: {bench.vendor()})."
            )
        if not bench.args.broker.startswith(("redis://", "rediss://")):
            raise SystemExit("--broker: expected a redis:// URL")
        if bench.args.parallel_tasks < 1:
            raise SystemExit("--parallel-tasks: expected 1 or more")
        self.bench = bench
        self.counts = counts
        self.broker = bench.args.broker
        self.parallel_tasks = bench.args.parallel_tasks
        self.log_dir = bench.var / "workers"
        self.results: list[dict[str, Any]] = []

    def env(self) -> dict[str, str]:
        env = self.bench.env("jobs")
        env.update(
            BENCH_BROKER_URL=self.broker,
            BENCH_QUEUE=QUEUE,
            BENCH_PARALLEL_TASKS=str(self.parallel_tasks),
            PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "example_project")]),
        )
        return env

    def empty_queue(self) -> None:
        import redis

        client = redis.Redis.from_url(self.broker)
        try:
            keys = list(client.scan_iter(match=f"{QUEUE}*"))
            if keys:
                client.delete(*keys)
        except redis.ConnectionError as exc:
            raise SystemExit(f"--broker {self.broker}: {exc}") from None

    # -- worker processes ----------------------------------------------------

    def start(self, count: int, label: str) -> list[Worker]:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        workers: list[Worker] = []
        try:
            for number in range(1, count + 1):
                name = f"bench{number}"
                log = self.log_dir / f"{label}-{count}-workers-{name}.log"
                with log.open("wb") as out:
                    process = subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "celery",
                            "-A",
                            "example_project.celery",
                            "worker",
                            "--concurrency",
                            "1",
                            "--pool",
                            "prefork",
                            "-Q",
                            QUEUE,
                            "-n",
                            f"{name}@%h",
                            "--loglevel",
                            "INFO",
                            "--without-gossip",
                            "--without-mingle",
                            "--without-heartbeat",
                        ],
                        cwd=self.bench.var,
                        env=self.env(),
                        stdin=subprocess.DEVNULL,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                workers.append(Worker(name, process, log))
            self.wait_ready(workers)
        except BaseException:
            self.stop(workers)
            raise
        return workers

    def wait_ready(self, workers: list[Worker]) -> None:
        deadline = time.monotonic() + READY_SECONDS
        waiting = list(workers)
        while waiting:
            self.check_alive(workers)
            waiting = [w for w in waiting if " ready." not in w.log_text()]
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"workers not ready after {READY_SECONDS:.0f} s\n"
                    + "\n".join(tail(w) for w in waiting)
                )
            time.sleep(0.2)

    def check_alive(self, workers: list[Worker]) -> None:
        for worker in workers:
            if worker.process.poll() is not None:
                raise RuntimeError(
                    f"worker {worker.name} exited with {worker.process.returncode}\n"
                    + tail(worker)
                )

    def stop(self, workers: list[Worker]) -> None:
        """SIGTERM (Celery's warm shutdown), then SIGKILL to a worker still
        running after ``STOP_SECONDS``; then SIGKILL to what is left of each
        worker's process group (the pool process of a worker that died)."""
        for worker in workers:
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for worker in workers:
            try:
                worker.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"  worker {worker.name} still running: killed", flush=True)
                worker.process.kill()
                worker.process.wait()
            # ProcessLookupError: the group is empty (the worker stopped its pool).
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.process.pid, signal.SIGKILL)

    # -- measuring -----------------------------------------------------------

    def drive(self, file: Path, workers: list[Worker]) -> dict[str, Any]:
        """Run ``bench.worker_job`` while watching that every worker lives."""
        driver = subprocess.Popen(
            [sys.executable, "-m", "bench.worker_job", str(file)],
            cwd=ROOT,
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            while driver.poll() is None:
                self.check_alive(workers)
                time.sleep(0.5)
            out, err = driver.communicate()
        finally:
            if driver.poll() is None:
                driver.kill()
                driver.wait()
        if driver.returncode:
            sys.stderr.write(out + err + "\n".join(tail(w) for w in workers) + "\n")
            raise RuntimeError(f"the {len(workers)}-worker import job failed")
        return dict(json.loads(out.strip().splitlines()[-1]))

    def measure(self, size: int, count: int) -> dict[str, Any]:
        from bench.run import human

        file = self.bench.file(size, "new")
        self.bench.step("raw", "prepare")
        self.bench.state = None
        self.empty_queue()
        print(f"  import job, {count} worker(s) {human(size):>5} ...", end="", flush=True)
        workers = self.start(count, human(size))
        try:
            load_start = os.getloadavg()
            result = self.drive(file, workers)
            load_end = os.getloadavg()
        finally:
            self.stop(workers)
        verdict = result.pop("check")
        if not verdict["ok"]:
            raise RuntimeError(f"the {count}-worker import job left a wrong table: {verdict}")
        rows = result["rows"]
        result.update(
            size=size,
            workers=count,
            parallel_tasks=self.parallel_tasks,
            import_rate=rows / result["import_s"],
            whole_rate=rows / result["whole_s"],
            load_start=list(load_start),
            load_end=list(load_end),
            tasks={w.name: w.tasks() for w in workers},
        )
        print(
            f" dry run {result['dry_run_s']:.1f} s, import {result['import_s']:.1f} s, "
            f"{result['import_rate']:,.0f} rows/s",
            flush=True,
        )
        return result

    def run(self) -> None:
        for size in self.bench.sizes:
            for count in self.counts:
                self.results.append(self.measure(size, count))

    # -- output --------------------------------------------------------------

    def ratios(self) -> list[dict[str, Any]]:
        """Per size, each worker count's rows/s divided by the first count's."""
        entries = []
        for size in self.bench.sizes:
            runs = [r for r in self.results if r["size"] == size]
            if len(runs) < 2:
                continue
            base = runs[0]
            for run in runs[1:]:
                entries.append(
                    {
                        "size": size,
                        "workers": run["workers"],
                        "vs_workers": base["workers"],
                        "import": run["import_rate"] / base["import_rate"],
                        "whole": run["whole_rate"] / base["whole_rate"],
                    }
                )
        return entries

    def json(self) -> dict[str, Any]:
        return {"broker": self.broker, "results": self.results, "ratios": self.ratios()}

    def table(self) -> str:
        from bench.run import human

        lines = []
        for size in self.bench.sizes:
            lines += [
                f"One import job, {human(size)} rows, {self.bench.vendor()}, Celery workers "
                f"(prefork, concurrency 1) on Redis, chunked, PARALLEL_IMPORT_TASKS "
                f"{self.parallel_tasks}, resource default:",
                "",
                "| workers | dry run s | import s | import rows/s | whole flow rows/s "
                "| load avg start | load avg end |",
                "|---:|---:|---:|---:|---:|---|---|",
            ]
            runs = [r for r in self.results if r["size"] == size]
            for r in runs:
                lines.append(
                    f"| {r['workers']} | {r['dry_run_s']:.1f} | {r['import_s']:.1f} "
                    f"| {r['import_rate']:,.0f} | {r['whole_rate']:,.0f} "
                    f"| {load(r['load_start'])} | {load(r['load_end'])} |"
                )
            lines.append("")
            for entry in (e for e in self.ratios() if e["size"] == size):
                lines.append(
                    f"{entry['workers']} workers ÷ {entry['vs_workers']}: import "
                    f"{entry['import']:.2f}x, whole flow {entry['whole']:.2f}x."
                )
            for r in runs:
                done = "; ".join(
                    f"{name}: " + (", ".join(f"{t} {s:.1f} s" for t, s in tasks) or "none")
                    for name, tasks in r["tasks"].items()
                )
                lines.append(f"Tasks run with {r['workers']} worker(s): {done}.")
            lines.append("")
        return "\n".join(lines).rstrip()


def load(values: list[float]) -> str:
    return " ".join(f"{v:.2f}" for v in values)
