"""Signals sent by the job models.

``job_status_changed`` is sent after every status change that reached the
database (after the surrounding transaction commits), with:

- ``sender``: the job model class,
- ``job``: the job instance,
- ``old_status`` and ``new_status``: the status values (lowercase strings).
"""

from django.dispatch import Signal

job_status_changed = Signal()
