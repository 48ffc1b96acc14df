"""What a new user installs and reads first is consistent: the extras the
documentation names exist and bring what they promise, the classifiers name
the Django versions the suite runs on, the README says which Python is whose,
and the example project leaves a file to import for a first try."""

from __future__ import annotations

import csv
import re
import tomllib
from importlib import metadata
from pathlib import Path

import django
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
README = (ROOT / "README.md").read_text()
SAMPLES = ROOT / "example_project" / "books" / "sample_data"


def test_the_redis_extra_brings_celerys_redis_support():
    [requirement] = map(Requirement, PROJECT["optional-dependencies"]["redis"])
    assert (requirement.name, requirement.extras) == ("celery", {"redis"})
    # celery[redis] -> kombu[redis] -> packaging, which kombu's Redis transport
    # imports (the redis client alone does not bring it).
    kombu_redis = [
        Requirement(line).name
        for line in metadata.requires("kombu") or []
        if 'extra == "redis"' in line
    ]
    assert "packaging" in kombu_redis and "redis" in kombu_redis


def test_the_docs_install_extras_that_exist():
    extras = set(PROJECT["optional-dependencies"])
    texts = [README, *(path.read_text() for path in (ROOT / "docs").glob("*.md"))]
    named = {
        extra.strip()
        for text in texts
        for group in re.findall(r"drf-import-export-jobs\[([\w,\s-]+)\]", text)
        for extra in group.split(",")
    }
    assert named and named <= extras


def django_classifiers() -> set[str]:
    prefix = "Framework :: Django :: "
    return {c.removeprefix(prefix) for c in PROJECT["classifiers"] if c.startswith(prefix)}


def test_the_classifiers_name_the_django_versions_the_suite_runs_on():
    tested = {"{}.{}".format(*django.VERSION[:2])}
    ci = (ROOT / ".ci" / "run").read_text()
    for low in re.findall(r"Django>=([\d.]+),<", ci):
        tested.add(low)  # the oldest Django of a pinned run
    assert tested <= django_classifiers()
    [dependency] = [
        Requirement(line) for line in PROJECT["dependencies"] if line.startswith("Django")
    ]
    for version in django_classifiers():
        assert dependency.specifier.contains(f"{version}.0"), version


def test_the_readme_says_which_python_the_package_and_the_commands_need():
    supported = PROJECT["requires-python"].removeprefix(">=")
    assert f"The package needs Python {supported}+" in README
    python_classifiers = {
        c.rsplit(" ", 1)[1] for c in PROJECT["classifiers"] if re.search(r"Python :: 3\.\d+$", c)
    }
    assert supported in python_classifiers
    find_python = re.search(r"find-python ([\d.]+)", (ROOT / "Makefile").read_text()).group(1)
    assert f"look for Python {find_python}+ by default" in README
    for version in re.findall(r"Django (\d\.\d)", README):
        assert version in django_classifiers(), version


def isbns(name: str) -> set[str]:
    with (SAMPLES / name).open(newline="") as fh:
        return {row["isbn"] for row in csv.DictReader(fh)}


def test_the_demo_leaves_new_books_for_a_first_import():
    """The demo jobs import books.csv; more-books.csv holds other books, by
    authors the demo's data migration creates, and the banner names it."""
    assert isbns("more-books.csv") and not isbns("more-books.csv") & isbns("books.csv")
    header = (SAMPLES / "books.csv").read_text().splitlines()[0]
    assert (SAMPLES / "more-books.csv").read_text().splitlines()[0] == header
    migration = ROOT / "example_project" / "books" / "migrations" / "0002_sample_authors.py"
    with (SAMPLES / "more-books.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            assert f'"{row["author"]}"' in migration.read_text(), row["author"]
    demo_jobs = ROOT / "example_project" / "books" / "management" / "commands" / "demo_jobs.py"
    assert '"books.csv"' in demo_jobs.read_text()
    assert "sample_data/more-books.csv" in (ROOT / "example_project" / "run-demo").read_text()
