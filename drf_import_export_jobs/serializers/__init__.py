"""Serializers of the REST API.

The job serializers are read-only views of a job; the create serializers
validate a new job's input and create it. Fields whose choices depend on the
resource (file formats, export fields, ordering) are built in ``get_fields()``
from class attributes that :func:`for_resource` fills in, so each viewset
gets its own subclass (component ``BookImportJob``, enum
``BookImportFormatEnum``...) without anything being built at import time.
"""

from .base import ResourceBoundSerializer, StaffOnlyTraceback, for_resource
from .errors import (
    BaseStatusConflictSerializer,
    ErrorDetailSerializer,
    ExportStatusConflictSerializer,
    FileTooLargeSerializer,
    ImportStatusConflictSerializer,
    ValidationErrorSerializer,
)
from .exports import ExportJobCreateSerializer, ExportJobSerializer
from .imports import ImportJobCreateSerializer, ImportJobSerializer
from .parts import (
    EXPORT_STATUS_ENUM,
    IMPORT_STATUS_ENUM,
    BaseProgressSerializer,
    ExportProgressSerializer,
    ImportProgressSerializer,
    ProgressInfoSerializer,
    RowErrorPageSerializer,
    RowErrorSerializer,
    TotalsSerializer,
)

__all__ = [
    "EXPORT_STATUS_ENUM",
    "IMPORT_STATUS_ENUM",
    "BaseProgressSerializer",
    "BaseStatusConflictSerializer",
    "ErrorDetailSerializer",
    "ExportJobCreateSerializer",
    "ExportJobSerializer",
    "ExportProgressSerializer",
    "ExportStatusConflictSerializer",
    "FileTooLargeSerializer",
    "ImportJobCreateSerializer",
    "ImportJobSerializer",
    "ImportProgressSerializer",
    "ImportStatusConflictSerializer",
    "ProgressInfoSerializer",
    "ResourceBoundSerializer",
    "RowErrorPageSerializer",
    "RowErrorSerializer",
    "StaffOnlyTraceback",
    "TotalsSerializer",
    "ValidationErrorSerializer",
    "for_resource",
]
