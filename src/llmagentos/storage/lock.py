"""The state directory's lock: one kernel per state directory, released even by SIGKILL."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from llmagentos.errors import InvalidArgument


class StateLock:
    """An exclusive `flock` on `<state_dir>/kernel.lock` holding the owner's PID."""

    def __init__(self, state_dir: str | Path) -> None:
        self.path = Path(state_dir) / "kernel.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise InvalidArgument(
                f"another kernel is running on {self.path.parent} (kernel.lock is held);"
                " stop it or use another --state-dir"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def held_elsewhere(self) -> bool:
        """True if another process holds the lock (a kernel is running there)."""
        if not self.path.exists():
            return False
        fd = os.open(self.path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        finally:
            os.close(fd)
