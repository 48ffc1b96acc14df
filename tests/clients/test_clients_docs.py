"""docs/clients.md shows the code and the commands the client tests run."""

from __future__ import annotations

import re
from pathlib import Path

from tests.clients.commands import (
    PYTHON_GENERATOR,
    SCHEMA_COMMAND,
    TS_COMPILE,
    TS_GENERATOR,
    fill,
)

HERE = Path(__file__).resolve().parent
DOC = HERE.parent.parent / "docs" / "clients.md"
SECTION = re.compile(
    r"^[ \t]*(?:#|//) --8<-- \[start:(\w+)\]\n(.*?)^[ \t]*(?:#|//) --8<-- \[end:\1\]",
    re.MULTILINE | re.DOTALL,
)
SECTIONS = ["client", "poll", "import", "export", "conflict"]


def code_blocks() -> list[str]:
    fenced = re.findall(r"^```\w*\n(.*?)^```", DOC.read_text(), re.MULTILINE | re.DOTALL)
    return [block.strip() for block in fenced]


def sections(path: Path) -> dict[str, str]:
    return {name: body.strip() for name, body in SECTION.findall(path.read_text())}


def test_the_documented_code_is_the_code_the_tests_run():
    blocks = code_blocks()
    for path in (HERE / "python_client_flow.py", HERE / "ts" / "src" / "client-flow.ts"):
        found = sections(path)
        assert list(found) == SECTIONS, path
        for name, body in found.items():
            assert body in blocks, f"docs/clients.md lacks section {name!r} of {path.name}"


def test_the_documented_configuration_is_the_one_the_tests_use():
    blocks = code_blocks()
    for path in (HERE / "openapi-python-client.yaml", HERE / "ts" / "tsconfig.json"):
        assert path.read_text().strip() in blocks, path.name


def test_the_documented_commands_are_the_ones_the_tests_run():
    lines = {line.strip() for block in code_blocks() for line in block.splitlines()}
    schema = "openapi.json"
    expected = [
        ["python", "manage.py", *fill(SCHEMA_COMMAND, schema=schema)],
        fill(
            PYTHON_GENERATOR,
            schema=schema,
            config="openapi-python-client.yaml",
            output="books_client",
        ),
        fill(TS_GENERATOR, schema=schema, output="src/client"),
        fill(TS_COMPILE, project="."),
    ]
    for command in expected:
        assert " ".join(command) in lines
