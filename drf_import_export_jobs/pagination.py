"""Pagination of job lists and of an import's row errors."""

from __future__ import annotations

import csv
import io
import itertools
import sys
from typing import Any

from django.core.paginator import InvalidPage
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from .conf import jobs_settings
from .pipeline.escaping import FORMULA_PREFIXES


class JobPagination(PageNumberPagination):
    """Page-number pagination of job lists: ``?page=`` and ``?page_size=``.

    The page size is ``DRF_IMPORT_EXPORT_JOBS["API_PAGE_SIZE"]`` and a client
    may ask for up to ``["API_MAX_PAGE_SIZE"]`` (a larger ``page_size`` is
    capped). A ``page_size`` that is not a positive integer is a 400, a
    ``page`` that is not one, or past the end, a 404. Subclass it and set
    ``pagination_class`` on your viewset to change more.
    """

    page_size_query_param = "page_size"

    def get_page_size(self, request: Request) -> int | None:
        self.page_size = int(jobs_settings.API_PAGE_SIZE)
        self.max_page_size = int(jobs_settings.API_MAX_PAGE_SIZE)
        raw = request.query_params.get(self.page_size_query_param)
        if not raw:
            return self.page_size
        number = _positive_int(raw)
        if number is None:
            raise ValidationError(
                {
                    self.page_size_query_param: [
                        f"Expected a positive integer, got {_shorten(raw)!r}; "
                        f"at most {self.max_page_size} (API_MAX_PAGE_SIZE)."
                    ]
                }
            )
        return min(number, self.max_page_size)


class ErrorReportPagination:
    """Pages of an import's CSV error report, read from storage row by row.

    Only the rows up to the requested page are read; ``count`` is the error
    count stored in the job's results, so no page counts the file.
    """

    page_query_param = "page"

    def get_page_size(self) -> int:
        return int(jobs_settings.API_ERRORS_PAGE_SIZE)

    def get_page_number(self, request: Request) -> int:
        """The requested page; 404 unless a positive integer whose rows can be
        addressed (a page whose offset passes ``sys.maxsize`` is past any end)."""
        raw = request.query_params.get(self.page_query_param) or "1"
        number = _positive_int(raw)
        if number is None:
            raise NotFound(f"Invalid page {_shorten(raw)!r}.")
        size = self.get_page_size()
        if number * size >= sys.maxsize:
            raise NotFound(f"Invalid page {_shorten(raw)!r}: there are no more errors.")
        return number

    def read_page(self, job: Any, number: int, size: int) -> tuple[list[dict[str, Any]], bool]:
        """Rows of page ``number`` and whether a later page exists."""
        if not job.error_report:
            return [], False
        start = (number - 1) * size
        with job.error_report.open("rb") as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            reader = csv.reader(text)
            next(reader, None)  # header
            rows = list(itertools.islice(reader, start, start + size + 1))
        entries = [_entry(row) for row in rows[:size]]
        return entries, len(rows) > size

    def get_paginated_response(self, job: Any, request: Request, count: int) -> Response:
        """The page of ``request`` as ``{count, next, previous, results}``."""
        number = self.get_page_number(request)
        size = self.get_page_size()
        try:
            results, has_next = self.read_page(job, number, size)
        except (OSError, InvalidPage) as exc:
            raise NotFound(f"The error report cannot be read: {exc}") from exc
        if number > 1 and not results:
            raise NotFound(f"Invalid page {number}: there are no more errors.")
        url = request.build_absolute_uri()
        next_url = (
            replace_query_param(url, self.page_query_param, number + 1) if has_next else None
        )
        if number <= 1:
            previous_url = None
        elif number == 2:
            previous_url = remove_query_param(url, self.page_query_param)
        else:
            previous_url = replace_query_param(url, self.page_query_param, number - 1)
        return Response(
            {"count": count, "next": next_url, "previous": previous_url, "results": results}
        )


def _positive_int(raw: str) -> int | None:
    """``raw`` as a whole number of at least 1 (digits only), else ``None``.
    Numbers of more than 30 digits are ``sys.maxsize``: past any limit."""
    if not (raw.isascii() and raw.isdigit()):
        return None
    number = sys.maxsize if len(raw) > 30 else int(raw)
    return number if number >= 1 else None


def _shorten(raw: str, limit: int = 40) -> str:
    """``raw`` cut to ``limit`` characters for an error message."""
    return raw if len(raw) <= limit else raw[:limit] + "..."


def _unescape(cell: str) -> str:
    """A report cell without the quote that formula escaping put in front."""
    if cell.startswith("'") and cell[1:].startswith(FORMULA_PREFIXES):
        return cell[1:]
    return cell


def _entry(row: list[str]) -> dict[str, Any]:
    number, field, message = [*row, "", "", ""][:3]
    return {
        "row": int(number) if number.isdigit() else None,
        "field": _unescape(field) or None,
        "message": _unescape(message),
    }
