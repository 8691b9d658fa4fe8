"""Loading one batch's results: each call is one transaction, so a batch lands whole or not at all."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence

import duckdb
import pandas as pd

from content_audit.faults import maybe_die
from transforms.analysis import PageAnalysis
from transforms.ingest import IngestBatch
from warehouse import duplicate_index
from warehouse.documents import record_errors, touch_unchanged, upsert_documents
from warehouse.metadata_keys import store_shared_value_findings
from warehouse.runs import record_batch
from warehouse.store import checkpoint, delete_scattered, insert_frame, registered, replace_rows, transaction

PAGE_ANALYSIS_TABLES = ("readability", "keyword_coverage", "page_keywords", "metadata_keys")


def load_ingest_batch(con: duckdb.DuckDBPyConnection, run_id: int, batch_no: int, batch: IngestBatch) -> dict:
    with transaction(con):
        counts = upsert_documents(con, run_id, batch.documents)
        touch_unchanged(con, batch.unchanged)
        record_errors(con, run_id, batch.errors)
        counts.update(
            files_seen=batch.files_seen,
            # pages parsed again from unchanged bytes are unchanged pages in the run's counts
            docs_unchanged=len(batch.unchanged) + batch.unread_unchanged + counts["docs_parsed_again"],
            files_quarantined=len(batch.errors),
        )
        record_batch(con, run_id, batch_no, counts)
    return counts


def load_page_analysis(con: duckdb.DuckDBPyConnection, run_id: int, analysis: PageAnalysis) -> None:
    """Replace every per-page analysis row of the analysed documents.

    Rows are deleted only for documents scored before: every analysis table is written
    here and emptied by `forget_documents` in one transaction each, so a document without
    a readability row has no rows anywhere, and a first run deletes nothing (each delete
    scans its whole table: 1.5-2.5 s of a 100,000-page first run). After a batch that
    deleted rows, a checkpoint releases the memory DuckDB holds for them (store.checkpoint):
    a 1% rerun at 400,000 pages otherwise failed after its eighth batch at the 192 MB limit.
    """
    keys = analysis.readability["doc_key"].tolist()
    with transaction(con):
        scored = _scored_before(con, keys)
        replace_rows(con, "readability", analysis.readability, scored, {"scored_run": run_id})
        replace_rows(con, "keyword_coverage", analysis.keyword_coverage, scored)
        replace_rows(con, "page_keywords", analysis.page_keywords, scored)
        replace_rows(con, "metadata_keys", analysis.metadata_keys, scored)
        if scored:
            con.execute(
                "DELETE FROM seo_findings WHERE scope = 'page' AND doc_key IN (SELECT unnest(?))", [scored]
            )
        insert_frame(con, "seo_findings", analysis.seo_findings)
        duplicate_index.store_signatures(
            con, analysis.fingerprints, analysis.signatures, analysis.bands, indexed=scored
        )
    if scored:  # their earlier rows were deleted (and their documents' old versions)
        checkpoint(con)


def _scored_before(con: duckdb.DuckDBPyConnection, doc_keys: Sequence[str]) -> list[str]:
    rows = con.execute("SELECT doc_key FROM readability WHERE doc_key IN (SELECT unnest(?))", [doc_keys])
    return [key for (key,) in rows.fetchall()]


def forget_documents(con: duckdb.DuckDBPyConnection, doc_keys: Sequence[str]) -> None:
    """Deleted pages leave the duplicate index and every analysis table (their documents row
    stays, marked deleted), table by table in slices, each slice committed and checkpointed
    (store.delete_scattered: in one transaction, a 1% rerun at 1,000,000 pages failed at
    the batch memory limit). readability goes last, so that a page without a readability
    row still has no rows anywhere; a run stopped midway leaves pages that
    `documents.deleted_with_rows` finds, and the next run forgets them again."""
    if not doc_keys:
        return
    duplicate_index.remove_documents(con, doc_keys)
    maybe_die("forget-deleted")
    for table in ("seo_findings", *reversed(PAGE_ANALYSIS_TABLES)):
        delete_scattered(con, table, "doc_key", doc_keys)


def replace_site_findings(
    con: duckdb.DuckDBPyConnection,
    columns: Iterable[str],
    wording: Callable[[str, pd.DataFrame], pd.DataFrame],
    main_keyword_keys: pd.DataFrame,
    chunk_pages: int,
) -> tuple[int, int]:
    """The site-wide SEO findings (duplicate values of each of `columns`, worded by
    `wording(column, shared values)`: see metadata_keys.store_shared_value_findings) and the
    keyword cannibalisation groups replace the previous ones, in one transaction; returns how
    many findings and how many cannibalisation rows (pages sharing a main keyword) were stored."""
    stored = 0
    with transaction(con):
        con.execute("DELETE FROM seo_findings WHERE scope = 'site'")
        for column in columns:
            stored += store_shared_value_findings(
                con, column, functools.partial(wording, column), chunk_pages
            )
        cannibalised = store_cannibalisation(con, main_keyword_keys)
    return stored, cannibalised


# transforms.keywords.shared_main_keywords over the live pages' stored main keywords, keyed
# by main_keyword_keys (main_keyword, main_keyword_key): one row per page of each group of two
# or more pages whose main keywords share a key, largest groups first. In SQL: at 400,000
# pages the rows built in pandas held ~130 MB of the flow process; the keys are 2,304 rows.
_CANNIBALISATION = """
    INSERT INTO keyword_cannibalisation (main_keyword_key, main_keyword, doc_key, subject_key, group_size)
    SELECT main_keyword_key, main_keyword, doc_key, subject_key, group_size FROM (
        SELECT m.main_keyword_key, k.main_keyword, d.doc_key,
               CASE WHEN trim(d.subject_key) = '' THEN NULL ELSE d.subject_key END AS subject_key,
               count(*) OVER (PARTITION BY m.main_keyword_key) AS group_size
        FROM documents d
        JOIN page_keywords k USING (doc_key)
        JOIN {keys} m ON m.main_keyword = k.main_keyword
        WHERE d.deleted_run IS NULL
    )
    WHERE group_size >= 2
    ORDER BY group_size DESC, main_keyword_key, doc_key
"""


def store_cannibalisation(con: duckdb.DuckDBPyConnection, main_keyword_keys: pd.DataFrame) -> int:
    """Replace the keyword_cannibalisation rows (see _CANNIBALISATION); returns their count."""
    con.execute("DELETE FROM keyword_cannibalisation")
    with registered(
        con, "main_keyword_keys", main_keyword_keys[["main_keyword", "main_keyword_key"]]
    ) as keys:
        con.execute(_CANNIBALISATION.format(keys=keys))
    return con.execute("SELECT count(*) FROM keyword_cannibalisation").fetchone()[0]
