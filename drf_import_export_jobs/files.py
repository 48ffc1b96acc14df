"""Where job files live: the configured storage and generated file names.

No file name ever comes from a client as a path. Uploads, exports and error
reports get names made here from the job kind, a date and a random token; the
client's original name is kept (cleaned) for display only.

Every job file is read and written through that storage and nothing else: the
web process and the workers may run on different machines and share only the
database, the broker and the storage (an S3 bucket, say). A download is either
streamed from the storage or, with ``DOWNLOAD_REDIRECT``, answered with a
redirect to the storage's own URL for the file.
"""

from __future__ import annotations

import posixpath
import re
import sys
import unicodedata
import uuid
from typing import Any
from urllib.parse import urlsplit

from django.core.files.storage import Storage, storages
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.functional import LazyObject, empty
from django.utils.http import content_disposition_header

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


def is_absolute_url(url: str) -> bool:
    """Whether ``url`` is an ``http(s)://`` URL a client can follow anywhere."""
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def storage_url(storage: Storage, name: str, filename: str, content_type: str | None) -> str:
    """``storage``'s URL for the file ``name``.

    With django-storages' S3 backend it is a presigned URL (valid for the
    storage's ``querystring_expire`` seconds, 3600 unless configured) that
    makes the bucket answer with ``Content-Disposition: attachment`` and
    ``filename``, and with ``content_type`` when given. Other storages give
    their plain ``url()``."""
    s3 = sys.modules.get("storages.backends.s3")  # loaded when an S3 storage is in use
    if s3 is not None and isinstance(storage, s3.S3Storage):
        parameters = {"ResponseContentDisposition": content_disposition_header(True, filename)}
        if content_type:
            parameters["ResponseContentType"] = content_type
        return str(storage.url(name, parameters=parameters))
    return str(storage.url(name))


def redirect_url(field_file: Any, filename: str, content_type: str | None = None) -> str | None:
    """Where a download of ``field_file`` redirects to, or None to stream it.

    None unless ``DOWNLOAD_REDIRECT`` is on and the storage's URL for the file
    is absolute (``http(s)://``; FileSystemStorage's ``MEDIA_URL`` paths are
    not, and such downloads are streamed). Raises FileNotFoundError when the
    file is missing from the storage."""
    if not jobs_settings.DOWNLOAD_REDIRECT:
        return None
    storage = field_file.storage
    try:
        url = storage_url(storage, field_file.name, filename, content_type)
    except NotImplementedError:  # a storage without URLs
        return None
    if not is_absolute_url(url):
        return None
    if not storage.exists(field_file.name):
        raise FileNotFoundError(field_file.name)
    return url


def attachment_response(
    field_file: Any, filename: str | None = None, content_type: str | None = None
) -> HttpResponseBase:
    """``field_file`` as a download named ``filename`` (or the stored name's
    last part): a 302 to the storage's URL for it with ``DOWNLOAD_REDIRECT``
    (see :func:`redirect_url`; ``Cache-Control: private, no-store``), else
    the file streamed from the storage (``Content-Disposition: attachment``,
    ``content_type`` when given). 404 when it is missing."""
    if not field_file:
        raise Http404
    name = filename or posixpath.basename(field_file.name)
    try:
        url = redirect_url(field_file, name, content_type)
        if url is not None:
            redirect = HttpResponseRedirect(url)
            # The URL is the caller's (and may expire): never kept by a cache.
            redirect["Cache-Control"] = "private, no-store"
            return redirect
        handle = field_file.open("rb")
    except OSError as exc:
        raise Http404 from exc
    if content_type:
        return FileResponse(handle, as_attachment=True, filename=name, content_type=content_type)
    return FileResponse(handle, as_attachment=True, filename=name)
