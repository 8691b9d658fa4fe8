"""One run at a time per warehouse: an exclusive lock on a file beside it.

DuckDB itself refuses a second writer, but only with an obscure I/O error and only once
the second process tries to open the file. The lock file says who holds the warehouse,
so a second run can exit at once with a clear message. The OS drops the lock when the
holder dies, even on SIGKILL, so a crashed run never leaves the warehouse locked.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path


class WarehouseLocked(RuntimeError):
    """Another run holds the warehouse."""


class WarehouseLock:
    def __init__(self, warehouse: Path) -> None:
        self.path = Path(str(warehouse) + ".lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise WarehouseLocked(holder) from None
        self._fd = fd
        self.record(run_id=None)

    def check_free(self) -> None:
        """Raise WarehouseLocked if a run holds the warehouse; take nothing, create nothing.

        For failing fast before the slow start of a run (Prefect's server); the run itself
        still takes the lock with `acquire`, which is what keeps runs apart.
        """
        try:
            fd = os.open(self.path, os.O_RDWR)
        except FileNotFoundError:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WarehouseLocked(_read_holder(fd)) from None
        finally:
            os.close(fd)  # closing drops the probe's lock, if it got it

    def record(self, run_id: int | None) -> None:
        """Write who holds the lock, for the message a second run prints."""
        if self._fd is None:
            return
        info = {
            "run_id": run_id,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, json.dumps(info).encode(), 0)

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _read_holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except ValueError:
        info = {}
    run = f"run {info['run_id']}" if info.get("run_id") is not None else "a run starting up"
    return (
        f"warehouse is locked by {run} since {info.get('since', '?')} "
        f"(pid {info.get('pid', '?')} on {info.get('host', '?')}); try again when it has finished"
    )
