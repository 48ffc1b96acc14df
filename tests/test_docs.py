"""The settings reference documents every setting."""

from pathlib import Path

from drf_import_export_jobs.conf import DEFAULTS

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_setting_is_documented():
    text = (DOCS / "settings.md").read_text()
    documented = {line.split("`")[1] for line in text.splitlines() if line.startswith("| `")}
    assert documented == set(DEFAULTS)


def test_the_guarantees_name_tests_that_exist():
    import re

    tests_dir = Path(__file__).resolve().parent
    current = None
    named = 0
    for token in re.findall(r"`([^`]+)`", (DOCS / "guarantees.md").read_text()):
        match = re.fullmatch(r"(test_\w+\.py)?(?:::(test_\w+)(\*)?)?", token)
        if not match or not (match.group(1) or match.group(2)):
            continue
        if match.group(1):
            current = tests_dir / match.group(1)
            assert current.exists(), token
        if match.group(2):
            assert current is not None, token
            source = current.read_text()
            pattern = rf"def {match.group(2)}" + (r"\w*" if match.group(3) else r"\(")
            assert re.search(pattern, source), f"{token} is not a test of {current.name}"
            named += 1
    assert named >= 10
