"""Worker processes for the CPU-heavy batches, with no Prefect in them.

Prefect's process task runner runs its whole task engine in each worker: every worker
imports Prefect (~300 MB resident each at 100,000 pages, against ~190 MB without it) and
builds an API client and an SSL context for every task run (~0.3 s a batch). Here the
Prefect task runs stay in threads of the flow process, where they are created, logged and
tracked as before, and each hands its batch (a plain function of content_audit.batches and
its arguments) to a `concurrent.futures` process pool whose workers import only that.

A task run reaches the pool through a context variable that `BatchProcessTaskRunner.submit`
sets around Prefect's own submit (which copies the context into the task's thread). So a
task called directly in the flow (runs too small to pay for workers) or run by another task
runner (threads, Dask) does its work where it runs.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from content_audit.memory import prepare_process

T = TypeVar("T")

_CURRENT: ContextVar[WorkerPool | None] = ContextVar("content_audit_worker_pool", default=None)


class WorkerPool:
    """A process pool started on its first batch (a run with nothing to read starts no
    process) and stopped by `stop` or at the end of the run. 'spawn' start method: the flow
    process runs threads (Prefect's), which a fork would copy mid-state."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def run(self, function: Callable[..., T], *args: Any) -> T:
        """function(*args) in a worker process; its exception is raised here."""
        return self._started().submit(function, *args).result()

    def _started(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=prepare_process,
                )
            return self._executor

    def stop(self, wait: bool = True) -> None:
        """Stop the worker processes; a later batch starts new ones. wait False: return once
        they are told to exit, and let them free their memory and exit beside the next step
        (waiting took 0.54 s of a 20,000-page cold run here)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=wait, cancel_futures=True)


def offload(function: Callable[..., T], *args: Any) -> T:
    """function(*args) in the current task run's worker pool, or here when it has none."""
    pool = _CURRENT.get()
    return function(*args) if pool is None else pool.run(function, *args)


@contextmanager
def offloading_to(pool: WorkerPool | None) -> Iterator[None]:
    """Within this block, `offload` (and any context copied from here) uses `pool`."""
    token = _CURRENT.set(pool)
    try:
        yield
    finally:
        _CURRENT.reset(token)
