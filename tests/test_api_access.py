"""Access rules for every route of the job viewsets.

The routes are read from the router (``tests.api_urls``), so a route added to
the viewsets without a row in ``ROUTES`` fails
``test_every_routed_action_is_in_the_table`` until its access is tested here.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.middleware.csrf import _get_new_csrf_string, _mask_cipher_secret
from django.test import override_settings
from rest_framework.test import APIClient

from drf_import_export_jobs.mixins import JobViewSetMixin
from drf_import_export_jobs.models import ExportJob, ImportJob, SavedColumnMapping
from tests import api_urls
from tests.conftest import BOOK_RESOURCE, book_rows, csv_bytes

pytestmark = pytest.mark.usefixtures("empty_job_storage")

PREFIX = {"import": "/api/books/imports/", "export": "/api/books/exports/"}

# (job kind, action, HTTP method, path after the prefix; {pk} for detail routes,
# {mapping} for the newest saved column mapping)
ROUTES: list[tuple[str, str, str, str]] = [
    ("import", "list", "get", ""),
    ("import", "create", "post", ""),
    ("import", "retrieve", "get", "{pk}/"),
    ("import", "destroy", "delete", "{pk}/"),
    ("import", "confirm", "post", "{pk}/confirm/"),
    ("import", "cancel", "post", "{pk}/cancel/"),
    ("import", "revert", "post", "{pk}/revert/"),
    ("import", "errors", "get", "{pk}/errors/"),
    ("import", "errors_file", "get", "{pk}/errors/file/"),
    ("import", "reparse", "post", "{pk}/reparse/"),
    ("import", "mappings", "get", "mappings/"),
    ("import", "create_mapping", "post", "mappings/"),
    ("import", "mapping_detail", "get", "mappings/{mapping}/"),
    ("import", "delete_mapping", "delete", "mappings/{mapping}/"),
    ("import", "events", "get", "{pk}/events/"),
    ("export", "list", "get", ""),
    ("export", "create", "post", ""),
    ("export", "retrieve", "get", "{pk}/"),
    ("export", "destroy", "delete", "{pk}/"),
    ("export", "cancel", "post", "{pk}/cancel/"),
    ("export", "download", "get", "{pk}/download/"),
    ("export", "events", "get", "{pk}/events/"),
]
DETAIL = [route for route in ROUTES if "{pk}" in route[3]]
UNSAFE = [route for route in ROUTES if route[2] in ("post", "delete")]
ids = [f"{kind}-{action}" for kind, action, _m, _p in ROUTES]
detail_ids = [f"{kind}-{action}" for kind, action, _m, _p in DETAIL]
unsafe_ids = [f"{kind}-{action}" for kind, action, _m, _p in UNSAFE]


def routed_actions() -> set[tuple[str, str, str]]:
    """(job kind, action, method) of every route the router gives job viewsets."""
    found = set()
    for pattern in api_urls.router.urls:
        view = pattern.callback
        cls = getattr(view, "cls", None)
        if cls is None or not issubclass(cls, JobViewSetMixin):
            continue
        for method, action in view.actions.items():
            if method != "head":  # DRF maps HEAD to the GET action: the same checks
                found.add((cls.job_kind, action, method))
    return found


def test_every_routed_action_is_in_the_table():
    assert routed_actions() == {(kind, action, method) for kind, action, method, _ in ROUTES}


# -- helpers ------------------------------------------------------------------------


def make_job(kind: str, owner: Any, **fields: Any) -> Any:
    """A finished job of ``owner`` with its files (parsed import, exported export)."""
    if kind == "import":
        job = ImportJob(
            resource_path=BOOK_RESOURCE, file_format_name="csv", created_by=owner, **fields
        )
        job.data_file.save("u.csv", ContentFile(csv_bytes(book_rows(1))), save=False)
        job.error_report.save("r.csv", ContentFile(b"row,field,message\n1,,bad\n"), save=False)
        job.save()
        ImportJob.objects.filter(pk=job.pk).update(status="parsed")
        SavedColumnMapping.objects.create(
            owner=owner, resource_path=BOOK_RESOURCE, headers=["ISBN"], mapping={"ISBN": "isbn"}
        )
        return ImportJob.objects.get(pk=job.pk)
    job = ExportJob(
        resource_path=BOOK_RESOURCE, file_format_name="csv", created_by=owner, **fields
    )
    job.save()
    job.data_file.save("e.csv", ContentFile(b"isbn\n1\n"), save=False)
    ExportJob.objects.filter(pk=job.pk).update(status="exported", data_file=job.data_file.name)
    return ExportJob.objects.get(pk=job.pk)


def body_for(kind: str, action: str) -> tuple[Any, str | None]:
    if action != "create":
        return None, None
    if kind == "import":
        return {"file": SimpleUploadedFile("b.csv", csv_bytes(book_rows(1)))}, "multipart"
    return {"file_format": "csv"}, "json"


def call(client: APIClient, kind: str, action: str, method: str, path: str, pk: Any, **extra: Any):
    mapping = SavedColumnMapping.objects.order_by("-pk").values_list("pk", flat=True).first()
    url = PREFIX[kind] + path.format(pk=pk, mapping=mapping or 0)
    data, fmt = body_for(kind, action)
    if data is None:
        return getattr(client, method)(url, **extra)
    return getattr(client, method)(url, data, format=fmt, **extra)


def snapshot(kind: str) -> list[tuple[Any, ...]]:
    model = ImportJob if kind == "import" else ExportJob
    return list(model.objects.order_by("pk").values_list("pk", "status", "data_file"))


# -- anonymous ------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "action", "method", "path"), ROUTES, ids=ids)
def test_anonymous_is_refused_and_nothing_changes(anon, user, kind, action, method, path):
    job = make_job(kind, user)
    before = snapshot(kind)
    response = call(anon, kind, action, method, path, job.pk)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert "credentials were not provided" in response.json()["detail"]
    assert snapshot(kind) == before


@pytest.mark.parametrize(("kind", "action", "method", "path"), ROUTES, ids=ids)
def test_anonymous_session_client_is_refused_without_basic(user, kind, action, method, path):
    """With only session authentication (no WWW-Authenticate scheme) the refusal is a 403."""
    from rest_framework.authentication import SessionAuthentication

    job = make_job(kind, user)
    view_classes = {p.callback.cls for p in api_urls.router.urls if hasattr(p.callback, "cls")}
    with pytest.MonkeyPatch.context() as patch:
        for cls in view_classes:
            patch.setattr(cls, "authentication_classes", [SessionAuthentication])
        response = call(APIClient(), kind, action, method, path, job.pk)
    assert response.status_code == 403
    assert snapshot(kind)[0][1] == job.status


# -- other users' jobs ---------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "action", "method", "path"), DETAIL, ids=detail_ids)
def test_another_users_job_is_a_404_for_every_detail_route(
    api, other_user, kind, action, method, path
):
    job = make_job(kind, other_user)
    before = snapshot(kind)
    response = call(api, kind, action, method, path, job.pk, HTTP_ACCEPT="*/*")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": f"No {type(job).__name__} matches the given query."}
    assert snapshot(kind) == before


@pytest.mark.parametrize("kind", ["import", "export"])
def test_another_users_jobs_are_not_listed(api, user, other_user, kind):
    mine = make_job(kind, user)
    make_job(kind, other_user)
    body = api.get(PREFIX[kind]).json()
    assert [job["id"] for job in body["results"]] == [mine.pk]


# -- tracebacks --------------------------------------------------------------------------

TRACEBACK = 'Traceback (most recent call last):\n  File "/srv/app/secret.py"\nKeyError: x'
# The routes that answer with a job representation.
SHOWS_JOB = [
    route for route in ROUTES if route[1] in ("list", "retrieve", "confirm", "cancel", "create")
]


def job_in(response: Any) -> dict:
    body = response.json()
    return body["results"][0] if "results" in body else body


@pytest.mark.parametrize(
    ("kind", "action", "method", "path"),
    SHOWS_JOB,
    ids=[f"{kind}-{action}" for kind, action, _m, _p in SHOWS_JOB],
)
@pytest.mark.parametrize("staff", [False, True], ids=["user", "staff"])
def test_the_traceback_is_shown_to_staff_only(
    user, staff_user, kind, action, method, path, staff, django_capture_on_commit_callbacks
):
    owner = staff_user if staff else user
    job = make_job(kind, owner, traceback=TRACEBACK)
    if action == "create":  # a created job has no traceback yet: check the field exists
        job = None
    elif action == "cancel":
        model = type(job)
        model.objects.filter(pk=job.pk).update(status="created")
    elif action == "confirm":
        pass
    client = APIClient()
    client.force_authenticate(owner)
    response = call(client, kind, action, method, path, job.pk if job else None)
    assert response.status_code < 300, response.content
    shown = job_in(response)["traceback"]
    if job is None:
        assert shown == ""
    else:
        assert shown == (TRACEBACK if staff else "")


# -- CSRF ----------------------------------------------------------------------------------


def session_client(user: Any) -> tuple[APIClient, dict[str, str]]:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    secret = _get_new_csrf_string()
    client.cookies["csrftoken"] = secret
    return client, {"HTTP_X_CSRFTOKEN": _mask_cipher_secret(secret)}


@pytest.mark.parametrize(("kind", "action", "method", "path"), UNSAFE, ids=unsafe_ids)
def test_session_writes_need_the_csrf_token(user, kind, action, method, path):
    job = make_job(kind, user)
    client, token = session_client(user)
    before = snapshot(kind)
    refused = call(client, kind, action, method, path, job.pk)
    assert refused.status_code == 403
    assert "CSRF Failed" in refused.json()["detail"]
    assert snapshot(kind) == before
    accepted = call(client, kind, action, method, path, job.pk, **token)
    assert accepted.status_code not in (401, 403), accepted.content


@pytest.mark.parametrize(
    ("kind", "action", "method", "path"),
    [route for route in ROUTES if route[2] == "get"],
    ids=[f"{k}-{a}" for k, a, m, _p in ROUTES if m == "get"],
)
def test_session_reads_need_no_csrf_token(user, kind, action, method, path):
    job = make_job(kind, user)
    client, _token = session_client(user)
    assert call(client, kind, action, method, path, job.pk).status_code == 200


# -- throttling ------------------------------------------------------------------------------


@pytest.fixture
def fresh_throttles():
    cache.clear()
    yield
    cache.clear()


@pytest.mark.parametrize(("kind", "action", "method", "path"), ROUTES, ids=ids)
def test_each_action_can_be_throttled_by_its_own_scope(
    api, user, fresh_throttles, kind, action, method, path
):
    job = make_job(kind, user)
    job_settings = {"THROTTLE_SCOPES": {action: f"jobs-{action}"}}
    rates = {"DEFAULT_THROTTLE_RATES": {f"jobs-{action}": "1/min"}}
    with override_settings(
        DRF_IMPORT_EXPORT_JOBS=job_settings, REST_FRAMEWORK={**rest_framework(), **rates}
    ):
        first = call(api, kind, action, method, path, job.pk)
        assert first.status_code != 429
        second = call(api, kind, action, method, path, job.pk)
        assert second.status_code == 429
        assert int(second["Retry-After"]) > 0
        assert "throttled" in second.json()["detail"]
        # Another action has no scope: not throttled.
        other = "list" if action != "list" else "retrieve"
        other_path = "" if other == "list" else "{pk}/"
        assert call(api, kind, other, "get", other_path, job.pk).status_code == 200


def rest_framework() -> dict:
    from django.conf import settings

    return dict(settings.REST_FRAMEWORK)


def test_throttles_count_per_user(api, other_user, fresh_throttles):
    with override_settings(
        DRF_IMPORT_EXPORT_JOBS={"THROTTLE_SCOPES": {"list": "jobs"}},
        REST_FRAMEWORK={**rest_framework(), "DEFAULT_THROTTLE_RATES": {"jobs": "2/min"}},
    ):
        assert [api.get(PREFIX["import"]).status_code for _ in range(3)] == [200, 200, 429]
        other = APIClient()
        other.force_authenticate(other_user)
        assert other.get(PREFIX["import"]).status_code == 200


def test_a_viewset_attribute_overrides_the_setting(api, fresh_throttles, monkeypatch):
    from tests.testapp.views import BookImportViewSet

    monkeypatch.setattr(BookImportViewSet, "throttle_scopes", {"retrieve": "jobs"}, raising=False)
    with override_settings(
        DRF_IMPORT_EXPORT_JOBS={"THROTTLE_SCOPES": {"list": "jobs"}},
        REST_FRAMEWORK={**rest_framework(), "DEFAULT_THROTTLE_RATES": {"jobs": "1/min"}},
    ):
        assert [api.get(PREFIX["import"]).status_code for _ in range(3)] == [200, 200, 200]
        assert [api.get(PREFIX["import"] + "1/").status_code for _ in range(2)] == [404, 429]


def test_a_scope_without_a_rate_is_a_system_check_error():
    from drf_import_export_jobs.checks import check_settings

    with override_settings(DRF_IMPORT_EXPORT_JOBS={"THROTTLE_SCOPES": {"create": "uploads"}}):
        errors = [e for e in check_settings() if e.id == "drf_import_export_jobs.E021"]
    assert len(errors) == 1
    assert "'uploads'" in errors[0].msg
    assert "DEFAULT_THROTTLE_RATES" in errors[0].hint


def test_a_bad_text_encoding_is_a_system_check_error():
    from drf_import_export_jobs.checks import check_settings

    with override_settings(DRF_IMPORT_EXPORT_JOBS={"TEXT_ENCODING": "klingon"}):
        errors = [e for e in check_settings() if e.id == "drf_import_export_jobs.E020"]
    assert len(errors) == 1
    assert "TEXT_ENCODING" in errors[0].msg


def test_every_operation_documents_429():
    from tests.test_api_schema import generate

    schema = generate()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method in ("get", "post", "put", "patch", "delete"):
                assert "429" in operation["responses"], (method, path)
