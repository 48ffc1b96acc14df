"""The example project (example_project/, run in a subprocess with its own
settings, never imported here): 401 with ``WWW-Authenticate`` for missing or
bad credentials, JSON 404s under /api/, and job admin pages whose file links
work and that have no save button, and Book and Author changelists with
"Import" and "Export"."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "example_project"

# Run by ``manage.py shell -c`` in example_project/; prints one JSON object.
CHECKS = r"""
import base64, json, re
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.test import Client
from rest_framework.authtoken.models import Token
from drf_import_export_jobs.models import ExportJob

def basic(credentials):
    return "Basic " + base64.b64encode(credentials.encode()).decode()

def answer(response):
    content_type = response.get("Content-Type", "")
    body = response.json() if content_type == "application/json" else None
    return {
        "status": response.status_code,
        "www_authenticate": response.get("WWW-Authenticate"),
        "content_type": content_type,
        "body": body,
        "location": response.get("Location"),
    }

user = get_user_model().objects.create_superuser("demo", "demo@example.com", "demo")
token = Token.objects.create(user=user)
client = Client()
out = {}
url = "/api/books/imports/"
out["anonymous"] = answer(client.get(url))
out["anonymous_post"] = answer(client.post("/api/books/exports/", {}))
out["bad_password"] = answer(client.get(url, HTTP_AUTHORIZATION=basic("demo:wrong")))
out["unknown_user"] = answer(client.get(url, HTTP_AUTHORIZATION=basic("nobody:x")))
out["bad_token"] = answer(client.get(url, HTTP_AUTHORIZATION="Token nope"))
out["basic"] = answer(client.get(url, HTTP_AUTHORIZATION=basic("demo:demo")))
out["token"] = answer(client.get(url, HTTP_AUTHORIZATION=f"Token {token.key}"))
out["unrouted_anonymous"] = answer(client.get("/api/books/imports/1/nope/"))

page = Client().get("/app/")
out["app_page"] = {
    "status": page.status_code,
    "html": page.content.decode(),
    "csrf_cookie": "csrftoken" in page.cookies,
}

client.force_login(user)
out["session"] = answer(client.get(url))
out["unrouted"] = answer(client.get("/api/books/imports/1/nope/"))
out["unknown_prefix"] = answer(client.get("/api/nope/"))
out["no_slash"] = answer(client.get("/api/books/imports"))
out["not_an_id"] = answer(client.get("/api/books/imports/abc/"))

job = ExportJob(
    resource_path="books.resources.BookResource", file_format_name="csv", created_by=user
)
job.data_file.save("books.csv", ContentFile(b"isbn\n9780000000001\n"), save=False)
job.save()
page = client.get(f"/admin/drf_import_export_jobs/exportjob/{job.pk}/change/")
html = page.content.decode()
links = re.findall(r'<a href="([^"]+)">[^<]*\.csv</a>', html)
out["admin_page"] = {
    "status": page.status_code,
    "save_button": 'name="_save"' in html,
    "links": links,
}
out["admin_links"] = []
for link in links:
    response = client.get(link)
    content = b"".join(response.streaming_content) if response.streaming else response.content
    out["admin_links"].append({"status": response.status_code, "content": content.decode()})
out["changelists"] = {}
for model in ("book", "author"):
    html = client.get(f"/admin/books/{model}/").content.decode()
    out["changelists"][model] = {
        "import": f'href="/admin/books/{model}/import/"' in html,
        "export": f'href="/admin/books/{model}/export/' in html,
        "import_page": client.get(f"/admin/books/{model}/import/").status_code,
        "export_page": client.get(f"/admin/books/{model}/export/").status_code,
    }
print(json.dumps(out))
"""


# Every test that takes it is marked slow: it runs manage.py in subprocesses
# (migrate, then the checks), about 8 seconds, too long for make test-fast.
@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Migrate a fresh database of the example project and run CHECKS on it."""
    folder = tmp_path_factory.mktemp("example")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE")
    }
    env.update(
        DATABASE_URL=f"sqlite:///{folder / 'db.sqlite3'}",
        DJANGO_MEDIA_ROOT=str(folder / "media"),
        CELERY_BROKER_URL="memory://",
    )

    def manage(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=EXAMPLE,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    manage("migrate", "--noinput")
    return json.loads(manage("shell", "-c", CHECKS).strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize(
    "case", ["anonymous", "anonymous_post", "bad_password", "unknown_user", "bad_token"]
)
def test_missing_or_bad_credentials_are_a_401_with_www_authenticate(example, case):
    answer = example[case]
    assert answer["status"] == 401, answer
    assert answer["www_authenticate"] == 'Basic realm="api"'
    assert answer["content_type"] == "application/json"
    assert "detail" in answer["body"]


@pytest.mark.slow
@pytest.mark.parametrize("case", ["basic", "token", "session"])
def test_basic_token_and_session_authentication_are_accepted(example, case):
    answer = example[case]
    assert answer["status"] == 200, answer
    assert answer["body"]["results"] == []


@pytest.mark.slow
@pytest.mark.parametrize("case", ["unrouted", "unknown_prefix", "not_an_id", "unrouted_anonymous"])
def test_paths_under_api_that_no_route_matches_are_a_json_404(example, case):
    answer = example[case]
    assert answer["status"] == 404, answer
    assert answer["content_type"] == "application/json"
    assert "detail" in answer["body"]


@pytest.mark.slow
def test_a_route_without_its_trailing_slash_is_still_redirected(example):
    answer = example["no_slash"]
    assert (answer["status"], answer["location"]) == (301, "/api/books/imports/")


@pytest.mark.slow
def test_the_job_admin_page_has_no_save_button_and_its_file_link_works(example):
    page = example["admin_page"]
    assert page["status"] == 200
    assert page["save_button"] is False
    [link] = page["links"]
    assert not link.startswith("/media/")
    assert example["admin_links"] == [{"status": 200, "content": "isbn\n9780000000001\n"}]


@pytest.mark.slow
def test_the_book_and_author_admins_import_and_export(example):
    expected = {"import": True, "export": True, "import_page": 200, "export_page": 200}
    assert example["changelists"] == {"book": expected, "author": expected}


FRONTEND_SOURCES = EXAMPLE / "frontend" / "src"
APP_STATIC = EXAMPLE / "books" / "static" / "books" / "app"


@pytest.mark.slow
def test_the_app_page_loads_the_committed_bundle_and_sets_the_csrf_cookie(example):
    page = example["app_page"]
    assert page["status"] == 200
    assert '<script type="module" src="/static/books/app/app.js">' in page["html"]
    assert '<link rel="stylesheet" href="/static/books/app/app.css">' in page["html"]
    assert page["csrf_cookie"] is True
    assert (APP_STATIC / "app.js").stat().st_size > 1000
    assert (APP_STATIC / "app.css").is_file()


def test_the_app_page_calls_the_api_only_through_the_generated_sdk():
    """The page's own sources make no request by hand: every call is a
    function of the SDK generated into src/client/ (not committed)."""
    sources = sorted(FRONTEND_SOURCES.glob("*.ts"))
    assert {path.name for path in sources} >= {"api.ts", "main.ts"}
    for path in sources:
        text = path.read_text()
        for call in ("fetch(", "XMLHttpRequest", "axios", '"/api/', "'/api/", "`/api/"):
            assert call not in text, f"{path.name} uses {call}"
    imports = (FRONTEND_SOURCES / "main.ts").read_text()
    assert 'from "./client"' in imports
