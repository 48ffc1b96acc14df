"""Settings (namespaced, reloaded on change) and system checks."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from drf_import_export_jobs import checks
from drf_import_export_jobs.conf import DEFAULTS, jobs_settings
from drf_import_export_jobs.models import ExportJob, ImportJob
from drf_import_export_jobs.swapping import get_export_job_model, get_import_job_model
from tests.conftest import book_rows, csv_bytes
from tests.testapp.models import TenantExportJob, TenantImportJob


def error_ids(**settings_dict) -> list[str]:
    with override_settings(DRF_IMPORT_EXPORT_JOBS=settings_dict):
        return [e.id for e in checks.check_settings()]


def messages(**settings_dict) -> str:
    with override_settings(DRF_IMPORT_EXPORT_JOBS=settings_dict):
        return "\n".join(e.msg for e in checks.check_settings())


def test_defaults_and_override_reload():
    assert jobs_settings.CHUNK_SIZE == 50  # from tests/settings.py
    with override_settings(DRF_IMPORT_EXPORT_JOBS={"CHUNK_SIZE": 7}):
        assert jobs_settings.CHUNK_SIZE == 7
        assert DEFAULTS["MAX_ROWS"] == jobs_settings.MAX_ROWS
    assert jobs_settings.CHUNK_SIZE == 50


def test_unknown_attribute():
    with pytest.raises(AttributeError, match="NOPE"):
        jobs_settings.NOPE  # noqa: B018


def test_import_strings_are_resolved_lazily():
    from tests.celery_app import app

    assert jobs_settings.CELERY_APP is app
    with (
        override_settings(DRF_IMPORT_EXPORT_JOBS={"CELERY_APP": "tests.nowhere.app"}),
        pytest.raises(ImproperlyConfigured, match="CELERY_APP"),
    ):
        jobs_settings.CELERY_APP  # noqa: B018


def test_every_default_has_a_comment_above_it():
    import inspect

    from drf_import_export_jobs import conf

    block = inspect.getsource(conf).split("DEFAULTS: dict[str, Any] = {", 1)[1].split("\n}")[0]
    lines = [line.strip() for line in block.splitlines()]
    for key in DEFAULTS:
        index = lines.index(next(line for line in lines if line.startswith(f'"{key}"')))
        assert lines[index - 1].startswith("#"), f"{key} has no comment"


def test_clean_configuration_has_no_errors():
    assert error_ids(CELERY_APP="tests.celery_app.app") == []


def test_unknown_key_warns():
    assert error_ids(CELERY_APP="tests.celery_app.app", CHUNKSIZE=5) == [
        "drf_import_export_jobs.W001"
    ]
    assert "['CHUNKSIZE']" in messages(CELERY_APP="tests.celery_app.app", CHUNKSIZE=5)


def test_bad_celery_app_path():
    text = messages(CELERY_APP="tests.nowhere.app")
    assert "DRF_IMPORT_EXPORT_JOBS['CELERY_APP'] = 'tests.nowhere.app' cannot be imported" in text


def test_no_celery_app(monkeypatch):
    from celery import _state

    monkeypatch.setattr(_state._tls, "current_app", None)
    monkeypatch.setattr(_state, "default_app", None)
    assert error_ids() == ["drf_import_export_jobs.E004"]
    assert "No Celery app is configured" in messages()


def test_unknown_and_unwritable_formats():
    text = messages(
        CELERY_APP="tests.celery_app.app", IMPORT_FORMATS=["csv", "docx"], EXPORT_FORMATS=["xls"]
    )
    assert "['IMPORT_FORMATS'] names unknown format 'docx'" in text
    assert "['EXPORT_FORMATS'] names unknown format 'xls'" in text
    assert "must be a list" in messages(CELERY_APP="tests.celery_app.app", IMPORT_FORMATS="csv")


def test_bad_job_model_setting():
    text = messages(
        CELERY_APP="tests.celery_app.app",
        IMPORT_JOB_MODEL="testapp.Book",
        EXPORT_JOB_MODEL="nope.Nope",
    )
    assert "['IMPORT_JOB_MODEL'] = 'testapp.Book' must be a concrete subclass" in text
    assert "['EXPORT_JOB_MODEL'] = 'nope.Nope' is not an installed model" in text


def test_bad_storage_and_numbers():
    text = messages(CELERY_APP="tests.celery_app.app", STORAGE="s3", CHUNK_SIZE=0, MAX_ROWS="many")
    assert "['STORAGE'] = 's3' is not a key of settings.STORAGES" in text
    assert "['CHUNK_SIZE'] must be a positive number, not 0" in text
    assert "['MAX_ROWS'] must be a positive number, not 'many'" in text


def test_setting_that_is_not_a_dict():
    with override_settings(DRF_IMPORT_EXPORT_JOBS=["CHUNK_SIZE"]):
        errors = checks.check_settings()
    assert [e.id for e in errors] == ["drf_import_export_jobs.E001"]
    assert "must be a dict" in errors[0].msg


def test_default_models_and_swapped_models(db):
    assert get_import_job_model() is ImportJob
    assert get_export_job_model() is ExportJob
    with override_settings(
        DRF_IMPORT_EXPORT_JOBS={
            "IMPORT_JOB_MODEL": "testapp.TenantImportJob",
            "EXPORT_JOB_MODEL": "testapp.TenantExportJob",
        }
    ):
        assert get_import_job_model() is TenantImportJob
        assert get_export_job_model() is TenantExportJob


def test_a_custom_job_model_runs_the_whole_flow(
    authors, sent_tasks, django_capture_on_commit_callbacks
):
    from django.core.files.base import ContentFile

    from tests.testapp.models import Tenant

    tenant = Tenant.objects.create(name="acme")
    job = TenantImportJob(
        resource_path="tests.testapp.resources.BookResource", file_format_name="csv", tenant=tenant
    )
    job.data_file.save("x.csv", ContentFile(csv_bytes(book_rows(3))), save=False)
    with django_capture_on_commit_callbacks(execute=True):
        job.save()
    assert sent_tasks[0][1] == ["testapp.TenantImportJob", job.pk]
    from drf_import_export_jobs.tasks import import_job_data, parse_import_job

    parse_import_job.apply(args=sent_tasks[0][1], task_id=job.parse_task_id)
    job.refresh_from_db()
    assert job.status == "parsed"
    job.confirm_import()
    import_job_data.apply(args=[job._meta.label, job.pk], task_id=job.import_task_id)
    job.refresh_from_db()
    assert job.status == "imported"
    assert job.tenant == tenant
