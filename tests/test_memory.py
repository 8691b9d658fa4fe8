"""Process memory: Arrow on the system allocator, freed memory handed back, workers stopped
once every batch is scored."""

from __future__ import annotations

import os
import sys

import psutil
import pytest

from content_audit.memory import release_freed_memory, use_system_allocator


def test_arrow_allocates_with_malloc_and_freed_memory_goes_back() -> None:
    import pyarrow

    use_system_allocator()
    assert pyarrow.default_memory_pool().backend_name == "system"
    process = psutil.Process()
    before = process.memory_info().rss
    # Blocks below glibc's mmap threshold come from the heap; one still in use above them
    # (as the next batch's frames are) keeps free() from shrinking the heap on its own.
    blocks = [bytearray(64 * 1024) for _ in range(4000)]  # ~256 MB
    pinned = bytearray(64 * 1024)
    grown = process.memory_info().rss
    del blocks
    release_freed_memory()
    after = process.memory_info().rss
    assert grown - before > 200 * 2**20 and len(pinned)
    if sys.platform.startswith("linux"):
        assert after - before < (grown - before) / 2


def _worker_pid() -> int:
    return os.getpid()


@pytest.mark.usefixtures("prefect_harness")
def test_worker_processes_stop_once_batches_are_scored() -> None:
    from prefect import flow, task
    from prefect.task_runners import ProcessPoolTaskRunner

    from content_audit.runner import stop_worker_processes

    worker_pid = task(_worker_pid)

    @flow(task_runner=ProcessPoolTaskRunner(max_workers=1, initializer=use_system_allocator))
    def scored_then_stopped() -> tuple[int, bool, bool]:
        pid = worker_pid.submit().result()
        alive_while_scoring = psutil.pid_exists(pid)
        stop_worker_processes()
        try:
            stopped = psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            stopped = True
        return pid, alive_while_scoring, stopped

    pid, alive_while_scoring, stopped = scored_then_stopped()
    assert pid != os.getpid()
    assert alive_while_scoring and stopped
