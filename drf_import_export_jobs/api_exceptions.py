"""HTTP errors of the REST API (409, 413) with their documented bodies."""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.exceptions import APIException

from .exceptions import InvalidJobStatus


class JobStatusConflict(APIException):
    """409: the job's status does not allow the request.

    Body: ``{"detail": "...", "code": "invalid_status", "status": "<current status>"}``.
    """

    status_code = status.HTTP_409_CONFLICT
    default_code = "invalid_status"

    def __init__(self, detail: str, current_status: str) -> None:
        self.current_status = current_status
        super().__init__(
            {"detail": detail, "code": self.default_code, "status": current_status},
            self.default_code,
        )

    @classmethod
    def from_invalid_status(cls, exc: InvalidJobStatus) -> JobStatusConflict:
        """The 409 for a refused transition."""
        return cls(str(exc), exc.current_status or "")


class FileTooLarge(APIException):
    """413: the upload is larger than ``DRF_IMPORT_EXPORT_JOBS["MAX_UPLOAD_SIZE"]``.

    Body: ``{"detail": "...", "code": "file_too_large"}``.
    """

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "file_too_large"

    def __init__(self, max_size: int, **kwargs: Any) -> None:
        detail = (
            f"The file is larger than {max_size} bytes, the most this server accepts "
            '(DRF_IMPORT_EXPORT_JOBS["MAX_UPLOAD_SIZE"]).'
        )
        super().__init__({"detail": detail, "code": self.default_code}, self.default_code)
