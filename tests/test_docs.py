"""The documentation tells the truth: every setting is documented, every code
block of docs/*.md is valid and runs or comes from a file the suite runs, the
state diagrams show exactly the transitions the models make, and the REST
API page lists the status codes the schema documents, with answers the API
really gives."""

from __future__ import annotations

import ast
import json
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from drf_import_export_jobs.conf import DEFAULTS
from drf_import_export_jobs.models import ExportJob, ImportJob
from tests.docs_pages import page_blocks, page_file

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md")) + sorted((DOCS / "reference").glob("*.md"))
FENCE = re.compile(r"^(`{3,})(\w*)[^\n]*\n(.*?)^\1[ \t]*$", re.MULTILINE | re.DOTALL)
SNIPPET = re.compile(r'^--8<-- "([^":]+)(?::([\w-]+))?"$')
SCHEMA = yaml.safe_load((ROOT / "tests" / "schema" / "openapi.yaml").read_text())


def blocks(page: Path) -> list[tuple[str, str]]:
    """The fenced code blocks of a page: (language, content)."""
    return [(lang, body) for _fence, lang, body in FENCE.findall(page.read_text())]


def included(body: str) -> tuple[str, str | None] | None:
    """``(path, section)`` when the block is one pymdownx.snippets include."""
    match = SNIPPET.match(body.strip())
    return (match.group(1), match.group(2)) if match else None


def test_every_setting_is_documented():
    text = (DOCS / "settings.md").read_text()
    documented = {line.split("`")[1] for line in text.splitlines() if line.startswith("| `")}
    assert documented == set(DEFAULTS)


def test_the_documented_defaults_are_the_defaults():
    """The settings table's default column holds each default as a Python
    literal (the first code span of the cell)."""
    text = (DOCS / "settings.md").read_text()
    for line in text.splitlines():
        if line.startswith("| `"):
            key, default = [cell.strip() for cell in line.strip("|").split("|")][:2]
            value = ast.literal_eval(default.split("`")[1])
            assert value == DEFAULTS[key.strip("`")], key


def test_every_page_is_in_the_navigation():
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)

    def pages(nav: Any) -> set[str]:
        if isinstance(nav, str):
            return {nav}
        items = nav.values() if isinstance(nav, dict) else nav
        return set().union(*(pages(item) for item in items))

    listed = pages(config["nav"])
    assert {str(page.relative_to(DOCS)) for page in PAGES} == listed


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_included_files_and_sections_exist(page):
    for text in [body for _lang, body in blocks(page)] + [page.read_text()]:
        for line in text.splitlines():
            if "--8" in line and "8<--" not in line:
                pytest.fail(f"{page.name}: a mangled snippet line: {line!r}")
            found = included(line)
            if found is None:
                continue
            path, section = found
            assert (ROOT / path).is_file(), f"{page.name} includes missing {path}"
            if section:
                source = (ROOT / path).read_text()
                assert f"--8<-- [start:{section}]" in source, f"{path} has no section {section}"
                assert f"--8<-- [end:{section}]" in source, f"{path} has no end of {section}"


def test_the_customisation_page_names_every_attribute_and_hook():
    from drf_import_export_jobs import mixins
    from drf_import_export_jobs import serializers as job_serializers

    text = (DOCS / "customisation.md").read_text()
    classes = [
        mixins.JobViewSetMixin,
        mixins.ImportJobMixin,
        mixins.ColumnMappingMixin,
        mixins.ExportJobMixin,
        mixins.CancelJobMixin,
        mixins.DestroyJobMixin,
        job_serializers.ResourceBoundSerializer,
        job_serializers.ImportJobSerializer,
        job_serializers.ExportJobSerializer,
        job_serializers.ImportJobCreateSerializer,
        job_serializers.ExportJobCreateSerializer,
        job_serializers.StaffOnlyTraceback,
    ]
    for cls in classes:
        for name in vars(cls):
            if not name.startswith("_") and name not in ("schema",):
                assert f"`{name}" in text, f"docs/customisation.md lacks {cls.__name__}.{name}"


# -- code blocks --------------------------------------------------------------------

# Languages a block may have. Code is either included from a file the suite
# runs (docs/examples/, tests/) or checked here: Python runs, JSON and YAML
# parse, shell commands name real commands (below); text is output.
LANGUAGES = {"python", "json", "yaml", "sh", "ts", "text", "mermaid"}


# Pages whose commands tests/test_quickstart.py types and runs, in an empty folder.
RUN_AS_WRITTEN = {"quickstart.md"}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_code_blocks_are_valid_and_run(page, db):
    namespace: dict[str, Any] = {"__name__": f"docs_{page.stem}"}
    for block in page_blocks(str(page.relative_to(DOCS))):
        lang, body = block.lang, block.body
        assert lang in LANGUAGES, f"{page.name}: a block without a known language: {body[:60]!r}"
        if included(body) is not None:
            continue
        if block.title:
            # A file of the reader's project (title="path"): written and run by
            # tests/test_quickstart.py, run by tests/test_docs_examples.py, or
            # the quickstart's own (index.md: checked by
            # test_the_home_page_shows_the_quickstarts_files).
            assert page.name in RUN_AS_WRITTEN | {"usage.md", "index.md"}, (
                f"{page.name}: {block.title}"
            )
            continue
        if lang == "sh" and page.name in RUN_AS_WRITTEN:
            continue
        if lang == "python":
            # Inline Python runs, page by page in one namespace, as written.
            exec(compile(body, f"{page.name}", "exec"), namespace)
            if "DRF_IMPORT_EXPORT_JOBS" in namespace:
                assert set(namespace["DRF_IMPORT_EXPORT_JOBS"]) <= set(DEFAULTS)
        elif lang == "json":
            json.loads(body)
        elif lang == "yaml":
            yaml.safe_load(body)
        elif lang == "ts":
            pytest.fail(f"{page.name}: TypeScript must be included from a tested file")
        elif lang == "sh":
            for command in shell_commands(body):
                check_command(page, command)


def shell_commands(body: str) -> list[list[str]]:
    text = re.sub(r"\\\n\s*", " ", body)
    commands = []
    for line in text.splitlines():
        line = line.split(" #")[0].strip()
        if line and not line.startswith("#"):
            commands.append(shlex.split(line))
    return commands


PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
NOXFILE = (ROOT / "noxfile.py").read_text()
MAKE_TARGETS = set(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(), re.MULTILINE))


def check_command(page: Path, command: list[str]) -> None:
    """A documented shell command names something real: the package, a
    Makefile target, a script of the repository, a management command of the
    quickstart project, the
    quickstart's Celery app, a route of the API, the repository, a nox
    session, a pre-commit command."""
    from django.core.management import get_commands

    where = f"{page.name}: {' '.join(command)}"
    while re.fullmatch(r"[A-Z_]+=\S*", command[0]):  # environment assignments
        command = command[1:]
    program, *args = command
    program = program.removeprefix(".venv/bin/")  # a tool of the project's venv
    if program == "pip":
        assert args[0] == "install", where
        for name in (arg for arg in args[1:] if arg != "-e"):
            base = re.split(r"[\[<>=]", name)[0].removeprefix("/path/to/").strip()
            assert base in {
                PROJECT["project"]["name"],
                "django-storages",
                "openapi-python-client",
                "openapi-generator-cli",
            }, where
            extras = re.findall(r"\[([\w,]+)\]", name)
            if base == PROJECT["project"]["name"] and extras:
                assert set(extras[0].split(",")) <= set(
                    PROJECT["project"]["optional-dependencies"]
                )
    elif program == "make":
        assert set(args) <= MAKE_TARGETS, where
    elif program == "python" and args[0].startswith("scripts/"):
        assert (ROOT / args[0]).is_file(), where
    elif program == "python":
        assert args[0] == "manage.py", where
        commands = get_commands()
        assert args[1] in commands, where
    elif program == "celery":
        assert args[:2] in (["-A", "mysite"], ["-A", "proj"]), where
        assert args[2] in {"worker", "beat", "inspect"}, where
    elif program == "curl":
        urls = [arg for arg in args if "$API" in arg or arg.startswith("http")]
        assert urls, where
        for url in urls:
            path = url.replace("$API", "/api").split("?")[0]
            path = re.sub(r"^https?://[^/]+", "", path)
            pattern = re.sub(r"/\d+/", "/{id}/", path)
            assert pattern in SCHEMA["paths"] or pattern.startswith("/api/docs"), where
    elif program == "git":
        assert args == ["clone", PROJECT["project"]["urls"]["Source"]], where
    elif program == "nox":
        sessions = set(re.findall(r"^def (\w+)\(session", NOXFILE, re.MULTILINE))
        if "--" in args:  # what follows goes to pytest: test files
            args, tests = args[: args.index("--")], args[args.index("--") + 1 :]
            assert all((ROOT / test.split("::")[0]).exists() for test in tests), where
        assert args in (["-l"], *(["-s", name] for name in sessions)), where
    elif program == "pre-commit":
        assert args in (["install"], ["run", "--all-files"]), where
    elif program in {"npx", "openapi-python-client", "openapi-generator-cli"}:
        pass  # checked against tests/clients/commands.py by the client docs test
    else:
        pytest.fail(f"{where}: unknown program {program!r}")


# -- the state diagrams -------------------------------------------------------------


def diagram_edges(title: str) -> set[tuple[str, str]]:
    text = (DOCS / "concepts.md").read_text()
    section = text.split(f"## {title}")[1]
    diagram = re.search(r"```mermaid\n(.*?)```", section, re.DOTALL).group(1)
    edges = re.findall(r"^\s*(\S+) --> (\S+?)(?::|$)", diagram, re.MULTILINE)
    return {(a, b) for a, b in edges if "[*]" not in (a, b)}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_diagram_labels_have_no_statement_separator(page):
    """Mermaid ends a statement at ``;``: a label holding one draws its words as
    extra states."""
    for lang, body in blocks(page):
        if lang == "mermaid":
            assert ";" not in body, f"{page.name}: {body[:60]!r}"


def test_the_import_diagram_has_every_transition():
    S = ImportJob.ImportStatus
    expected = {
        (S.CREATED, S.PARSING),
        (S.PARSING, S.PARSED),
        (S.PARSING, S.INPUT_ERROR),
        (S.PARSING, S.PARSE_ERROR),
        (S.PARSED, S.IMPORT_CONFIRMED),
        (S.IMPORT_CONFIRMED, S.IMPORTING),
        (S.IMPORTING, S.IMPORTED),
        (S.IMPORTING, S.IMPORT_ERROR),
        *((status, S.CANCELLED) for status in ImportJob.CANCELLABLE),
        *((status, S.CREATED) for status in ImportJob.REPARSABLE),
        *((status, S.REVERT_REQUESTED) for status in ImportJob.REVERTIBLE),
        (S.REVERT_REQUESTED, S.REVERTING),
        (S.REVERTING, S.REVERTED),
        (S.REVERTING, S.REVERT_ERROR),
        (S.REVERTING, ImportJob.RESTART[S.REVERTING]),
        # The chunked commit mode.
        (S.IMPORTING, S.ROLLING_BACK),
        (S.IMPORT_CONFIRMED, S.ROLLING_BACK),
        (S.ROLLING_BACK, S.IMPORT_ERROR),
        (S.ROLLING_BACK, S.CANCELLED),
        (S.IMPORTING, S.IMPORT_CONFIRMED),
    }
    assert diagram_edges("Import jobs") == {(str(a), str(b)) for a, b in expected}
    assert {s for edge in expected for s in edge} == set(S.values)


def test_the_export_diagram_has_every_transition():
    S = ExportJob.ExportStatus
    expected = {
        (S.CREATED, S.EXPORTING),
        (S.EXPORTING, S.EXPORTED),
        (S.EXPORTING, S.EXPORT_ERROR),
        *((status, S.CANCELLED) for status in ExportJob.CANCELLABLE),
    }
    assert diagram_edges("Export jobs") == {(str(a), str(b)) for a, b in expected}
    assert {s for edge in expected for s in edge} == set(S.values)


# -- the REST API page --------------------------------------------------------------

REST = (DOCS / "rest-api.md").read_text()


def route_tables() -> dict[str, dict[tuple[str, str], set[str]]]:
    tables = {}
    for kind in ("Import", "Export"):
        table = REST.split(f"{kind} routes:")[1].split("\n\n")[1]
        rows = {}
        for line in table.splitlines()[2:]:
            request, _does, answers = [cell.strip() for cell in line.strip("|").split("|")]
            method, path = re.match(r"`(\w+) \{p\}(\S*)`", request).groups()
            rows[(method.lower(), path)] = set(re.findall(r"\b[1-5]\d\d\b", answers))
        tables[kind.lower()] = rows
    return tables


@pytest.mark.parametrize("kind", ["import", "export"])
def test_the_route_tables_match_the_schema(kind):
    prefix = f"/api/books/{kind}s"
    documented = route_tables()[kind]
    in_schema = {
        (method, path.removeprefix(prefix)): set(operation["responses"])
        for path, operations in SCHEMA["paths"].items()
        if path.startswith(prefix + "/")
        for method, operation in operations.items()
    }
    assert documented == in_schema


def test_the_documented_job_keys_are_the_schema_components():
    components = SCHEMA["components"]["schemas"]
    import_example = json.loads(example_blocks()[0])
    assert set(import_example) == set(components["BookImportJob"]["properties"])
    export_example = json.loads(example_blocks()[4])
    assert set(export_example) == set(components["BookExportJob"]["properties"])
    representation = REST.split("## Job representation")[1].split("\n## ")[0]
    [block] = [body for _f, lang, body in FENCE.findall(representation) if lang == "json"]
    assert set(json.loads(block)) == set(components["BookImportJob"]["properties"])
    listed = re.search(r"Export job \(`BookExportJob`\): (.*?)\.\n\n", REST, re.DOTALL).group(1)
    keys = set(re.findall(r"`(\w+)`", listed)) - {"null"}
    assert keys == set(components["BookExportJob"]["properties"])


def example_blocks() -> list[str]:
    section = REST.split("## Examples")[1].split("\n## ")[0]
    return [body for _f, lang, body in FENCE.findall(section) if lang == "json"]


VOLATILE = re.compile(r"(^id$|url$|_at$|^filename$)")


def same_shape(documented: Any, real: Any, key: str = "") -> None:
    """``real`` is ``documented`` up to ids, URLs, times and generated names."""
    if VOLATILE.search(key):
        assert (documented is None) == (real is None), key
    elif isinstance(documented, dict):
        assert isinstance(real, dict) and set(documented) == set(real), (documented, real)
        for name, value in documented.items():
            same_shape(value, real[name], name)
    elif isinstance(documented, list):
        assert isinstance(real, list) and len(documented) == len(real), (documented, real)
        for doc_item, real_item in zip(documented, real, strict=True):
            same_shape(doc_item, real_item, key)
    elif isinstance(documented, str):
        assert re.sub(r"\d+", "N", documented) == re.sub(r"\d+", "N", real), key
    else:
        assert documented == real, key


@pytest.mark.urls("mysite.urls")
def test_the_documented_answers_are_the_real_ones(db, settings, django_user_model):
    settings.DRF_IMPORT_EXPORT_JOBS = {"IMPORT_FORMATS": ["csv", "xlsx"]}
    api = APIClient()
    api.force_authenticate(django_user_model.objects.create_user("ann"))
    books = page_file("quickstart.md", "books.csv").encode()
    created, pdf, conflict, errors, export = map(json.loads, example_blocks())

    response = api.post(
        "/api/books/imports/",
        {"file": SimpleUploadedFile("books.csv", books), "skip_invalid_rows": "true"},
        format="multipart",
    )
    assert response.status_code == 201
    same_shape(created, response.json())

    response = api.post(
        "/api/books/imports/", {"file": SimpleUploadedFile("books.pdf", b"%PDF")}, "multipart"
    )
    assert response.status_code == 400
    same_shape(pdf, response.json())

    bad = (
        "isbn,title,author,price,in_stock\n1,A,Ann,1,1\n2,,Ann,1,1\n3,C,Ann,1,1\n"
        "4,D,Ann,1,1\n5,E,,1,1\n"
    )
    response = api.post(
        "/api/books/imports/", {"file": SimpleUploadedFile("bad.csv", bad.encode())}, "multipart"
    )
    job = ImportJob.objects.get(pk=response.json()["id"])
    job.parse_data()  # what the worker does
    response = api.post(f"/api/books/imports/{job.pk}/confirm/")
    assert response.status_code == 409
    same_shape(conflict, response.json())
    response = api.get(f"/api/books/imports/{job.pk}/errors/?page=1")
    assert response.status_code == 200
    same_shape(errors, response.json())

    first = ImportJob.objects.order_by("pk").first()
    first.parse_data()
    first.refresh_from_db()
    first.confirm_import()
    first.import_data()
    body = {"file_format": "xlsx", "filters": {"in_stock": True}}
    response = api.post("/api/books/exports/", body, format="json")
    assert response.status_code == 201
    job = ExportJob.objects.get(pk=response.json()["id"])
    job.export_data()
    same_shape(export, api.get(f"/api/books/exports/{job.pk}/").json())


def test_the_readme_example_is_the_quickstart_code():
    """Each line of the README's example is a line of the quickstart project
    (whose views and URLs the suite serves and runs)."""
    readme = (ROOT / "README.md").read_text()
    [example] = [body for _f, lang, body in FENCE.findall(readme) if lang == "python"]
    quickstart = ROOT / "docs" / "examples" / "quickstart"
    known = {
        line.strip()
        for path in (quickstart / "library" / "views.py", quickstart / "mysite" / "urls.py")
        for line in path.read_text().splitlines()
    }
    for line in example.splitlines():
        code = line.split("  #")[0].strip()
        assert not code or code.startswith("#") or code in known, line


README_LINK = re.compile(r"\]\((docs/[\w/-]+\.md)(?:#[\w-]*)?\)")


def test_the_pages_the_readme_links_show_their_code_on_the_repository_page():
    """The repository page shows Markdown as it is: there, a snippet include
    is all a reader sees of its code. The pages the README links keep their
    code inline (and tested)."""
    linked = sorted(set(README_LINK.findall((ROOT / "README.md").read_text())))
    assert {"docs/index.md", "docs/quickstart.md"} <= set(linked)
    for name in linked:
        for block in page_blocks(name.removeprefix("docs/")):
            found = included(block.body)
            assert found is None, f"{name} shows only an include line of {found[0]}"


def test_the_home_page_shows_the_quickstarts_files():
    """docs/index.md's files are the quickstart's, which tests/test_quickstart.py runs."""
    titles = {block.title for block in page_blocks("index.md") if block.title}
    assert titles == {"library/views.py", "mysite/urls.py"}
    for title in titles:
        assert page_file("index.md", title) == page_file("quickstart.md", title), title


def test_the_readme_commands_are_make_targets():
    readme = (ROOT / "README.md").read_text()
    for target in re.findall(r"^make (\w[\w-]*)", readme, re.MULTILINE):
        assert target in MAKE_TARGETS
    assert "make demo" in readme and "make test" in readme


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


def docs_screenshots_of_the_tests() -> dict[str, set[str]]:
    """The ``DOCS_SCREENSHOTS`` set of each test module that has one: the
    screenshots it copies into docs/images/ with ``UPDATE_DOCS_SCREENSHOTS=1``."""
    found: dict[str, set[str]] = {}
    for module in sorted(Path(__file__).resolve().parent.glob("test_*.py")):
        for node in ast.parse(module.read_text()).body:
            if isinstance(node, ast.Assign) and any(
                isinstance(target, ast.Name) and target.id == "DOCS_SCREENSHOTS"
                for target in node.targets
            ):
                found[module.name] = set(ast.literal_eval(node.value))
    return found


def test_the_screenshots_the_docs_show_are_made_by_the_browser_tests():
    """Every image in docs/images/ is one a browser test makes and refreshes
    with UPDATE_DOCS_SCREENSHOTS=1, and every page shows only those."""
    made = docs_screenshots_of_the_tests()
    for module in made:
        source = (Path(__file__).resolve().parent / module).read_text()
        assert "UPDATE_DOCS_SCREENSHOTS" in source, f"{module} never copies its screenshots"
    refreshed = set().union(*made.values())
    stored = {path.name for path in (DOCS / "images").iterdir()}
    assert stored == refreshed, "docs/images/ holds images no browser test makes (or misses some)"
    shown = {
        name for page in PAGES for name in re.findall(r"\(images/([^)]+)\)", page.read_text())
    }
    assert shown == stored
