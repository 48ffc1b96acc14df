"""docs/quickstart.md, followed as a reader would, in an empty folder: its
shell commands run in the order of the page (startproject, startapp,
makemigrations, migrate, check, createsuperuser, runserver, a Celery
worker), its files are written from the page's blocks (``title="path"``),
and its curl commands import and export through the live server and worker.

The suite's virtual environment stands in for ``pip install`` (the page's
install lines are checked, not run). What the test changes, and only that:
the broker is kombu's filesystem transport in the folder instead of Redis,
passwords are hashed fast, the server listens on a free port (the curl
commands' ``API=`` and ``AUTH=`` lines are set to match), ``createsuperuser``
runs with ``--noinput`` and the worker with one process.

Deselect it with ``-m "not quickstart"``.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.docs_pages import Block, page_blocks

ROOT = Path(__file__).resolve().parent.parent
PAGE = "quickstart.md"
SETTINGS = "mysite/settings.py"
USER, PASSWORD = "admin", "quickstart-password"

# Appended to the page's settings: the test's broker and password hasher.
TEST_SETTINGS = """

# -- the quickstart test's own settings (not on the page) --
CELERY_BROKER_URL = "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "data_folder_in": str(BASE_DIR / "broker"),
    "data_folder_out": str(BASE_DIR / "broker"),
    "control_folder": str(BASE_DIR / "broker-control"),
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
"""

pytestmark = [pytest.mark.quickstart, pytest.mark.integration]


def logical_lines(body: str) -> list[str]:
    """The commands of a shell block: continuation lines joined, comments
    and blank lines left out."""
    text = re.sub(r"\\\n\s*", " ", body)
    lines = (line.split(" #")[0].strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


COMMANDS = {"pip", "django-admin", "python", "celery"}


def is_command_block(block: Block) -> bool:
    """A block of commands to type one by one (not a script of the curl part)."""
    return all(shlex.split(line)[0] in COMMANDS for line in logical_lines(block.body))


def check_install(args: list[str]) -> None:
    """An install line of the page names this package with extras it has, or
    drf-spectacular-sidecar."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert args[0] == "install", args
    for name in (arg for arg in args[1:] if not arg.startswith("-")):
        match = re.fullmatch(r"(?:/path/to/)?([\w-]+)(?:\[([\w,]+)\])?", name)
        assert match, name
        base, extras = match.groups()
        if base == "drf-spectacular-sidecar":
            continue
        assert base == project["name"], name
        assert set((extras or "").split(",")) - {""} <= set(project["optional-dependencies"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Project:
    """The reader's folder: runs commands there, keeps the background ones."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        bin_dir = str(Path(sys.executable).parent)
        drop = {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "CELERY_BROKER_URL", "PYTHONPATH"}
        self.env = {key: value for key, value in os.environ.items() if key not in drop}
        self.env |= {
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "DJANGO_SUPERUSER_USERNAME": USER,
            "DJANGO_SUPERUSER_PASSWORD": PASSWORD,
            "DJANGO_SUPERUSER_EMAIL": "admin@example.com",
        }
        self.background: list[tuple[subprocess.Popen[bytes], Path]] = []

    def run(self, args: list[str]) -> str:
        result = subprocess.run(
            args,
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert result.returncode == 0, f"{shlex.join(args)}:\n{result.stdout}{result.stderr}"
        return result.stdout

    def start(self, args: list[str], ready: str = "") -> None:
        """Start a long-running command; with ``ready``, wait for that text
        in its output."""
        log = self.folder / f"{args[0]}-{len(self.background)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                args,
                cwd=self.folder,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.background.append((process, log))
        deadline = time.monotonic() + 90
        while ready and ready not in log.read_text(errors="replace"):
            assert process.poll() is None, f"{shlex.join(args)} stopped:\n{self.logs()}"
            assert time.monotonic() < deadline, f"{shlex.join(args)} not ready:\n{self.logs()}"
            time.sleep(0.2)

    def logs(self) -> str:
        return "\n".join(log.read_text(errors="replace") for _p, log in self.background)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.url(path), timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def wait_for_server(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                self.get("/api/")
                return
            except OSError:
                assert time.monotonic() < deadline, f"the server did not answer:\n{self.logs()}"
                time.sleep(0.2)

    def stop(self) -> None:
        for process, _log in reversed(self.background):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    folder = tmp_path / "quickstart"
    folder.mkdir()
    for name in ("broker", "broker-control"):
        (folder / name).mkdir()
    reader = Project(folder)
    yield reader
    reader.stop()


def command(project: Project, line: str, test_settings: bool) -> None:
    """Run one command line of the page, as the reader types it."""
    args = shlex.split(line)
    program = args[0]
    if program == "pip":
        check_install(args[1:])  # the suite's environment has what it installs
        return
    if test_settings:
        settings = project.folder / SETTINGS
        if "the quickstart test's own settings" not in settings.read_text():
            with settings.open("a") as fh:
                fh.write(TEST_SETTINGS)
    if program == "python":
        args[0] = sys.executable
    if args[1:3] == ["manage.py", "createsuperuser"]:
        project.run([*args, "--noinput"])
    elif args[1:3] == ["manage.py", "runserver"]:
        project.start([*args, f"127.0.0.1:{project.port}", "--noreload"])
    elif program == "celery":
        project.start([*args, "--concurrency=1"], ready="ready.")
    else:
        project.run(args)


def test_the_quickstart_from_an_empty_folder(project):
    blocks = page_blocks(PAGE)
    last_settings = max(i for i, block in enumerate(blocks) if block.title == SETTINGS)
    scripts = []
    for index, block in enumerate(blocks):
        if block.title == SETTINGS:
            with (project.folder / SETTINGS).open("a") as fh:
                fh.write("\n\n" + block.body)
        elif block.title:
            path = project.folder / block.title
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(block.body)
        elif block.lang == "sh" and is_command_block(block):
            for line in logical_lines(block.body):
                command(project, line, test_settings=index > last_settings)
        elif block.lang == "sh":
            scripts.append(block.body)
    assert (project.folder / "library" / "migrations" / "0001_initial.py").is_file()
    project.wait_for_server()

    script = "set -eu\n" + "\n".join(scripts)
    script, apis = re.subn(r"^API=.*$", f"API={project.url('/api')}", script, flags=re.M)
    script, auths = re.subn(r"^AUTH=.*$", f"AUTH={USER}:{PASSWORD}", script, flags=re.M)
    assert (apis, auths) == (1, 1)
    result = subprocess.run(
        ["sh", "-c", script],
        cwd=project.folder,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    output = result.stdout + result.stderr + project.logs()
    assert result.returncode == 0, output
    lines = result.stdout.splitlines()
    assert [line for line in lines if not line.startswith("{")] == [
        "parsed",
        "imported",
        "exported",
    ], output
    assert '"status":"created"' in lines[0]
    assert '"new":3' in lines[2]
    assert '"status":"import_confirmed"' in lines[3]
    [exported] = [p for p in project.folder.glob("*.csv") if p.name != "books.csv"]
    isbns = [line.split(",")[0] for line in exported.read_text().splitlines()[1:]]
    assert isbns == ["9780000000001", "9780000000003"]

    # Swagger UI comes with its scripts from the project's own server.
    status, html = project.get("/api/docs/")
    assert status == 200
    bundle = re.search(rb'src="([^"]*swagger-ui-bundle\.js)"', html)
    assert bundle and bundle.group(1).startswith(b"/static/drf_spectacular_sidecar/"), html
    assert project.get(bundle.group(1).decode())[0] == 200
