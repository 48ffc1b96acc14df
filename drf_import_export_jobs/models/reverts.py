"""Undoing a finished import: the revert part of the import job's state machine."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.db import router, transaction
from django.db.models import Q
from django.utils import timezone
from import_export.resources import ModelResource, Resource

from .. import dispatch
from ..conf import SETTING_NAME, jobs_settings
from ..exceptions import InvalidJobStatus, JobNotRevertible
from ..pipeline.imports.ledger import LedgerRecorder
from ..pipeline.imports.revert import RevertOutcome, revert_entries, rows_in
from ..progress import ProgressReporter
from ..transitions import job_label, transition
from .base import new_task_id
from .ledger import ImportLedgerEntry

logger = logging.getLogger(__name__)


class RevertFailed(Exception):
    """Rows of a revert were refused: everything is rolled back."""

    def __init__(self, outcome: RevertOutcome) -> None:
        super().__init__(f"{outcome.failed} row(s) could not be reverted")
        self.outcome = outcome


class RevertibleImportMixin:
    """The revert of an import job (mixed into ``AbstractImportJob``).

    ``imported | revert_error -> revert_requested -> reverting -> reverted | revert_error``.
    Every import records a ledger (:class:`~.ledger.ImportLedgerEntry`, one
    entry per chunk, written in the import's transaction);
    :meth:`revert_import` asks for the revert and :meth:`revert_data`, run by
    the revert task, undoes the import from it in one transaction.
    """

    if TYPE_CHECKING:
        REVERTIBLE: tuple[str, ...]
        pk: Any
        status: str
        import_result: Any
        import_finished_at: Any
        revert_task_id: str
        revert_result: Any
        worker_token: str
        _meta: Any

        def start_fields(self) -> dict[str, Any]: ...
        def _safe_transition(self, target: str, allowed: tuple[str, ...], **f: Any) -> bool: ...
        def _error_fields(self, exc: BaseException, with_traceback: bool = True) -> Any: ...

    def get_ledger_recorder(self, resource: Resource) -> LedgerRecorder | None:
        """The ledger the import of ``resource`` records (None for a resource
        that is not a ``ModelResource``: such an import cannot be reverted)."""
        if not isinstance(resource, ModelResource) or resource._meta.model is None:
            return None
        return LedgerRecorder(self, resource._meta.model, resource.get_db_connection_name())

    def ledger_entries(self) -> Any:
        """This job's ledger entries (a queryset of ``ImportLedgerEntry``)."""
        return ImportLedgerEntry.for_job(self)

    def revert_refusal(self) -> str | None:
        """Why this job cannot be reverted although its status allows it
        (None when it can): the ledger expired, was never recorded or is
        incomplete."""
        days = jobs_settings.REVERT_RETENTION_DAYS
        finished = self.import_finished_at
        if (
            days is not None
            and finished is not None
            and finished < timezone.now() - timedelta(days=float(days))
        ):
            return (
                f"it was imported more than {days:g} day(s) ago and its ledger has "
                f"expired ({SETTING_NAME}['REVERT_RETENTION_DAYS'])"
            )
        entries = self.ledger_entries()
        if entries.filter(complete=False).exists():
            return (
                "the import wrote rows its ledger could not record (the resource saves "
                "rows without signals, e.g. use_bulk on the rows engine)"
            )
        totals = (self.import_result or {}).get("totals") or {}
        written = sum(int(totals.get(kind, 0)) for kind in ("new", "update", "delete"))
        if written and not entries.exists():
            return "no ledger is kept for this import (never recorded, or purged)"
        return None

    def revert_import(self) -> None:
        """Ask for the revert: ``imported | revert_error -> revert_requested``;
        the revert task is sent after commit. Raises ``InvalidJobStatus``
        (409) in any other status and ``JobNotRevertible`` (409) when the
        ledger expired, is missing or incomplete."""
        S = self.ImportStatus  # type: ignore[attr-defined]
        if self.status in self.REVERTIBLE:
            reason = self.revert_refusal()
            if reason is not None:
                raise JobNotRevertible(job_label(self), self.status, reason)  # type: ignore[arg-type]
        task_id = new_task_id()
        transition(
            self,  # type: ignore[arg-type]
            S.REVERT_REQUESTED,
            self.REVERTIBLE,
            revert_task_id=task_id,
            revert_requested_at=timezone.now(),
            revert_started_at=None,
            revert_finished_at=None,
            revert_result=None,
            error_message="",
            traceback="",
        )
        dispatch.send_job_task(dispatch.REVERT_TASK, self, task_id)  # type: ignore[arg-type]

    def revert_data(self) -> None:
        """Revert the import: ``revert_requested -> reverting -> reverted | revert_error``.

        New rows are deleted, updated rows restored to their before-images,
        deleted rows created again, chunk by chunk from the last, all in one
        transaction. A row changed by someone else since the import is kept
        and reported (``revert_result``); when the database refuses a row,
        everything is rolled back and the job ends in ``revert_error``.
        """
        S = self.ImportStatus  # type: ignore[attr-defined]
        transition(
            self,  # type: ignore[arg-type]
            S.REVERTING,
            (S.REVERT_REQUESTED,),
            revert_started_at=timezone.now(),
            **self.start_fields(),
            progress_current=0,
            progress_total=None,
            error_message="",
            traceback="",
        )
        alias = router.db_for_write(type(self))  # type: ignore[arg-type]
        outcome = RevertOutcome()
        try:
            with ProgressReporter(self) as progress:  # type: ignore[arg-type]
                reason = self.revert_refusal()
                if reason is not None:
                    raise JobNotRevertible(job_label(self), self.status, reason)  # type: ignore[arg-type]
                entries = list(self.ledger_entries())
                progress.set_total(sum(rows_in(entry) for entry in entries))
                with transaction.atomic(using=alias):
                    outcome = revert_entries(entries, progress.advance)
                    if outcome.failed:
                        raise RevertFailed(outcome)
                    progress.write()
                    # In the revert's transaction: the rows change only with the status.
                    transition(
                        self,  # type: ignore[arg-type]
                        S.REVERTED,
                        (S.REVERTING,),
                        when=Q(worker_token=self.worker_token),
                        revert_result=outcome.as_dict(),
                        revert_finished_at=timezone.now(),
                    )
        except InvalidJobStatus as exc:
            if isinstance(exc, JobNotRevertible):
                self._fail_revert(outcome, {"error_message": str(exc), "traceback": ""})
            else:
                logger.info("%s stopped without reverting: %s", self, exc)
        except RevertFailed as exc:
            message = f"{exc}; nothing was reverted. See the revert results."
            self._fail_revert(exc.outcome, {"error_message": message, "traceback": ""})
        except Exception as exc:
            logger.exception("Reverting %s failed; nothing was reverted.", self)
            self._fail_revert(outcome, self._error_fields(exc))

    def _fail_revert(self, outcome: RevertOutcome, fields: dict[str, Any]) -> None:
        S = self.ImportStatus  # type: ignore[attr-defined]
        self._safe_transition(
            S.REVERT_ERROR,
            (S.REVERTING,),
            revert_result=outcome.as_dict(rolled_back=True),
            revert_finished_at=timezone.now(),
            **fields,
        )
