"""The import ledger: what each chunk of an import wrote, to undo it later."""

from __future__ import annotations

from typing import Any, Self

from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportChunkRow(models.Model):
    """A row about one chunk of one import job (abstract).

    The job is named by its model's label and primary key (``job_model``,
    ``job_id``), so one table serves every import job model a project has;
    ``chunk`` is the chunk's number in the file (1, 2, ... of ``CHUNK_SIZE``
    rows)."""

    job_model = models.CharField(_("job model"), max_length=100)
    job_id = models.CharField(_("job id"), max_length=64)
    chunk = models.PositiveIntegerField(_("chunk number"))

    class Meta:
        abstract = True
        ordering = ("job_model", "job_id", "chunk")

    def __str__(self) -> str:
        return f"{self.job_model} {self.job_id} chunk {self.chunk}"

    @classmethod
    def for_job(cls, job: Any) -> models.QuerySet[Self]:
        """The rows of ``job`` (an import job of any model)."""
        return cls._base_manager.filter(job_model=job._meta.label_lower, job_id=str(job.pk))


class ImportLedgerEntry(ImportChunkRow):
    """What one chunk of one import job wrote, recorded in the chunk's transaction.

    ``created`` holds ``[pk, after_digest]`` per row the chunk created;
    ``updated`` holds ``[pk, before, after_digest]`` per row it changed (the
    row's concrete field values before the import, as JSON, and a digest of
    the values the import left); ``deleted`` holds ``[pk, before]`` per row
    the resource deleted. Values are encoded per field (see
    :mod:`drf_import_export_jobs.pipeline.imports.ledger`). ``complete`` is
    false when the chunk wrote rows the ledger could not record (a revert
    is then refused). ``result`` holds what the chunk's rows came to
    (``{"totals": {...}, "rows": n, "errors": [...]}``, as in the job's
    results, with every error of the chunk): a chunked import's results
    are summed from its entries. One entry per (job, chunk).
    """

    model = models.CharField(
        _("model of the rows"), max_length=100, help_text=_("The label of the imported model.")
    )
    database = models.CharField(_("database alias of the rows"), max_length=100)
    created = models.JSONField(_("created rows"), default=list)
    updated = models.JSONField(_("before-images of updated rows"), default=list)
    deleted = models.JSONField(_("before-images of deleted rows"), default=list)
    complete = models.BooleanField(_("every write recorded"), default=True)
    result = models.JSONField(_("results of the chunk's rows"), null=True, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True, db_index=True)

    class Meta(ImportChunkRow.Meta):
        verbose_name = _("import ledger entry")
        verbose_name_plural = _("import ledger entries")
        constraints = [
            models.UniqueConstraint(
                fields=("job_model", "job_id", "chunk"), name="import_ledger_one_entry_per_chunk"
            )
        ]


class PendingImportChunk(ImportChunkRow):
    """A chunk of a chunked import that no task has committed yet.

    One row per chunk is created when a chunked import's run starts, on one
    task or several (see :mod:`drf_import_export_jobs.models.parallel`). A
    task claims a chunk by locking its row (``SELECT ... FOR UPDATE SKIP
    LOCKED``) in the chunk's transaction and deletes it in the same
    transaction, with the chunk's ledger entry: a task that dies releases
    its claim with its transaction, and another task takes the chunk.
    """

    class Meta(ImportChunkRow.Meta):
        verbose_name = _("pending import chunk")
        verbose_name_plural = _("pending import chunks")
        constraints = [
            models.UniqueConstraint(
                fields=("job_model", "job_id", "chunk"), name="pending_import_chunk_once"
            )
        ]

    def __str__(self) -> str:
        return f"{super().__str__()} (pending)"
