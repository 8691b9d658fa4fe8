"""Set up each process of a run for batch work: keep its memory flat, and keep Python's
cyclic garbage collector from rescanning the heap thousands of times.

A run loads thousands of batches of short-lived frames. Without this, each process's
resident memory only grows: Arrow's default pool (mimalloc) and glibc's malloc keep freed
pages for reuse, and the pattern of batch after batch fragments them, so the flow process
grew by ~30 MB per 2,000-page batch (1.1 GB after 100,000 pages) while DuckDB itself held
under 60 MB. With Arrow on the system allocator and `malloc_trim` after each batch, the
flow process stays near its size after the first batches.

The cyclic collector runs a young collection every 700 net allocations by default, and the
full ones scan every live object. A batch allocates millions of short-lived tuples and
strings that reference counting frees on its own (no cycles), so those collections find
nothing: measured, they took ~23% of the CPU of the site checks at 100,000 pages (1.24 s of
5.4 s; 0.41 s with the thresholds below) and 0.45 s per 6,000 pages scored in a worker
(0.04 s). Objects alive at start-up (modules, settings) are frozen out of the scans.
"""

from __future__ import annotations

import atexit
import ctypes
import functools
import gc
import itertools
import multiprocessing
import sys
from collections.abc import Iterator
from contextlib import contextmanager

# Young collections every 50,000 net allocations, a middle one every 20 of those, a full one
# every 10 middle ones (10 million allocations; Python's defaults: 700, 10, 10).
GC_THRESHOLDS = (50_000, 20, 10)


def prepare_process() -> None:
    """The worker processes' initializer: Arrow on the system allocator, and the collector
    tuned for batch work for the rest of the process."""
    use_system_allocator()
    tune_garbage_collector()


@contextmanager
def prepared_process() -> Iterator[None]:
    """The flow process for the length of a run: as `prepare_process`, then the collector's
    previous settings back (a flow may run inside a longer-lived process)."""
    saved = gc.get_threshold()
    prepare_process()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*saved)


def tune_garbage_collector() -> None:
    """Freeze what is alive now out of future collections; collect far less often. Frozen
    objects are unfrozen at exit, so that the interpreter's last collections see them
    (DuckDB's bindings report objects still alive at exit as leaks)."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    _unfreeze_at_exit()


@functools.cache
def _unfreeze_at_exit() -> None:
    atexit.register(gc.unfreeze)


def use_system_allocator() -> None:
    """Allocate Arrow buffers (pandas' string columns) with malloc, so that `release_freed_memory`
    reaches them. Idempotent."""
    import pyarrow

    pyarrow.set_memory_pool(pyarrow.system_memory_pool())


def release_freed_memory() -> None:
    """Free what the last batch left in reference cycles (the collector runs rarely, see
    GC_THRESHOLDS), then return freed memory to the operating system (glibc only; elsewhere
    only the collection). Takes milliseconds: call it between batches, not per page."""
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def freeze_long_lived() -> None:
    """Keep every object alive now out of the collector's scans for the rest of the run
    (reference counting still frees them; `prepared_process` unfreezes at the end). The
    flow calls it once the content folder is scanned and the batches planned: what is
    alive then lives through the ingest, and the collection after every batch rescanned it
    at ~2 us an object (20,000 pages: ~60 ms a batch while the scan held an object per
    file; it now holds its files by column)."""
    gc.freeze()


def start_worker_batch() -> None:
    """A worker process, at the start of each batch: `release_freed_memory`, and at the
    second batch, freeze what survived. The initializer froze the objects alive at start-up,
    but the batch modules (pandas, the transforms), the syllable table and the memos load
    with the first batch, after it: ~160,000 objects (counted with Prefect's task engine
    loaded too, before workers ran without it) that every
    collection between batches rescanned (~0.13 s each). Once, so that the objects of each
    later task are collected as usual; never in the flow's own process, where tasks also run
    inline and live objects include results in flight."""
    release_freed_memory()
    if next(_worker_batches) == 2 and multiprocessing.parent_process() is not None:
        gc.freeze()


_worker_batches = itertools.count(1)


@functools.cache
def _malloc_trim() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None).malloc_trim  # the process's own symbols: libc's
    except (OSError, AttributeError):  # musl has no malloc_trim
        return None
