"""Import and export job models.

``AbstractImportJob`` and ``AbstractExportJob`` hold the fields, the state
machines and the methods; ``ImportJob`` and ``ExportJob`` are the concrete
defaults. To add fields (a tenant, say), subclass an abstract model in your
app and name it in ``DRF_IMPORT_EXPORT_JOBS["IMPORT_JOB_MODEL"]`` /
``["EXPORT_JOB_MODEL"]``; the tasks, the API and the checks follow the setting.
"""

from .base import BaseJob
from .events import JobEvent, WebhookDelivery
from .exports import AbstractExportJob
from .imports import AbstractImportJob
from .ledger import ImportLedgerEntry, PendingImportChunk
from .mappings import SavedColumnMapping

__all__ = [
    "AbstractExportJob",
    "AbstractImportJob",
    "BaseJob",
    "ExportJob",
    "ImportJob",
    "ImportLedgerEntry",
    "JobEvent",
    "PendingImportChunk",
    "SavedColumnMapping",
    "WebhookDelivery",
]


class ImportJob(AbstractImportJob):
    """The default concrete import job."""

    class Meta(AbstractImportJob.Meta):
        db_table = "drf_import_export_jobs_importjob"


class ExportJob(AbstractExportJob):
    """The default concrete export job."""

    class Meta(AbstractExportJob.Meta):
        db_table = "drf_import_export_jobs_exportjob"
