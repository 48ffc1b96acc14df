"""Matching file headers to resource fields, and applying column mappings
while a file is read (every input format)."""

from __future__ import annotations

import io
import time

import pytest
import tablib
from django.test import override_settings
from import_export import fields, resources

from drf_import_export_jobs.exceptions import FileParseError
from drf_import_export_jobs.models import ImportJob, SavedColumnMapping
from drf_import_export_jobs.pipeline.imports.columns import (
    header_signature,
    import_fields,
    match_columns,
    normalize_name,
)
from drf_import_export_jobs.pipeline.imports.runner import open_checked
from tests.testapp.models import Book
from tests.testapp.resources import BookResource

pytestmark = pytest.mark.usefixtures("empty_job_storage")

ODD_HEADERS = ["ISBN-13", "Book title", "Autor", "Preis"]
ODD_MAPPING = {"ISBN-13": "isbn", "Book title": "title", "Autor": "author", "Preis": "price"}
ODD_ROWS = [
    ["9780000000001", "Dune", "Ann", "12.50"],
    ["9780000000002", "Emma", "Bob", "8.00"],
]


class LabelResource(resources.ModelResource):
    """``label`` writes Book.title, whose verbose name is "title"."""

    label = fields.Field(attribute="title", column_name="label")

    class Meta:
        model = Book
        import_id_fields = ("isbn",)
        fields = ("isbn", "label", "price")


def by_header(report):
    return {entry["header"]: entry for entry in report.headers}


# -- matching ----------------------------------------------------------------------


def test_exact_column_names_match_exactly():
    report = match_columns(["isbn", "title", "author", "price"], BookResource())
    assert [(e["field"], e["match"]) for e in report.headers] == [
        ("isbn", "exact"), ("title", "exact"), ("author", "exact"), ("price", "exact"),
    ]  # fmt: skip
    assert report.read_headers == ["isbn", "title", "author", "price"]
    assert report.mapping == {}


def test_case_accents_and_spaces_are_ignored_and_applied():
    report = match_columns([" ÍSBN ", "TITLE", "In Stock", "pub-lished"], BookResource())
    entries = by_header(report)
    assert entries[" ÍSBN "]["field"] == "isbn"
    assert {e["match"] for e in report.headers} == {"normalized"}
    assert entries["In Stock"]["field"] == "in_stock"
    assert entries["pub-lished"]["field"] == "published"
    assert report.read_headers == ["isbn", "title", "in_stock", "published"]


def test_normalize_name():
    assert normalize_name("  Auteur·e  ") == "auteure"
    assert normalize_name("Prix_(€)") == "prix"
    assert normalize_name("ÉDITION Nº") == "editionno"


def test_the_model_fields_verbose_name_matches():
    report = match_columns(["ISBN", "Title"], LabelResource())
    entries = by_header(report)
    assert entries["Title"]["field"] == "label"
    assert entries["Title"]["match"] == "verbose_name"
    assert report.read_headers == ["isbn", "label"]


def test_a_fuzzy_suggestion_has_a_score_and_is_never_applied():
    report = match_columns(ODD_HEADERS, BookResource())
    entries = by_header(report)
    autor = entries["Autor"]
    assert autor["field"] is None and autor["match"] is None
    assert autor["suggestion"] == {"field": "author", "score": pytest.approx(0.909, abs=0.001)}
    assert entries["ISBN-13"]["suggestion"]["field"] == "isbn"
    assert entries["ISBN-13"]["suggestion"]["score"] == pytest.approx(0.8)
    # Applied nothing: the resource reads the headers as they are.
    assert report.read_headers == ODD_HEADERS


def test_suggestions_stop_at_the_cutoff():
    report = match_columns(["Qwertz", "Autor"], BookResource())
    assert by_header(report)["Qwertz"]["suggestion"] is None
    with override_settings(DRF_IMPORT_EXPORT_JOBS={"COLUMN_SUGGESTION_CUTOFF": 0.95}):
        report = match_columns(["Qwertz", "Autor"], BookResource())
    assert by_header(report)["Autor"]["suggestion"] is None


def test_unmatched_fields_flag_the_required_ones():
    report = match_columns(["title", "published"], BookResource())
    unmatched = {e["field"]: e["required"] for e in report.unmatched_fields}
    # isbn: an import id field; author, price: not null, not blank, no default.
    assert unmatched == {
        "isbn": True, "author": True, "price": True,
        "pages": False, "in_stock": False, "description": False,
    }  # fmt: skip
    required = {f.name for f in import_fields(BookResource()) if f.required}
    assert required == {"isbn", "title", "author", "price"}


def test_the_mapping_comes_first_and_takes_the_field_from_an_exact_header():
    report = match_columns(
        ["Book title", "title", "isbn"], BookResource(), {"Book title": "title"}
    )
    entries = by_header(report)
    assert entries["Book title"] == {
        "header": "Book title", "field": "title", "match": "mapping", "suggestion": None,
    }  # fmt: skip
    assert entries["title"]["field"] is None
    # The losing header is blanked: the resource never reads it as ``title``.
    assert report.read_headers == ["title", "", "isbn"]


def test_a_mapping_may_name_the_column_name_and_surrounding_spaces_are_forgiven():
    report = match_columns([" Autor "], BookResource(), {"Autor": "author"})
    assert report.read_headers == ["author"]
    assert report.mapping == {"Autor": "author"}


def test_a_mapping_naming_headers_the_file_lacks_is_refused():
    report = match_columns(["isbn", "title"], BookResource(), {"ISBN-13": "isbn"})
    assert report.unknown_headers == ["ISBN-13"]
    with pytest.raises(FileParseError, match="'ISBN-13'"):
        report.check()


def test_the_signature_ignores_order_and_surrounding_spaces():
    assert header_signature(["a", "b "]) == header_signature(["b", "a"])
    assert header_signature(["a", "b"]) != header_signature(["a", "c"])
    assert len(header_signature(["a"])) == 64


def test_a_thousand_headers_are_matched_quickly():
    headers = [f"Column {i} with a long name" for i in range(1000)]
    start = time.monotonic()
    report = match_columns(headers, BookResource())
    assert time.monotonic() - start < 5
    assert len(report.headers) == 1000


# -- applied while reading, for every format --------------------------------------------

FORMATS = ["csv", "tsv", "xlsx", "xls", "json", "yaml", "ods"]


def odd_file(file_format: str) -> bytes:
    content = tablib.Dataset(*ODD_ROWS, headers=ODD_HEADERS).export(file_format)
    return content.encode() if isinstance(content, str) else content


@pytest.mark.parametrize("file_format", FORMATS)
def test_a_mapping_renames_the_headers_of_every_format(file_format):
    report_holder = {}

    def match(headers, resource):
        report = match_columns(headers, resource, ODD_MAPPING)
        report_holder["report"] = report
        return report

    table = open_checked(
        io.BytesIO(odd_file(file_format)), file_format, BookResource(), match=match
    )
    assert table.headers == ["isbn", "title", "author", "price"]
    rows = [cells for cells, _problem in table.rows()]
    assert [str(row[0]) for row in rows] == ["9780000000001", "9780000000002"]


@pytest.mark.parametrize("file_format", FORMATS)
def test_a_job_with_a_mapping_parses_and_imports_every_format(
    make_import_job, authors, file_format
):
    job = make_import_job(odd_file(file_format), file_format, column_mapping=ODD_MAPPING)
    job.parse_data()
    job.refresh_from_db()
    assert job.status == "parsed", job.error_message
    columns = job.parse_result["columns"]
    assert columns["mapping"] == ODD_MAPPING
    assert [e["match"] for e in columns["headers"]] == ["mapping"] * 4
    job.confirm_import()
    job.import_data()
    job.refresh_from_db()
    assert job.status == "imported", job.error_message
    assert sorted(Book.objects.values_list("isbn", "title", "author__name")) == [
        ("9780000000001", "Dune", "Ann"),
        ("9780000000002", "Emma", "Bob"),
    ]


def test_without_a_mapping_the_report_survives_the_parse_error(make_import_job, authors):
    job = make_import_job(odd_file("csv"))
    job.parse_data()
    job.refresh_from_db()
    assert job.status == "parse_error"
    assert "isbn" in job.error_message and "column mapping" in job.error_message
    columns = job.parse_result["columns"]
    assert by_header_dicts(columns)["Autor"]["suggestion"]["field"] == "author"
    assert {"field": "isbn", "column_name": "isbn", "required": True} in columns[
        "unmatched_fields"
    ]


def by_header_dicts(columns):
    return {entry["header"]: entry for entry in columns["headers"]}


def test_a_mapping_for_headers_the_file_lacks_parses_nothing(make_import_job, authors):
    job = make_import_job(odd_file("csv"), column_mapping={"ISBN": "isbn", **ODD_MAPPING})
    job.parse_data()
    job.refresh_from_db()
    assert job.status == "parse_error"
    assert "'ISBN'" in job.error_message
    assert job.parse_result["columns"]["unknown_headers"] == ["ISBN"]
    assert job.parse_result["totals"]["new"] == 0
    assert job.parse_result["rows"] == 0


def test_skip_parse_step_applies_the_mapping_too(
    make_import_job, authors, django_capture_on_commit_callbacks
):
    job = make_import_job(odd_file("csv"), column_mapping=ODD_MAPPING, skip_parse_step=True)
    job.parse_data()
    job.refresh_from_db()
    assert job.status == "import_confirmed", job.error_message
    job.import_data()
    job.refresh_from_db()
    assert job.status == "imported", job.error_message
    assert Book.objects.count() == 2


# -- saved mappings ---------------------------------------------------------------------


def save_mapping(owner, headers=ODD_HEADERS, mapping=ODD_MAPPING, **fields):
    return SavedColumnMapping.objects.create(
        owner=owner,
        resource_path="tests.testapp.resources.BookResource",
        headers=list(headers),
        mapping=dict(mapping),
        **fields,
    )


def test_a_saved_mapping_is_applied_to_a_file_of_the_same_shape(make_import_job, authors, user):
    saved = save_mapping(user, headers=list(reversed(ODD_HEADERS)), name="shop export")
    job = make_import_job(odd_file("csv"), created_by=user)
    job.parse_data()
    job.refresh_from_db()
    assert job.status == "parsed", job.error_message
    columns = job.parse_result["columns"]
    assert columns["saved_mapping"] == {"id": saved.pk, "name": "shop export", "applied": True}
    assert {e["match"] for e in columns["headers"]} == {"saved_mapping"}
    job.confirm_import()
    job.import_data()
    job.refresh_from_db()
    assert job.status == "imported", job.error_message


def test_a_saved_mapping_is_only_suggested_when_so_configured(make_import_job, authors, user):
    saved = save_mapping(user)
    job = make_import_job(odd_file("csv"), created_by=user)
    with override_settings(DRF_IMPORT_EXPORT_JOBS={"APPLY_SAVED_COLUMN_MAPPINGS": False}):
        job.parse_data()
    job.refresh_from_db()
    assert job.status == "parse_error"
    assert job.parse_result["columns"]["saved_mapping"] == {
        "id": saved.pk, "name": "", "applied": False,
    }  # fmt: skip


def test_another_users_or_resources_saved_mapping_is_not_used(
    make_import_job, authors, user, other_user
):
    save_mapping(other_user)
    SavedColumnMapping.objects.create(
        owner=user,
        resource_path="tests.testapp.resources.AuthorResource",
        headers=ODD_HEADERS,
        mapping={"Autor": "name"},
    )
    job = make_import_job(odd_file("csv"), created_by=user)
    job.parse_data()
    job.refresh_from_db()
    assert job.status == "parse_error"
    assert job.parse_result["columns"]["saved_mapping"] is None


def test_a_saved_mapping_for_other_headers_ends_in_parse_error(make_import_job, authors, user):
    saved = save_mapping(user, headers=[*ODD_HEADERS, "Seiten"])
    job = make_import_job(
        odd_file("csv"), created_by=user, column_mapping=ODD_MAPPING, saved_column_mapping=saved
    )
    job.parse_data()
    job.refresh_from_db()
    assert job.status == "parse_error"
    assert f"Saved column mapping {saved.pk} was saved for a file with other headers" in (
        job.error_message
    )
    assert job.parse_result["rows"] == 0


def test_an_explicit_mapping_wins_over_a_saved_one(make_import_job, authors, user):
    saved = save_mapping(user, mapping={"ISBN-13": "isbn"})
    job = make_import_job(odd_file("csv"), created_by=user, column_mapping=ODD_MAPPING)
    job.parse_data()
    job.refresh_from_db()
    assert job.status == "parsed", job.error_message
    assert job.parse_result["columns"]["saved_mapping"] == {
        "id": saved.pk, "name": "", "applied": False,
    }  # fmt: skip
    assert job.parse_result["columns"]["mapping"] == ODD_MAPPING


def test_the_import_uses_the_mapping_the_dry_run_applied(make_import_job, authors, user):
    saved = save_mapping(user)
    job = make_import_job(odd_file("csv"), created_by=user)
    job.parse_data()
    saved.delete()  # deleted between the dry run and the import
    job.refresh_from_db()
    job.confirm_import()
    job.import_data()
    job.refresh_from_db()
    assert job.status == "imported", job.error_message
    assert Book.objects.count() == 2
    assert ImportJob.objects.get(pk=job.pk).saved_column_mapping is None


def test_a_saved_mapping_naming_a_field_the_resource_dropped_parses_nothing(
    make_import_job, authors, user
):
    save_mapping(user, mapping={**ODD_MAPPING, "Preis": "cost"})
    job = make_import_job(odd_file("csv"), created_by=user)
    job.parse_data()
    job.refresh_from_db()
    assert job.status == "parse_error"
    assert "names field(s) the resource does not import: 'cost'" in job.error_message
    assert job.parse_result["rows"] == 0


def test_a_saved_mapping_chosen_by_id_is_reported_applied(make_import_job, authors, user):
    chosen = save_mapping(user, name="chosen")
    save_mapping(user, name="newer")
    job = make_import_job(
        odd_file("csv"), created_by=user, column_mapping=ODD_MAPPING, saved_column_mapping=chosen
    )
    job.parse_data()
    job.refresh_from_db()
    assert job.status == "parsed", job.error_message
    columns = job.parse_result["columns"]
    assert columns["saved_mapping"] == {"id": chosen.pk, "name": "chosen", "applied": True}
    assert {e["match"] for e in columns["headers"]} == {"saved_mapping"}
