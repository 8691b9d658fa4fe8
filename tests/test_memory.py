"""Process set-up: Arrow on the system allocator, freed memory handed back, the garbage
collector tuned for batch work, workers stopped once every batch is scored."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import time
import weakref

import psutil
import pytest

from content_audit.memory import GC_THRESHOLDS, prepared_process, release_freed_memory, use_system_allocator


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


class _Node:
    pass


def test_prepared_process_collects_rarely_and_frees_cycles_between_batches() -> None:
    saved = gc.get_threshold()
    with prepared_process():
        assert gc.get_threshold() == GC_THRESHOLDS and gc.get_freeze_count() > 0
        node = _Node()
        node.loop = node  # a cycle: reference counting alone never frees it
        gone = weakref.ref(node)
        del node
        assert gone() is not None
        release_freed_memory()  # between batches: what the batch left in cycles goes
        assert gone() is None
    assert gc.get_threshold() == saved and gc.get_freeze_count() == 0  # the process as it was


def test_what_lives_through_the_batches_is_frozen_out_of_the_collections_until_the_run_ends() -> None:
    from content_audit.memory import freeze_long_lived

    with prepared_process():
        entries = [_Node() for _ in range(5_000)]  # a scan's entries: alive for the whole ingest
        assert any(o is entries[0] for o in gc.get_objects())
        freeze_long_lived()
        assert not any(o is entries[0] for o in gc.get_objects())  # no longer rescanned
        del entries  # still freed by reference counting
        node = _Node()
        node.loop = node
        gone = weakref.ref(node)
        del node
        release_freed_memory()  # cycles made after the freeze are collected as before
        assert gone() is None
    assert gc.get_freeze_count() == 0


def test_frozen_objects_are_unfrozen_at_exit_so_duckdb_reports_no_leak() -> None:
    script = "import duckdb\nfrom content_audit.memory import prepare_process\nprepare_process()\n"
    script += "duckdb.connect().execute('SELECT 1').fetchall()\n"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "leak" not in done.stderr, done.stderr


def _exits_within(pid: int, seconds: float) -> bool:
    """Whether process `pid` ends (or is a zombie, left for its parent to reap) in time;
    polled, not waited on, so the pool still reaps its own worker."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def _worker_state() -> tuple[int, tuple[int, int, int], bool]:
    return os.getpid(), gc.get_threshold(), any(name.split(".")[0] == "prefect" for name in sys.modules)


@pytest.mark.usefixtures("prefect_harness")
def test_batches_run_in_prepared_workers_without_prefect_that_stop_once_batches_are_scored() -> None:
    from prefect import flow, task

    from content_audit.runner import make_task_runner, stop_worker_processes
    from content_audit.settings import RunnerSettings
    from content_audit.worker_pool import offload

    @task
    def worker_state() -> tuple[int, tuple[int, int, int], bool]:
        return offload(_worker_state)

    @flow(task_runner=make_task_runner(RunnerSettings(task_runner="process", workers=1)))
    def scored_then_stopped() -> tuple[tuple, int, bool, bool]:
        pid, thresholds, prefect_loaded = worker_state.submit().result()
        inline_pid = worker_state()[0]  # called in the flow, not submitted: runs here
        alive_while_scoring = psutil.pid_exists(pid)
        stop_worker_processes()  # returns at once; the worker exits on its own
        stopped = _exits_within(pid, seconds=60)
        return (pid, thresholds, prefect_loaded), inline_pid, alive_while_scoring, stopped

    (pid, thresholds, prefect_loaded), inline_pid, alive_while_scoring, stopped = scored_then_stopped()
    assert pid != os.getpid() and thresholds == GC_THRESHOLDS  # the initializer ran there
    assert not prefect_loaded  # the worker imported the batch function, not Prefect
    assert inline_pid == os.getpid()
    assert alive_while_scoring and stopped


def _freeze_counts_over_batches() -> list[int]:
    from content_audit.memory import prepare_process, start_worker_batch

    prepare_process()
    counts = []
    for _ in range(3):
        start_worker_batch()
        counts.append(gc.get_freeze_count())
        _ = [[n] for n in range(20_000)]  # what a batch's task modules leave alive
        globals().setdefault("kept", _)
    return counts


def test_a_worker_freezes_what_its_first_batch_loaded_once_and_the_flow_never() -> None:
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        in_worker = pool.apply(_freeze_counts_over_batches)
    assert in_worker[1] > in_worker[0] + 20_000  # frozen at the second batch's start
    assert in_worker[2] == in_worker[1]  # once only
    from content_audit.memory import start_worker_batch

    before = gc.get_freeze_count()
    start_worker_batch()
    start_worker_batch()
    assert gc.get_freeze_count() == before  # the flow's own process (tasks run inline there)
