"""Exceptions raised by the job models and pipeline."""

from __future__ import annotations

from collections.abc import Iterable


class JobError(Exception):
    """Base class of every exception this package raises on purpose."""


class InvalidJobStatus(JobError):
    """A status transition was refused because the job is in another status.

    ``current_status`` is what the job is in now (``None`` when the job no
    longer exists), ``target_status`` what was asked for and ``allowed`` the
    statuses the transition may start from. The REST API answers 409.
    """

    def __init__(
        self,
        job_label: str,
        current_status: str | None,
        target_status: str,
        allowed: Iterable[str],
    ) -> None:
        self.job_label = job_label
        self.current_status = current_status
        self.target_status = target_status
        self.allowed = tuple(allowed)
        current = "deleted" if current_status is None else f"'{current_status}'"
        allowed_text = ", ".join(self.allowed)
        super().__init__(
            f"{job_label} cannot move to '{target_status}': its status is {current} "
            f"(allowed only from: {allowed_text})."
        )


class JobNotRevertible(InvalidJobStatus):
    """An import whose status allows a revert cannot be reverted: its ledger
    expired (``REVERT_RETENTION_DAYS``), was never recorded or is
    incomplete. ``reason`` says which; the REST API answers 409."""

    def __init__(self, job_label: str, current_status: str, reason: str) -> None:
        super().__init__(job_label, current_status, "revert_requested", (current_status,))
        self.reason = reason
        self.args = (f"{job_label} cannot be reverted: {reason}",)


class FileParseError(JobError):
    """The uploaded file cannot be read as a table (format, encoding, size...).

    The message is meant for the person who uploaded the file.
    """


class JobCancelled(JobError):
    """Raised inside running work when its job was cancelled meanwhile, or
    left the run otherwise (ended as lost by the sweep, taken over by a
    redelivered task, deleted): the work stops without recording anything."""


class JobConfigurationError(JobError):
    """A job refers to something that does not exist or is not allowed
    (resource path, file format, filters, fields)."""


class MissingTableError(JobConfigurationError):
    """A table the resource writes to does not exist: the project's
    migrations were not made or not applied. The message names the table
    and the ``manage.py migrate`` command."""
