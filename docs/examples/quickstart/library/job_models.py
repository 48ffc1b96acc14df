"""The customisation guide's own job models (loaded by library/models.py)."""

# --8<-- [start:job-models]
# library/job_models.py (imported by library/models.py)
from django.db import models

from drf_import_export_jobs.models import AbstractExportJob, AbstractImportJob


class TenantImportJob(AbstractImportJob):
    """An import job that belongs to a tenant."""

    tenant = models.CharField(max_length=50, db_index=True)


class TenantExportJob(AbstractExportJob):
    """An export job that belongs to a tenant."""

    tenant = models.CharField(max_length=50, db_index=True)


# --8<-- [end:job-models]
