"""CI's test runs, to reproduce locally (``nox -l`` lists them).

Each session runs the Makefile's ``make test`` as ``.ci/run`` does, so the
virtual environment, the dependencies and the pytest options are CI's:

- ``sqlite``: SQLite and kombu's filesystem broker, the latest Django 6.x,
  Python >= 3.12 (``.venv``);
- ``postgres``: PostgreSQL and Redis on 127.0.0.1, Django 5.2 LTS, Python 3.11
  (``.venv-py311-dj52``); the servers must be running;
- ``mariadb``: the import engine's parity suite and the parallel chunks on
  MariaDB (127.0.0.1:3306, root without a password) in ``.venv``, with mysqlclient (which builds
  against the MariaDB client headers, Debian's ``libmariadb-dev``).

Arguments after ``--`` go to pytest, e.g. ``nox -s sqlite -- tests/test_import.py``.
"""

from __future__ import annotations

import glob
import os
import shutil

import nox

nox.options.sessions = ["sqlite", "postgres", "mariadb"]
nox.options.default_venv_backend = "none"  # make creates the virtual environments

# What .ci/run sets for its second run (tests/test_contributing.py compares).
POSTGRES_ENV = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
}
POSTGRES_MAKE_ARGS = [
    "VENV=.venv-py311-dj52",
    "EXTRA_REQUIREMENTS=Django>=5.2,<6",
]
# What .ci/run sets for its MariaDB run.
MARIADB_ENV = {
    "DATABASE_URL": "mysql://root@127.0.0.1:3306/test",
    "TEST_DATABASE_NAME": "test_ci_engine",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/1",
}
MARIADB_MAKE_ARGS = ["PYTEST_ARGS=tests/test_engine_parity.py tests/test_parallel_chunks.py"]


def python311() -> str:
    """Python 3.11 as .ci/run finds it: on PATH, else from pyenv's versions."""
    found = shutil.which("python3.11")
    if found:
        return found
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates = sorted(glob.glob(f"{root}/versions/3.11*/bin/python3"))
    if not candidates:
        raise RuntimeError(
            "no Python 3.11 found: install it (pyenv install 3.11) or add it to PATH"
        )
    return candidates[0]


def pytest_args(session: nox.Session) -> list[str]:
    return [f"PYTEST_ARGS={' '.join(session.posargs)}"] if session.posargs else []


@nox.session
def sqlite(session: nox.Session) -> None:
    """SQLite + filesystem broker, latest Django 6.x, Python >= 3.12."""
    session.run("make", "test", *pytest_args(session), external=True)


@nox.session
def postgres(session: nox.Session) -> None:
    """PostgreSQL + Redis, Django 5.2 LTS, Python 3.11."""
    session.run(
        "make",
        "test",
        *POSTGRES_MAKE_ARGS,
        f"PYTHON={python311()}",
        *pytest_args(session),
        env=POSTGRES_ENV,
        external=True,
    )


@nox.session
def mariadb(session: nox.Session) -> None:
    """The import engine's parity suite on MariaDB."""
    session.run("make", "venv", external=True)
    session.run(
        ".venv/bin/uv",
        "pip",
        "install",
        "--quiet",
        "--python",
        ".venv/bin/python",
        "mysqlclient",
        external=True,
    )
    session.run("make", "test", *MARIADB_MAKE_ARGS, env=MARIADB_ENV, external=True)
