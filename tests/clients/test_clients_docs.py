"""docs/python-client.md and docs/frontend.md show the code, the
configuration and the commands the client tests run: the code and the
configuration are included from the files the tests use (every section of
them), the commands are the ones tests/clients/commands.py runs."""

from __future__ import annotations

import re
from pathlib import Path

from tests.clients.commands import (
    AXIOS_GENERATOR,
    OPENAPI_TYPESCRIPT_GENERATOR,
    PYTHON_GENERATOR,
    SCHEMA_COMMAND,
    SCHEMA_LINT,
    TS_COMPILE,
    TS_GENERATOR,
    fill,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PYTHON_DOC = ROOT / "docs" / "python-client.md"
FRONTEND_DOC = ROOT / "docs" / "frontend.md"
SECTION = re.compile(r"^[ \t]*(?:#|//) --8<-- \[start:([\w-]+)\]", re.MULTILINE)


def code_blocks(doc: Path) -> list[str]:
    fenced = re.findall(r"^```\w*\n(.*?)^```", doc.read_text(), re.MULTILINE | re.DOTALL)
    return [block.strip() for block in fenced]


def includes(doc: Path) -> set[str]:
    return set(re.findall(r'^--8<-- "([^"]+)"$', doc.read_text(), re.MULTILINE))


def test_the_documented_code_is_the_code_the_tests_run():
    for doc, path, expected in (
        (PYTHON_DOC, HERE / "python_client_flow.py", {"client", "poll", "import", "export"}),
        (FRONTEND_DOC, HERE / "ts" / "src" / "client-flow.ts", {"progress"}),
        (FRONTEND_DOC, HERE / "ts" / "src" / "fetch-flow.ts", {"fetch-import", "fetch-export"}),
        (
            FRONTEND_DOC,
            HERE / "ts" / "src" / "axios-flow.ts",
            {"axios-client", "axios-import", "axios-export"},
        ),
    ):
        sections = SECTION.findall(path.read_text())
        assert expected <= set(sections), path
        relative = path.relative_to(ROOT)
        assert {f"{relative}:{name}" for name in sections} <= includes(doc), doc.name


def test_the_documented_configuration_is_the_one_the_tests_use():
    assert "tests/clients/openapi-python-client.yaml" in includes(PYTHON_DOC)
    assert "tests/clients/ts/tsconfig.json" in includes(FRONTEND_DOC)
    assert "tests/clients/ts/redocly.yaml" in includes(FRONTEND_DOC)


def test_the_documented_commands_are_the_ones_the_tests_run():
    schema = "openapi.json"
    python_lines = {line.strip() for b in code_blocks(PYTHON_DOC) for line in b.splitlines()}
    frontend_lines = {line.strip() for b in code_blocks(FRONTEND_DOC) for line in b.splitlines()}
    assert " ".join(["python", "manage.py", *fill(SCHEMA_COMMAND, schema=schema)]) in python_lines
    generate = fill(
        PYTHON_GENERATOR, schema=schema, config="openapi-python-client.yaml", output="books_client"
    )
    assert " ".join(generate) in python_lines
    assert " ".join(fill(TS_GENERATOR, schema=schema, output="src/client")) in frontend_lines
    types = fill(OPENAPI_TYPESCRIPT_GENERATOR, schema=schema, output="src/openapi.d.ts")
    assert " ".join(types) in frontend_lines
    axios_client = fill(AXIOS_GENERATOR, schema=schema, output="src/axios-client")
    assert " ".join(axios_client) in frontend_lines
    lint = fill(SCHEMA_LINT, config="redocly.yaml", schema=schema)
    assert " ".join(lint) in frontend_lines
    assert " ".join(fill(TS_COMPILE, project=".")) in frontend_lines
