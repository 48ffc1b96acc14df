"""Chunked imports: the commit mode, the rollback that compensates committed
chunks, and the resume of an import whose worker was lost.

In the ``chunked`` commit mode every chunk of an import commits on its own,
with its ledger entry (:class:`~.ledger.ImportLedgerEntry`, unique per job and
chunk number) in the same transaction, and with a conditional UPDATE of the
job row that matches only while the job is still ``importing`` under this
run's token (so a cancel or a take-over either waits for the chunk's commit
or makes the chunk roll back).

* A lost worker does not lose the job: the redelivered task or the sweep puts
  it back to ``import_confirmed`` and the import task continues from the
  first chunk without a ledger entry (at most ``MAX_RESUMES`` times).
* A failure or a cancel moves the job to ``rolling_back`` (its final status
  is kept in ``rollback_status``); the committed chunks are then compensated
  from the ledger, last chunk first, each in its own transaction that also
  deletes the chunk's entry, so a compensation that is killed continues
  where it stopped. The job then reaches ``import_error`` or ``cancelled``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from django.core.exceptions import ImproperlyConfigured
from django.db import models, router, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import dispatch
from ..conf import SETTING_NAME, jobs_settings
from ..exceptions import InvalidJobStatus, JobCancelled, JobConfigurationError
from ..owner import judge_owner
from ..pipeline.imports.revert import MAX_REPORTED_ROWS, RevertOutcome, revert_entries, rows_in
from ..progress import ProgressReporter
from ..transitions import transition
from .ledger import ImportLedgerEntry, PendingImportChunk

logger = logging.getLogger(__name__)


class CommitMode(models.TextChoices):
    """How an import commits: one transaction, or one per chunk."""

    ATOMIC = "atomic", _("Atomic")
    CHUNKED = "chunked", _("Chunked")


def commit_mode_field() -> models.CharField[str, str]:
    """The import job's ``commit_mode`` (empty until chosen)."""
    return models.CharField(
        _("commit mode"),
        max_length=16,
        choices=CommitMode.choices,
        blank=True,
        help_text=_(
            "atomic: one transaction; chunked: each chunk commits with its ledger entry. "
            "Empty: the resource's mode, else the COMMIT_MODE setting."
        ),
    )


def rollback_status_field() -> models.CharField[str, str]:
    """The import job's ``rollback_status`` (where a rollback ends)."""
    return models.CharField(
        _("status after the rollback"),
        max_length=32,
        blank=True,
        help_text=_(
            "The status a chunked import's rollback ends (or ended) in: import_error, cancelled."
        ),
    )


def check_commit_mode(value: Any, where: str) -> str:
    """``value`` if it is a commit mode; ImproperlyConfigured naming ``where``."""
    if value not in CommitMode.values:
        raise ImproperlyConfigured(
            f"{where} = {value!r} is not a commit mode; use one of: "
            + ", ".join(map(repr, CommitMode.values))
            + "."
        )
    return str(value)


def resource_commit_mode(resource_class: type[Any]) -> str:
    """The commit mode of imports through ``resource_class``: its
    ``import_commit_mode`` attribute, else the ``COMMIT_MODE`` setting."""
    mode = getattr(resource_class, "import_commit_mode", None)
    if mode is not None:
        return check_commit_mode(mode, f"{resource_class.__name__}.import_commit_mode")
    return check_commit_mode(jobs_settings.COMMIT_MODE, f"{SETTING_NAME}['COMMIT_MODE']")


def outcome_from(result: dict[str, Any] | None) -> RevertOutcome:
    """The :class:`RevertOutcome` a ``revert_result`` recorded (empty for None)."""
    if not result:
        return RevertOutcome()
    totals = result.get("totals") or {}
    return RevertOutcome(
        reverted=int(totals.get("reverted", 0)),
        kept=int(totals.get("kept", 0)),
        failed=int(totals.get("failed", 0)),
        rows=list(result.get("rows") or []),
    )


def add_outcome(total: RevertOutcome, part: RevertOutcome) -> None:
    """Add the totals and reported rows of ``part`` to ``total``."""
    total.reverted += part.reverted
    total.kept += part.kept
    total.failed += part.failed
    total.rows.extend(part.rows[: max(0, MAX_REPORTED_ROWS - len(total.rows))])


class ChunkNotCompensated(Exception):
    """The database refused rows of a chunk's compensation (rolled back)."""

    def __init__(self, outcome: RevertOutcome) -> None:
        super().__init__(f"{outcome.failed} row(s) could not be compensated")
        self.outcome = outcome


@contextlib.contextmanager
def atomic_on(aliases: set[str]) -> Iterator[None]:
    """One transaction on each of ``aliases`` (committed together at the end)."""
    with contextlib.ExitStack() as stack:
        for alias in sorted(aliases):
            stack.enter_context(transaction.atomic(using=alias))
        yield


class ChunkedImportMixin:
    """The ``chunked`` commit mode of an import job (mixed into ``AbstractImportJob``).

    ``importing -> rolling_back -> import_error | cancelled`` (a failure or a
    cancel compensates the committed chunks); ``importing -> import_confirmed``
    (a lost worker's import resumes from its first uncommitted chunk).
    """

    #: How often a chunked import is resumed after losing its worker; then
    #: it is rolled back and ends in ``import_error``.
    MAX_RESUMES: ClassVar[int] = 5

    if TYPE_CHECKING:
        pk: Any
        status: str
        commit_mode: str
        rollback_status: str
        worker_token: str
        worker_restarts: int
        heartbeat_at: Any
        import_task_id: str
        revert_result: Any
        resource_class: type[Any]
        _meta: Any

        def start_fields(self) -> dict[str, Any]: ...
        def _safe_transition(self, target: str, allowed: tuple[str, ...], **f: Any) -> bool: ...
        def ledger_entries(self) -> Any: ...
        def delete_staged_results(self) -> None: ...

    def get_commit_mode(self) -> str:
        """The job's ``commit_mode``, else its resource's (``import_commit_mode``),
        else ``COMMIT_MODE``."""
        if self.commit_mode:
            return check_commit_mode(self.commit_mode, f"{self._meta.label}.commit_mode")
        return resource_commit_mode(self.resource_class)

    @property
    def is_chunked(self) -> bool:
        """Whether this import commits chunk by chunk (as stored on the job)."""
        return self.commit_mode == CommitMode.CHUNKED

    def store_commit_mode(self) -> str:
        """Store :meth:`get_commit_mode` on the job if it has none yet (a job
        created in code), at the start of its import; returns the mode."""
        if not self.commit_mode:
            self.commit_mode = self.get_commit_mode()
            rows = type(self)._base_manager.filter(pk=self.pk)  # type: ignore[attr-defined]
            rows.update(commit_mode=self.commit_mode)
        return self.commit_mode

    def check_chunked_ledger(self, resource: Any, ledger: Any) -> None:
        """Raise ``JobConfigurationError`` when ``resource`` keeps no ledger:
        without one, chunks can be neither resumed nor compensated."""
        if ledger is None:
            raise JobConfigurationError(
                f"{type(resource).__name__} is not a ModelResource: it cannot import in the "
                "chunked commit mode (set commit_mode or import_commit_mode to 'atomic')."
            )

    def cancel_by_rollback(self) -> None:
        """Cancel a chunked import (``import_confirmed | importing ->
        rolling_back``, ending in ``cancelled``): its running worker
        compensates the committed chunks at its next chunk, else the import
        task sent now does."""
        S = self.ImportStatus  # type: ignore[attr-defined]
        transition(
            self,  # type: ignore[arg-type]
            S.ROLLING_BACK,
            (S.IMPORT_CONFIRMED, S.IMPORTING),
            cancelled_at=timezone.now(),
            **self.rollback_fields(S.CANCELLED),
        )
        self.send_rollback_task()

    def _aliases(self, *more: str) -> set[str]:
        job_alias = router.db_for_write(type(self))  # type: ignore[arg-type]
        ledger_aliases = {router.db_for_write(m) for m in (ImportLedgerEntry, PendingImportChunk)}
        return {job_alias, *ledger_aliases, *more}

    def _hold(self, status: str, **fields: Any) -> bool:
        """Touch the job row while it is ``status`` under this run's token
        (in the caller's transaction: the row stays locked until it commits)."""
        rows = type(self)._base_manager.filter(  # type: ignore[attr-defined]
            pk=self.pk, status=status, worker_token=self.worker_token
        )
        return bool(rows.update(heartbeat_at=timezone.now(), **fields))

    @contextlib.contextmanager
    def chunk_transaction(self, data_alias: str) -> Iterator[None]:
        """The transaction of one chunk: its writes, its ledger entry and a
        check that the job is still this run's import, committed together.
        Raises ``JobCancelled`` (the chunk is rolled back) when it is not."""
        with atomic_on(self._aliases(data_alias)):
            yield
            if not self._hold(self.ImportStatus.IMPORTING):  # type: ignore[attr-defined]
                raise JobCancelled()

    # -- rolling back ------------------------------------------------------------

    def rollback_fields(self, final: str) -> dict[str, Any]:
        """Fields of the move to ``rolling_back`` that ends in ``final``."""
        return {"rollback_status": final, "revert_result": None, "progress_current": 0}

    def send_rollback_task(self) -> None:
        """Send the import task (after commit): its delivery compensates."""
        dispatch.send_job_task(dispatch.IMPORT_TASK, self, self.import_task_id)  # type: ignore[arg-type]

    def resume_rollback(self) -> None:
        """Compensate a ``rolling_back`` job whose run is gone (or that no run
        held): take it with one conditional UPDATE, then :meth:`compensate`.
        A live owner keeps it."""
        S = self.ImportStatus  # type: ignore[attr-defined]
        if self.worker_token:
            verdict = judge_owner(self)  # type: ignore[arg-type]
            if not verdict.dead:
                logger.info("%s is rolling back in a live worker (%s).", self, verdict.reason)
                return
        held = self.held_by_recorded_owner()
        transition(self, S.ROLLING_BACK, (S.ROLLING_BACK,), when=held, **self.start_fields())  # type: ignore[arg-type]
        self.compensate()

    def compensate(self) -> None:
        """Undo the committed chunks from the ledger, last chunk first, each
        in its own transaction that deletes its entry and records the totals
        (``revert_result``), then ``rolling_back -> rollback_status``.

        Rows changed by someone else since are kept and reported, as a revert
        does; a chunk the database refuses is left as it is, reported, and
        its entry kept."""
        S = self.ImportStatus  # type: ignore[attr-defined]
        outcome = outcome_from(self.revert_result)
        entries = list(self.ledger_entries().order_by("-chunk"))
        refused: list[int] = []
        with ProgressReporter(self) as progress:  # type: ignore[arg-type]
            progress.set_total(sum(rows_in(entry) for entry in entries))
            for entry in entries:
                if progress.should_stop():
                    logger.info("%s stopped rolling back: %s", self, progress.stop_reason)
                    return
                try:
                    self._compensate_chunk(entry, outcome, progress)
                except JobCancelled:
                    logger.info("%s: no longer held; stopped rolling back.", self)
                    return
                except ChunkNotCompensated as exc:
                    add_outcome(outcome, exc.outcome)
                    refused.append(entry.chunk)
        PendingImportChunk.for_job(self).using(router.db_for_write(PendingImportChunk)).delete()
        self.delete_staged_results()
        final = self.rollback_status or S.IMPORT_ERROR
        fields: dict[str, Any] = {"revert_result": outcome.as_dict()}
        if final == S.IMPORT_ERROR:
            fields["import_finished_at"] = timezone.now()
        if refused:
            fields["error_message"] = (
                f"{getattr(self, 'error_message', '')} The rows of chunk(s) "
                f"{', '.join(map(str, sorted(refused)))} could not be removed; see the "
                "revert results."
            ).strip()
        self._safe_transition(final, (S.ROLLING_BACK,), **fields)

    def _compensate_chunk(
        self, entry: ImportLedgerEntry, outcome: RevertOutcome, progress: ProgressReporter
    ) -> None:
        with atomic_on(self._aliases(entry.database)):
            part = revert_entries([entry], progress.advance)
            if part.failed:
                raise ChunkNotCompensated(part)
            entry.delete()
            add_outcome(outcome, part)
            if not self._hold(self.ImportStatus.ROLLING_BACK, revert_result=outcome.as_dict()):  # type: ignore[attr-defined]
                raise JobCancelled()

    def finish_stopped_import(self) -> None:
        """After a task of a chunked run stopped (cancel, take-over):
        compensate when the job is now ``rolling_back`` under this run's
        token, taking it with a token of its own first (one conditional
        UPDATE: of the run's tasks, one rolls back)."""
        S = self.ImportStatus  # type: ignore[attr-defined]
        try:
            transition(
                self,  # type: ignore[arg-type]
                S.ROLLING_BACK,
                (S.ROLLING_BACK,),
                when=Q(worker_token=self.worker_token),
                **self.start_fields(),
            )
        except InvalidJobStatus:
            return
        self.refresh_from_db()  # type: ignore[attr-defined]
        self.compensate()

    # -- a lost worker -----------------------------------------------------------

    def held_by_recorded_owner(self) -> Q:
        """The row still shows the owner and heartbeat this instance read."""
        held = Q(worker_token=self.worker_token)
        if self.heartbeat_at is None:
            return held & Q(heartbeat_at__isnull=True)
        return held & Q(heartbeat_at=self.heartbeat_at)

    def resume_or_roll_back(self, when: Q, message: str, *, send: bool) -> bool:
        """A chunked import lost its worker: back to ``import_confirmed`` to
        resume (the import task is sent when ``send``), or, resumed
        ``MAX_RESUMES`` times already, to ``rolling_back`` (ending in
        ``import_error``; the task is sent). One conditional UPDATE (``when``)."""
        S = self.ImportStatus  # type: ignore[attr-defined]
        try:
            if self.worker_restarts < self.MAX_RESUMES:
                transition(
                    self,  # type: ignore[arg-type]
                    S.IMPORT_CONFIRMED,
                    (S.IMPORTING,),
                    when=when,
                    worker_restarts=self.worker_restarts + 1,
                    worker_token="",
                )
            else:
                transition(
                    self,  # type: ignore[arg-type]
                    S.ROLLING_BACK,
                    (S.IMPORTING,),
                    when=when,
                    worker_token="",
                    error_message=message,
                    traceback="",
                    **self.rollback_fields(S.IMPORT_ERROR),
                )
                send = True
        except InvalidJobStatus:
            return False
        if send:
            self.send_rollback_task()
        logger.warning("%s: worker lost while importing; now %s.", self, self.status)
        return True

    def fail_lost_worker(self, timeout: float | None = None) -> bool:
        """The sweep: a chunked import with a stale heartbeat resumes (its
        task is sent again); a stale ``rolling_back`` job is handed to a new
        delivery of the import task. Other jobs as ``BaseJob`` does."""
        S = self.ImportStatus  # type: ignore[attr-defined]
        if self.status not in (S.IMPORTING, S.ROLLING_BACK) or (
            self.status == S.IMPORTING and not self.is_chunked
        ):
            return super().fail_lost_worker(timeout)  # type: ignore[misc,no-any-return]
        seconds = float(jobs_settings.STALE_JOB_TIMEOUT if timeout is None else timeout)
        cutoff = timezone.now() - timedelta(seconds=seconds)
        stale = Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, updated_at__lt=cutoff)
        if self.status == S.IMPORTING:
            message = (
                f"The worker running the import was lost (no heartbeat for more than "
                f"{seconds:g} seconds, see STALE_JOB_TIMEOUT) more than {self.MAX_RESUMES} "
                "time(s); its committed chunks were rolled back."
            )
            return self.resume_or_roll_back(stale, message, send=True)
        try:
            transition(
                self,  # type: ignore[arg-type]
                S.ROLLING_BACK,
                (S.ROLLING_BACK,),
                when=stale,
                worker_token="",
                heartbeat_at=timezone.now(),
            )
        except InvalidJobStatus:
            return False
        self.send_rollback_task()
        return True

    def take_over(self, reason: str) -> bool:
        """A redelivered import task found its chunked import's worker dead:
        resume it (this delivery goes on to run it). Other jobs as
        ``BaseJob`` does."""
        S = self.ImportStatus  # type: ignore[attr-defined]
        if self.status != S.IMPORTING or not self.is_chunked:
            return super().take_over(reason)  # type: ignore[misc,no-any-return]
        held = self.held_by_recorded_owner()
        message = (
            f"The worker running the import was lost ({reason}) more than "
            f"{self.MAX_RESUMES} time(s); its committed chunks were rolled back."
        )
        return self.resume_or_roll_back(held, message, send=False)
