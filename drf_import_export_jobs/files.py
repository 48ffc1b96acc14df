"""Where job files live: the configured storage and generated file names.

No file name ever comes from a client as a path. Uploads, exports and error
reports get names made here from the job kind, a date and a random token; the
client's original name is kept (cleaned) for display only.
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
import uuid
from typing import Any

from django.core.files.storage import Storage, storages
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import FileResponse, Http404
from django.utils import timezone
from django.utils.functional import LazyObject, empty

from .conf import SETTING_NAME, jobs_settings


class _JobStorage(LazyObject):  # type: ignore[type-arg]  # generic in the stubs only
    def _setup(self) -> None:
        self._wrapped = storages[jobs_settings.STORAGE]


job_storage = _JobStorage()


def get_job_storage() -> Storage:
    """The storage job files go to: ``STORAGES[DRF_IMPORT_EXPORT_JOBS["STORAGE"]]``.

    Used as the ``storage`` callable of every job FileField; it returns a lazy
    object, so no setting is read when models load.
    """
    return job_storage  # type: ignore[return-value]


@receiver(setting_changed)
def _reset_storage(*, setting: str, **kwargs: Any) -> None:
    if setting in (SETTING_NAME, "STORAGES"):
        job_storage._wrapped = empty  # type: ignore[assignment]


def generated_name(kind: str, extension: str) -> str:
    """A fresh storage path such as ``import_export_jobs/imports/2026/11/25/<hex>.csv``."""
    day = timezone.now().strftime("%Y/%m/%d")
    extension = re.sub(r"[^a-z0-9]", "", extension.lower())[:8] or "bin"
    return f"{jobs_settings.FILES_DIR}/{kind}/{day}/{uuid.uuid4().hex}.{extension}"


def _extension_of(instance: Any) -> str:
    return getattr(instance, "file_format_name", "") or "bin"


def import_file_upload_to(instance: Any, filename: str) -> str:
    """``upload_to`` of uploaded import files (the client's name is ignored)."""
    return generated_name("imports", _extension_of(instance))


def export_file_upload_to(instance: Any, filename: str) -> str:
    """``upload_to`` of export result files."""
    return generated_name("exports", _extension_of(instance))


def error_report_upload_to(instance: Any, filename: str) -> str:
    """``upload_to`` of per-row error reports (always CSV)."""
    return generated_name("error-reports", "csv")


_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")


def clean_display_name(filename: str | None, max_length: int = 255) -> str:
    """A client-supplied file name made safe to show and to offer as a download
    name: no directories, control characters or path separators; at most
    ``max_length`` characters, keeping the extension."""
    name = unicodedata.normalize("NFC", str(filename or ""))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name).strip(" .")
    if len(name) > max_length:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = stem[: max_length - len(ext) - 1] + "." + ext
        else:
            name = name[:max_length]
    return name


def attachment_response(field_file: Any, filename: str | None = None) -> FileResponse:
    """``field_file`` as a download (``Content-Disposition: attachment``, named
    ``filename`` or the stored name's last part); 404 when it is missing."""
    if not field_file:
        raise Http404
    try:
        handle = field_file.open("rb")
    except OSError as exc:
        raise Http404 from exc
    name = filename or posixpath.basename(field_file.name)
    return FileResponse(handle, as_attachment=True, filename=name)
