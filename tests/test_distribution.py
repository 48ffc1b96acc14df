"""The distribution is complete: the wheel and the sdist carry the license and
the ``py.typed`` marker, the metadata has the version written once in the
package, the typing classifier and the project's links."""

from __future__ import annotations

import tarfile
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from hatchling.builders.sdist import SdistBuilder
from hatchling.builders.wheel import WheelBuilder

import drf_import_export_jobs

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    """The wheel hatchling builds from the working tree, as ``uv build`` would."""
    out = tmp_path_factory.mktemp("dist")
    [path] = WheelBuilder(str(ROOT)).build(directory=str(out), versions=["standard"])
    with zipfile.ZipFile(path) as archive:
        yield archive


def metadata(wheel: zipfile.ZipFile) -> dict[str, list[str]]:
    [name] = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    message = Parser().parsestr(wheel.read(name).decode())
    return {key: message.get_all(key) or [] for key in set(message.keys())}


def test_the_wheel_has_the_license_and_the_typed_marker(wheel):
    names = wheel.namelist()
    assert "drf_import_export_jobs/py.typed" in names
    [license_file] = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
    assert wheel.read(license_file) == (ROOT / "LICENSE").read_bytes()
    assert not [n for n in names if n.startswith(("tests/", "docs/", "example_project/"))]


def test_the_wheel_metadata(wheel):
    meta = metadata(wheel)
    assert meta["Version"] == [drf_import_export_jobs.__version__]
    assert meta["License-Expression"] == ["MIT"]
    assert "Typing :: Typed" in meta["Classifier"]
    links = dict(line.split(", ", 1) for line in meta["Project-URL"])
    assert set(links) == {"Documentation", "Changelog", "Source"}


def test_the_version_is_written_once():
    assert "version" not in PROJECT
    assert PROJECT["dynamic"] == ["version"]


def test_the_sdist_has_the_license(tmp_path):
    [path] = SdistBuilder(str(ROOT)).build(directory=str(tmp_path), versions=["standard"])
    with tarfile.open(path) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"LICENSE", "README.md", "CHANGELOG.md", "drf_import_export_jobs/py.typed"} <= names


def test_the_license_is_mit_for_the_contributors():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n")
    assert "drf-import-export-jobs contributors" in text.splitlines()[2]
    assert PROJECT["license"] == "MIT"


def test_the_project_links_agree_with_readme_and_docs():
    urls = PROJECT["urls"]
    source = urls["Source"]
    assert urls["Changelog"] == f"{source}/blob/main/CHANGELOG.md"
    assert source in (ROOT / "README.md").read_text()
    assert source in (ROOT / "docs" / "contributing.md").read_text()
    assert urls["Documentation"] in (ROOT / "README.md").read_text()
