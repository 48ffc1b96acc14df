"""A setup mistake ends the job with one clear message, not one error per row:
an import into a model whose table does not exist (migrations not run)."""

from __future__ import annotations

import pytest
from django.db import connection

from drf_import_export_jobs.exceptions import MissingTableError
from drf_import_export_jobs.models import ImportJob
from drf_import_export_jobs.tables import check_resource_tables
from tests.testapp.models import Unmigrated
from tests.testapp.resources import BookResource, UnmigratedResource

UNMIGRATED = "tests.testapp.resources.UnmigratedResource"
DATA = b"id,name\n1,first\n2,second\n"

pytestmark = pytest.mark.django_db


def test_the_table_is_really_missing():
    assert Unmigrated._meta.db_table not in connection.introspection.table_names()


def test_a_missing_table_is_one_parse_error_that_says_to_migrate(make_import_job):
    job = make_import_job(DATA, resource=UNMIGRATED)
    job.parse_data()
    job.refresh_from_db()
    assert job.status == ImportJob.ImportStatus.PARSE_ERROR
    assert "'testapp_unmigrated'" in job.error_message
    assert "python manage.py migrate" in job.error_message
    assert "python manage.py makemigrations testapp" in job.error_message
    assert job.traceback == ""
    assert job.parse_result["errors"] == []
    assert not job.error_report


def test_a_table_missing_at_import_time_is_an_import_error(make_import_job):
    job = make_import_job(DATA, resource=UNMIGRATED)
    ImportJob.objects.filter(pk=job.pk).update(status="parsed")
    job.refresh_from_db()
    job.confirm_import()
    job.import_data()
    job.refresh_from_db()
    assert job.status == ImportJob.ImportStatus.IMPORT_ERROR
    assert "'testapp_unmigrated'" in job.error_message
    assert "manage.py migrate" in job.error_message


def test_existing_tables_pass_the_check():
    check_resource_tables(BookResource())


def test_the_check_names_the_database_it_looked_in():
    with pytest.raises(MissingTableError, match=r"database 'default'"):
        check_resource_tables(UnmigratedResource())


def test_the_check_is_one_query(django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        check_resource_tables(BookResource())
