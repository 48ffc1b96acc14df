"""REST API of column mapping: create with a mapping, reparse, saved mappings."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections
from django.test import override_settings

from drf_import_export_jobs.exceptions import InvalidJobStatus
from drf_import_export_jobs.models import ImportJob, SavedColumnMapping
from tests.conftest import BOOK_RESOURCE, stored_job_files
from tests.test_column_matching import ODD_HEADERS, ODD_MAPPING, odd_file

URL = "/api/books/imports/"
MAPPINGS = f"{URL}mappings/"

pytestmark = pytest.mark.usefixtures("empty_job_storage")


def upload(client: Any, data: bytes | None = None, **fields: Any):
    payload = {"file": SimpleUploadedFile("odd.csv", data or odd_file("csv")), **fields}
    for name in ("column_mapping",):
        if isinstance(payload.get(name), (dict, list)):
            payload[name] = json.dumps(payload[name])
    return client.post(URL, payload, format="multipart")


def parsed_job(user: Any, status: str = "parse_error", **fields: Any) -> ImportJob:
    """A job whose dry run read the odd headers (and ended in ``status``)."""
    job = ImportJob(resource_path=BOOK_RESOURCE, file_format_name="csv", created_by=user, **fields)
    job.data_file.save("odd.csv", ContentFile(odd_file("csv")), save=False)
    job.save()
    job.parse_data()
    job.refresh_from_db()
    assert job.status in ("parse_error", "parsed"), job.error_message
    if status != job.status:
        ImportJob.objects.filter(pk=job.pk).update(status=status)
        job.status = status
    return job


def save(owner: Any, resource: str = BOOK_RESOURCE, **fields: Any) -> SavedColumnMapping:
    return SavedColumnMapping.objects.create(
        owner=owner,
        resource_path=resource,
        headers=fields.pop("headers", ODD_HEADERS),
        mapping=fields.pop("mapping", ODD_MAPPING),
        **fields,
    )


# -- create with a mapping ------------------------------------------------------------


def test_create_with_a_mapping_stores_it(
    api, user, sent_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(api, column_mapping=ODD_MAPPING)
    assert response.status_code == 201, response.json()
    assert response.json()["column_mapping"] == ODD_MAPPING
    assert response.json()["columns"] is None
    job = ImportJob.objects.get()
    assert job.column_mapping == ODD_MAPPING
    assert sent_tasks.names() == ["drf_import_export_jobs.parse_import_job"]


def test_a_mapping_may_name_column_names_and_is_stored_by_field_name(api):
    response = upload(api, column_mapping={"Autor": "author"})
    assert response.status_code == 201
    assert ImportJob.objects.get().column_mapping == {"Autor": "author"}


def test_create_with_a_saved_mapping_id(api, user):
    saved = save(user)
    response = upload(api, column_mapping_id=str(saved.pk))
    assert response.status_code == 201, response.json()
    job = ImportJob.objects.get()
    assert job.column_mapping == ODD_MAPPING
    assert job.saved_column_mapping == saved


def test_an_empty_saved_mapping_id_is_none(api):
    response = upload(api, column_mapping_id="")
    assert response.status_code == 201, response.json()
    assert ImportJob.objects.get().saved_column_mapping is None


BAD_MAPPINGS = {
    "unknown field": ({"ISBN-13": "isbn13"}, "Unknown field(s): 'isbn13'. Accepted: isbn, title"),
    "field twice": (
        {"ISBN-13": "isbn", "EAN": "isbn"},
        "Field 'isbn' is mapped from more than one header: 'ISBN-13', 'EAN'.",
    ),
    "field twice by column name": (
        {"A": "author", "B": "author"},
        "Field 'author' is mapped from more than one header",
    ),
    "not an object": ('["isbn"]', "Expected a JSON object, got list."),
    "not json": ("{isbn", "Not valid JSON"),
    "number as field": ({"ISBN-13": 13}, "Header 'ISBN-13': the field must be a string, got int."),
    "null as field": ({"ISBN-13": None}, "the field must be a string, got NoneType."),
    "nested": ({"ISBN-13": {"a": 1}}, "the field must be a string, got dict."),
    "empty header": ({"": "isbn"}, "Header names must be non-empty strings"),
    "blank header": ({"  ": "isbn"}, "Header names must be non-empty strings"),
    "huge header": ({"x" * 2000: "isbn"}, "at most 1000 characters"),
}


@pytest.mark.parametrize(("mapping", "message"), BAD_MAPPINGS.values(), ids=BAD_MAPPINGS)
def test_a_bad_mapping_is_a_400_and_nothing_is_created(api, sent_tasks, mapping, message):
    value = mapping if isinstance(mapping, str) else json.dumps(mapping)
    response = upload(api, column_mapping=value)
    assert response.status_code == 400, response.json()
    assert any(message in m for m in response.json()["column_mapping"]), response.json()
    assert not ImportJob.objects.exists()
    assert stored_job_files() == []
    assert sent_tasks == []


def test_more_entries_than_max_columns_is_a_400(api):
    mapping = {f"h{i}": "isbn" for i in range(11)}
    with override_settings(DRF_IMPORT_EXPORT_JOBS={"MAX_COLUMNS": 10}):
        response = upload(api, column_mapping=mapping)
    assert response.status_code == 400
    assert "at most 10 (MAX_COLUMNS)" in response.json()["column_mapping"][0]
    assert not ImportJob.objects.exists()


def test_a_mapping_of_ten_thousand_headers_is_a_400_never_a_500(api):
    mapping = {f"Header {i}": f"field{i}" for i in range(10_000)}
    response = upload(api, column_mapping=mapping)
    assert response.status_code == 400
    assert not ImportJob.objects.exists()


def test_a_mapping_body_larger_than_django_accepts_is_a_400(api):
    mapping = {f"Header {i} {'x' * 50}": "isbn" for i in range(50_000)}
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024 * 1024):
        response = upload(api, column_mapping=mapping)
    assert response.status_code == 400
    assert not ImportJob.objects.exists()


def test_a_mapping_as_a_json_file_part_larger_than_allowed_is_a_400(api):
    part = SimpleUploadedFile(
        "mapping.json",
        json.dumps({f"h{i}": "isbn" for i in range(20_000)}).encode(),
        content_type="application/json",
    )
    response = upload(api, column_mapping=part)
    assert response.status_code == 400
    assert "larger than" in response.json()["column_mapping"][0]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("999999", "You have no saved column mapping 999999 here."),
        ("0", "greater than or equal to 1"),
        ("abc", "A valid integer is required."),
    ],
)
def test_a_bad_saved_mapping_id_is_a_400(api, value, message):
    response = upload(api, column_mapping_id=value)
    assert response.status_code == 400
    assert message in response.json()["column_mapping_id"][0]
    assert not ImportJob.objects.exists()


def test_another_users_or_resources_saved_mapping_is_a_400(api, user, other_user):
    theirs = save(other_user)
    other_resource = save(user, resource="tests.testapp.resources.AuthorResource")
    for saved in (theirs, other_resource):
        response = upload(api, column_mapping_id=str(saved.pk))
        assert response.status_code == 400
        assert f"no saved column mapping {saved.pk}" in response.json()["column_mapping_id"][0]
    assert not ImportJob.objects.exists()


def test_a_mapping_and_a_saved_mapping_id_together_is_a_400(api, user):
    saved = save(user)
    response = upload(api, column_mapping=ODD_MAPPING, column_mapping_id=str(saved.pk))
    assert response.status_code == 400
    assert "not both" in response.json()["column_mapping_id"][0]


# -- the column report in the job --------------------------------------------------------


def test_the_job_shows_the_column_report(api, user, authors):
    job = parsed_job(user)
    body = api.get(f"{URL}{job.pk}/").json()
    assert body["status"] == "parse_error"
    columns = body["columns"]
    assert [entry["header"] for entry in columns["headers"]] == ODD_HEADERS
    assert columns["headers"][2] == {
        "header": "Autor",
        "field": None,
        "match": None,
        "suggestion": {"field": "author", "score": pytest.approx(0.909, abs=0.001)},
    }
    assert {"field": "isbn", "column_name": "isbn", "required": True} in columns[
        "unmatched_fields"
    ]
    assert columns["mapping"] == {}
    assert columns["saved_mapping"] is None
    assert len(columns["signature"]) == 64


# -- reparse ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["parsed", "input_error", "parse_error"])
def test_reparse_goes_back_to_created_with_a_new_task(
    api, user, authors, status, sent_tasks, django_capture_on_commit_callbacks
):
    job = parsed_job(user, status)
    from django.core.files.base import ContentFile as Content

    job.error_report.save("report.csv", Content(b"row,field,message\n"), save=True)
    old_report, old_task = job.error_report.name, job.parse_task_id
    sent_tasks.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{URL}{job.pk}/reparse/", {"column_mapping": ODD_MAPPING}, "json")
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["status"] == "created"
    assert body["column_mapping"] == ODD_MAPPING
    assert body["columns"] is None and body["totals"] is None and body["error_message"] == ""
    job.refresh_from_db()
    assert job.parse_task_id != old_task
    assert job.parse_result is None and job.progress_total is None and not job.error_report
    assert not job.error_report.storage.exists(old_report)
    assert sent_tasks.names() == ["drf_import_export_jobs.parse_import_job"]
    assert sent_tasks[0][2]["task_id"] == job.parse_task_id
    job.parse_data()  # what the worker does
    job.refresh_from_db()
    assert job.status == "parsed", job.error_message
    assert job.parse_result["columns"]["mapping"] == ODD_MAPPING


@pytest.mark.parametrize(
    "status",
    [
        "created",
        "parsing",
        "import_confirmed",
        "importing",
        "imported",
        "import_error",
        "cancelled",
    ],
)
def test_reparse_from_another_status_is_a_409(api, user, authors, status, sent_tasks):
    job = parsed_job(user, status)
    before = ImportJob.objects.filter(pk=job.pk).values().get()
    sent_tasks.clear()
    response = api.post(f"{URL}{job.pk}/reparse/", {"column_mapping": ODD_MAPPING}, "json")
    assert response.status_code == 409
    assert response.json()["status"] == status
    assert response.json()["code"] == "invalid_status"
    assert ImportJob.objects.filter(pk=job.pk).values().get() == before
    assert sent_tasks == []


def test_reparse_checks_the_mapping_against_the_files_headers(api, user, authors):
    job = parsed_job(user)
    response = api.post(
        f"{URL}{job.pk}/reparse/", {"column_mapping": {"ISBN": "isbn"}}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["column_mapping"] == ["Header(s) not in the file: 'ISBN'."]
    response = api.post(
        f"{URL}{job.pk}/reparse/", {"column_mapping": {"Autor": "writer"}}, format="json"
    )
    assert response.status_code == 400
    assert "Unknown field(s): 'writer'" in response.json()["column_mapping"][0]
    job.refresh_from_db()
    assert job.status == "parse_error"


@pytest.mark.parametrize(
    "body",
    [[1, 2], "text", {"column_mapping": [1]}, {"column_mapping": {"a": 1}}, {"save_mapping": "x"}],
)
def test_reparse_with_a_hostile_body_is_a_400(api, user, authors, body):
    job = parsed_job(user)
    response = api.post(f"{URL}{job.pk}/reparse/", body, format="json")
    assert response.status_code == 400
    job.refresh_from_db()
    assert job.status == "parse_error"


def test_reparse_with_a_saved_mapping_of_other_headers_is_a_400(api, user, authors):
    job = parsed_job(user)
    saved = save(user, headers=["isbn", "title"], mapping={"isbn": "isbn"})
    response = api.post(f"{URL}{job.pk}/reparse/", {"column_mapping_id": saved.pk}, "json")
    assert response.status_code == 400
    assert "header signature does not match" in response.json()["column_mapping_id"][0]
    job.refresh_from_db()
    assert job.status == "parse_error"


def test_reparse_with_a_saved_mapping(api, user, authors):
    job = parsed_job(user)
    saved = save(user, headers=list(reversed(ODD_HEADERS)))
    response = api.post(f"{URL}{job.pk}/reparse/", {"column_mapping_id": saved.pk}, "json")
    assert response.status_code == 202, response.json()
    job.refresh_from_db()
    assert job.column_mapping == ODD_MAPPING and job.saved_column_mapping == saved


def test_reparse_can_save_the_mapping(api, user, authors):
    job = parsed_job(user)
    response = api.post(
        f"{URL}{job.pk}/reparse/",
        {"column_mapping": ODD_MAPPING, "save_mapping": True, "mapping_name": "shop"},
        format="json",
    )
    assert response.status_code == 202, response.json()
    saved = SavedColumnMapping.objects.get()
    assert (saved.owner, saved.name, saved.mapping) == (user, "shop", ODD_MAPPING)
    assert saved.headers == ODD_HEADERS
    assert saved.resource_path == BOOK_RESOURCE


def test_a_refused_reparse_saves_no_mapping(api, user, authors):
    job = parsed_job(user, "imported")
    response = api.post(
        f"{URL}{job.pk}/reparse/",
        {"column_mapping": ODD_MAPPING, "save_mapping": True},
        format="json",
    )
    assert response.status_code == 409
    assert not SavedColumnMapping.objects.exists()


def test_save_mapping_needs_a_mapping(api, user, authors):
    job = parsed_job(user)
    response = api.post(f"{URL}{job.pk}/reparse/", {"save_mapping": True}, format="json")
    assert response.status_code == 400
    assert response.json()["save_mapping"] == ["There is no column mapping to save."]


def test_another_users_job_cannot_be_reparsed(api, other_user, authors):
    job = parsed_job(other_user)
    response = api.post(f"{URL}{job.pk}/reparse/", {}, format="json")
    assert response.status_code == 404
    job.refresh_from_db()
    assert job.status == "parse_error"


def test_reparse_and_confirm_of_a_stale_job_exactly_one_wins(user, authors):
    job = parsed_job(user, "parsed")
    other = ImportJob.objects.get(pk=job.pk)
    job.confirm_import()
    with pytest.raises(InvalidJobStatus) as refused:
        other.reparse(ODD_MAPPING)
    assert refused.value.current_status == "import_confirmed"
    assert ImportJob.objects.get(pk=job.pk).status == "import_confirmed"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_reparse_racing_confirm_over_http_exactly_one_wins(user, authors):
    from rest_framework.test import APIClient

    for _round in range(10):
        job = parsed_job(user, "parsed")
        start = threading.Barrier(2)
        answers: dict[str, int] = {}

        def post(
            name: str,
            path: str,
            body: Any,
            job_pk: int = job.pk,
            start: threading.Barrier = start,
            answers: dict[str, int] = answers,
        ) -> None:
            client = APIClient()
            client.force_authenticate(user)
            try:
                start.wait()
                answers[name] = client.post(
                    f"{URL}{job_pk}/{path}/", body, format="json"
                ).status_code
            finally:
                connections.close_all()

        threads = [
            threading.Thread(
                target=post, args=("reparse", "reparse", {"column_mapping": ODD_MAPPING})
            ),
            threading.Thread(target=post, args=("confirm", "confirm", None)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(answers.values()) == [202, 409], answers
        status = ImportJob.objects.get(pk=job.pk).status
        assert status == ("created" if answers["reparse"] == 202 else "import_confirmed")


# -- saved mappings ------------------------------------------------------------------------


def test_saved_mappings_crud(api, user):
    response = api.post(
        MAPPINGS,
        {"name": "shop", "headers": ODD_HEADERS, "column_mapping": ODD_MAPPING},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    saved = SavedColumnMapping.objects.get()
    assert body["id"] == saved.pk
    assert body["column_mapping"] == ODD_MAPPING
    assert body["headers"] == ODD_HEADERS
    assert body["header_signature"] == saved.header_signature
    assert (saved.owner, saved.resource_path) == (user, BOOK_RESOURCE)
    assert api.get(MAPPINGS).json() == [body]
    assert api.get(f"{MAPPINGS}{saved.pk}/").json() == body
    assert api.delete(f"{MAPPINGS}{saved.pk}/").status_code == 204
    assert not SavedColumnMapping.objects.exists()
    assert api.get(f"{MAPPINGS}{saved.pk}/").status_code == 404


def test_saved_mappings_are_per_user_and_resource(api, user, other_user):
    mine = save(user)
    theirs = save(other_user)
    save(user, resource="tests.testapp.resources.AuthorResource", mapping={"Autor": "name"})
    assert [m["id"] for m in api.get(MAPPINGS).json()] == [mine.pk]
    assert api.get(f"{MAPPINGS}{theirs.pk}/").status_code == 404
    assert api.delete(f"{MAPPINGS}{theirs.pk}/").status_code == 404
    assert SavedColumnMapping.objects.filter(pk=theirs.pk).exists()
    author_mapping = SavedColumnMapping.objects.get(resource_path__endswith="AuthorResource")
    assert api.get(f"{MAPPINGS}{author_mapping.pk}/").status_code == 404
    assert api.get(f"/api/authors/imports/mappings/{author_mapping.pk}/").status_code == 200


BAD_SAVES = {
    "unknown field": (
        {"headers": ["A"], "column_mapping": {"A": "nope"}},
        "column_mapping",
        "Unknown field(s): 'nope'",
    ),
    "header not in headers": (
        {"headers": ["A"], "column_mapping": {"B": "isbn"}},
        "column_mapping",
        "Header(s) not in the file: 'B'.",
    ),
    "empty mapping": ({"headers": ["A"], "column_mapping": {}}, "column_mapping", "empty"),
    "no headers": ({"headers": [], "column_mapping": {"A": "isbn"}}, "headers", "headers"),
    "headers not a list": ({"headers": "A", "column_mapping": {"A": "isbn"}}, "headers", "list"),
    "header not a string": (
        {"headers": [{"a": 1}], "column_mapping": {"A": "isbn"}},
        "headers",
        "valid string",
    ),
    "missing mapping": ({"headers": ["A"]}, "column_mapping", "required"),
}


@pytest.mark.parametrize(("body", "field", "message"), BAD_SAVES.values(), ids=BAD_SAVES)
def test_a_bad_saved_mapping_is_a_400(api, body, field, message):
    response = api.post(MAPPINGS, body, format="json")
    assert response.status_code == 400, response.json()
    assert message in json.dumps(response.json()[field]), response.json()
    assert not SavedColumnMapping.objects.exists()


def test_ten_thousand_headers_in_a_saved_mapping_is_a_400(api):
    headers = [f"h{i}" for i in range(10_000)]
    response = api.post(MAPPINGS, {"headers": headers, "column_mapping": {"h1": "isbn"}}, "json")
    assert response.status_code == 400
    assert "at most 1000 (MAX_COLUMNS)" in response.json()["headers"][0]
    assert not SavedColumnMapping.objects.exists()


def test_anonymous_users_have_no_saved_mappings(anon, user):
    saved = save(user)
    assert anon.get(MAPPINGS).status_code == 401
    assert anon.delete(f"{MAPPINGS}{saved.pk}/").status_code == 401
    assert SavedColumnMapping.objects.exists()


def test_staff_see_and_delete_saved_mappings_in_the_admin(client, user):
    from django.contrib.auth import get_user_model

    admin_user = get_user_model().objects.create_superuser("admin", password="pw")
    saved = save(user, name="shop export")
    client.force_login(admin_user)
    changelist = client.get("/admin/drf_import_export_jobs/savedcolumnmapping/")
    assert changelist.status_code == 200
    assert "shop export" in changelist.content.decode()
    page = f"/admin/drf_import_export_jobs/savedcolumnmapping/{saved.pk}/change/"
    assert client.get(page).status_code == 200
    assert client.post(page, {"name": "changed"}).status_code == 403
    deleted = client.post(
        f"/admin/drf_import_export_jobs/savedcolumnmapping/{saved.pk}/delete/", {"post": "yes"}
    )
    assert deleted.status_code == 302
    assert not SavedColumnMapping.objects.exists()


def test_a_reparse_body_larger_than_django_accepts_is_a_400(api, user, authors):
    job = parsed_job(user)
    mapping = {f"Header {i} {'x' * 50}": "isbn" for i in range(50_000)}
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024 * 1024):
        response = api.post(f"{URL}{job.pk}/reparse/", {"column_mapping": mapping}, "json")
    assert response.status_code == 400
    assert "DATA_UPLOAD_MAX_MEMORY_SIZE" in response.json()["detail"]
    job.refresh_from_db()
    assert job.status == "parse_error"


def test_a_deeply_nested_reparse_body_is_a_400(api, user, authors):
    job = parsed_job(user)
    body = '{"column_mapping": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = api.post(f"{URL}{job.pk}/reparse/", body, content_type="application/json")
    assert response.status_code == 400
    job.refresh_from_db()
    assert job.status == "parse_error"


def test_a_multipart_reparse_is_a_415(api, user, authors):
    job = parsed_job(user)
    response = api.post(f"{URL}{job.pk}/reparse/", {"save_mapping": "true"}, format="multipart")
    assert response.status_code == 415
    job.refresh_from_db()
    assert job.status == "parse_error"


def test_a_file_of_ten_thousand_headers_with_a_mapping_is_a_parse_error(api, user, authors):
    headers = [f"Header {i}" for i in range(10_000)]
    content = (",".join(headers) + "\n" + ",".join("x" for _ in headers) + "\n").encode()
    response = upload(api, content, column_mapping={"Header 1": "isbn"})
    assert response.status_code == 201
    job = ImportJob.objects.get()
    job.parse_data()
    job.refresh_from_db()
    assert job.status == "parse_error"
    assert "10000 columns; at most 1000 are accepted" in job.error_message


@pytest.mark.parametrize("mapping_id", ["abc", "%C3%92%0A", "1" * 30, "¹"])
def test_a_mapping_id_that_is_no_number_is_a_json_404(api, user, mapping_id):
    save(user)
    for method in (api.get, api.delete):
        response = method(f"{MAPPINGS}{mapping_id}/")
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
    assert SavedColumnMapping.objects.count() == 1
