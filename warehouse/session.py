"""Opening the warehouse: for a run (locked, migrated, one writer) or for reading."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from warehouse.lock import WarehouseLock
from warehouse.migrate import apply_migrations
from warehouse.runs import abandon_stale_runs, finish_run, run_summary, start_run


class RunSession:
    """The flow process's single connection to the warehouse during a run."""

    def __init__(self, con: duckdb.DuckDBPyConnection, run_id: int, path: Path) -> None:
        self.con = con
        self.run_id = run_id
        self.path = path
        self.summary: dict = {}  # the runs row, once the run has finished


@contextmanager
def open_run(path: Path, content_dir: str, prefect_flow_run_id: str | None = None) -> Iterator[RunSession]:
    """Lock the warehouse, migrate it, start a run; finish it as completed or failed.

    Raises WarehouseLocked at once, touching nothing, when another run holds the warehouse.
    """
    path = Path(path)
    lock = WarehouseLock(path)
    lock.acquire()
    try:
        con = duckdb.connect(str(path))
        try:
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
