"""The file formats jobs read and write, declared once in :data:`FORMATS`.

Names are the file extensions: ``csv``, ``tsv``, ``xlsx``, ``xls``, ``json``,
``yaml``, ``ods``. Each :class:`FileFormat` names its django-import-export
format class (what ``ImportJob.file_format`` / ``ExportJob.file_format``
return, initialised), its media type, the other extensions it is known by,
and how the reader and the export writers treat it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from import_export.formats import base_formats

from .conf import jobs_settings
from .exceptions import JobConfigurationError


@dataclass(frozen=True)
class FileFormat:
    """One file format jobs read or write, declared once: what the upload
    checks, the reader (:mod:`.pipeline.imports.reading`), the export writers
    (:mod:`.pipeline.exports.writers`) and the API use."""

    name: str  # also the main file name extension
    format_class: type[base_formats.Format]  # django-import-export's
    media_type: str
    extensions: tuple[str, ...] = ()  # other extensions accepted for it
    binary: bool = False  # a binary container (the reader refuses text in it)
    writable: bool = True  # exports can be written in it
    spreadsheet: bool = False  # opened by spreadsheet programs: escape formulas
    native_types: bool = False  # cells keep numbers and dates (not text)
    delimiter: str | None = None  # a delimited text format, read as a stream


FORMATS: dict[str, FileFormat] = {
    f.name: f
    for f in (
        FileFormat(
            "csv",
            base_formats.CSV,
            "text/csv",
            extensions=("txt",),
            spreadsheet=True,
            delimiter=",",
        ),
        FileFormat(
            "tsv",
            base_formats.TSV,
            "text/tab-separated-values",
            spreadsheet=True,
            delimiter="\t",
        ),
        FileFormat(
            "xlsx",
            base_formats.XLSX,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            binary=True,
            spreadsheet=True,
            native_types=True,
        ),
        # The pre-2007 binary format: read only.
        FileFormat(
            "xls", base_formats.XLS, "application/vnd.ms-excel", binary=True, writable=False
        ),
        FileFormat("json", base_formats.JSON, "application/json"),
        FileFormat("yaml", base_formats.YAML, "application/yaml", extensions=("yml",)),
        FileFormat(
            "ods",
            base_formats.ODS,
            "application/vnd.oasis.opendocument.spreadsheet",
            binary=True,
            spreadsheet=True,
            native_types=True,
        ),
    )
}

# File name extensions (lowercase, without the dot) -> format name.
EXTENSIONS: dict[str, str] = {
    ext: f.name for f in FORMATS.values() for ext in (f.name, *f.extensions)
}


def get_file_format(name: str) -> FileFormat:
    """The declaration of the format ``name``."""
    try:
        return FORMATS[name]
    except KeyError:
        raise JobConfigurationError(
            f"Unknown file format {name!r}; known formats: {', '.join(FORMATS)}."
        ) from None


def get_format(name: str) -> base_formats.Format:
    """An initialised django-import-export format for ``name``."""
    return get_file_format(name).format_class()


def format_from_filename(filename: str) -> str | None:
    """The format name that a file name's extension stands for, if any."""
    ext = os.path.splitext(filename or "")[1].lower().lstrip(".")
    return EXTENSIONS.get(ext)


def _allowed(resource_class: Any, attribute: str, setting: str) -> list[str]:
    declared = getattr(resource_class, attribute, None) if resource_class else None
    names = list(declared) if declared is not None else list(getattr(jobs_settings, setting))
    return [name for name in names if name in FORMATS]


def allowed_import_formats(resource_class: Any = None) -> list[str]:
    """Import formats for a resource: its ``import_formats`` attribute if it
    has one, else ``DRF_IMPORT_EXPORT_JOBS["IMPORT_FORMATS"]``."""
    return _allowed(resource_class, "import_formats", "IMPORT_FORMATS")


def allowed_export_formats(resource_class: Any = None) -> list[str]:
    """Export formats for a resource: its ``export_formats`` attribute if it
    has one, else ``DRF_IMPORT_EXPORT_JOBS["EXPORT_FORMATS"]``."""
    return [
        name
        for name in _allowed(resource_class, "export_formats", "EXPORT_FORMATS")
        if FORMATS[name].writable
    ]
