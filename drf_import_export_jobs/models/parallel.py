"""The run of a chunked import, on one task or on several at once.

In the ``chunked`` commit mode (:mod:`.chunked`) the import task marks every
chunk the job has not committed yet as pending (one
:class:`~.ledger.PendingImportChunk` row each), sends
``PARALLEL_IMPORT_TASKS - 1`` more tasks (``import_job_part``) and imports
like each of them: it reads the file from the start and imports the chunks
it claims (:class:`~drf_import_export_jobs.pipeline.imports.schedule.ClaimedChunks`),
passing over the chunks other tasks hold. Whatever the number of workers:

* a chunk is claimed by a row lock in its own transaction, which commits its
  rows, its ledger entry (with what its rows came to) and the deletion of
  its pending row together; a task that dies gives its chunk back;
* two chunks that name one instance (the same import key) never run side by
  side, and run in file order;
* progress adds up on the job row; a cancel, a failure or a take-over stops
  every task at its next chunk, and one of them rolls back;
* the task that finds no chunk pending after its pass ends the job: its
  results are summed from the ledger, and the conditional UPDATE to
  ``imported`` lets one task only end it.

With one task (``PARALLEL_IMPORT_TASKS = 1``, or a database without ``SELECT
... FOR UPDATE SKIP LOCKED`` such as SQLite) the same run imports the chunks
in file order.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar

from django.db import connections, router, transaction
from django.utils import timezone

from .. import dispatch
from ..conf import SETTING_NAME, jobs_settings
from ..exceptions import FileParseError, InvalidJobStatus, JobCancelled, JobConfigurationError
from ..pipeline.imports import replayfile, runner
from ..pipeline.imports.engines import choose_engine
from ..pipeline.imports.results import ResultCollector
from ..pipeline.imports.schedule import ChunkAbandoned, ClaimedChunks
from ..progress import ProgressReporter
from ..tables import check_resource_tables
from .base import new_task_id
from .ledger import PendingImportChunk

logger = logging.getLogger(__name__)

#: What a task's pass over the file left: every chunk committed, chunks no
#: task holds (another pass), or only chunks other tasks hold.
DONE, AGAIN, HELD = "done", "again", "held"


def check_task_count(value: Any, where: str) -> int:
    """``value`` if it is a task count (an int >= 1); else
    JobConfigurationError naming ``where``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise JobConfigurationError(f"{where} = {value!r} is not a number of tasks (an int >= 1).")
    return value


class ParallelImportMixin:
    """The run of a chunked import on one or several tasks (mixed into
    ``AbstractImportJob``): :meth:`import_chunks`."""

    #: Chunks a task may run ahead of the first uncommitted one, per task.
    WINDOW_PER_TASK: ClassVar[int] = 4

    if TYPE_CHECKING:
        pk: Any
        status: str
        worker_token: str
        progress_total: int | None
        parse_result: Any
        skip_invalid_rows: bool
        data_file: Any
        file_format_name: str
        resource: Any
        _meta: Any

        def ledger_entries(self) -> Any: ...
        def get_ledger_recorder(self, resource: Any) -> Any: ...
        def check_chunked_ledger(self, resource: Any, ledger: Any) -> None: ...
        def chunk_transaction(self, data_alias: str) -> Any: ...
        def finish_stopped_import(self) -> None: ...
        def delete_staged_results(self) -> None: ...
        def match_columns_for_import(self, headers: list[str], resource: Any) -> Any: ...
        def _fail_import(self, collector: ResultCollector, fields: dict[str, Any]) -> None: ...
        def _safe_transition(self, target: str, allowed: tuple[str, ...], **f: Any) -> bool: ...
        def _error_fields(self, exc: BaseException, with_traceback: bool = True) -> Any: ...

    def get_parallel_import_tasks(self, resource: Any) -> int:
        """How many tasks import this job's chunks at once: the resource's
        ``parallel_import_tasks``, else ``PARALLEL_IMPORT_TASKS``; 1 on a
        database without ``SELECT ... FOR UPDATE SKIP LOCKED`` (SQLite)."""
        count = getattr(type(resource), "parallel_import_tasks", None)
        if count is None:
            count = check_task_count(
                jobs_settings.PARALLEL_IMPORT_TASKS, f"{SETTING_NAME}['PARALLEL_IMPORT_TASKS']"
            )
        else:
            count = check_task_count(count, f"{type(resource).__name__}.parallel_import_tasks")
        aliases = {resource.get_db_connection_name(), router.db_for_write(PendingImportChunk)}
        if count > 1 and not all(
            connections[a].features.has_select_for_update_skip_locked for a in aliases
        ):
            logger.info("%s imports on one task: the database cannot skip locked rows.", self)
            return 1
        return count

    def pending_chunks(self) -> Any:
        """This job's chunks no task has committed (a queryset)."""
        return PendingImportChunk.for_job(self).using(router.db_for_write(PendingImportChunk))

    def expected_chunks(self) -> int:
        """How many chunks the file holds, as its dry run (or scan) read it."""
        rows = (self.parse_result or {}).get("rows")
        if not isinstance(rows, int):
            rows = self.progress_total
        if not isinstance(rows, int):
            raise JobConfigurationError(f"{self} has no row count from its dry run.")
        return runner.chunk_count(rows)

    def mark_pending_chunks(self, count: int) -> int:
        """Mark chunks 1..``count`` pending, but those committed; returns the
        rows the committed ones read (where the progress starts)."""
        done = dict(self.ledger_entries().values_list("chunk", "result"))
        PendingImportChunk._base_manager.using(self.pending_chunks().db).bulk_create(
            [
                PendingImportChunk(job_model=self._meta.label_lower, job_id=str(self.pk), chunk=n)
                for n in range(1, count + 1)
                if n not in done
            ],
            ignore_conflicts=True,
        )
        return sum(int((result or {}).get("rows", 0)) for result in done.values())

    # -- the run -------------------------------------------------------------------

    def import_chunks(self, *, first: bool) -> None:
        """Import the chunks this task claims until none is left to claim.

        ``first``: the run's first task (the import task), which marks the
        chunks pending, sets the progress to the rows already committed and
        sends the other tasks. The task that finds every chunk committed
        ends the job (:meth:`finish_chunks`); a failure rolls back, a cancel
        or a take-over stops this task at its next chunk."""
        collector = ResultCollector()
        try:
            resource = self.resource
            check_resource_tables(resource)
            ledger = self.get_ledger_recorder(resource)
            self.check_chunked_ledger(resource, ledger)
            tasks = self.get_parallel_import_tasks(resource)
            count = self.expected_chunks()
            choice = choose_engine(resource)
            if first:
                self._start_chunks(count, tasks, resource)
            with ProgressReporter(self, self.progress_total, shared=True) as progress:  # type: ignore[arg-type]
                state = AGAIN
                while state != DONE and state != HELD:
                    state = self._import_pass(resource, ledger, choice, collector, progress, tasks)
            if state == DONE:
                self.finish_chunks(collector, count)
            collector.close()
        except (JobCancelled, InvalidJobStatus) as exc:
            logger.info("%s: this task stopped importing: %s", self, str(exc) or "cancelled")
            collector.close()
            self.finish_stopped_import()
        except (JobConfigurationError, FileParseError) as exc:
            self._fail_import(collector, self._error_fields(exc, False))
        except runner.RowsFailed:
            message = f"{collector.error_count} row error(s); nothing was imported."
            self._fail_import(collector, {"error_message": message, "traceback": ""})
        except Exception as exc:
            logger.exception("Importing %s failed; its chunks are rolled back.", self)
            self._fail_import(collector, self._error_fields(exc))

    def _start_chunks(self, count: int, tasks: int, resource: Any) -> None:
        committed_rows = self.mark_pending_chunks(count)
        rows = type(self)._base_manager.filter(  # type: ignore[attr-defined]
            pk=self.pk, worker_token=self.worker_token
        )
        rows.update(progress_current=committed_rows)
        if (self.parse_result or {}).get("engine") is None:  # logged once per job
            runner.log_engine(resource)
        for _ in range(tasks - 1):
            dispatch.send_job_task(dispatch.IMPORT_PART_TASK, self, new_task_id())  # type: ignore[arg-type]
        if tasks > 1:
            logger.info("%s: %s tasks import its %s chunks.", self, tasks, count)

    def _import_pass(
        self,
        resource: Any,
        ledger: Any,
        choice: Any,
        collector: ResultCollector,
        progress: ProgressReporter,
        tasks: int,
    ) -> str:
        """Read the file once, importing the chunks this task claims; then
        say what is left (:data:`DONE`, :data:`AGAIN`, :data:`HELD`)."""
        skip_invalid = self.skip_invalid_rows

        def must_stop(c: ResultCollector) -> bool:
            return c.has_row_errors or (c.has_invalid_rows and not skip_invalid)

        count = self.expected_chunks()
        schedule = ClaimedChunks(
            self.chunk_transaction,
            self.pending_chunks(),
            count=count,
            window=1 if tasks == 1 else tasks * self.WINDOW_PER_TASK,
            should_stop=progress.should_stop,
        )
        storage, name = self.data_file.storage, str(self.data_file.name)
        try:
            with (
                self.data_file.open("rb") as stream,
                replayfile.open_records(storage, name, keep=True) as staged,
            ):
                runner.run_resource(
                    stream,
                    self.file_format_name,
                    resource,
                    dry_run=False,
                    collector=collector,
                    progress=progress,
                    stop_when=must_stop,
                    record_reader=staged,
                    choice=choice,
                    match=self.match_columns_for_import,
                    ledger=ledger,
                    schedule=schedule,
                )
        except ChunkAbandoned as exc:
            logger.info("%s: chunk %s waits for a chunk no task holds; reading again.", self, exc)
            return AGAIN
        if schedule.last_read != count:
            raise FileParseError(
                f"The file changed since its dry run, which read {count} chunk(s) of rows: "
                f"it now holds {schedule.last_read}. Upload it again."
            )
        if schedule.waited >= 1:
            waited = schedule.waited
            logger.info("%s: this task waited %.1f s for other tasks' chunks.", self, waited)
        return self._left_after_pass()

    def _left_after_pass(self) -> str:
        pending = self.pending_chunks()
        if not pending.exists():
            return DONE
        with transaction.atomic(using=pending.db):
            free = pending.select_for_update(skip_locked=True).values_list("chunk", flat=True)
            left = list(free[:1])
            transaction.set_rollback(True, using=pending.db)
        return AGAIN if left else HELD

    def finish_chunks(self, collector: ResultCollector, count: int) -> None:
        """``importing -> imported`` once every chunk is committed, with the
        results summed from the ledger (``collector`` gives the engine and
        the column report). Only one task's conditional UPDATE wins."""
        S = self.ImportStatus  # type: ignore[attr-defined]
        total = ResultCollector()
        total.engine, total.columns = collector.engine, collector.columns
        numbers = []
        entries = self.ledger_entries().order_by("chunk").values_list("chunk", "result")
        for number, result in entries.iterator():
            numbers.append(number)
            total.add_chunk_result(result)
        total.close()
        if numbers != list(range(1, count + 1)):
            raise JobConfigurationError(
                f"The ledger holds {len(numbers)} committed chunk(s) of {count}; the import "
                "cannot be ended as imported."
            )
        done = self._safe_transition(
            S.IMPORTED,
            (S.IMPORTING,),
            import_result=total.as_dict(),
            import_finished_at=timezone.now(),
            progress_current=total.rows,
        )
        if done:
            transaction.on_commit(
                self.delete_staged_results,
                using=router.db_for_write(type(self)),  # type: ignore[arg-type]
            )

    def import_part(self) -> None:
        """The method of an ``import_job_part`` task: import the chunks it
        claims beside the import task (see :meth:`import_chunks`)."""
        self.import_chunks(first=False)
