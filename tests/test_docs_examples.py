"""The documentation's examples run: the guides' example project
(docs/examples/quickstart) holds the quickstart's code, passes Django's
checks and migrates; the customisation guide's viewsets behave as the guide
says; the functions of docs/usage.md, taken from the page, run against a
real worker. (tests/test_quickstart.py runs the quickstart page itself.)"""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from library.models import Book, TenantImportJob
from rest_framework.test import APIClient

from drf_import_export_jobs.models import ExportJob, ImportJob
from tests.docs_pages import page_blocks, page_file

QUICKSTART = Path(__file__).resolve().parent.parent / "docs" / "examples" / "quickstart"
BOOK_RESOURCE = "library.resources.BookResource"


def manage(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=QUICKSTART,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)}:\n{result.stdout}{result.stderr}"
    return result.stdout


@pytest.mark.slow
def test_the_quickstart_project_checks_and_migrates(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")
    }
    env |= {"SQLITE_PATH": str(tmp_path / "db.sqlite3"), "MEDIA_ROOT": str(tmp_path / "media")}
    manage("check", "--fail-level", "WARNING", env=env)
    manage("makemigrations", "--check", "--dry-run", env=env)
    assert "Applying library.0001_initial... OK" in manage("migrate", env=env)
    out = manage("shell", "-c", "import mysite; print(mysite.celery_app.main)", env=env)
    assert out.splitlines()[-1] == "mysite"


def page_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize(
    "title",
    [
        "mysite/settings.py",
        "mysite/__init__.py",
        "mysite/celery.py",
        "mysite/urls.py",
        "library/models.py",
        "library/resources.py",
        "library/views.py",
    ],
)
def test_the_example_project_holds_the_quickstart_code(title):
    """docs/quickstart.md is the source (tests/test_quickstart.py runs it from
    an empty folder); the guides' example project, which the other pages'
    tests use, holds every line of it, plus what those guides add."""
    example = set(page_lines((QUICKSTART / title).read_text()))
    missing = [
        line for line in page_lines(page_file("quickstart.md", title)) if line not in example
    ]
    assert not missing, f"docs/examples/quickstart/{title} lacks {missing}"


@pytest.mark.django_db
@pytest.mark.urls("mysite.urls")
def test_the_quickstart_serves_its_schema_and_swagger_ui(client):
    assert client.get("/api/schema/").status_code == 200
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger-ui" in response.content


# -- the customisation guide -------------------------------------------------------

pytest_urls = pytest.mark.urls("tests.docs_urls")


def upload(client: APIClient, url: str, name: str = "books.csv", **fields: Any) -> Any:
    data = b"isbn,title,author,price,in_stock\n1,A,Ann,1.00,1\n"
    payload = {"file": SimpleUploadedFile(name, data), **fields}
    return client.post(url, payload, format="multipart")


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def users(db: Any) -> dict[str, Any]:
    model = get_user_model()
    return {
        "ann": model.objects.create_user("ann"),
        "bob": model.objects.create_user("bob"),
        "staff": model.objects.create_user("staff", is_staff=True),
    }


def parsed_job(user: Any, totals: dict[str, int]) -> ImportJob:
    job = ImportJob(resource_path=BOOK_RESOURCE, file_format_name="csv", created_by=user)
    job.data_file.save("upload.csv", ContentFile(b"isbn\n1\n"), save=False)
    job.save()
    ImportJob.objects.filter(pk=job.pk).update(status="parsed", parse_result={"totals": totals})
    return job


@pytest_urls
def test_per_resource_formats(users):
    api = client_for(users["ann"])
    refused = upload(api, "/docs/csv/imports/", name="books.xlsx")
    assert refused.status_code == 400
    assert "csv" in str(refused.json())
    assert upload(api, "/docs/csv/imports/").status_code == 201


@pytest_urls
def test_resource_kwargs_from_the_client_and_the_server(users):
    api = client_for(users["ann"])
    response = upload(api, "/docs/batch/imports/", resource_kwargs='{"batch": "spring"}')
    assert response.status_code == 201, response.json()
    job = ImportJob.objects.get()
    assert job.resource_kwargs == {"batch": "spring", "uploaded_by": users["ann"].pk}
    resource = job.resource
    assert (resource.batch, resource.uploaded_by) == ("spring", users["ann"].pk)
    refused = upload(api, "/docs/batch/imports/", resource_kwargs='{"uploaded_by": 1}')
    assert refused.status_code == 400
    assert "batch" in str(refused.json())


@pytest_urls
def test_export_filters_the_server_adds(users):
    api = client_for(users["ann"])
    body = {"file_format": "csv", "filters": {"in_stock": False, "price__lte": "20"}}
    response = api.post("/docs/in-stock/exports/", body, format="json")
    assert response.status_code == 201, response.json()
    assert ExportJob.objects.get().filters == {"in_stock": True, "price__lte": "20"}


@pytest_urls
def test_staff_see_every_job_and_only_the_creator_acts(users):
    assert upload(client_for(users["ann"]), "/docs/team/imports/").status_code == 201
    job = ImportJob.objects.get()
    url = f"/docs/team/imports/{job.pk}/"
    assert client_for(users["bob"]).get(url).status_code == 404
    staff = client_for(users["staff"])
    assert staff.get(url).status_code == 200
    assert staff.post(f"{url}cancel/").status_code == 403
    assert client_for(users["ann"]).post(f"{url}cancel/").status_code == 200


@pytest_urls
def test_confirm_of_an_import_that_updates_needs_staff(users):
    updating = parsed_job(users["ann"], {"new": 1, "update": 2})
    response = client_for(users["ann"]).post(f"/docs/reviewed/imports/{updating.pk}/confirm/")
    assert response.status_code == 403
    assert "changes 2 books" in response.json()["detail"]
    updating.refresh_from_db()
    assert updating.status == "parsed"
    adding = parsed_job(users["ann"], {"new": 3, "update": 0})
    response = client_for(users["ann"]).post(f"/docs/reviewed/imports/{adding.pk}/confirm/")
    assert response.status_code == 202
    staffs = parsed_job(users["staff"], {"new": 0, "update": 5})
    response = client_for(users["staff"]).post(f"/docs/reviewed/imports/{staffs.pk}/confirm/")
    assert response.status_code == 202


@pytest_urls
def test_jobs_of_a_custom_model_per_tenant(users):
    with override_settings(DRF_IMPORT_EXPORT_JOBS={"IMPORT_JOB_MODEL": "library.TenantImportJob"}):
        api = client_for(users["ann"])
        api.credentials(HTTP_X_TENANT="north")
        assert upload(api, "/docs/tenant/imports/").status_code == 201
        job = TenantImportJob.objects.get()
        assert job.tenant == "north"
        assert api.get("/docs/tenant/imports/").json()["count"] == 1
        api.credentials(HTTP_X_TENANT="south")
        assert api.get("/docs/tenant/imports/").json()["count"] == 0
        assert api.get(f"/docs/tenant/imports/{job.pk}/").status_code == 404


@pytest_urls
def test_a_serializer_with_one_more_field(users):
    api = client_for(users["ann"])
    response = upload(api, "/docs/owned/imports/")
    assert response.status_code == 201
    assert response.json()["created_by"] == "ann"
    assert api.get("/docs/owned/imports/").json()["results"][0]["created_by"] == "ann"


def test_the_customised_viewsets_have_a_valid_schema(tmp_path):
    from django.core.management import call_command

    path = tmp_path / "schema.yaml"
    # The tenant viewset filters on the custom model's field: the project
    # that registers it uses that model.
    with override_settings(DRF_IMPORT_EXPORT_JOBS={"IMPORT_JOB_MODEL": "library.TenantImportJob"}):
        call_command(
            "spectacular", "--urlconf", "tests.docs_urls", "--validate", "--fail-on-warn",
            "--file", str(path),
        )  # fmt: skip
    components = yaml.safe_load(path.read_text())["components"]["schemas"]
    assert "created_by" in components["OwnedBookImportJob"]["properties"]


# -- jobs from Python code (docs/usage.md) -----------------------------------------


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_jobs_from_python_code(celery_worker, tmp_path, capsys):
    from tests.conftest import wait_for_status

    # library/jobs.py as docs/usage.md shows it.
    jobs = types.ModuleType("library.jobs")
    exec(compile(page_file("usage.md", "library/jobs.py"), "usage.md", "exec"), vars(jobs))

    user = get_user_model().objects.create_user("ann")
    bad = tmp_path / "bad.csv"
    bad.write_text("isbn,title,author,price,in_stock\n1,A,Ann,1.00,1\n2,,Bob,2.00,1\n")
    job = jobs.start_import(bad, user)
    assert job.original_filename == "bad.csv"
    wait_for_status(job, {"input_error"})
    assert jobs.confirm_if_clean(job) is False
    [line] = jobs.explain(job)
    assert line == "row 2, title: This field cannot be blank."

    good = tmp_path / "books.csv"
    good.write_text(page_file("quickstart.md", "books.csv"))
    job = jobs.start_import(good, user)
    wait_for_status(job, {"parsed"})
    assert jobs.confirm_if_clean(job) is True
    assert "'new': 3" in capsys.readouterr().out
    wait_for_status(job, {"imported"})
    assert Book.objects.count() == 3

    assert jobs.undo_import(job) is True
    wait_for_status(job, {"reverted"})
    assert jobs.explain_revert(job) == ["3 reverted, 0 kept"]
    assert Book.objects.count() == 0
    assert jobs.undo_import(job) is False
    assert "not reverted:" in capsys.readouterr().out

    export = jobs.start_export(user)
    wait_for_status(export, {"exported"})
    assert export.data_file.name.endswith(".xlsx")
    assert export.export_filename.endswith(".xlsx")


@pytest.mark.slow
@pytest.mark.parametrize("index", range(4))
def test_each_usage_block_carries_its_imports(index, tmp_path):
    """A reader copies one block of docs/usage.md: it names nothing it does
    not import."""
    blocks = [block for block in page_blocks("usage.md") if block.title == "library/jobs.py"]
    assert len(blocks) == 4
    path = tmp_path / "block.py"
    path.write_text(blocks[index].body)
    ruff = Path(sys.executable).parent / "ruff"
    result = subprocess.run(
        [str(ruff), "check", "--no-cache", "--isolated", "--select", "F821,F401", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout
