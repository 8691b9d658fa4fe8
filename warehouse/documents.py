"""The `documents` table: incremental upserts keyed by doc_key, deletions kept as history."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from transforms.ingest import ERROR_FRAME_COLUMNS
from warehouse.store import registered

DOCUMENT_SCHEMA = pa.schema(
    [
        ("doc_key", pa.string()),
        ("source_id", pa.string()),
        ("subject", pa.string()),
        ("subject_key", pa.string()),
        ("title", pa.string()),
        ("seo_title", pa.string()),
        ("meta_description", pa.string()),
        ("keywords", pa.list_(pa.string())),
        ("question", pa.string()),
        ("body_markdown", pa.string()),
        ("body_text", pa.string()),
        ("url", pa.string()),
        ("file_name", pa.string()),
        ("published_date", pa.date32()),
        ("author", pa.string()),
        ("content_hash", pa.string()),
        ("file_size", pa.int64()),
        ("file_mtime_ns", pa.int64()),
    ]
)


def files_to_read(
    con: duckdb.DuckDBPyConnection, files: pa.Table, trust_file_stat: bool
) -> tuple[pd.DataFrame, int]:
    """Split the scanned files (doc_key, file_size, file_mtime_ns) into those to read, by
    doc_key (doc_key, file_size, file_mtime_ns, known_hash: the stored content hash, so that
    a file whose bytes did not change is still recognised as unchanged), and the number left
    unread: a live document's file with the stored size and mtime (when trust_file_stat),
    unchanged and with nothing to store (a document marked to be parsed again, PARSE_AGAIN,
    matches no file).

    Compared in DuckDB: at 400,000 pages the stored states as a frame, merged with the scan
    in pandas, took the flow process from ~210 to ~680 MB at its peak before any page was
    read (a 1% rerun's), and the unchanged files' rows went on to a batch that rewrote their
    size and mtime with the same values."""
    with registered(con, "scanned", files.select(["doc_key", "file_size", "file_mtime_ns"])):
        to_read = con.execute(
            """
            SELECT f.doc_key, f.file_size, f.file_mtime_ns, d.content_hash AS known_hash
            FROM scanned f
            LEFT JOIN (SELECT doc_key, content_hash, file_size, file_mtime_ns FROM documents
                       WHERE deleted_run IS NULL) d USING (doc_key)
            WHERE NOT coalesce($trust AND d.file_size = f.file_size AND d.file_mtime_ns = f.file_mtime_ns, false)
            ORDER BY f.doc_key
            """,
            {"trust": trust_file_stat},
        ).df()
    return to_read, files.num_rows - len(to_read)


# A page the next run must parse again (a parser fix, in a migration; a new field mapping or a
# full refresh, mark_parse_again) keeps its content hash behind this prefix: no file matches
# it, so it is read and parsed, and the upsert still knows its bytes did not change (counted
# as unchanged, last_changed_run kept). The mark is on each row until a run has parsed it:
# a run stopped midway leaves the rest marked for the next.
PARSE_AGAIN = "parse-again:"


def mark_parse_again(con: duckdb.DuckDBPyConnection) -> None:
    """Mark every live document to be read and parsed again by the next ingest."""
    con.execute(
        "UPDATE documents SET content_hash = $again || content_hash, file_mtime_ns = NULL "
        "WHERE deleted_run IS NULL AND NOT starts_with(content_hash, $again)",
        {"again": PARSE_AGAIN},
    )


def upsert_documents(con: duckdb.DuckDBPyConnection, run_id: int, documents: pd.DataFrame) -> dict[str, int]:
    """New documents inserted, changed ones replaced by their new version; returns the
    counts of each, and of the documents parsed again from unchanged bytes (docs_parsed_again,
    see PARSE_AGAIN): they are replaced too, keeping the run their content last changed.

    A document whose file had been deleted and came back counts as new again. A changed
    document's row is deleted and its new version appended, never updated in place: an
    in-place UPDATE of the body columns makes the next checkpoint rewrite those columns for
    the whole table (at 100,000 pages, 1% of the bodies updated in place: a 2.4-3.2 s
    checkpoint; deleted and appended: 0.06-0.26 s). An UPDATE that also sets the `keywords`
    list, as this function did before, is carried out by DuckDB as a delete and an insert
    anyway (its final checkpoint in a 1% rerun was the same, ~1 s either way); spelled out
    here, the cost no longer depends on which columns an update happens to touch.
    """
    if documents.empty:
        return {"docs_new": 0, "docs_changed": 0, "docs_parsed_again": 0}
    table = pa.Table.from_pandas(
        documents[DOCUMENT_SCHEMA.names], schema=DOCUMENT_SCHEMA, preserve_index=False
    )
    names = ", ".join(DOCUMENT_SCHEMA.names)
    with registered(con, "incoming", table):
        versions = con.sql(
            f"""
            SELECT {", ".join("i." + c for c in DOCUMENT_SCHEMA.names)},
                   CASE WHEN d.doc_key IS NULL OR d.deleted_run IS NOT NULL THEN $run
                        ELSE d.first_seen_run END AS first_seen_run,
                   d.doc_key IS NULL OR d.deleted_run IS NOT NULL AS is_new,
                   NOT is_new AND d.content_hash = $again || i.content_hash AS is_parsed_again,
                   CASE WHEN is_parsed_again THEN d.last_changed_run ELSE $run END AS last_changed_run
            FROM incoming i LEFT JOIN documents d USING (doc_key)
            """,
            params={"run": run_id, "again": PARSE_AGAIN},
        ).to_arrow_table()
    new = pc.sum(versions["is_new"]).as_py() or 0
    parsed_again = pc.sum(versions["is_parsed_again"]).as_py() or 0
    changed = len(versions) - new - parsed_again
    with registered(con, "document_versions", versions):
        con.execute("DELETE FROM documents WHERE doc_key IN (SELECT doc_key FROM document_versions)")
        con.execute(
            f"INSERT INTO documents ({names}, first_seen_run, last_changed_run) "
            f"SELECT {names}, first_seen_run, last_changed_run FROM document_versions"
        )
        if parsed_again:
            # Their scores were made from the earlier parse, with the same content hash: stale
            # now, so that a run stopped before it loads the new ones scores them later.
            con.execute(
                "UPDATE readability SET content_hash = NULL "
                "WHERE doc_key IN (SELECT doc_key FROM document_versions WHERE is_parsed_again)"
            )
    return {"docs_new": int(new), "docs_changed": int(changed), "docs_parsed_again": int(parsed_again)}


def touch_unchanged(con: duckdb.DuckDBPyConnection, unchanged: pd.DataFrame) -> None:
    """Files re-read because their size or mtime moved, with the same bytes: store the new stat."""
    if unchanged.empty:
        return
    with registered(con, "touched", unchanged[["doc_key", "file_size", "file_mtime_ns"]]):
        con.execute(
            "UPDATE documents SET file_size = t.file_size, file_mtime_ns = t.file_mtime_ns "
            "FROM touched t WHERE documents.doc_key = t.doc_key"
        )


def record_errors(con: duckdb.DuckDBPyConnection, run_id: int, errors: pd.DataFrame) -> None:
    """Quarantine rows; a file that had a good version keeps it and says so.

    The live versions are looked up with a semi-join on the batch's paths: a correlated
    EXISTS made DuckDB join every document with the batch (~11 ms a batch at 100,000
    pages, against ~3 ms), a cost that grew with the site in every batch."""
    if errors.empty:
        return
    with registered(con, "bad", errors.reindex(columns=list(ERROR_FRAME_COLUMNS))):
        con.execute(
            """
            INSERT INTO ingest_errors (run_id, path, error_kind, message, content_hash,
                                       kept_previous_version, file_size, file_mtime_ns)
            SELECT ?, b.path, b.error_kind, b.message, b.content_hash::VARCHAR,
                   b.path IN (SELECT doc_key FROM documents
                              WHERE deleted_run IS NULL AND doc_key IN (SELECT path FROM bad)),
                   b.file_size::BIGINT, b.file_mtime_ns::BIGINT
            FROM bad b
            """,
            [run_id],
        )


def quarantined_file_states(con: duckdb.DuckDBPyConnection, run_id: int) -> pd.DataFrame:
    """Files the run before run_id read and quarantined for their bytes: path, error_kind,
    message, content_hash, file_size, file_mtime_ns (unreadable and skipped files, which
    have no hash, are left out: they are tried again every run)."""
    return con.execute(
        """
        SELECT path, error_kind, message, content_hash, file_size, file_mtime_ns
        FROM ingest_errors
        WHERE run_id = (SELECT max(run_id) FROM runs WHERE run_id < ?)
          AND content_hash IS NOT NULL AND file_size IS NOT NULL AND file_mtime_ns IS NOT NULL
        """,
        [run_id],
    ).df()


def mark_deleted(
    con: duckdb.DuckDBPyConnection, run_id: int, present: Sequence[str] | pa.Array | pa.ChunkedArray
) -> list[str]:
    """Live documents whose file is no longer in the folder get deleted_run; returns their keys."""
    keys = (
        present if isinstance(present, pa.Array | pa.ChunkedArray) else pa.array(list(present), pa.string())
    )
    with registered(con, "present", pa.table({"doc_key": keys})):
        gone = [
            r[0]
            for r in con.execute(
                "SELECT doc_key FROM documents WHERE deleted_run IS NULL "
                "AND doc_key NOT IN (SELECT doc_key FROM present)"
            ).fetchall()
        ]
        con.execute(
            "UPDATE documents SET deleted_run = ? WHERE deleted_run IS NULL "
            "AND doc_key NOT IN (SELECT doc_key FROM present)",
            [run_id],
        )
    return gone


def deleted_with_rows(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Deleted documents that still have a readability row or a duplicate-index signature:
    the run's own deletions, and any a run stopped before it had forgotten them
    (warehouse.loads.forget_documents)."""
    return [
        r[0]
        for r in con.execute(
            """
            SELECT doc_key FROM documents WHERE deleted_run IS NOT NULL
              AND (doc_key IN (SELECT doc_key FROM readability)
                   OR doc_key IN (SELECT doc_key FROM minhash_signatures))
            ORDER BY doc_key
            """
        ).fetchall()
    ]


def stale_documents(con: duckdb.DuckDBPyConnection, table: str, everything: bool = False) -> list[str]:
    """Live documents whose row in `table` is missing or was computed from other content
    (all live documents when `everything`)."""
    return [
        r[0]
        for r in con.execute(
            f"""
        SELECT d.doc_key FROM documents d
        LEFT JOIN (SELECT DISTINCT doc_key, content_hash AS h FROM {table}) t ON t.doc_key = d.doc_key
        WHERE d.deleted_run IS NULL AND (t.h IS NULL OR t.h <> d.content_hash OR ?)
        ORDER BY d.doc_key
        """,
            [everything],
        ).fetchall()
    ]


def documents_frame(
    con: duckdb.DuckDBPyConnection,
    doc_keys: Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
    ordered: bool = True,
) -> pd.DataFrame:
    """Live documents (all, or these keys) as a frame, by doc_key unless not `ordered`
    (all pages unordered: at 400,000 pages DuckDB's sort left the process ~140 MB larger)."""
    cols = ", ".join(columns) if columns else "*"
    if doc_keys is None:
        order = " ORDER BY doc_key" if ordered else ""
        return con.execute(f"SELECT {cols} FROM documents WHERE deleted_run IS NULL{order}").df()
    with registered(con, "wanted", pd.DataFrame({"doc_key": list(doc_keys)}, dtype="string")):
        return con.execute(
            f"SELECT {cols} FROM documents WHERE deleted_run IS NULL "
            "AND doc_key IN (SELECT doc_key FROM wanted) ORDER BY doc_key"
        ).df()


def live_page_count(con: duckdb.DuckDBPyConnection) -> int:
    """Documents not deleted."""
    return con.execute("SELECT count(*) FROM documents WHERE deleted_run IS NULL").fetchone()[0]


def distinct_main_keywords(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The distinct main keywords (page_keywords) of the live pages, sorted."""
    rows = con.execute(
        """
        SELECT DISTINCT k.main_keyword
        FROM documents d JOIN page_keywords k USING (doc_key)
        WHERE d.deleted_run IS NULL AND k.main_keyword IS NOT NULL
        ORDER BY 1
        """
    ).fetchall()
    return [keyword for (keyword,) in rows]
