"""Ready-made import and export job viewsets.

Subclass one per resource and register it with any DRF router::

    class BookImportViewSet(ImportJobViewSet):
        resource_class = BookResource

    router.register("books/imports", BookImportViewSet, basename="book-import")

Routes: list, create, retrieve, ``cancel``, delete, and ``confirm`` and
``errors`` (imports) or ``download`` (exports). See ``docs/rest-api.md``.
"""

from __future__ import annotations

from rest_framework import mixins, viewsets

from .mixins import CancelJobMixin, DestroyJobMixin, ExportJobMixin, ImportJobMixin

__all__ = ["ExportJobViewSet", "ImportJobViewSet"]


class ImportJobViewSet(
    ImportJobMixin,
    CancelJobMixin,
    DestroyJobMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Import jobs of one resource: upload (multipart), poll, confirm, cancel,
    row errors, delete. Set ``resource_class``."""


class ExportJobViewSet(
    ExportJobMixin,
    CancelJobMixin,
    DestroyJobMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Export jobs of one resource: create (JSON), poll, cancel, download,
    delete. Set ``resource_class``."""
