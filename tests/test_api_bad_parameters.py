"""REST API: out-of-range, negative and non-numeric query parameters and ids
are a JSON 4xx with the reason, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from tests.test_api_errors_and_size import make_job

pytestmark = pytest.mark.usefixtures("empty_job_storage")

URL = "/api/books/imports/"
HUGE = ["92233720368547759", "9223372036854775808", "9" * 5000]
NOT_POSITIVE = ["0", "-1", "1e5", "1.5", "x", "", "٣"]


def get(api: Any, path: str, **params: str) -> Any:
    api.raise_request_exception = False
    return api.get(path, params)


@pytest.mark.parametrize("page", HUGE + [page for page in NOT_POSITIVE if page])
def test_an_errors_page_that_cannot_exist_is_a_json_404(api, user, page):
    job = make_job(user, errors=5)
    response = get(api, f"{URL}{job.pk}/errors/", page=page)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"].startswith("Invalid page")


def test_an_errors_page_past_sys_maxsize_is_a_404_for_any_page_size(api, user):
    job = make_job(user, errors=5)
    with override_settings(DRF_IMPORT_EXPORT_JOBS={"API_ERRORS_PAGE_SIZE": 1}):
        response = get(api, f"{URL}{job.pk}/errors/", page="9223372036854775807")
    assert response.status_code == 404
    assert "Invalid page" in response.json()["detail"]


@pytest.mark.parametrize("page", HUGE + NOT_POSITIVE)
def test_a_list_page_that_cannot_exist_is_a_json_404(api, user, page):
    make_job(user)
    response = get(api, URL, page=page)
    if page == "":
        assert response.status_code == 200
        return
    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid page."}


@pytest.mark.parametrize("size", [size for size in NOT_POSITIVE if size])
def test_a_page_size_that_is_not_a_positive_integer_is_a_400(api, user, size):
    make_job(user)
    response = get(api, URL, page_size=size)
    assert response.status_code == 400
    [message] = response.json()["page_size"]
    assert "Expected a positive integer" in message
    assert "API_MAX_PAGE_SIZE" in message


@pytest.mark.parametrize("size", HUGE)
def test_a_huge_page_size_is_capped(api, user, size):
    for _ in range(3):
        make_job(user)
    with override_settings(DRF_IMPORT_EXPORT_JOBS={"API_MAX_PAGE_SIZE": 2}):
        response = get(api, URL, page_size=size)
    assert response.status_code == 200
    assert len(response.json()["results"]) == 2


@pytest.mark.parametrize(
    "job_id", ["99999999999999999999999", "9223372036854775808", "9" * 5000, "-1", "0", "abc"]
)
@pytest.mark.parametrize("route", ["", "errors/", "cancel/", "confirm/"])
def test_an_id_that_cannot_exist_is_a_json_404(api, user, job_id, route):
    make_job(user)
    api.raise_request_exception = False
    method = api.get if route in ("", "errors/") else api.post
    response = method(f"{URL}{job_id}/{route}")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


@pytest.mark.parametrize("job_id", ["99999999999999999999999", "-1", "abc"])
def test_an_export_id_that_cannot_exist_is_a_json_404(api, job_id):
    api.raise_request_exception = False
    for response in (
        api.get(f"/api/books/exports/{job_id}/"),
        api.get(f"/api/books/exports/{job_id}/download/"),
        api.delete(f"/api/books/exports/{job_id}/"),
    ):
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
