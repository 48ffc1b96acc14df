"""Matching a file's headers to the resource's import fields.

Every header of the file is matched to at most one import field, and every
field to at most one header, in this order of precedence:

1. ``mapping``: the job's column mapping (``{header: field}``), given when
   the job was created or reparsed, or a saved mapping applied by its header
   signature (``saved_mapping``);
2. ``exact``: the header is the field's column name;
3. ``normalized``: the header equals the field's column name or field name
   once case, accents, spaces and punctuation are ignored
   (``"Prix (€)"`` is not ``"prix"``, ``"Published_at"`` is ``"published at"``);
4. ``verbose_name``: the same comparison with the verbose name of the model
   field the resource field writes to (``"Titel"`` for a field declared
   ``verbose_name="Titel"``).

Headers left over get a *suggestion*: the closest unclaimed field by
``difflib`` ratio, when it reaches ``COLUMN_SUGGESTION_CUTOFF``. A suggestion
is reported, never applied: pass it back in a column mapping to use it.

The file is then read under the matched column names (:attr:`ColumnReport.read_headers`):
the resource never sees a header it was not matched to. Unmatched headers are
kept as they are (a resource hook may read them) unless another header took
their field, in which case they are blanked.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from import_export.resources import Resource

from ...conf import jobs_settings
from ...exceptions import FileParseError

# How a header was matched, strongest first.
MATCH_KINDS = ("mapping", "saved_mapping", "exact", "normalized", "verbose_name")

# Headers longer than this are cut before being compared for a suggestion.
SUGGEST_MAX_LENGTH = 100

_NOT_ALNUM = re.compile(r"[\W_]+", re.UNICODE)


def normalize_name(name: str) -> str:
    """``name`` without case, accents, spaces or punctuation (``"Auteur·e"`` ->
    ``"auteure"``), for comparing headers with field names."""
    decomposed = unicodedata.normalize("NFKD", str(name))
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _NOT_ALNUM.sub("", plain.casefold())


def header_signature(headers: Sequence[str]) -> str:
    """A hash of a file's header names (stripped, sorted): files with the same
    columns in any order share it, and so does a mapping saved for them."""
    names = sorted(str(header).strip() for header in headers if str(header).strip())
    return hashlib.sha256("\x1f".join(names).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ImportField:
    """An import field of the resource: its name, column name, the verbose name
    of the model field it writes to, and whether a file must provide it."""

    name: str
    column_name: str
    verbose_name: str
    required: bool


def import_fields(resource: Resource) -> list[ImportField]:
    """The resource's import fields, with what matching needs to know.

    A field is *required* when it is one of ``import_id_fields`` (other than
    the default ``id``) or writes to a model field that is neither nullable
    nor blank and has no default."""
    id_fields = list(resource.get_import_id_fields())
    id_required = set(id_fields) if id_fields != ["id"] else set()
    model = getattr(getattr(resource, "_meta", None), "model", None)
    found: list[ImportField] = []
    for resource_field in resource.get_import_fields():
        name = _field_name(resource, resource_field)
        column = str(resource_field.column_name or name)
        model_field = _model_field(model, resource_field.attribute)
        verbose = str(model_field.verbose_name) if model_field is not None else ""
        required = name in id_required or _model_field_required(model_field)
        found.append(ImportField(name, column, verbose, required))
    return found


def _field_name(resource: Resource, resource_field: Any) -> str:
    for name, candidate in resource.fields.items():
        if candidate is resource_field:
            return str(name)
    return str(resource_field.column_name or resource_field.attribute)


def _model_field(model: Any, attribute: str | None) -> models.Field[Any, Any] | None:
    if model is None or not attribute or "__" in attribute:
        return None
    try:
        found = model._meta.get_field(attribute)
    except FieldDoesNotExist:
        return None
    return found if isinstance(found, models.Field) else None


def _model_field_required(model_field: models.Field[Any, Any] | None) -> bool:
    if model_field is None or model_field.auto_created or model_field.primary_key:
        return False
    return not (model_field.null or model_field.blank or model_field.has_default())


@dataclass
class ColumnReport:
    """How the columns of one file were matched: what the dry run reports and
    the header names the file is read under."""

    headers: list[dict[str, Any]]
    unmatched_fields: list[dict[str, Any]]
    mapping: dict[str, str]
    unknown_headers: list[str]
    signature: str
    saved_mapping: dict[str, Any] | None = None
    read_headers: list[str] = field(default_factory=list)
    #: Why the file must not be read with this mapping (``check()`` raises them).
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The JSON stored in the job's results under ``columns``."""
        return {
            "headers": self.headers,
            "unmatched_fields": self.unmatched_fields,
            "mapping": self.mapping,
            "unknown_headers": self.unknown_headers,
            "signature": self.signature,
            "saved_mapping": self.saved_mapping,
        }

    def check(self) -> None:
        """Raise ``FileParseError`` when the mapping does not fit the file (it
        names headers the file lacks, or was saved for other headers): nothing
        is read with a mapping made for another file."""
        problems = list(self.problems)
        if self.unknown_headers:
            names = ", ".join(repr(h) for h in self.unknown_headers[:20])
            problems.insert(
                0, f"The column mapping names header(s) the file does not have: {names}."
            )
        if problems:
            raise FileParseError(
                " ".join(problems)
                + " See the column report and parse the file again with a corrected mapping."
            )


def match_columns(
    headers: Sequence[str],
    resource: Resource,
    mapping: Mapping[str, str] | None = None,
    *,
    mapping_kind: str = "mapping",
    saved_mapping: dict[str, Any] | None = None,
) -> ColumnReport:
    """Match ``headers`` to the import fields of ``resource`` (see the module
    docstring); ``mapping`` (``{header: field name or column name}``) comes first."""
    fields = import_fields(resource)
    by_name = {f.name: f for f in fields}
    by_name.update({f.column_name: f for f in fields if f.column_name not in by_name})
    claimed: dict[str, str] = {}  # field name -> header
    matches: dict[int, tuple[ImportField, str]] = {}
    stripped = {str(h).strip(): i for i, h in reversed(list(enumerate(headers)))}
    exact_index = {str(h): i for i, h in reversed(list(enumerate(headers)))}
    unknown: list[str] = []
    applied: dict[str, str] = {}
    unknown_fields: list[str] = []
    for header, target in (mapping or {}).items():
        index = exact_index.get(header, stripped.get(str(header).strip()))
        wanted = by_name.get(target)
        if wanted is None:
            unknown_fields.append(str(target))
        if index is None:
            unknown.append(header)
            continue
        if wanted is None or wanted.name in claimed or index in matches:
            continue
        matches[index] = (wanted, mapping_kind)
        claimed[wanted.name] = header
        applied[header] = wanted.name
    _claim(headers, fields, matches, claimed, "exact", _exact_names, str)
    _claim(headers, fields, matches, claimed, "normalized", _loose_names, normalize_name)
    _claim(headers, fields, matches, claimed, "verbose_name", _verbose_names, normalize_name)
    cutoff = float(jobs_settings.COLUMN_SUGGESTION_CUTOFF)
    free = [f for f in fields if f.name not in claimed]
    report_headers: list[dict[str, Any]] = []
    read_headers: list[str] = []
    columns = {f.column_name for f in fields}
    for index, header in enumerate(headers):
        match = matches.get(index)
        if match is not None:
            matched, how = match
            report_headers.append(
                {"header": header, "field": matched.name, "match": how, "suggestion": None}
            )
            read_headers.append(matched.column_name)
            continue
        suggestion = _suggest(header, free, cutoff)
        report_headers.append(
            {"header": header, "field": None, "match": None, "suggestion": suggestion}
        )
        read_headers.append("" if header in columns else header)
    unmatched = [
        {"field": f.name, "column_name": f.column_name, "required": f.required}
        for f in fields
        if f.name not in claimed
    ]
    problems = []
    if unknown_fields:
        names = ", ".join(repr(name) for name in unknown_fields[:20])
        problems.append(
            f"The column mapping names field(s) the resource does not import: {names}."
        )
    return ColumnReport(
        problems=problems,
        headers=report_headers,
        unmatched_fields=unmatched,
        mapping=applied,
        unknown_headers=unknown,
        signature=header_signature(headers),
        saved_mapping=saved_mapping,
        read_headers=read_headers,
    )


def _exact_names(f: ImportField) -> list[str]:
    return [f.column_name]


def _loose_names(f: ImportField) -> list[str]:
    return [f.column_name, f.name]


def _verbose_names(f: ImportField) -> list[str]:
    return [f.verbose_name] if f.verbose_name else []


def _claim(
    headers: Sequence[str],
    fields: list[ImportField],
    matches: dict[int, tuple[ImportField, str]],
    claimed: dict[str, str],
    how: str,
    names: Callable[[ImportField], list[str]],
    key: Callable[[str], str],
) -> None:
    """Match still-free headers to still-free fields whose ``names`` equal the
    header under ``key`` (first header and first field win)."""
    for index, header in enumerate(headers):
        if index in matches or not str(header).strip():
            continue
        wanted = key(str(header))
        for candidate in fields:
            if candidate.name in claimed:
                continue
            if any(wanted and key(name) == wanted for name in names(candidate)):
                matches[index] = (candidate, how)
                claimed[candidate.name] = header
                break


def _suggest(header: str, free: list[ImportField], cutoff: float) -> dict[str, Any] | None:
    """The closest free field to ``header`` by ``difflib`` ratio, if it reaches ``cutoff``."""
    wanted = normalize_name(header[:SUGGEST_MAX_LENGTH])
    if not wanted or not free:
        return None
    best: tuple[float, str] | None = None
    for candidate in free:
        names = {candidate.name, candidate.column_name, candidate.verbose_name} - {""}
        for name in names:
            matcher = difflib.SequenceMatcher(None, wanted, normalize_name(name))
            floor = cutoff if best is None else max(cutoff, best[0])
            # The quick upper bounds skip most names without the full ratio.
            if matcher.real_quick_ratio() < floor or matcher.quick_ratio() < floor:
                continue
            score = matcher.ratio()
            if best is None or score > best[0]:
                best = (score, candidate.name)
    if best is None or best[0] < cutoff:
        return None
    return {"field": best[1], "score": round(best[0], 3)}
