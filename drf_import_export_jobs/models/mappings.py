"""Column mappings users saved for a resource, found again by header signature."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models, router, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from import_export.resources import Resource

from .. import dispatch
from ..conf import jobs_settings
from ..pipeline.imports.columns import ColumnReport, header_signature, match_columns
from ..transitions import transition
from .base import new_task_id


class SavedColumnMappingQuerySet(models.QuerySet["SavedColumnMapping"]):
    """Saved mappings, narrowed to an owner and a resource."""

    def for_resource(self, owner_id: Any, resource_path: str) -> SavedColumnMappingQuerySet:
        """The mappings the user ``owner_id`` saved for the resource at ``resource_path``."""
        if owner_id is None:
            return self.none()
        return self.filter(owner_id=owner_id, resource_path=resource_path)

    def matching(self, headers: list[str]) -> SavedColumnMappingQuerySet:
        """The mappings saved for files with these headers (in any order), newest first."""
        return self.filter(header_signature=header_signature(headers)).order_by(
            "-created_at", "-pk"
        )


class SavedColumnMapping(models.Model):
    """A ``{header: field}`` mapping a user saved for the files of one resource
    that have the same headers (``header_signature``). The dry run of such a
    file applies it when its job was created without a mapping."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    resource_path = models.CharField(
        _("resource"),
        max_length=255,
        help_text=_("Dotted path of the django-import-export Resource class, as on its jobs."),
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    headers = models.JSONField(_("headers"), default=list, help_text=_("The file's headers."))
    header_signature = models.CharField(
        _("header signature"),
        max_length=64,
        help_text=_("Hash of the sorted headers: files with the same columns share it."),
    )
    mapping = models.JSONField(_("mapping"), default=dict, help_text=_("{header: field}."))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = SavedColumnMappingQuerySet.as_manager()

    class Meta:
        verbose_name = _("saved column mapping")
        verbose_name_plural = _("saved column mappings")
        ordering = ("-created_at", "-pk")
        indexes = [
            models.Index(
                fields=["owner", "resource_path", "header_signature"],
                name="diej_mapping_lookup",
            )
        ]

    def __str__(self) -> str:
        label = self.name or f"#{self.pk}"
        return f"{_('column mapping')} {label} ({self.resource_path.rsplit('.', 1)[-1]})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save, with ``header_signature`` computed from ``headers``."""
        self.header_signature = header_signature(list(self.headers or []))
        super().save(*args, **kwargs)


class ColumnMatchingMixin:
    """How an import job matches its file's headers to the resource's fields:
    its ``column_mapping``, else a saved mapping (see
    ``drf_import_export_jobs.pipeline.imports.columns``)."""

    created_by_id: Any
    resource_path: str
    column_mapping: Any
    saved_column_mapping_id: int | None
    parse_result: Any
    error_report: Any
    # Statuses whose file may be parsed again (``reparse()``).
    REPARSABLE: tuple[str, ...] = ("parsed", "input_error", "parse_error")

    if TYPE_CHECKING:

        def delete_staged_results(self) -> None: ...

    def match_columns(self, headers: list[str], resource: Resource) -> ColumnReport:
        """Match the file's headers to the resource's fields for the dry run.

        ``column_mapping`` comes first. A job created without one gets the
        newest mapping its creator saved for files with the same headers
        (when ``APPLY_SAVED_COLUMN_MAPPINGS``); otherwise such a mapping is
        only reported. A mapping taken from a saved one (``column_mapping_id``)
        that was saved for other headers is a problem: the dry run ends in
        parse_error. Override to match otherwise."""
        signature = header_signature(headers)
        saved = SavedColumnMapping.objects.for_resource(self.created_by_id, self.resource_path)
        mapping: dict[str, str] = dict(self.column_mapping or {})
        kind = "mapping"
        problems = []
        found = None
        if self.saved_column_mapping_id is not None:
            # Chosen by id: its mapping is the job's column_mapping.
            found = saved.filter(pk=self.saved_column_mapping_id).first()
            if found is not None and found.header_signature != signature:
                problems.append(
                    f"Saved column mapping {found.pk} was saved for a file with other "
                    "headers (its header signature does not match this file's)."
                )
            kind = "saved_mapping"
        if found is None:
            found = saved.matching(headers).first()
            if not mapping and found is not None and jobs_settings.APPLY_SAVED_COLUMN_MAPPINGS:
                mapping, kind = dict(found.mapping), "saved_mapping"
        offer = None
        if found is not None:
            applied = kind == "saved_mapping" and not problems
            offer = {"id": found.pk, "name": found.name, "applied": applied}
        report = match_columns(headers, resource, mapping, mapping_kind=kind, saved_mapping=offer)
        report.problems.extend(problems)
        return report

    def reparse(
        self,
        column_mapping: dict[str, str] | None = None,
        saved_mapping: SavedColumnMapping | None = None,
    ) -> None:
        """``parsed | input_error | parse_error -> created``: parse the stored
        file again with ``column_mapping`` (taken from ``saved_mapping`` when
        given), without another upload.

        One conditional UPDATE stores a new parse task id and the mapping and
        clears the results, progress and error report of the previous run;
        its report file and staged records are deleted and the parse task is
        sent once the transaction commits. Raises ``InvalidJobStatus`` (409)
        in any other status."""
        task_id = new_task_id()
        if saved_mapping is not None:
            column_mapping = dict(saved_mapping.mapping)
        old_report = self.error_report.name or ""
        transition(
            self,  # type: ignore[arg-type]
            "created",
            self.REPARSABLE,
            parse_task_id=task_id,
            column_mapping=dict(column_mapping or {}),
            saved_column_mapping=saved_mapping,
            parse_result=None,
            import_result=None,
            parse_started_at=None,
            parse_finished_at=None,
            progress_current=0,
            progress_total=None,
            error_message="",
            traceback="",
            error_report="",
            worker_token="",
        )
        alias = router.db_for_write(type(self))  # type: ignore[arg-type]
        if old_report:
            storage = self.error_report.storage
            transaction.on_commit(partial(storage.delete, old_report), using=alias)
        transaction.on_commit(self.delete_staged_results, using=alias)
        dispatch.send_job_task(dispatch.PARSE_TASK, self, task_id)  # type: ignore[arg-type]

    def match_columns_for_import(self, headers: list[str], resource: Resource) -> ColumnReport:
        """Match the headers for the import as its dry run did: with the
        mapping the dry run applied (``parse_result["columns"]["mapping"]``)."""
        columns = (self.parse_result or {}).get("columns") or {}
        mapping = columns.get("mapping")
        if not isinstance(mapping, dict):
            mapping = dict(self.column_mapping or {})
        return match_columns(headers, resource, mapping)
