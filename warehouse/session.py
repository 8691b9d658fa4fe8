"""Opening the warehouse: for a run (locked, migrated, one writer) or for reading."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from warehouse.lock import WarehouseLock
from warehouse.marts import MART_CHUNK_PAGES
from warehouse.metadata_keys import SITE_CHUNK_PAGES
from warehouse.migrate import apply_migrations
from warehouse.runs import abandon_stale_runs, finish_run, run_summary, start_run
from warehouse.store import checkpoint


@dataclass(frozen=True)
class DuckDBSettings:
    """How the run's connection uses memory ([duckdb] in the TOML).

    memory_limit: DuckDB's buffers beyond this are evicted or spilled to disk (its default is
    80% of the machine's memory, which it keeps filling as the warehouse grows). The marts
    and reports run under it. Their largest query, the page_quality mart, needs 128 MB for
    100,000 pages (see warehouse.marts), hence mart_chunk_pages; a whole run, 1% rerun,
    nothing-changed rerun and `content-audit report` passed at 256 MB at 100,000 pages.
    site_memory_limit: the limit during the site checks and the duplicate pass. They hold
    the site's findings and pairs in the flow process too, and their queries spill: on a
    400,000-page warehouse (2026-11-27) the duplicate pass of a first run held the process
    at 1110 MB at 512 MB (DuckDB 467 MB of it, the candidate pairs' self-join) and at 871 MB
    at 256 MB, in the same time (4.8 s against 5.1 s); the site checks 887 -> 813 MB.
    batch_memory_limit: the limit while batches are read, scored and loaded. The worker
    processes hold memory of their own then (~200 MB each), and DuckDB only appends and
    looks up small sets, so the run's peak is lowest with a lower limit there. Cold runs at
    100,000 pages (2026-11-27, peak RSS of the process tree / flow process): one limit of
    512 MB, threshold 256 MB: 1264 / 839 MB; batches at 256 MB: 1010 / 596 MB; at 192 MB with
    threshold 128 MB: 932 / 539 MB, in the same time (56-64 s, within this machine's noise).
    checkpoint_threshold: DuckDB checkpoints when its write-ahead log passes this size. Its
    default, 16 MB, means a checkpoint after every batch, and each one rewrites the tables'
    last, partly filled row groups, so its cost grows with the table: loading 96,000 pages
    took 36 s with 16 MB and 31 s with 128 MB (an older machine); loading 100,000 pages by
    hand there, 128 MB 33.5-36.5 s with six checkpoints, 256 MB 28.9-30.7 s with three. In
    whole cold runs on a faster machine 128 MB (with the batch limit) measured no slower than
    256 MB within the runs' noise, and holds less in memory. The log never grows past
    the threshold, so memory stays bounded on larger sites. Committed batches are in the log
    either way; the run ends with a checkpoint.
    mart_chunk_pages: the page marts are built, and the findings CSVs sorted, for about this
    many pages at a time, so the memory those queries need does not grow with the site
    (warehouse.marts.rebuild_marts, export_findings_csvs).
    site_chunk_pages: the duplicate-metadata checks group the pages sharing an SEO title,
    meta description or title about this many at a time (whole groups of equal values;
    warehouse.metadata_keys.store_shared_value_findings); on a larger site a first run's
    duplicate pass reads the pages sharing an answer, title or question so
    (warehouse.duplicate_index.pages_sharing_groups) and verifies this many near pairs at a
    time.
    """

    memory_limit: str = "512MB"
    batch_memory_limit: str = "192MB"
    site_memory_limit: str = "256MB"
    checkpoint_threshold: str = "128MB"
    mart_chunk_pages: int = MART_CHUNK_PAGES
    site_chunk_pages: int = SITE_CHUNK_PAGES

    def __post_init__(self) -> None:
        for name in ("memory_limit", "batch_memory_limit", "site_memory_limit", "checkpoint_threshold"):
            value = getattr(self, name)
            if not isinstance(value, str) or not _SIZE.fullmatch(value):
                raise ValueError(f"[duckdb] {name} is a size like '512MB' or '2GB', not {value!r}")
        for name in ("mart_chunk_pages", "site_chunk_pages"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"[duckdb] {name} is a whole number, not {value!r}")
            if value < 1:
                raise ValueError(f"[duckdb] {name} must be at least 1, not {value}")


_SIZE = re.compile(r"\d+(\.\d+)?\s*[KMGT]i?B", re.IGNORECASE)


class RunSession:
    """The flow process's single connection to the warehouse during a run."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        run_id: int,
        path: Path,
        tuning: DuckDBSettings = DuckDBSettings(),
        migrations_applied: Sequence[int] = (),
    ) -> None:
        self.con = con
        self.run_id = run_id
        self.path = path
        self.tuning = tuning
        self.migrations_applied = list(migrations_applied)  # schema versions this run applied
        self.summary: dict = {}  # the runs row, once the run has finished

    @contextmanager
    def _memory_limited(self, limit: str) -> Iterator[None]:
        """DuckDB at `limit` (one of the `tuning` sizes) for the block, then back at
        `memory_limit`."""
        self.con.execute(f"SET memory_limit = '{limit}'")  # checked by DuckDBSettings: a size
        try:
            yield
        finally:
            self.con.execute(f"SET memory_limit = '{self.tuning.memory_limit}'")

    def batch_memory_limit(self) -> AbstractContextManager[None]:
        """`batch_memory_limit` for the block (the batches: read, scored in worker processes
        that hold memory of their own meanwhile, and loaded)."""
        return self._memory_limited(self.tuning.batch_memory_limit)

    @contextmanager
    def cursor(self) -> Iterator[RunSession]:
        """The run on a second connection to the warehouse, for work in another thread (a
        connection runs one statement at a time). DuckDB's settings, memory_limit among
        them, are the database's: both connections share the limit in force."""
        with self.con.cursor() as cursor:
            yield RunSession(cursor, self.run_id, self.path, self.tuning)

    def site_memory_limit(self) -> AbstractContextManager[None]:
        """`site_memory_limit` for the block (the site checks and the duplicate pass)."""
        return self._memory_limited(self.tuning.site_memory_limit)


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
            applied = apply_migrations(con)
            abandon_stale_runs(con)
            run_id = start_run(con, content_dir, prefect_flow_run_id)
            lock.record(run_id)
            session = RunSession(con, run_id, path, tuning, applied)
            try:
                yield session
            except BaseException as error:
                finish_run(con, run_id, "failed", f"{type(error).__name__}: {error}"[:2000])
                raise
            finish_run(con, run_id, "completed")
            session.summary = run_summary(con, run_id)
            checkpoint(con)
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
