"""Keep a long run's memory flat: hand freed memory back to the operating system.

A run loads thousands of batches of short-lived frames. Without this, each process's
resident memory only grows: Arrow's default pool (mimalloc) and glibc's malloc keep freed
pages for reuse, and the pattern of batch after batch fragments them, so the flow process
grew by ~30 MB per 2,000-page batch (1.1 GB after 100,000 pages) while DuckDB itself held
under 60 MB. With Arrow on the system allocator and `malloc_trim` after each batch, the
flow process stays near its size after the first batches.
"""

from __future__ import annotations

import ctypes
import functools
import sys


def use_system_allocator() -> None:
    """Allocate Arrow buffers (pandas' string columns) with malloc, so that `release_freed_memory`
    reaches them. Idempotent; also the worker processes' initializer."""
    import pyarrow

    pyarrow.set_memory_pool(pyarrow.system_memory_pool())


def release_freed_memory() -> None:
    """Return memory freed since the last call to the operating system (glibc only; elsewhere
    a no-op). Takes a few milliseconds: call it between batches, not per page."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None).malloc_trim  # the process's own symbols: libc's
    except (OSError, AttributeError):  # musl has no malloc_trim
        return None
