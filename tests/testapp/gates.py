"""A gate that a resource waits at, so tests can act on a job mid-run."""

from __future__ import annotations

import threading


class Gate:
    """When ``armed``, the run that meets ``key`` sets ``reached`` and waits
    for ``release`` (at most ``timeout`` seconds)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self, key: str = "", timeout: float = 30) -> None:
        self.key = key
        self.timeout = timeout
        self.reached = threading.Event()
        self.release = threading.Event()

    def arm(self, key: str, timeout: float = 30) -> None:
        self.reset(key, timeout)

    def meet(self, key: str) -> None:
        if self.key and key == self.key:
            self.reached.set()
            self.release.wait(self.timeout)


GATE = Gate()
