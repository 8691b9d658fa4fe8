"""The site checks' duplicate-metadata findings, found a bounded chunk of pages at a time.

`metadata_keys` holds, per scored page, a hash of its SEO title, meta description and title
as the duplicate-metadata rules compare them (transforms.seo.metadata_keys). Pages with
equal values have equal keys, so the pages sharing a key are every page a rule needs to see
together; a key held by one page alone cannot make a finding, and its page is never read.
The grouping is SQL; the words of a finding come from transforms.seo.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress

import duckdb
import pandas as pd

from warehouse.store import insert_frame, registered, shared_value_chunks

KEY_COLUMNS = {"seo_title": "seo_title_key", "meta_description": "meta_description_key", "title": "title_key"}
_CHUNKED = "__metadata_key_chunks"
_SHARED = "__pages_sharing_metadata"
SITE_CHUNK_PAGES = 100_000  # pages a duplicate-metadata check holds at once, about


def store_shared_value_findings(
    con: duckdb.DuckDBPyConnection,
    column: str,
    wording: Callable[[pd.DataFrame], pd.DataFrame],
    chunk_pages: int,
) -> int:
    """Add to seo_findings (scope 'site') a finding for every live page whose key for
    `column` another live page shares; returns how many. Grouped here, about `chunk_pages`
    pages at a time (whole groups, in the order of a hash of the key): per page, its group's
    size and its example page (the group's first page by doc_key; the first page's is the
    second). What a finding says comes from `wording`, called once per chunk with that
    chunk's distinct (`value`, `pages`) and returning them with `rule`, `severity`,
    `detail_before` and `detail_after` (transforms.seo.shared_value_wording): the detail is
    detail_before, the example's doc_key, then detail_after. Only the distinct values reach
    Python, not the findings (at 1,000,000 generated pages the three rules make ~2 million).

    Pages are grouped by their 64-bit keys: two different values would share a group only
    if their keys collided (a chance of about n^2 / 2^65 among n distinct values: 3e-8 at a
    million)."""
    key = KEY_COLUMNS[column]
    groups = f"""
        SELECT m.{key} AS value, count(*) AS pages
        FROM metadata_keys m JOIN documents d USING (doc_key)
        WHERE d.deleted_run IS NULL AND m.{key} IS NOT NULL
        GROUP BY m.{key} HAVING count(*) >= 2
    """
    stored = 0
    try:
        for chunk in shared_value_chunks(con, _CHUNKED, groups, chunk_pages):
            con.execute(
                f"""
                CREATE OR REPLACE TEMP TABLE {_SHARED} AS
                SELECT d.doc_key, d.{column} AS value, count(*) OVER by_key AS pages,
                       CASE WHEN row_number() OVER in_order = 1 THEN lead(d.doc_key) OVER in_order
                            ELSE first_value(d.doc_key) OVER in_order END AS example
                FROM documents d
                JOIN metadata_keys m USING (doc_key)
                JOIN {_CHUNKED} c ON c.value = m.{key}
                WHERE d.deleted_run IS NULL AND c.chunk = $chunk
                WINDOW by_key AS (PARTITION BY m.{key}),
                       in_order AS (PARTITION BY m.{key} ORDER BY d.doc_key)
                """,
                {"chunk": chunk},
            )
            shared = con.execute(f"SELECT DISTINCT value, pages FROM {_SHARED}").df()
            with registered(con, "shared_value_wording", wording(shared)):
                ((count,),) = con.execute(
                    f"""
                    INSERT INTO seo_findings (doc_key, rule, severity, detail, scope)
                    SELECT s.doc_key, w.rule, w.severity, w.detail_before || s.example || w.detail_after, 'site'
                    FROM {_SHARED} s JOIN shared_value_wording w USING (value, pages)
                    """
                ).fetchall()
            stored += count
    finally:
        # In a transaction a failed statement aborted, DROP fails too: that error must surface.
        with suppress(duckdb.TransactionException):
            con.execute(f"DROP TABLE IF EXISTS {_SHARED}")
    return stored


def pages_without_keys(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Live pages with no metadata_keys row: scored before the table existed."""
    return [
        row[0]
        for row in con.execute(
            """
            SELECT doc_key FROM documents
            WHERE deleted_run IS NULL AND doc_key NOT IN (SELECT doc_key FROM metadata_keys)
            ORDER BY doc_key
            """
        ).fetchall()
    ]


def store_keys(con: duckdb.DuckDBPyConnection, keys: pd.DataFrame) -> int:
    """Add rows for pages that have none (see pages_without_keys)."""
    return insert_frame(con, "metadata_keys", keys)
