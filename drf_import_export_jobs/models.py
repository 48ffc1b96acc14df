"""Import and export job models.

``AbstractImportJob`` and ``AbstractExportJob`` hold the fields, the state
machines and the methods; ``ImportJob`` and ``ExportJob`` are the concrete
defaults. To add fields (a tenant, say), subclass an abstract model in your
app and name it in ``DRF_IMPORT_EXPORT_JOBS["IMPORT_JOB_MODEL"]`` /
``["EXPORT_JOB_MODEL"]``; the tasks, the API and the checks follow the setting.
"""

from __future__ import annotations

import logging
import tempfile
import traceback as traceback_module
import uuid
from functools import partial
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import models, router, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from import_export.formats.base_formats import Format
from import_export.resources import Resource

from . import dispatch
from .exceptions import FileParseError, InvalidJobStatus, JobCancelled, JobConfigurationError
from .files import (
    error_report_upload_to,
    export_file_upload_to,
    get_job_storage,
    import_file_upload_to,
)
from .formats import allowed_export_formats, allowed_import_formats, get_format
from .pipeline import exporting, importing
from .pipeline.results import ResultCollector
from .progress import ProgressReporter
from .querysets import check_export_options, export_queryset
from .transitions import transition

logger = logging.getLogger(__name__)

MAX_TRACEBACK = 20_000


def _new_task_id() -> str:
    return str(uuid.uuid4())


class BaseJob(models.Model):
    """Fields and helpers shared by import and export jobs."""

    resource_path = models.CharField(
        _("resource"),
        max_length=255,
        help_text=_("Dotted path of the django-import-export Resource class."),
    )
    resource_kwargs = models.JSONField(
        _("resource arguments"),
        default=dict,
        blank=True,
        help_text=_("Keyword arguments the resource is created with."),
    )
    file_format_name = models.CharField(_("file format"), max_length=16)
    # Redeclared with its choices and default by each job model.
    status = models.CharField(_("status"), max_length=32, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    progress_current = models.PositiveBigIntegerField(_("rows done"), default=0)
    progress_total = models.PositiveBigIntegerField(_("rows in total"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        _("last heartbeat"),
        null=True,
        blank=True,
        help_text=_("Written with progress while a worker runs the job."),
    )
    error_message = models.TextField(_("error message"), blank=True)
    traceback = models.TextField(_("traceback"), blank=True)

    class Meta:
        abstract = True
        ordering = ("-created_at", "-pk")

    def __str__(self) -> str:
        name = self.resource_path.rsplit(".", 1)[-1]
        return f"{self._meta.verbose_name} #{self.pk} ({name}, {self.status})"

    @property
    def resource_class(self) -> type[Resource]:
        """The resource class named by ``resource_path``."""
        try:
            resource_class = import_string(self.resource_path)
        except ImportError as exc:
            raise JobConfigurationError(
                f"{self._meta.label} {self.pk}: resource_path {self.resource_path!r} "
                f"cannot be imported: {exc}"
            ) from exc
        if not (isinstance(resource_class, type) and issubclass(resource_class, Resource)):
            raise JobConfigurationError(
                f"{self._meta.label} {self.pk}: resource_path {self.resource_path!r} is not "
                "a django-import-export Resource class."
            )
        return resource_class

    @property
    def resource(self) -> Resource:
        """A new instance of the resource, created with ``resource_kwargs``."""
        return self.resource_class(**(self.resource_kwargs or {}))

    @property
    def file_format(self) -> Format:
        """The django-import-export format instance for ``file_format_name``."""
        return get_format(self.file_format_name)

    @property
    def progress(self) -> dict[str, Any]:
        """``{"state": status, "info": {"current": int, "total": int | None}}``."""
        return {
            "state": self.status,
            "info": {"current": self.progress_current, "total": self.progress_total},
        }

    def _check_format(self, allowed: list[str]) -> None:
        if self.file_format_name not in allowed:
            raise JobConfigurationError(
                f"File format {self.file_format_name!r} is not accepted for "
                f"{self.resource_path.rsplit('.', 1)[-1]}; accepted: {', '.join(allowed)}."
            )

    def _error_fields(self, exc: BaseException, with_traceback: bool = True) -> dict[str, Any]:
        message = str(exc) or type(exc).__name__
        text = traceback_module.format_exc() if with_traceback else ""
        return {"error_message": message, "traceback": text[-MAX_TRACEBACK:]}

    def _safe_transition(self, target: str, allowed: tuple[str, ...], **fields: Any) -> bool:
        """Like ``transition`` but returns False (and logs) when refused: used
        by running work whose job may have been cancelled meanwhile."""
        try:
            transition(self, target, allowed, **fields)
        except InvalidJobStatus as exc:
            logger.info("Not recording %s: %s", target, exc)
            return False
        return True


class AbstractImportJob(BaseJob):
    """An upload that is dry-run (parsed), reviewed, confirmed and imported.

    ``created -> parsing -> parsed | input_error | parse_error``;
    ``parsed -> import_confirmed -> importing -> imported | import_error``;
    ``cancelled`` from created, parsing, import_confirmed or importing.
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

    CANCELLABLE = ("created", "parsing", "import_confirmed", "importing")
    RUNNING = ("parsing", "importing")

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

    class Meta(BaseJob.Meta):
        abstract = True
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save; on creation, store a parse task id and send the parse task
        once the transaction commits."""
        creating = self._state.adding
        if creating and not self.parse_task_id:
            self.parse_task_id = _new_task_id()
        super().save(*args, **kwargs)
        if creating:
            self.start_parse_data_task()

    def start_parse_data_task(self) -> None:
        """Send the parse task (after commit) under the stored ``parse_task_id``."""
        if not self.parse_task_id:
            self.parse_task_id = _new_task_id()
            type(self)._base_manager.filter(pk=self.pk).update(parse_task_id=self.parse_task_id)
        dispatch.send_job_task(dispatch.PARSE_TASK, self, self.parse_task_id)

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
            progress_current=0,
            error_message="",
            traceback="",
        )
        collector = ResultCollector()
        try:
            with ProgressReporter(self) as progress, self.data_file.open("rb") as stream:
                resource = self.resource
                self._check_format(allowed_import_formats(type(resource)))
                if self.skip_parse_step:
                    importing.scan_rows(
                        stream,
                        self.file_format_name,
                        resource,
                        collector=collector,
                        progress=progress,
                    )
                else:
                    importing.run_resource(
                        stream,
                        self.file_format_name,
                        resource,
                        dry_run=True,
                        collector=collector,
                        progress=progress,
                    )
        except JobCancelled:
            logger.info("%s was cancelled while parsing.", self)
            collector.close()
            return
        except (FileParseError, JobConfigurationError) as exc:
            self._finish_parse(S.PARSE_ERROR, collector, self._error_fields(exc, False))
            return
        except Exception as exc:
            logger.exception("Parsing %s failed.", self)
            self._finish_parse(S.PARSE_ERROR, collector, self._error_fields(exc))
            return
        failed = collector.has_row_errors or (
            collector.has_invalid_rows and not self.skip_invalid_rows
        )
        fields = {}
        if failed:
            fields["error_message"] = (
                f"{collector.error_count} error(s) in the data; see the results and the "
                "error report."
            )
        self._finish_parse(S.INPUT_ERROR if failed else S.PARSED, collector, fields)
        if not failed and self.skip_parse_step:
            self.confirm_import()

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
        task_id = _new_task_id()
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

        All rows are written in one transaction; on any error, or when the job
        is cancelled meanwhile, it is rolled back and no row is left behind.
        """
        S = self.ImportStatus
        transition(
            self,
            S.IMPORTING,
            (S.IMPORT_CONFIRMED,),
            import_started_at=timezone.now(),
            progress_current=0,
            error_message="",
            traceback="",
        )
        collector = ResultCollector()
        skip_invalid = self.skip_invalid_rows

        def must_stop(c: ResultCollector) -> bool:
            return c.has_row_errors or (c.has_invalid_rows and not skip_invalid)

        alias = router.db_for_write(type(self))
        try:
            with (
                ProgressReporter(self, self.progress_total) as progress,
                self.data_file.open("rb") as stream,
            ):
                resource = self.resource
                with transaction.atomic(using=alias):
                    importing.run_resource(
                        stream,
                        self.file_format_name,
                        resource,
                        dry_run=False,
                        collector=collector,
                        progress=progress,
                        stop_when=must_stop,
                    )
                    if must_stop(collector):
                        raise importing.RowsFailed()
                    # In the data transaction: a concurrent cancel either wins
                    # before this (and the data is rolled back) or is refused.
                    transition(
                        self,
                        S.IMPORTED,
                        (S.IMPORTING,),
                        import_result=collector.as_dict(),
                        import_finished_at=timezone.now(),
                    )
        except (JobCancelled, InvalidJobStatus) as exc:
            logger.info("%s stopped without importing: %s", self, exc or "cancelled")
            collector.close()
            return
        except importing.RowsFailed:
            message = f"{collector.error_count} row error(s); nothing was imported."
            self._fail_import(collector, {"error_message": message, "traceback": ""})
            return
        except Exception as exc:
            logger.exception("Importing %s failed; nothing was imported.", self)
            self._fail_import(collector, self._error_fields(exc))
            return
        collector.close()

    def _fail_import(self, collector: ResultCollector, fields: dict[str, Any]) -> None:
        report = self._save_report(collector)
        done = self._safe_transition(
            self.ImportStatus.IMPORT_ERROR,
            (self.ImportStatus.IMPORTING,),
            import_result=collector.as_dict(),
            import_finished_at=timezone.now(),
            error_report=report or self.error_report.name or "",
            **fields,
        )
        if not done and report:
            self.error_report.storage.delete(report)

    def cancel_import(self) -> None:
        """Cancel from created, parsing, import_confirmed or importing, and revoke
        the pending task. Running work stops at its next chunk and rolls back."""
        S = self.ImportStatus
        was = self.status
        transition(self, S.CANCELLED, self.CANCELLABLE, cancelled_at=timezone.now())
        task_id = self.import_task_id if was in (S.IMPORT_CONFIRMED, S.IMPORTING) else ""
        for task in {task_id, self.parse_task_id} - {""}:
            transaction.on_commit(
                partial(dispatch.revoke_task, task), using=router.db_for_write(type(self))
            )


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
    RUNNING = ("exporting",)

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
            self.export_task_id = _new_task_id()
        super().save(*args, **kwargs)
        if creating:
            self.start_export_task()

    def start_export_task(self) -> None:
        """Send the export task (after commit) under the stored ``export_task_id``."""
        if not self.export_task_id:
            self.export_task_id = _new_task_id()
            type(self)._base_manager.filter(pk=self.pk).update(export_task_id=self.export_task_id)
        dispatch.send_job_task(dispatch.EXPORT_TASK, self, self.export_task_id)

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
                native = self.file_format_name in exporting.NATIVE_FORMATS
                resource.before_export(queryset)
                rows = (
                    resource.export_resource(
                        obj, selected_fields=selected, force_native_type=native
                    )
                    for obj in resource.iter_queryset(queryset)
                )
                headers = resource.get_export_headers(selected_fields=selected)
                exporting.write_export(out, self.file_format_name, headers, rows, progress)
                out.seek(0)
                name = self.data_file.storage.save(
                    export_file_upload_to(self, self.export_filename), File(out)
                )
        except JobCancelled:
            logger.info("%s was cancelled while exporting.", self)
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


class ImportJob(AbstractImportJob):
    """The default concrete import job."""

    class Meta(AbstractImportJob.Meta):
        db_table = "drf_import_export_jobs_importjob"


class ExportJob(AbstractExportJob):
    """The default concrete export job."""

    class Meta(AbstractExportJob.Meta):
        db_table = "drf_import_export_jobs_exportjob"
