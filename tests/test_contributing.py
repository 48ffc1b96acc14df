"""The contributor tools do what CI does: the pre-commit hooks run the checks
of ``make lint``, the nox sessions run ``.ci/run``'s two test runs, and
``make test-fast`` leaves out the tiers that need more than the test process."""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
MAKEFILE = (ROOT / "Makefile").read_text()
CI_RUN = (ROOT / ".ci" / "run").read_text()


def recipe(target: str) -> list[str]:
    """The command lines of a Makefile target."""
    body = MAKEFILE.split(f"\n{target}:", 1)[1].split("\n", 1)[1]
    return [line.strip() for line in re.match(r"((?:\t.*\n)*)", body).group(1).splitlines()]


def noxfile() -> ModuleType:
    spec = importlib.util.spec_from_file_location("noxfile", ROOT / "noxfile.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_pre_commit_hooks_run_the_lint_checks():
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    entries = {
        " ".join(w for w in shlex.split(hook["entry"]) if w != "--force-exclude") for hook in hooks
    }
    lint = {line.replace("$(VENV)", ".venv").removesuffix(" .") for line in recipe("lint")}
    assert entries == lint
    assert all(repo["repo"] == "local" for repo in config["repos"])  # nothing to download


def test_the_pre_commit_config_is_valid():
    from pre_commit.clientlib import load_config

    load_config(str(ROOT / ".pre-commit-config.yaml"))  # raises InvalidConfigError


def test_the_nox_sessions_are_the_ci_runs():
    nox_module = noxfile()
    assert nox_module.nox.options.sessions == ["sqlite", "postgres", "mariadb"]
    runs = re.findall(r"^((?:\S+=\S+ \\\n\s*)*)make test(.*)$", CI_RUN, re.MULTILINE)
    assert len(runs) == 3
    (first_env, first_args), (third_env, third_args), (second_env, second_args) = runs
    env = dict(pair.split("=", 1) for pair in re.findall(r"(\S+=\S+) \\", third_env))
    assert env == nox_module.MARIADB_ENV
    assert shlex.split(third_args) == nox_module.MARIADB_MAKE_ARGS
    assert (first_env, first_args) == ("", "")
    env = dict(pair.split("=", 1) for pair in re.findall(r"(\S+=\S+) \\", second_env))
    assert env == nox_module.POSTGRES_ENV
    args = [a for a in shlex.split(second_args) if not a.startswith("PYTHON=")]
    assert args == nox_module.POSTGRES_MAKE_ARGS
    assert nox_module.python311().endswith(("python3.11", "python3"))


FAST = "not integration and not slow"

# Prints the fixtures each selected test uses, one test a line, and whether
# its function or one of its fixtures' functions starts a subprocess.
FIXTURE_LISTER = """
import inspect

def pytest_collection_finish(session):
    for item in session.items:
        functions = [getattr(item, "function", lambda: None)]
        info = getattr(item, "_fixtureinfo", None)
        for definitions in (info.name2fixturedefs.values() if info else ()):
            functions += [definition.func for definition in definitions]
        names = getattr(item, "fixturenames", [])
        if any("subprocess." in inspect.getsource(function) for function in functions):
            names = [*names, "subprocess"]
        print("FIXTURES", item.nodeid, " ".join(names))
"""

PLUGINS = ["-p", "fixture_lister", "-p", "no:cacheprovider"]
HEAVY_FIXTURES = {
    "celery_worker",
    "live_server",
    "api_server",
    "node_modules",
    "ts_client",
    "example_site",
    "browser",
    "subprocess",
}


def test_the_fast_tier_is_what_make_test_fast_selects():
    [line] = recipe("test-fast")
    assert f'-m "{FAST}"' in line
    markers = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]
    names = {m.split(":")[0] for m in markers["ini_options"]["markers"]}
    # ``quickstart`` marks a test that is ``integration`` too.
    assert names == {"integration", "slow", "quickstart"}


@pytest.mark.slow
def test_the_fast_tier_starts_no_worker_server_or_subprocess(tmp_path):
    (tmp_path / "fixture_lister.py").write_text(FIXTURE_LISTER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", FAST, *PLUGINS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    lines = [
        line.split(" ", 2)[1:]
        for line in result.stdout.splitlines()
        if line.startswith("FIXTURES ")
    ]
    assert len(lines) > 100
    heavy = {node: set(names.split()) & HEAVY_FIXTURES for node, names in lines}
    assert not {node: names for node, names in heavy.items() if names}


def test_mypy_is_strict_over_the_whole_package():
    mypy = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert mypy["strict"] is True
    assert not mypy.get("overrides")
    assert recipe("lint")[-1] == "$(VENV)/bin/mypy drf_import_export_jobs"
