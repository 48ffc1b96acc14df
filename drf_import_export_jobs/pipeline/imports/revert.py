"""Undoing a finished import from its ledger (:mod:`.ledger`).

:func:`revert_entries` goes through the job's ledger entries from the last
chunk to the first. For each chunk it locks the rows the chunk touched
(``SELECT ... FOR UPDATE`` where the database has it) and compares them with
what the import left:

* a row the import created is deleted, unless it changed since the import
  or rows written since refer to it;
* a row the import updated is restored to its before-image, unless it
  changed since the import (its values differ from those the import wrote)
  or was deleted since;
* a row the import deleted is created again from its before-image, unless a
  row with its primary key exists again.

Rows left alone are *kept* and reported with the reason. A row the database
refuses to write (a unique value taken since, a foreign key to a row deleted
since) is *failed*: the caller runs everything in one transaction and rolls
it all back when any row failed, so a revert is all or nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import DatabaseError, connections, models, transaction

from ...models.ledger import ImportLedgerEntry
from .ledger import decode_image, encode_image, image_digest, image_fields, read_rows
from .writes import update_rows

# Rows listed one by one in a revert's results; the totals count them all.
MAX_REPORTED_ROWS = 1000

REVERTED = "reverted"
KEPT = "kept"
FAILED = "failed"

CHANGED = "changed since the import"
GONE = "deleted since the import"
REFERENCED = "rows written since the import refer to it ({models})"
EXISTS = "a row with this primary key exists again"


@dataclass
class RevertOutcome:
    """Totals of a revert and the rows that were kept or failed."""

    reverted: int = 0
    kept: int = 0
    failed: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)

    def report(
        self, outcome: str, entry: ImportLedgerEntry, pk: Any, action: str, reason: str
    ) -> None:
        """Count a kept or failed row and list it (up to ``MAX_REPORTED_ROWS``)."""
        if outcome == KEPT:
            self.kept += 1
        else:
            self.failed += 1
        if len(self.rows) < MAX_REPORTED_ROWS:
            self.rows.append(
                {
                    "model": entry.model,
                    "pk": pk,
                    "action": action,
                    "outcome": outcome,
                    "reason": reason,
                    "chunk": entry.chunk,
                }
            )

    def as_dict(self, *, rolled_back: bool = False) -> dict[str, Any]:
        """The job's ``revert_result``. When the revert was ``rolled_back``
        (a row failed) nothing was reverted."""
        return {
            "totals": {
                REVERTED: 0 if rolled_back else self.reverted,
                KEPT: self.kept,
                FAILED: self.failed,
            },
            "rows": self.rows,
        }


def rows_in(entry: ImportLedgerEntry) -> int:
    """How many rows ``entry`` recorded (the revert's progress counts them)."""
    return len(entry.created) + len(entry.updated) + len(entry.deleted)


class ChunkReverter:
    """Reverts the ledger entry of one chunk (see the module docs)."""

    def __init__(self, entry: ImportLedgerEntry, outcome: RevertOutcome) -> None:
        self.entry = entry
        self.outcome = outcome
        self.model: type[models.Model] = apps.get_model(entry.model)
        self.alias = entry.database
        self.fields = image_fields(self.model)
        self.restored_names = [f.name for f in self.fields if not f.primary_key]

    def run(self) -> None:
        entry = self.entry
        pks = [row[0] for row in (*entry.created, *entry.updated, *entry.deleted)]
        now = read_rows(self.model, self.alias, pks, lock=True)
        deletes = self._deletes(now)
        restores = []
        for pk, before, after in entry.updated:
            if pk not in now:
                self.outcome.report(KEPT, entry, pk, "restore", GONE)
            elif self._digest(now[pk]) != after:
                self.outcome.report(KEPT, entry, pk, "restore", CHANGED)
            else:
                restores.append((pk, before))
        recreates = []
        for pk, before in entry.deleted:
            if pk in now:
                self.outcome.report(KEPT, entry, pk, "recreate", EXISTS)
            else:
                recreates.append((pk, before))
        # New rows go first: they may hold unique values a restored row had.
        self._apply("delete", deletes, self._delete)
        self._apply("restore", restores, self._restore)
        self._apply("recreate", recreates, self._recreate)

    def _digest(self, values: dict[str, Any]) -> str:
        return image_digest(encode_image(self.fields, values))

    def _deletes(self, now: dict[Any, dict[str, Any]]) -> list[tuple[Any, None]]:
        entry = self.entry
        candidates = []
        for pk, after in entry.created:
            if pk not in now:
                self.outcome.report(KEPT, entry, pk, "delete", GONE)
            elif self._digest(now[pk]) != after:
                self.outcome.report(KEPT, entry, pk, "delete", CHANGED)
            else:
                candidates.append(pk)
        referenced = self._referenced(candidates)
        deletes = []
        for pk in candidates:
            if pk in referenced:
                text = REFERENCED.format(models=", ".join(sorted(referenced[pk])))
                self.outcome.report(KEPT, entry, pk, "delete", text)
            else:
                deletes.append((pk, None))
        return deletes

    def _referenced(self, pks: list[Any]) -> dict[Any, set[str]]:
        """Which of ``pks`` other rows refer to (by model label); rows of the
        many-to-many tables Django made go with the row, as on delete."""
        found: dict[Any, set[str]] = {}
        if not pks:
            return found
        for relation in self.model._meta.related_objects:
            related = relation.related_model
            if relation.many_to_many or related._meta.auto_created:
                continue
            name = relation.field.name
            rows = related._base_manager.using(self.alias).filter(**{f"{name}__pk__in": pks})
            if related is self.model:
                rows = rows.exclude(pk__in=pks)
            for value in rows.values_list(f"{name}__pk", flat=True).distinct():
                key = next((pk for pk in pks if str(pk) == str(value)), value)
                found.setdefault(key, set()).add(related._meta.label_lower)
        return found

    def _apply(
        self,
        action: str,
        rows: list[tuple[Any, Any]],
        write: Callable[[list[tuple[Any, Any]]], None],
    ) -> None:
        """Write ``rows`` at once; when the database refuses, again one by
        one (a savepoint each) so each refused row is reported."""
        if not rows:
            return
        try:
            with transaction.atomic(using=self.alias):
                write(rows)
        except DatabaseError:
            for row in rows:
                try:
                    with transaction.atomic(using=self.alias):
                        write([row])
                except DatabaseError as exc:
                    self.outcome.report(FAILED, self.entry, row[0], action, str(exc))
                else:
                    self.outcome.reverted += 1
            return
        self.outcome.reverted += len(rows)

    def _instance(self, image: dict[str, Any]) -> models.Model:
        instance = self.model(**decode_image(self.fields, image))
        instance._state.adding = False
        instance._state.db = self.alias
        return instance

    def _delete(self, rows: list[tuple[Any, Any]]) -> None:
        pks = [pk for pk, _ in rows]
        self.model._base_manager.using(self.alias).filter(pk__in=pks).delete()

    def _restore(self, rows: list[tuple[Any, Any]]) -> None:
        instances = [self._instance(before) for _pk, before in rows]
        update_rows(self.model, instances, self.restored_names, self.alias)

    def _recreate(self, rows: list[tuple[Any, Any]]) -> None:
        for _pk, before in rows:
            instance = self._instance(before)
            instance._state.adding = True
            instance.save_base(raw=True, force_insert=True, using=self.alias)


def check_deferred_constraints(tables: dict[str, set[str]], outcome: RevertOutcome) -> None:
    """Check the foreign keys of ``tables`` (per database alias) whose check
    the database defers to the commit (SQLite), so that a broken reference
    fails the revert with its message rather than its commit."""
    for alias, names in tables.items():
        connection = connections[alias]
        if connection.vendor != "sqlite":
            continue
        try:
            connection.check_constraints(table_names=sorted(names))
        except DatabaseError as exc:
            outcome.failed += 1
            if len(outcome.rows) < MAX_REPORTED_ROWS:
                outcome.rows.append(
                    {
                        "model": "",
                        "pk": None,
                        "action": "check",
                        "outcome": FAILED,
                        "reason": str(exc),
                        "chunk": None,
                    }
                )


def revert_entries(
    entries: Iterable[ImportLedgerEntry], advance: Callable[[int], None]
) -> RevertOutcome:
    """Revert ``entries`` (last chunk first) in the caller's transaction;
    ``advance(rows)`` is called after each chunk. Foreign keys are checked
    at once (PostgreSQL: ``SET CONSTRAINTS ALL IMMEDIATE``)."""
    outcome = RevertOutcome()
    tables: dict[str, set[str]] = {}
    for entry in sorted(entries, key=lambda e: e.chunk, reverse=True):
        reverter = ChunkReverter(entry, outcome)
        if entry.database not in tables:
            connection = connections[entry.database]
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        tables.setdefault(entry.database, set()).add(str(reverter.model._meta.db_table))
        reverter.run()
        advance(rows_in(entry))
    check_deferred_constraints(tables, outcome)
    return outcome
