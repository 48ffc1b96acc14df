"""Models the tests import into and export from, plus a custom job model."""

from django.db import models

from drf_import_export_jobs.models import AbstractExportJob, AbstractImportJob


class Author(models.Model):
    name = models.CharField(max_length=100, unique=True)

    def __str__(self) -> str:
        return self.name


class Book(models.Model):
    isbn = models.CharField(max_length=13, unique=True)
    title = models.CharField(max_length=200)
    author = models.ForeignKey(Author, on_delete=models.PROTECT, related_name="books")
    price = models.DecimalField(max_digits=8, decimal_places=2)
    published = models.DateField(null=True, blank=True)
    pages = models.PositiveIntegerField(null=True, blank=True)
    in_stock = models.BooleanField(default=True)
    description = models.TextField(blank=True)

    def __str__(self) -> str:
        return self.title


class Tenant(models.Model):
    name = models.CharField(max_length=50)

    def __str__(self) -> str:
        return self.name


class TenantImportJob(AbstractImportJob):
    """A project's own import job with a tenant."""

    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.CASCADE)


class TenantExportJob(AbstractExportJob):
    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.CASCADE)


class ArchiveImportJob(AbstractImportJob):
    """A second import job model, chosen by a viewset's ``get_job_model()``
    while the settings keep the default one."""

    note = models.CharField(max_length=50, blank=True)


class ArchiveExportJob(AbstractExportJob):
    """A second export job model, chosen by a viewset's ``get_job_model()``."""

    note = models.CharField(max_length=50, blank=True)
