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


class FileGate:
    """A gate across processes: the run that meets ``key`` creates
    ``<folder>/reached`` and waits until ``<folder>/release`` exists (at most
    ``timeout`` seconds). Lets a test kill a worker process mid-job."""

    def __init__(self, folder: str, key: str, timeout: float = 60) -> None:
        self.folder = folder
        self.key = key
        self.timeout = timeout

    def meet(self, key: str) -> None:
        import time
        from pathlib import Path

        if not self.folder or key != self.key:
            return
        folder = Path(self.folder)
        (folder / "reached").touch()
        deadline = time.monotonic() + self.timeout
        while not (folder / "release").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
