"""Loading one batch's results: each call is one transaction, so a batch lands whole or not at all."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import duckdb
import pandas as pd

from transforms.analysis import PageAnalysis
from transforms.ingest import IngestBatch
from warehouse import duplicate_index
from warehouse.documents import record_errors, touch_unchanged, upsert_documents
from warehouse.runs import record_batch
from warehouse.store import delete_documents, insert_frame, replace_rows, transaction

PAGE_ANALYSIS_TABLES = ("readability", "keyword_coverage", "page_keywords")


def load_ingest_batch(con: duckdb.DuckDBPyConnection, run_id: int, batch_no: int, batch: IngestBatch) -> dict:
    with transaction(con):
        counts = upsert_documents(con, run_id, batch.documents)
        touch_unchanged(con, batch.unchanged)
        record_errors(con, run_id, batch.errors)
        counts.update(
            files_seen=batch.files_seen,
            docs_unchanged=len(batch.unchanged),
            files_quarantined=len(batch.errors),
        )
        record_batch(con, run_id, batch_no, counts)
    return counts


def load_page_analysis(con: duckdb.DuckDBPyConnection, run_id: int, analysis: PageAnalysis) -> None:
    """Replace every per-page analysis row of the analysed documents.

    Rows are deleted only for documents scored before: every analysis table is written
    here and emptied by `forget_documents` in one transaction each, so a document without
    a readability row has no rows anywhere, and a first run deletes nothing (each delete
    scans its whole table: 1.5-2.5 s of a 100,000-page first run).
    """
    keys = analysis.readability["doc_key"].tolist()
    with transaction(con):
        scored = _scored_before(con, keys)
        replace_rows(con, "readability", analysis.readability, scored, {"scored_run": run_id})
        replace_rows(con, "keyword_coverage", analysis.keyword_coverage, scored)
        replace_rows(con, "page_keywords", analysis.page_keywords, scored)
        if scored:
            con.execute(
                "DELETE FROM seo_findings WHERE scope = 'page' AND doc_key IN (SELECT unnest(?))", [scored]
            )
        insert_frame(con, "seo_findings", analysis.seo_findings)
        duplicate_index.store_signatures(
            con, analysis.fingerprints, analysis.signatures, analysis.bands, indexed=scored
        )


def _scored_before(con: duckdb.DuckDBPyConnection, doc_keys: Sequence[str]) -> list[str]:
    rows = con.execute("SELECT doc_key FROM readability WHERE doc_key IN (SELECT unnest(?))", [doc_keys])
    return [key for (key,) in rows.fetchall()]


def forget_documents(con: duckdb.DuckDBPyConnection, doc_keys: Sequence[str]) -> None:
    """Deleted pages leave every analysis table (their documents row stays, marked deleted)."""
    if not doc_keys:
        return
    with transaction(con):
        for table in (*PAGE_ANALYSIS_TABLES, "seo_findings"):
            delete_documents(con, table, doc_keys)
        duplicate_index.remove_documents(con, doc_keys)


def replace_site_findings(
    con: duckdb.DuckDBPyConnection, findings: Iterable[pd.DataFrame], cannibalisation: pd.DataFrame
) -> int:
    """The site-wide SEO findings (frames stored one by one, in one transaction with the
    cannibalisation rows) replace the previous ones; returns how many findings were stored."""
    stored = 0
    with transaction(con):
        con.execute("DELETE FROM seo_findings WHERE scope = 'site'")
        for frame in findings:
            insert_frame(con, "seo_findings", frame.assign(scope="site"))
            stored += len(frame)
        con.execute("DELETE FROM keyword_cannibalisation")
        insert_frame(con, "keyword_cannibalisation", cannibalisation)
    return stored
