"""The commands that generate the clients, as docs/python-client.md and
docs/frontend.md show them
(``{placeholders}`` are filled in with paths at test time)."""

from __future__ import annotations

from pathlib import Path

SCHEMA_COMMAND = ["spectacular", "--format", "openapi-json", "--file", "{schema}"]
PYTHON_GENERATOR = [
    "openapi-python-client",
    "generate",
    "--path",
    "{schema}",
    "--config",
    "{config}",
    "--meta",
    "none",
    "--fail-on-warning",
    "--output-path",
    "{output}",
]
TS_GENERATOR = [
    "npx",
    "openapi-ts",
    "--client",
    "@hey-api/client-fetch",
    "--input",
    "{schema}",
    "--output",
    "{output}",
]
# openapi-generator, from the openapi-generator-cli package (its wheel bundles
# the jar; the command runs it with java).
AXIOS_GENERATOR = [
    "openapi-generator-cli",
    "generate",
    "--generator-name",
    "typescript-axios",
    "--input-spec",
    "{schema}",
    "--output",
    "{output}",
]
OPENAPI_TYPESCRIPT_GENERATOR = ["npx", "openapi-typescript", "{schema}", "--output", "{output}"]
SCHEMA_LINT = ["npx", "redocly", "lint", "--config", "{config}", "{schema}"]
TS_COMPILE = ["npx", "tsc", "--project", "{project}"]


def fill(command: list[str], **paths: Path | str) -> list[str]:
    return [part.format(**{k: str(v) for k, v in paths.items()}) for part in command]
