"""The file formats jobs read and write, by short name.

Names are the file extensions: ``csv``, ``tsv``, ``xlsx``, ``xls``, ``json``,
``yaml``, ``ods``. Each maps to a django-import-export format class, which is
what ``ImportJob.file_format`` / ``ExportJob.file_format`` return (initialised).
"""

from __future__ import annotations

import os
from typing import Any

from import_export.formats import base_formats

from .conf import jobs_settings
from .exceptions import JobConfigurationError

FORMAT_CLASSES: dict[str, type[base_formats.Format]] = {
    "csv": base_formats.CSV,
    "tsv": base_formats.TSV,
    "xlsx": base_formats.XLSX,
    "xls": base_formats.XLS,
    "json": base_formats.JSON,
    "yaml": base_formats.YAML,
    "ods": base_formats.ODS,
}

# Formats this package can write. XLS (the pre-2007 binary format) is read only.
WRITABLE_FORMATS: frozenset[str] = frozenset({"csv", "tsv", "xlsx", "json", "yaml", "ods"})

# File name extensions accepted for each format (lowercase, without the dot).
EXTENSION_ALIASES: dict[str, str] = {"yml": "yaml", "txt": "csv"}


def get_format(name: str) -> base_formats.Format:
    """An initialised django-import-export format for ``name``."""
    try:
        return FORMAT_CLASSES[name]()
    except KeyError:
        raise JobConfigurationError(
            f"Unknown file format {name!r}; known formats: {', '.join(FORMAT_CLASSES)}."
        ) from None


def format_from_filename(filename: str) -> str | None:
    """The format name that a file name's extension stands for, if any."""
    ext = os.path.splitext(filename or "")[1].lower().lstrip(".")
    ext = EXTENSION_ALIASES.get(ext, ext)
    return ext if ext in FORMAT_CLASSES else None


def _allowed(resource_class: Any, attribute: str, setting: str) -> list[str]:
    declared = getattr(resource_class, attribute, None) if resource_class else None
    names = list(declared) if declared is not None else list(getattr(jobs_settings, setting))
    return [name for name in names if name in FORMAT_CLASSES]


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
        if name in WRITABLE_FORMATS
    ]
