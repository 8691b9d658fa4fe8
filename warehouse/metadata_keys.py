"""The pages that share a metadata value, a bounded chunk at a time, for the site checks.

`metadata_keys` holds, per scored page, a hash of its SEO title, meta description and title
as the duplicate-metadata rules compare them (transforms.seo.metadata_keys). Pages with
equal values have equal keys, so the pages sharing a key are every page a rule needs to see
together; a key held by one page alone cannot make a finding, and its page is never read.
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pandas as pd

from warehouse.store import insert_frame, shared_value_chunks

KEY_COLUMNS = {"seo_title": "seo_title_key", "meta_description": "meta_description_key", "title": "title_key"}
_CHUNKED = "__metadata_key_chunks"
SITE_CHUNK_PAGES = 100_000  # pages a duplicate-metadata check holds at once, about


def pages_sharing_values(
    con: duckdb.DuckDBPyConnection, column: str, chunk_pages: int
) -> Iterator[pd.DataFrame]:
    """Frames of doc_key and `column` of the live pages whose key for `column` another live
    page shares, about `chunk_pages` pages a frame: the keys' groups in the order of a hash,
    each in the frame where it starts, so a frame holds fewer than `chunk_pages` pages plus
    its last group (never split). Every page of a key is in the same frame, so the site
    rule checks each frame alone."""
    key = KEY_COLUMNS[column]
    groups = f"""
        SELECT m.{key} AS value, count(*) AS pages
        FROM metadata_keys m JOIN documents d USING (doc_key)
        WHERE d.deleted_run IS NULL AND m.{key} IS NOT NULL
        GROUP BY m.{key} HAVING count(*) >= 2
    """
    for chunk in shared_value_chunks(con, _CHUNKED, groups, chunk_pages):
        yield con.execute(
            f"""
            SELECT d.doc_key, d.{column}
            FROM documents d
            JOIN metadata_keys m USING (doc_key)
            JOIN {_CHUNKED} c ON c.value = m.{key}
            WHERE d.deleted_run IS NULL AND c.chunk = $chunk
            """,
            {"chunk": chunk},
        ).df()


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
