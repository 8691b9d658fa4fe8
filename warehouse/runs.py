"""The `runs` table: one row per pipeline run, with counts that reconcile."""

from __future__ import annotations

import os
import socket

import duckdb
import pandas as pd

from content_audit.faults import maybe_die
from warehouse.store import transaction


def abandon_stale_runs(con: duckdb.DuckDBPyConnection) -> int:
    """Runs still 'running' while we hold the lock died without finishing (SIGKILL, power)."""
    with transaction(con):
        stale = con.execute("SELECT count(*) FROM runs WHERE status = 'running'").fetchone()[0]
        con.execute(
            "UPDATE runs SET status = 'abandoned', finished_at = now(), "
            "message = 'process ended before the run finished; the next run took over' "
            "WHERE status = 'running'"
        )
    return int(stale)


def start_run(con: duckdb.DuckDBPyConnection, content_dir: str, prefect_flow_run_id: str | None) -> int:
    with transaction(con):
        run_id = con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM runs").fetchone()[0]
        con.execute(
            "INSERT INTO runs (run_id, started_at, status, content_dir, pid, hostname, prefect_flow_run_id) "
            "VALUES (?, now(), 'running', ?, ?, ?, ?)",
            [run_id, content_dir, os.getpid(), socket.gethostname(), prefect_flow_run_id],
        )
    return int(run_id)


def record_batch(con: duckdb.DuckDBPyConnection, run_id: int, batch_no: int, counts: dict[str, int]) -> None:
    """Counts of one ingest batch; called inside the batch's own transaction."""
    con.execute(
        "INSERT INTO run_batches VALUES (?, ?, ?, ?, ?, ?, ?, now())",
        [
            run_id,
            batch_no,
            counts["files_seen"],
            counts["docs_new"],
            counts["docs_changed"],
            counts["docs_unchanged"],
            counts["files_quarantined"],
        ],
    )
    maybe_die(f"ingest-batch-{batch_no}-uncommitted")  # crash-safety test seam


def finish_run(con: duckdb.DuckDBPyConnection, run_id: int, status: str, message: str | None = None) -> None:
    """Close the run, summing its batches' counts."""
    with transaction(con):
        con.execute(
            """
            UPDATE runs SET
                finished_at = now(), status = ?, message = ?,
                files_seen = totals.files_seen, docs_new = totals.docs_new,
                docs_changed = totals.docs_changed, docs_unchanged = totals.docs_unchanged,
                files_quarantined = totals.files_quarantined,
                docs_deleted = (SELECT count(*) FROM documents WHERE deleted_run = ?)
            FROM (
                SELECT coalesce(sum(files_seen), 0) AS files_seen, coalesce(sum(docs_new), 0) AS docs_new,
                       coalesce(sum(docs_changed), 0) AS docs_changed,
                       coalesce(sum(docs_unchanged), 0) AS docs_unchanged,
                       coalesce(sum(files_quarantined), 0) AS files_quarantined
                FROM run_batches WHERE run_id = ?
            ) AS totals
            WHERE runs.run_id = ?
            """,
            [status, message, run_id, run_id, run_id],
        )


def unfinished_site_analysis(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Documents scored by runs that died (or failed) after the last completed run.

    Their page analysis committed batch by batch, so the next run does not see them as
    stale, but the dead run never reached the site-wide step (duplicate pairs against
    the other pages): that step must treat them as changed.
    """
    rows = con.execute(
        """
        SELECT doc_key FROM readability WHERE scored_run IN (
            SELECT run_id FROM runs WHERE status IN ('abandoned', 'failed')
              AND run_id > (SELECT coalesce(max(run_id), 0) FROM runs WHERE status = 'completed'))
        ORDER BY doc_key
        """
    ).fetchall()
    return [r[0] for r in rows]


def scored_in_run(con: duckdb.DuckDBPyConnection, run_id: int) -> list[str]:
    """Documents whose page analysis this run computed (its new and changed pages, and pages
    parsed again from the same bytes)."""
    rows = con.execute("SELECT doc_key FROM readability WHERE scored_run = ? ORDER BY doc_key", [run_id])
    return [r[0] for r in rows.fetchall()]


def pages_changed_since_last_completed_run(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether any document was added, changed or deleted after the last completed run (by
    this run or by runs that died), or no run completed yet. False: the site-wide results
    (duplicate metadata, cannibalisation, duplicate pages) of that run still hold."""
    row = con.execute(
        """
        WITH last AS (SELECT max(run_id) AS run_id FROM runs WHERE status = 'completed')
        SELECT (SELECT run_id FROM last) IS NULL OR EXISTS (
            SELECT 1 FROM documents, last
            WHERE first_seen_run > last.run_id OR last_changed_run > last.run_id
               OR deleted_run > last.run_id
        )
        """
    ).fetchone()
    return bool(row[0])


def run_summary(con: duckdb.DuckDBPyConnection, run_id: int) -> dict:
    """The runs row as a dict; `warnings` a list (empty when the run warned of nothing)."""
    frame = con.execute("SELECT * FROM runs WHERE run_id = ?", [run_id]).df()
    if frame.empty:
        return {}
    summary = frame.iloc[0].to_dict()
    warnings = summary.get("warnings")
    summary["warnings"] = [] if warnings is None else list(warnings)
    return summary


def record_warning(con: duckdb.DuckDBPyConnection, run_id: int, warning: str) -> None:
    """Keep a warning with the run (runs.warnings)."""
    con.execute(
        "UPDATE runs SET warnings = list_append(coalesce(warnings, []::VARCHAR[]), ?) WHERE run_id = ?",
        [warning, run_id],
    )


def run_warnings(con: duckdb.DuckDBPyConnection, run_id: int) -> list[str]:
    """What the run warned of, in the order it did (none on a warehouse `content-audit
    report` reads before a run has brought its schema to migration 0022)."""
    cursor = con.execute("SELECT * FROM runs WHERE run_id = ?", [run_id])
    row = cursor.fetchone()
    columns = [column[0] for column in cursor.description]
    if row is None or "warnings" not in columns:
        return []
    return list(row[columns.index("warnings")] or [])


def quarantine_reasons(con: duckdb.DuckDBPyConnection, run_id: int, limit: int = 3) -> pd.DataFrame:
    """The run's most frequent quarantine reasons: error_kind, message, files (most first)."""
    return con.execute(
        """
        SELECT error_kind, message, count(*) AS files FROM ingest_errors WHERE run_id = ?
        GROUP BY ALL ORDER BY files DESC, error_kind, message LIMIT ?
        """,
        [run_id, limit],
    ).df()


def previous_completed_run(con: duckdb.DuckDBPyConnection, run_id: int) -> int | None:
    row = con.execute(
        "SELECT max(run_id) FROM runs WHERE status = 'completed' AND run_id < ?", [run_id]
    ).fetchone()
    return None if row[0] is None else int(row[0])
