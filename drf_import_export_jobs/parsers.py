"""Request parsing of the job viewsets: bad bodies are a 400 with the reason.

DRF lets a few parsing failures through as server errors: a JSON body nested
deeper than Python's recursion limit, and Django's own refusals of a request
body (``DATA_UPLOAD_MAX_MEMORY_SIZE``, ``DATA_UPLOAD_MAX_NUMBER_FIELDS``,
``DATA_UPLOAD_MAX_NUMBER_FILES``), which Django answers with an HTML page.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class JobJSONParser(JSONParser):
    """DRF's ``JSONParser``; a body nested too deeply is a 400, not a 500."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None


# Django's refusals of a request body, and the setting each one names.
BODY_LIMITS: dict[type[Exception], str] = {
    RequestDataTooBig: "The request body, without its files, is larger than "
    "settings.DATA_UPLOAD_MAX_MEMORY_SIZE allows.",
    TooManyFieldsSent: "The request has more fields than "
    "settings.DATA_UPLOAD_MAX_NUMBER_FIELDS allows.",
    TooManyFilesSent: "The request has more files than settings.DATA_UPLOAD_MAX_NUMBER_FILES "
    "allows.",
}


def body_limit_error(exc: Exception) -> ParseError | None:
    """The 400 for one of Django's refusals of a request body, else None."""
    for kind, message in BODY_LIMITS.items():
        if isinstance(exc, kind):
            return ParseError(message)
    return None
