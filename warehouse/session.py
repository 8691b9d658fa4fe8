"""Opening the warehouse: for a run (locked, migrated, one writer) or for reading."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from warehouse.lock import WarehouseLock
from warehouse.migrate import apply_migrations
from warehouse.runs import abandon_stale_runs, finish_run, run_summary, start_run


@dataclass(frozen=True)
class DuckDBSettings:
    """How the run's connection uses memory ([duckdb] in the TOML).

    memory_limit: DuckDB's buffers beyond this are evicted or spilled to disk (its default is
    80% of the machine's memory, which it keeps filling as the warehouse grows).
    checkpoint_threshold: DuckDB checkpoints when its write-ahead log passes this size. Its
    default, 16 MB, means a checkpoint after every 2,000-page batch, and each one rewrites the
    tables' last, partly filled row groups, so its cost grows with the table: loading 96,000
    pages took 36 s with 16 MB and 31 s with 128 MB, in the same memory. Loading 100,000 pages
    by hand (this code, 2026-11-27): 128 MB 33.5-36.5 s with six checkpoints (1.5-7 s each,
    the workers waiting meanwhile), 256 MB 28.9-30.7 s with three, 512 MB 25.9-28.9 s but
    DuckDB then held 477 MB, near memory_limit (412 MB at 256 MB; the process's peak RSS the
    same). The log never grows past the threshold, so memory stays bounded on larger sites.
    Committed batches are in the log either way; the run ends with a checkpoint.
    Whole cold runs at 100,000 pages (2026-11-27, band rows by integer id, one run each):
    512 MB / 256 MB: peak RSS of the run 1141 MB (flow process 757 MB); 256 MB / 128 MB:
    1009 MB (603 MB), and 979 MB with 1,500-page batches. But at 256 MB the rerun after
    changing 1% of the pages failed: the page_quality mart's INSERT ran out of memory (it
    keeps insertion order, which cannot spill; it passed at 384 MB, and at 256 MB with
    preserve_insertion_order off). The marts now insert without keeping order
    (warehouse.marts), but the other steps were not checked at 256 MB: 512 MB stays the
    default.
    """

    memory_limit: str = "512MB"
    checkpoint_threshold: str = "256MB"

    def __post_init__(self) -> None:
        for name in ("memory_limit", "checkpoint_threshold"):
            value = getattr(self, name)
            if not isinstance(value, str) or not _SIZE.fullmatch(value):
                raise ValueError(f"[duckdb] {name} is a size like '512MB' or '2GB', not {value!r}")


_SIZE = re.compile(r"\d+(\.\d+)?\s*[KMGT]i?B", re.IGNORECASE)


class RunSession:
    """The flow process's single connection to the warehouse during a run."""

    def __init__(self, con: duckdb.DuckDBPyConnection, run_id: int, path: Path) -> None:
        self.con = con
        self.run_id = run_id
        self.path = path
        self.summary: dict = {}  # the runs row, once the run has finished


@contextmanager
def open_run(
    path: Path,
    content_dir: str,
    prefect_flow_run_id: str | None = None,
    tuning: DuckDBSettings = DuckDBSettings(),
) -> Iterator[RunSession]:
    """Lock the warehouse, migrate it, start a run; finish it as completed or failed.

    Raises WarehouseLocked at once, touching nothing, when another run holds the warehouse.
    """
    path = Path(path)
    lock = WarehouseLock(path)
    lock.acquire()
    try:
        con = duckdb.connect(str(path))
        try:
            con.execute(f"SET memory_limit = '{tuning.memory_limit}'")  # checked: a size
            con.execute(f"SET checkpoint_threshold = '{tuning.checkpoint_threshold}'")
            apply_migrations(con)
            abandon_stale_runs(con)
            run_id = start_run(con, content_dir, prefect_flow_run_id)
            lock.record(run_id)
            session = RunSession(con, run_id, path)
            try:
                yield session
            except BaseException as error:
                finish_run(con, run_id, "failed", f"{type(error).__name__}: {error}"[:2000])
                raise
            finish_run(con, run_id, "completed")
            session.summary = run_summary(con, run_id)
            con.execute("CHECKPOINT")
        finally:
            con.close()
    finally:
        lock.release()


@contextmanager
def open_read_only(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """For reports and analysts: fails with a clear message while a run holds the file."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"warehouse {path} does not exist; run `content-audit run` first")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except (duckdb.IOException, duckdb.ConnectionException) as error:
        # IOException: another process writes the file. ConnectionException: this process
        # does (a report built inside the run), and DuckDB will not mix read-only in.
        raise RuntimeError(
            f"warehouse {path} is held by a running pipeline ({error}); read the Parquet exports "
            "in the report folder instead, or try again when the run has finished"
        ) from None
    try:
        yield con
    finally:
        con.close()
