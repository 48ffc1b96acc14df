"""Paths under the API prefix that no route matches answer a JSON 404
(``drf_import_export_jobs.notfound``, included last under api/ by
tests/urls.py), not Django's HTML page."""

from __future__ import annotations

import pytest
from django.test import override_settings

pytestmark = pytest.mark.usefixtures("empty_job_storage")

UNROUTED = [
    "/api/nope/",
    "/api/books/nope/",
    "/api/books/imports/1/nope/",
    "/api/books/imports/1/errors/nope/",
    "/api/books/imports/1/2/",
    "/api/books/imports/a.b/",
    "/api/books/exports/1/download/x/",
]


@pytest.mark.parametrize("path", UNROUTED)
@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete", "options"])
def test_an_unrouted_path_under_the_api_prefix_is_a_json_404(api, path, method):
    response = getattr(api, method)(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


@pytest.mark.parametrize("path", UNROUTED[:2])
def test_anonymous_callers_get_the_same_json_404(anon, path):
    response = anon.get(path)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


@pytest.mark.parametrize("path", ["/api/books/imports/abc/", "/api/books/imports/abc/errors/"])
def test_a_non_integer_id_is_a_json_404(api, path):
    response = api.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


def test_paths_outside_the_api_prefix_keep_djangos_404(api):
    response = api.get("/elsewhere/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@override_settings(APPEND_SLASH=True)
def test_a_route_without_its_trailing_slash_is_redirected(api):
    response = api.get("/api/books/imports?status=parsed")
    assert response.status_code == 301
    assert response["Location"] == "/api/books/imports/?status=parsed"
    assert api.get("/api/nope").status_code == 404
    assert api.post("/api/books/imports").status_code == 404


@override_settings(APPEND_SLASH=False)
def test_without_append_slash_a_path_without_its_slash_is_a_404(api):
    response = api.get("/api/books/imports")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
