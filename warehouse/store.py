"""Bulk loading helpers shared by every table: frames in, rows out, in one transaction."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress

import duckdb
import pandas as pd


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All or nothing: a batch either lands whole or not at all (even on SIGKILL)."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def checkpoint(con: duckdb.DuckDBPyConnection) -> None:
    """Write everything committed into the database file and release what DuckDB holds for it.

    Rows deleted from a table keep the table's row groups they were in loaded, and counted
    against memory_limit, until a checkpoint: on a 400,000-page warehouse, forgetting 1,982
    deleted pages held ~180 MB that DuckDB could not free (its limit could not be lowered to
    120 MB; after a CHECKPOINT it held 64 MB), and the next whole-site query of a rerun at
    the 192 MB batch limit failed with "failed to pin block". Deletes write little to the
    log, so the checkpoint_threshold does not trigger one."""
    con.execute("CHECKPOINT")


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, data: object) -> Iterator[str]:
    """Expose a frame or Arrow table to SQL as `name` for the block.

    Unregistering inside an aborted transaction fails; that must not hide the error that
    aborted it, so the cleanup is best effort there.
    """
    con.register(name, data)
    try:
        yield name
    finally:
        with suppress(duckdb.TransactionException):
            con.unregister(name)


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """The table's columns in order (from the catalog: ~0.3 ms, against ~6 ms through
    information_schema, for each of the ~10 inserts of a batch)."""
    try:
        return list(con.table(_quote(table)).columns)
    except duckdb.CatalogException:
        raise KeyError(f"warehouse has no table {table!r}") from None


def insert_frame(
    con: duckdb.DuckDBPyConnection,
    table: str,
    frame: pd.DataFrame,
    constants: dict[str, object] | None = None,
) -> int:
    """INSERT the frame's columns that the table has (matched by name), plus constant columns.

    Bulk (DuckDB scans the frame), ~30x faster than executemany. Table columns the frame
    lacks get their defaults.
    """
    if frame.empty:
        return 0
    if constants:
        frame = frame.assign(**constants)
    columns = [c for c in table_columns(con, table) if c in frame.columns]
    names = ", ".join(map(_quote, columns))
    with registered(con, "frame", frame):
        con.execute(f"INSERT INTO {_quote(table)} ({names}) SELECT {names} FROM frame")
    return len(frame)


def replace_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    frame: pd.DataFrame,
    doc_keys: Sequence[str],
    constants: dict[str, object] | None = None,
    key: str = "doc_key",
) -> int:
    """Delete every row of these documents, then insert the frame's rows for them."""
    delete_documents(con, table, doc_keys, key)
    return insert_frame(con, table, frame, constants)


def delete_documents(
    con: duckdb.DuckDBPyConnection, table: str, doc_keys: Sequence[str], key: str = "doc_key"
) -> None:
    if len(doc_keys) == 0:
        return
    keys = pd.DataFrame({"doc_key": list(doc_keys)})
    with registered(con, "doomed_keys", keys):
        con.execute(f"DELETE FROM {_quote(table)} WHERE {_quote(key)} IN (SELECT doc_key FROM doomed_keys)")


# Rows of a table one slice of `delete_scattered` reaches: ~33 row groups of DuckDB's 122,880.
DELETE_SLICE_ROWS = 4_000_000


def delete_scattered(
    con: duckdb.DuckDBPyConnection,
    table: str,
    column: str,
    values: Sequence[object],
    slice_rows: int = DELETE_SLICE_ROWS,
) -> int:
    """DELETE FROM table WHERE column IN values, for rows spread over the whole table (the
    pages a run deleted): a slice of `slice_rows` rows at a time, each slice its own
    transaction, followed by a checkpoint when it deleted rows. Returns the rows deleted.

    Rows deleted from a table keep the row groups they were in loaded until a checkpoint
    (see `checkpoint`), and deleted pages have rows in nearly every row group: one
    transaction over every analysis table held all of them, and a 1% rerun at 1,000,000
    pages failed at the 192 MB batch limit forgetting its 4,961 deleted pages (the bands
    table alone held ~180 MB; by slices of 4,000,000 rows, under 120 MB).

    Slices go from the table's end to its start: a checkpoint that compacts a slice's row
    groups renumbers only the rows after them, which are done. A last pass deletes any row
    left anyway. Not atomic across slices: a caller stopped midway must be able to run it
    again (see warehouse.loads.forget_documents)."""
    if len(values) == 0:
        return 0
    name = _quote(table)
    with registered(con, "doomed_values", pd.DataFrame({"value": list(values)})):
        condition = f"{_quote(column)} IN (SELECT value FROM doomed_values)"
        ((end,),) = con.execute(f"SELECT coalesce(max(rowid) + 1, 0) FROM {name}").fetchall()
        deleted = 0
        for start in range((end - 1) // slice_rows * slice_rows, -1, -slice_rows):
            with transaction(con):
                ((count,),) = con.execute(
                    f"DELETE FROM {name} WHERE rowid >= ? AND rowid < ? AND {condition}",
                    [start, start + slice_rows],
                ).fetchall()
            if count:
                checkpoint(con)
                deleted += count
        ((left,),) = con.execute(f"SELECT count(*) FROM {name} WHERE {condition}").fetchall()
        if left:
            with transaction(con):
                con.execute(f"DELETE FROM {name} WHERE {condition}")
            checkpoint(con)
    return deleted + left


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def shared_value_chunks(
    con: duckdb.DuckDBPyConnection, table: str, groups: str, chunk_pages: int
) -> Iterator[int]:
    """Chunks of whole groups for site-wide checks that read only the pages sharing a value.

    groups: a query of (value, pages), one row per value held by two or more pages. Its
    values are numbered into chunks of about `chunk_pages` pages, in the order of a hash of
    the value, each group in the chunk where it starts (so a chunk holds fewer than
    `chunk_pages` pages plus its last group, never split), into the temporary table `table`
    (value, chunk). Yields each chunk number, for the caller to read the pages of
    `SELECT value FROM table WHERE chunk = ...`; the table is dropped at the end."""
    if chunk_pages < 1:
        raise ValueError(f"chunk_pages must be at least 1, not {chunk_pages}")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {table} AS
        SELECT value, (sum(pages) OVER (ORDER BY hash(value), value ROWS UNBOUNDED PRECEDING) - pages) // $chunk
                   AS chunk
        FROM ({groups})
        """,
        {"chunk": chunk_pages},
    )
    try:
        chunks = [
            row[0] for row in con.execute(f"SELECT DISTINCT chunk FROM {table} ORDER BY chunk").fetchall()
        ]
        yield from chunks
    finally:
        # In a transaction a failed statement aborted, DROP fails too: that error must surface.
        with suppress(duckdb.TransactionException):
            con.execute(f"DROP TABLE IF EXISTS {table}")
