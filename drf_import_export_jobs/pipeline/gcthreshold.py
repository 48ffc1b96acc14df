"""Fewer passes of Python's cyclic garbage collector while a job runs.

A chunk creates and drops thousands of objects (cells, model instances,
values). With Python's default first-generation threshold (700 allocations)
the collector runs after every few rows, and each full pass walks every
object of the process: in a Django process that is a sixth to a fifth of an
import's time. Objects are still freed as soon as nothing refers to them;
the threshold only decides how often the collector looks for unreachable
cycles.

:func:`fewer_collections` raises the first generation's threshold to the
``GC_THRESHOLD`` setting while any job of the process runs (threads
included) and puts the process's own thresholds back when the last one ends.
A threshold the project set higher is kept.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

from ..conf import jobs_settings

_lock = threading.Lock()
_running = 0
_saved: tuple[int, int, int] | None = None


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Within the block, the collector's first generation waits for
    ``GC_THRESHOLD`` allocations (no change when the setting is 0, None or
    not an int: system check ``E072`` reports the latter, a job runs on)."""
    global _running, _saved
    threshold = jobs_settings.GC_THRESHOLD
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold <= 0:
        yield
        return
    with _lock:
        if _running == 0:
            first, second, third = gc.get_threshold()
            _saved = (first, second, third)
            if first != 0 and threshold > first:  # 0: the project disabled it
                gc.set_threshold(threshold, second, third)
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1
            if _running == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                _saved = None
