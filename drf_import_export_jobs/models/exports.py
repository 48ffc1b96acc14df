"""The export job: a resource's queryset written to a file in storage."""

from __future__ import annotations

import logging
import tempfile
from functools import partial
from typing import Any

from django.core.files import File
from django.db import models, router, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from .. import dispatch
from ..exceptions import JobCancelled, JobConfigurationError
from ..files import export_file_upload_to, get_job_storage
from ..formats import allowed_export_formats
from ..pipeline.exports.runner import run_export
from ..progress import ProgressReporter
from ..querysets import check_export_options, export_queryset
from ..transitions import transition
from .base import BaseJob, new_task_id

logger = logging.getLogger(__name__)


class AbstractExportJob(BaseJob):
    """An export of a resource's queryset to a file in storage.

    ``created -> exporting -> exported | export_error``; ``cancelled`` from
    created or exporting.
    """

    class ExportStatus(models.TextChoices):
        CREATED = "created", _("Created")
        EXPORTING = "exporting", _("Exporting")
        EXPORTED = "exported", _("Exported")
        EXPORT_ERROR = "export_error", _("Export error")
        CANCELLED = "cancelled", _("Cancelled")

    CANCELLABLE = ("created", "exporting")
    ACTIVE = CANCELLABLE
    RUNNING = ("exporting",)
    PENDING = ("created",)
    FINAL = ("exported", "export_error", "cancelled")
    LOST_WORKER = {"exporting": ("export_error", "export_finished_at")}
    # A dead worker's export is done again (its file was never kept).
    RESTART = {"exporting": "created"}

    status = models.CharField(
        _("status"),
        max_length=32,
        choices=ExportStatus.choices,
        default=ExportStatus.CREATED,
        db_index=True,
    )
    filters = models.JSONField(
        _("filters"),
        default=dict,
        blank=True,
        help_text=_("Filter values for the resource's filterset_class."),
    )
    ordering = models.JSONField(_("ordering"), default=list, blank=True)
    fields = models.JSONField(
        _("fields"),
        default=list,
        blank=True,
        help_text=_("Names of the resource fields to export; empty exports all."),
    )
    export_task_id = models.CharField(_("export task id"), max_length=255, blank=True)
    export_started_at = models.DateTimeField(_("export started at"), null=True, blank=True)
    export_finished_at = models.DateTimeField(_("export finished at"), null=True, blank=True)
    data_file = models.FileField(
        _("exported file"),
        upload_to=export_file_upload_to,
        storage=get_job_storage,
        max_length=512,
        blank=True,
    )

    class Meta(BaseJob.Meta):
        abstract = True
        verbose_name = _("export job")
        verbose_name_plural = _("export jobs")

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save; on creation, store a task id and send the export task once
        the transaction commits."""
        creating = self._state.adding
        if creating and not self.export_task_id:
            self.export_task_id = new_task_id()
        super().save(*args, **kwargs)
        if creating:
            self.start_export_task()

    def start_export_task(self) -> None:
        """Send the export task (after commit) under the stored ``export_task_id``."""
        if not self.export_task_id:
            self.export_task_id = new_task_id()
            type(self)._base_manager.filter(pk=self.pk).update(export_task_id=self.export_task_id)
        dispatch.send_job_task(dispatch.EXPORT_TASK, self, self.export_task_id)

    def send_pending_task(self) -> None:
        """Send the export task again, under the stored task id."""
        if self.status == self.ExportStatus.CREATED:
            self.start_export_task()

    @property
    def export_filename(self) -> str:
        """The download name of the result, e.g. ``books-export-12-20261125-140200.csv``."""
        try:
            model = self.resource_class._meta.model
            base = slugify(model._meta.verbose_name_plural) if model else "data"
        except JobConfigurationError:
            base = "data"
        stamp = timezone.localtime(self.created_at).strftime("%Y%m%d-%H%M%S")
        return f"{base or 'data'}-export-{self.pk}-{stamp}.{self.file_format_name}"

    def get_queryset(self) -> models.QuerySet[Any]:
        """The rows to export: the resource's queryset, narrowed by ``filters``
        through the resource's ``filterset_class`` and sorted by ``ordering``.

        Override to scope exports further (the job's ``created_by`` and
        ``resource_kwargs`` are available here, in the worker)."""
        return export_queryset(self.resource, self.filters, self.ordering)

    def export_data(self) -> None:
        """Write the file: ``created -> exporting -> exported | export_error``."""
        S = self.ExportStatus
        transition(
            self,
            S.EXPORTING,
            (S.CREATED,),
            export_started_at=timezone.now(),
            **self.start_fields(),
            progress_current=0,
            error_message="",
            traceback="",
        )
        name = ""
        try:
            with ProgressReporter(self) as progress, tempfile.TemporaryFile() as out:
                resource = self.resource
                self._check_format(allowed_export_formats(type(resource)))
                problems = check_export_options(resource, self.filters, self.ordering, self.fields)
                if problems:
                    raise JobConfigurationError(
                        "Invalid export options: "
                        + "; ".join(f"{key}: {' '.join(msgs)}" for key, msgs in problems.items())
                    )
                queryset = self.get_queryset()
                progress.set_total(queryset.count())
                selected = list(self.fields) or None
                run_export(out, self.file_format_name, resource, queryset, selected, progress)
                out.seek(0)
                name = self.data_file.storage.save(
                    export_file_upload_to(self, self.export_filename), File(out)
                )
        except JobCancelled:
            logger.info("%s stopped exporting: %s.", self, progress.stop_reason or "cancelled")
            return
        except Exception as exc:
            logger.exception("Exporting %s failed.", self)
            self._safe_transition(
                S.EXPORT_ERROR,
                (S.EXPORTING,),
                export_finished_at=timezone.now(),
                **self._error_fields(exc, not isinstance(exc, JobConfigurationError)),
            )
            return
        if not self._safe_transition(
            S.EXPORTED, (S.EXPORTING,), data_file=name, export_finished_at=timezone.now()
        ):
            self.data_file.storage.delete(name)

    def cancel_export(self) -> None:
        """Cancel from created or exporting and revoke the task; a running
        export stops at its next chunk and its file is not kept."""
        S = self.ExportStatus
        transition(self, S.CANCELLED, self.CANCELLABLE, cancelled_at=timezone.now())
        transaction.on_commit(
            partial(dispatch.revoke_task, self.export_task_id),
            using=router.db_for_write(type(self)),
        )
