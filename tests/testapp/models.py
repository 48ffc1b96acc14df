"""Models the tests import into and export from, plus a custom job model."""

from django.db import models

from drf_import_export_jobs.models import AbstractExportJob, AbstractImportJob


class AuthorManager(models.Manager["Author"]):
    def get_by_natural_key(self, name: str) -> "Author":
        return self.get(name=name)


class Author(models.Model):
    name = models.CharField(max_length=100, unique=True)

    objects = AuthorManager()

    def __str__(self) -> str:
        return self.name

    def natural_key(self) -> tuple[str]:
        return (self.name,)


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


class Edition(models.Model):
    """A title appears once per year (``unique_together``)."""

    title = models.CharField(max_length=100)
    year = models.IntegerField()
    code = models.CharField(max_length=10, unique=True)
    copies = models.PositiveIntegerField(default=1)

    class Meta:
        unique_together = [("title", "year")]

    def __str__(self) -> str:
        return f"{self.title} ({self.year})"


class Loan(models.Model):
    """A reader's loans are numbered once each (``UniqueConstraint``), from 0."""

    reader = models.CharField(max_length=50)
    number = models.IntegerField()
    note = models.CharField(max_length=50, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["reader", "number"], name="unique_loan_number"),
            models.CheckConstraint(
                condition=models.Q(number__gte=0), name="loan_number_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reader} #{self.number}"


class Stamp(models.Model):
    """A model whose ``save()`` changes the row: imported row by row."""

    code = models.CharField(max_length=20, unique=True)
    label = models.CharField(max_length=50)

    def __str__(self) -> str:
        return self.code

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.label = self.label.upper()
        super().save(*args, **kwargs)


class Unmigrated(models.Model):
    """A model whose table the test database never has (as in a project that
    did not run its migrations)."""

    name = models.CharField(max_length=100)

    class Meta:
        managed = False
        db_table = "testapp_unmigrated"

    def __str__(self) -> str:
        return self.name


class ArchiveImportJob(AbstractImportJob):
    """A second import job model, chosen by a viewset's ``get_job_model()``
    while the settings keep the default one."""

    note = models.CharField(max_length=50, blank=True)


class ArchiveExportJob(AbstractExportJob):
    """A second export job model, chosen by a viewset's ``get_job_model()``."""

    note = models.CharField(max_length=50, blank=True)
