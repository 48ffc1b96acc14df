"""The quickstart's data: books."""

from django.db import models


class Book(models.Model):
    isbn = models.CharField(max_length=13, unique=True)
    title = models.CharField(max_length=255)
    author = models.CharField(max_length=200)
    price = models.DecimalField(max_digits=8, decimal_places=2)
    in_stock = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.title


# The customisation guide's own job models (not part of the quickstart).
from .job_models import TenantExportJob, TenantImportJob  # noqa: E402

__all__ = ["Book", "TenantExportJob", "TenantImportJob"]
