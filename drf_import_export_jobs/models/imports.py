"""The import job: upload, dry run, confirm, import."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from django.core.files import File
from django.db import models, router, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import dispatch
from ..exceptions import FileParseError, InvalidJobStatus, JobCancelled, JobConfigurationError
from ..files import (
    error_report_upload_to,
    get_job_storage,
    import_file_upload_to,
)
from ..formats import allowed_import_formats
from ..pipeline.imports import replayfile, runner
from ..pipeline.imports.engines import choose_engine
from ..pipeline.imports.replayfile import RecordWriter
from ..pipeline.imports.results import ResultCollector
from ..progress import ProgressReporter
from ..tables import check_resource_tables
from ..transitions import transition
from .base import BaseJob, new_task_id
from .chunked import (
    ChunkedImportMixin,
    CommitMode,
    commit_mode_field,
    rollback_status_field,
)
from .mappings import ColumnMatchingMixin
from .parallel import ParallelImportMixin
from .reverts import RevertibleImportMixin

logger = logging.getLogger(__name__)


class AbstractImportJob(
    ParallelImportMixin, ChunkedImportMixin, ColumnMatchingMixin, RevertibleImportMixin, BaseJob
):
    """An upload that is dry-run (parsed), reviewed, confirmed and imported.

    ``created -> parsing -> parsed | input_error | parse_error``;
    ``parsed | input_error | parse_error -> created`` (``reparse()``);
    ``parsed -> import_confirmed -> importing -> imported | import_error``;
    ``cancelled`` from created, parsing, import_confirmed or importing;
    in the ``chunked`` commit mode ``importing -> rolling_back -> import_error |
    cancelled`` (a failure or cancel compensates the committed chunks) and
    ``importing -> import_confirmed`` (a lost worker's import resumes);
    ``imported | revert_error -> revert_requested -> reverting -> reverted | revert_error``
    (:meth:`revert_import`, from the ledger every import records).
    """

    class ImportStatus(models.TextChoices):
        CREATED = "created", _("Created")
        PARSING = "parsing", _("Parsing")
        PARSED = "parsed", _("Parsed")
        INPUT_ERROR = "input_error", _("Input error")
        PARSE_ERROR = "parse_error", _("Parse error")
        IMPORT_CONFIRMED = "import_confirmed", _("Import confirmed")
        IMPORTING = "importing", _("Importing")
        IMPORTED = "imported", _("Imported")
        IMPORT_ERROR = "import_error", _("Import error")
        CANCELLED = "cancelled", _("Cancelled")
        REVERT_REQUESTED = "revert_requested", _("Revert requested")
        REVERTING = "reverting", _("Reverting")
        REVERTED = "reverted", _("Reverted")
        REVERT_ERROR = "revert_error", _("Revert error")
        ROLLING_BACK = "rolling_back", _("Rolling back")

    CANCELLABLE = ("created", "parsing", "import_confirmed", "importing")
    # A revert is not cancellable: it is one short transaction.
    ACTIVE = (*CANCELLABLE, "revert_requested", "reverting", "rolling_back")
    RUNNING = ("parsing", "importing", "reverting", "rolling_back")
    PENDING = ("created", "import_confirmed", "revert_requested")
    # Statuses a revert may be requested from (a failed revert changed nothing).
    REVERTIBLE = ("imported", "revert_error")
    # Where a job rests with no work running or pending (the event stream ends).
    FINAL = (
        "input_error",
        "parse_error",
        "imported",
        "import_error",
        "cancelled",
        "reverted",
        "revert_error",
    )
    LOST_WORKER = {
        "parsing": ("parse_error", "parse_finished_at"),
        "importing": ("import_error", "import_finished_at"),
        "reverting": ("revert_error", "revert_finished_at"),
    }
    # A dead worker's dry run or revert is done again (the revert's
    # transaction died with it); its import (whose transaction died with it,
    # leaving nothing) ends in import_error.
    RESTART = {"parsing": "created", "reverting": "revert_requested"}

    status = models.CharField(
        _("status"),
        max_length=32,
        choices=ImportStatus.choices,
        default=ImportStatus.CREATED,
        db_index=True,
    )
    data_file = models.FileField(
        _("data file"), upload_to=import_file_upload_to, storage=get_job_storage, max_length=512
    )
    original_filename = models.CharField(
        _("original file name"),
        max_length=255,
        blank=True,
        help_text=_("The uploader's file name, cleaned; for display only."),
    )
    skip_parse_step = models.BooleanField(
        _("skip the dry run"),
        default=False,
        help_text=_("Only check the file's structure, then import without waiting for a confirm."),
    )
    skip_invalid_rows = models.BooleanField(
        _("skip invalid rows"),
        default=False,
        help_text=_("Import the valid rows and skip rows that fail validation."),
    )
    column_mapping = models.JSONField(
        _("column mapping"),
        default=dict,
        blank=True,
        help_text=_("{header: field}: the file's headers read as these resource fields."),
    )
    saved_column_mapping = models.ForeignKey(
        "drf_import_export_jobs.SavedColumnMapping",
        verbose_name=_("saved column mapping"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The saved mapping the column mapping was taken from, if any."),
    )
    commit_mode = commit_mode_field()
    rollback_status = rollback_status_field()
    parse_task_id = models.CharField(_("parse task id"), max_length=255, blank=True)
    import_task_id = models.CharField(_("import task id"), max_length=255, blank=True)
    parse_started_at = models.DateTimeField(_("parse started at"), null=True, blank=True)
    parse_finished_at = models.DateTimeField(_("parse finished at"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    import_started_at = models.DateTimeField(_("import started at"), null=True, blank=True)
    import_finished_at = models.DateTimeField(_("import finished at"), null=True, blank=True)
    parse_result = models.JSONField(_("dry run results"), null=True, blank=True)
    import_result = models.JSONField(_("import results"), null=True, blank=True)
    error_report = models.FileField(
        _("error report"),
        upload_to=error_report_upload_to,
        storage=get_job_storage,
        max_length=512,
        blank=True,
    )
    revert_task_id = models.CharField(_("revert task id"), max_length=255, blank=True)
    revert_requested_at = models.DateTimeField(_("revert requested at"), null=True, blank=True)
    revert_started_at = models.DateTimeField(_("revert started at"), null=True, blank=True)
    revert_finished_at = models.DateTimeField(_("revert finished at"), null=True, blank=True)
    revert_result = models.JSONField(_("revert results"), null=True, blank=True)

    class Meta(BaseJob.Meta):
        abstract = True
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save; on creation, store a parse task id and send the parse task
        once the transaction commits."""
        creating = self._state.adding
        if creating and not self.parse_task_id:
            self.parse_task_id = new_task_id()
        super().save(*args, **kwargs)
        if creating:
            self.start_parse_data_task()

    def start_parse_data_task(self) -> None:
        """Send the parse task (after commit) under the stored ``parse_task_id``."""
        if not self.parse_task_id:
            self.parse_task_id = new_task_id()
            type(self)._base_manager.filter(pk=self.pk).update(parse_task_id=self.parse_task_id)
        dispatch.send_job_task(dispatch.PARSE_TASK, self, self.parse_task_id)

    def send_pending_task(self) -> None:
        """Send the parse task (created) or the import task (import_confirmed)
        again, under the stored task id."""
        if self.status == self.ImportStatus.IMPORT_CONFIRMED and self.import_task_id:
            dispatch.send_job_task(dispatch.IMPORT_TASK, self, self.import_task_id)
        elif self.status == self.ImportStatus.REVERT_REQUESTED and self.revert_task_id:
            dispatch.send_job_task(dispatch.REVERT_TASK, self, self.revert_task_id)
        elif self.status == self.ImportStatus.CREATED:
            self.start_parse_data_task()

    # -- dry run ---------------------------------------------------------------

    def parse_data(self) -> None:
        """Dry-run the file: ``created -> parsing -> parsed | input_error | parse_error``.

        Nothing is written to your tables. Results (totals, first errors) go to
        ``parse_result`` and every row error to ``error_report``. With
        ``skip_parse_step`` only the file's structure is checked and the import
        is confirmed at once.
        """
        S = self.ImportStatus
        transition(
            self,
            S.PARSING,
            (S.CREATED,),
            parse_started_at=timezone.now(),
            **self.start_fields(),
            progress_current=0,
            error_message="",
            traceback="",
        )
        collector = ResultCollector()
        stage = RecordWriter()
        bulk = False
        try:
            with ProgressReporter(self) as progress, self.data_file.open("rb") as stream:
                resource = self.resource
                self._check_format(allowed_import_formats(type(resource)))
                check_resource_tables(resource)
                if self.skip_parse_step:
                    runner.scan_rows(
                        stream,
                        self.file_format_name,
                        resource,
                        collector=collector,
                        progress=progress,
                        match=self.match_columns,
                    )
                else:
                    choice = runner.run_resource(
                        stream,
                        self.file_format_name,
                        resource,
                        dry_run=True,
                        collector=collector,
                        progress=progress,
                        record_writer=stage,
                        match=self.match_columns,
                    )
                    bulk = choice.bulk
        except JobCancelled:
            logger.info("%s stopped parsing: %s.", self, progress.stop_reason or "cancelled")
            collector.close()
            stage.close()
            return
        except (FileParseError, JobConfigurationError) as exc:
            stage.close()
            self._finish_parse(S.PARSE_ERROR, collector, self._error_fields(exc, False))
            return
        except Exception as exc:
            stage.close()
            logger.exception("Parsing %s failed.", self)
            self._finish_parse(S.PARSE_ERROR, collector, self._error_fields(exc))
            return
        failed = collector.has_row_errors or (
            collector.has_invalid_rows and not self.skip_invalid_rows
        )
        if bulk and not failed:
            replayfile.save_records(self.data_file.storage, str(self.data_file.name), stage)
        stage.close()
        fields = {}
        if failed:
            fields["error_message"] = (
                f"{collector.error_count} error(s) in the data; see the results and the "
                "error report."
            )
        self._finish_parse(S.INPUT_ERROR if failed else S.PARSED, collector, fields)
        if not failed and self.skip_parse_step:
            self.confirm_import()

    def delete_staged_results(self) -> None:
        """Delete the dry run's records (after the import, with the job)."""
        if self.data_file:
            replayfile.delete_records(self.data_file.storage, str(self.data_file.name))

    def _finish_parse(
        self, target: str, collector: ResultCollector, fields: dict[str, Any]
    ) -> None:
        report = self._save_report(collector)
        done = self._safe_transition(
            target,
            (self.ImportStatus.PARSING,),
            parse_result=collector.as_dict(),
            parse_finished_at=timezone.now(),
            error_report=report or self.error_report.name or "",
            **fields,
        )
        if not done and report:
            self.error_report.storage.delete(report)

    def _save_report(self, collector: ResultCollector) -> str | None:
        """Store the collector's CSV error report; returns its storage name."""
        report = collector.report_file()
        try:
            if report is None:
                return None
            name = error_report_upload_to(self, "report.csv")
            return self.error_report.storage.save(name, File(report, name=name))
        finally:
            collector.close()

    # -- import ----------------------------------------------------------------

    def confirm_import(self) -> None:
        """``parsed -> import_confirmed``; sends the import task after commit."""
        S = self.ImportStatus
        task_id = new_task_id()
        transition(
            self,
            S.IMPORT_CONFIRMED,
            (S.PARSED,),
            import_task_id=task_id,
            confirmed_at=timezone.now(),
        )
        dispatch.send_job_task(dispatch.IMPORT_TASK, self, task_id)

    def import_data(self) -> None:
        """Import the file: ``import_confirmed -> importing -> imported | import_error``.

        In the ``atomic`` commit mode all rows are written in one
        transaction; on any error, or when the job is cancelled meanwhile,
        it is rolled back and no row is left behind. Each chunk records what
        it wrote in the job's ledger, in the same transaction (see
        :meth:`revert_import`). In the ``chunked`` commit mode each chunk
        commits on its own, on one task or several (:meth:`import_chunks`).
        """
        S = self.ImportStatus
        if self.status == S.ROLLING_BACK:  # a chunked import's rollback to go on with
            self.resume_rollback()
            return
        transition(
            self,
            S.IMPORTING,
            (S.IMPORT_CONFIRMED,),
            import_started_at=self.import_started_at or timezone.now(),
            **self.start_fields(),
            progress_current=0,
            error_message="",
            traceback="",
        )
        collector = ResultCollector()
        try:
            if self.store_commit_mode() == CommitMode.CHUNKED:
                self.import_chunks(first=True)
                return
        except JobConfigurationError as exc:
            self._fail_import(collector, self._error_fields(exc, False))
            return
        skip_invalid = self.skip_invalid_rows

        def must_stop(c: ResultCollector) -> bool:
            return c.has_row_errors or (c.has_invalid_rows and not skip_invalid)

        alias = router.db_for_write(type(self))
        try:
            with (
                ProgressReporter(self, self.progress_total) as progress,
                self.data_file.open("rb") as stream,
                replayfile.open_records(
                    self.data_file.storage, str(self.data_file.name)
                ) as staged,
            ):
                resource = self.resource
                check_resource_tables(resource)
                # Logged once per job: by the dry run, or here when it was skipped.
                engine = (self.parse_result or {}).get("engine")
                choice = runner.log_engine(resource) if engine is None else None
                ledger = self.get_ledger_recorder(resource)
                with transaction.atomic(using=alias):
                    runner.run_resource(
                        stream,
                        self.file_format_name,
                        resource,
                        dry_run=False,
                        collector=collector,
                        progress=progress,
                        stop_when=must_stop,
                        record_reader=staged,
                        choice=choice or choose_engine(resource),
                        match=self.match_columns_for_import,
                        ledger=ledger,
                    )
                    if must_stop(collector):
                        raise runner.RowsFailed()
                    progress.write()
                    # In the data transaction: a concurrent cancel either wins
                    # before this (and the data is rolled back) or is refused.
                    transition(
                        self,
                        S.IMPORTED,
                        (S.IMPORTING,),
                        when=Q(worker_token=self.worker_token),
                        import_result=collector.as_dict(),
                        import_finished_at=timezone.now(),
                    )
        except (JobCancelled, InvalidJobStatus) as exc:
            logger.info(
                "%s stopped without importing: %s",
                self,
                str(exc) or progress.stop_reason or "cancelled",
            )
            collector.close()
            return
        except JobConfigurationError as exc:
            self._fail_import(collector, self._error_fields(exc, False))
            return
        except runner.RowsFailed:
            message = f"{collector.error_count} row error(s); nothing was imported."
            self._fail_import(collector, {"error_message": message, "traceback": ""})
            return
        except Exception as exc:
            logger.exception("Importing %s failed; nothing was imported.", self)
            self._fail_import(collector, self._error_fields(exc))
            return
        collector.close()

    def _fail_import(self, collector: ResultCollector, fields: dict[str, Any]) -> None:
        """End a failed import in ``import_error``; a chunked one through
        ``rolling_back`` (its committed chunks are compensated first)."""
        S = self.ImportStatus
        report = self._save_report(collector)
        if self.is_chunked:
            # A new token: the other tasks of the run stop, this one rolls back.
            target, ending = S.ROLLING_BACK, self.rollback_fields(S.IMPORT_ERROR)
            ending.update(self.start_fields())
        else:
            target, ending = S.IMPORT_ERROR, {"import_finished_at": timezone.now()}
        done = self._safe_transition(
            target,
            (S.IMPORTING,),
            import_result=collector.as_dict(),
            error_report=report or self.error_report.name or "",
            **ending,
            **fields,
        )
        if not done and report:
            self.error_report.storage.delete(report)
        if done and target == S.ROLLING_BACK:
            self.compensate()

    def cancel_import(self) -> None:
        """Cancel from created, parsing, import_confirmed or importing, and revoke
        the pending task. Running work stops at its next chunk and rolls back."""
        S = self.ImportStatus
        was = self.status
        if self.is_chunked and was in (S.IMPORT_CONFIRMED, S.IMPORTING):
            self.cancel_by_rollback()
            return
        transition(self, S.CANCELLED, self.CANCELLABLE, cancelled_at=timezone.now())
        task_id = self.import_task_id if was in (S.IMPORT_CONFIRMED, S.IMPORTING) else ""
        for task in {task_id, self.parse_task_id} - {""}:
            transaction.on_commit(
                partial(dispatch.revoke_task, task), using=router.db_for_write(type(self))
            )
