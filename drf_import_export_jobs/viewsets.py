"""Ready-made import and export job viewsets.

Subclass one per resource and register it with any DRF router::

    class BookImportViewSet(ImportJobViewSet):
        resource_class = BookResource

    router.register("books/imports", BookImportViewSet, basename="book-import")

Routes: list, create, retrieve, ``cancel``, ``events``, delete, and ``confirm``,
``revert``, ``errors``, ``reparse`` and ``mappings`` (imports) or ``download``
(exports). See ``docs/rest-api.md``.
"""

from __future__ import annotations

from rest_framework import mixins, viewsets

from .mixins import (
    CancelJobMixin,
    ColumnMappingMixin,
    DestroyJobMixin,
    ExportJobMixin,
    ImportJobMixin,
    JobEventsMixin,
)

__all__ = ["ExportJobViewSet", "ImportJobViewSet"]


# JobViewSetMixin declares ``request: Request`` as APIView does; the stubs'
# Django View says HttpRequest.
class ImportJobViewSet(  # type: ignore[misc]
    ColumnMappingMixin,
    ImportJobMixin,
    CancelJobMixin,
    DestroyJobMixin,
    JobEventsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    """Import jobs of one resource: upload (multipart), poll or stream events,
    confirm, cancel, revert, row errors, reparse with a column mapping, saved
    mappings, delete. Set ``resource_class``."""


# JobViewSetMixin declares ``request: Request`` as APIView does; the stubs'
# Django View says HttpRequest.
class ExportJobViewSet(  # type: ignore[misc]
    ExportJobMixin,
    CancelJobMixin,
    DestroyJobMixin,
    JobEventsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    """Export jobs of one resource: create (JSON), poll or stream events,
    cancel, download, delete. Set ``resource_class``."""
