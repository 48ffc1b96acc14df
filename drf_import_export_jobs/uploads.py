"""Refusing oversized uploads before they are stored.

Two guards, both installed by the import viewset before the request body is
read (authentication included, since session authentication reads the body
for its CSRF check):

1. a declared ``Content-Length`` over the limit plus ``MULTIPART_ALLOWANCE``
   is refused at once, without reading the body;
2. :class:`UploadSizeLimitHandler` runs first among Django's upload handlers
   and stops the upload as soon as one file passes the limit, so the rest is
   never written to memory or to a temporary file.

Either way the view answers 413 and nothing reaches the job storage.
"""

from __future__ import annotations

from typing import Any

from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest

from .api_exceptions import FileTooLarge

# Room for the multipart framing and the option fields on top of the file.
MULTIPART_ALLOWANCE = 1024 * 1024


class UploadSizeLimitHandler(FileUploadHandler):
    """Stops the upload once any file in it passes ``max_size`` bytes.

    Put it first in ``request.upload_handlers``; it passes every chunk on to
    the next handler (which stores the file) and sets ``exceeded`` instead of
    letting a larger file through. ``StopUpload`` makes Django drop the file
    and skip the rest of the body.
    """

    def __init__(self, request: HttpRequest | None = None, max_size: int = 0) -> None:
        super().__init__(request)
        self.max_size = max_size
        self.exceeded = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > self.max_size:
            self.exceeded = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def limit_upload_size(request: HttpRequest, max_size: int) -> UploadSizeLimitHandler:
    """Refuse ``request`` if it declares a body too large for a ``max_size``
    upload, else put an :class:`UploadSizeLimitHandler` in front of its upload
    handlers and return it. Call before anything reads the body."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > max_size + MULTIPART_ALLOWANCE:
        raise FileTooLarge(max_size)
    handler = UploadSizeLimitHandler(request, max_size)
    handlers: list[Any] = list(request.upload_handlers)
    request.upload_handlers = [handler, *handlers]
    return handler
