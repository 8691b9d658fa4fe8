"""The duplicate index in DuckDB: signatures, LSH band join, pairs and clusters.

Every function executes SQL on the connection it is given and nothing else: the caller owns
connections and transactions (no commits here). Frames go in through Arrow registrations
(bulk inserts, never executemany: GUIDE measured ~30x).

Pairs follow two rules, so a run can be incremental: 'near' pairs are kept from earlier runs
unless one of their pages was changed, added or deleted (touched) in this run; 'exact' and
'title' pairs are kept unless one of their pages is touched or in a group (same exact hash,
title or question) that a touched page left or joined: `group_neighbourhood` finds those
pages (minhash_previous_groups holds the groups pages were in), and the pairs of their groups
are recomputed from the stored hashes.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, suppress

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from warehouse.store import delete_scattered, registered, shared_value_chunks, transaction

# A band bucket shared by more pages than this is boilerplate (stub or generated pages); pairing
# all of its members would be quadratic, and identical pages are found by exact_hash anyway.
MAX_BUCKET_SIZE = 1000
_registration_counter = itertools.count()
_PAIR_SCHEMA = pa.schema(
    [
        ("doc_key_a", pa.string()),
        ("doc_key_b", pa.string()),
        ("kind", pa.string()),
        ("similarity", pa.float64()),
    ]
)
_NEXT_PAIRS = "__duplicate_pairs_next"
_FOUND_PAIRS = "__duplicate_pairs_found"
_GROUP_CHUNKS = "__duplicate_group_chunks"
_CANDIDATE_IDS = "__duplicate_candidate_ids"
# Band rows a first run's band join takes at once (a group of bands): at 1,000,000 generated
# pages (31.8 million rows) the join of all bands at once failed at the 256 MB site limit
# when run alone on the warehouse (it passed inside the runs), a quarter at a time passed.
_BAND_ROWS_PER_JOIN = 8_000_000
# The values pages are grouped by for exact and title pairs (minhash_signatures columns).
GROUP_COLUMNS = ("exact_hash", "title_key", "question_key")
_REGROUPED = "__duplicate_regrouped"
# Candidate pairs (a query with signature ids id_a, id_b) as doc_key_a < doc_key_b, less
# those with equal exact hashes (a NULL hash, a text without words, equals none).
_EXCEPT_EXACT = """
    SELECT least(a.doc_key, b.doc_key) AS doc_key_a, greatest(a.doc_key, b.doc_key) AS doc_key_b
    FROM ({pairs}) c
    JOIN minhash_signatures a ON a.signature_id = c.id_a
    JOIN minhash_signatures b ON b.signature_id = c.id_b
    WHERE coalesce(a.exact_hash <> b.exact_hash, true)
"""


def _registered(con: duckdb.DuckDBPyConnection, data: pd.DataFrame | pa.Table) -> AbstractContextManager[str]:
    """Expose a frame to SQL under a fresh name for the duration of the block."""
    return registered(con, f"__duplicate_index_{next(_registration_counter)}", data)


def _keys_table(doc_keys: Sequence[str]) -> pa.Table:
    return pa.table({"doc_key": pa.array(list(doc_keys), type=pa.string())})


def _list_column(values: np.ndarray, arrow_type: pa.DataType) -> pa.ListArray:
    """A (n, width) matrix as an Arrow list column, without a Python object per value."""
    n, width = values.shape
    offsets = pa.array(np.arange(0, (n + 1) * width, width, dtype=np.int32))
    return pa.ListArray.from_arrays(
        offsets, pa.array(np.ascontiguousarray(values).reshape(-1), type=arrow_type)
    )


def store_signatures(
    con: duckdb.DuckDBPyConnection,
    frame: pd.DataFrame,
    signatures: np.ndarray | None = None,
    bands: np.ndarray | None = None,
    indexed: Sequence[str] | None = None,
) -> None:
    """Replace the index rows of frame's doc_keys.

    frame: doc_key, exact_hash, optional content_hash, title_key, question_key; signatures
    (n, num_perm) uint32 and bands (n, bands) uint64 aligned with frame rows (as returned by
    `fingerprint_documents`), or, when not given, frame columns `signature` and `band_hashes`
    holding one array or list per row.
    Band hash 0 means "no words" and is not stored, so empty pages never become candidates.
    indexed: the frame's doc_keys that may have index rows to replace (None: all of them).
    Each stored signature gets a new signature_id, which its band rows carry (one writer at a
    time: the warehouse lock).
    """
    if signatures is None:
        signatures = np.array([np.asarray(s, dtype=np.uint32) for s in frame["signature"]], dtype=np.uint32)
    if bands is None:
        bands = np.array([np.asarray(b, dtype=np.uint64) for b in frame["band_hashes"]], dtype=np.uint64)
    doc_keys = frame["doc_key"].astype(str).to_numpy()
    remove_from_index(con, doc_keys if indexed is None else indexed)
    ((first_id,),) = con.execute(
        "SELECT coalesce(max(signature_id), 0) + 1 FROM minhash_signatures"
    ).fetchall()
    signature_ids = np.arange(first_id, first_id + len(frame), dtype=np.uint64)
    missing = pd.Series([None] * len(frame), dtype=object)
    signature_rows = pa.table(
        {
            "signature_id": pa.array(signature_ids),
            "doc_key": pa.array(doc_keys, type=pa.string()),
            "content_hash": pa.array(frame.get("content_hash", missing).to_numpy(), type=pa.string()),
            "exact_hash": pa.array(frame["exact_hash"].to_numpy(), type=pa.string(), from_pandas=True),
            "title_key": pa.array(frame.get("title_key", missing), type=pa.uint64(), from_pandas=True),
            "question_key": pa.array(frame.get("question_key", missing), type=pa.uint64(), from_pandas=True),
            "signature": _list_column(signatures.reshape(len(frame), -1).astype(np.uint32), pa.uint32()),
        }
    )
    n_bands = bands.shape[1] if bands.ndim == 2 else 0
    flat_bands = bands.reshape(-1).astype(np.uint64)
    stored = flat_bands != 0
    band_rows = pa.table(
        {
            "signature_id": pa.array(np.repeat(signature_ids, n_bands)[stored]),
            "band": pa.array(np.tile(np.arange(n_bands, dtype=np.uint16), len(frame))[stored]),
            "band_hash": pa.array(flat_bands[stored]),
        }
    )
    with _registered(con, signature_rows) as rows:
        con.execute(
            "INSERT INTO minhash_signatures "
            "(signature_id, doc_key, content_hash, exact_hash, title_key, question_key, signature) "
            "SELECT signature_id, doc_key, content_hash, exact_hash, title_key, question_key, signature "
            f"FROM {rows}"
        )
    with _registered(con, band_rows) as rows:
        con.execute(f"INSERT INTO minhash_bands (signature_id, band, band_hash) SELECT * FROM {rows}")


def remove_from_index(con: duckdb.DuckDBPyConnection, doc_keys: Sequence[str]) -> None:
    """Drop the signatures and bands of these pages (before re-storing them), keeping the
    groups they were in for the next duplicate pass (minhash_previous_groups)."""
    if not len(doc_keys):
        return
    with _registered(con, _keys_table(doc_keys)) as keys:
        _keep_previous_groups(con, keys)
        con.execute(
            "DELETE FROM minhash_bands WHERE signature_id IN "
            f"(SELECT signature_id FROM minhash_signatures WHERE doc_key IN (SELECT doc_key FROM {keys}))"
        )
        con.execute(f"DELETE FROM minhash_signatures WHERE doc_key IN (SELECT doc_key FROM {keys})")


def _keep_previous_groups(con: duckdb.DuckDBPyConnection, keys: str) -> None:
    """The groups the pages in the registered `keys` are in now, unless already kept."""
    con.execute(
        f"""
        INSERT INTO minhash_previous_groups
        SELECT doc_key, exact_hash, title_key, question_key FROM minhash_signatures
        WHERE doc_key IN (SELECT doc_key FROM {keys})
          AND doc_key NOT IN (SELECT doc_key FROM minhash_previous_groups)
        """
    )


def remove_documents(con: duckdb.DuckDBPyConnection, doc_keys: Sequence[str]) -> None:
    """Deleted pages leave the index and their cluster rows: their groups kept first, then
    table by table in slices (store.delete_scattered), the signatures last, so that a run
    stopped midway leaves pages still indexed, which the next run removes again.

    Their pairs stay until the run's duplicate pass (`replace_pairs`), which finds the pages
    through them (`unindexed_pair_members`) even when the run that deleted them died before
    it got there. Clusters they were in are stale until `store_clusters` rebuilds them.
    """
    if not len(doc_keys):
        return
    with _registered(con, _keys_table(doc_keys)) as keys, transaction(con):
        _keep_previous_groups(con, keys)
        signature_ids = [
            row[0]
            for row in con.execute(
                f"SELECT signature_id FROM minhash_signatures WHERE doc_key IN (SELECT doc_key FROM {keys})"
            ).fetchall()
        ]
    delete_scattered(con, "minhash_bands", "signature_id", signature_ids)
    delete_scattered(con, "duplicate_clusters", "doc_key", doc_keys)
    delete_scattered(con, "minhash_signatures", "doc_key", doc_keys)


def unindexed_pair_members(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Pages named in stored pairs that are no longer in the index (deleted since)."""
    return [
        row[0]
        for row in con.execute(
            """
            SELECT doc_key FROM (
                SELECT doc_key_a AS doc_key FROM duplicate_pairs
                UNION SELECT doc_key_b FROM duplicate_pairs
            ) ANTI JOIN minhash_signatures USING (doc_key)
            ORDER BY doc_key
            """
        ).fetchall()
    ]


def group_neighbourhood(
    con: duckdb.DuckDBPyConnection, touched_doc_keys: Sequence[str] | None
) -> tuple[list[str] | None, pd.DataFrame]:
    """(regrouped, fingerprints): whose exact and title pairs to recompute, and from what.

    regrouped: the touched pages (changed, added, deleted) and every member of a group (same
    exact_hash, title_key or question_key) that one of them left or joined: its value before
    (minhash_previous_groups) differs from its value now. Other groups keep their members,
    so their sizes, stars and pairs stand, except pairs with a touched page. A touched page
    without a previous row that is in stored pairs (indexed before that table existed) adds
    its partners and their groups. fingerprints (as `load_fingerprints`): every indexed page
    sharing a group with a regrouped page, so each regrouped page's groups are complete.
    touched_doc_keys None (first run): (None, every page's fingerprints).
    """
    if touched_doc_keys is None:
        return None, load_fingerprints(con)
    with _registered(con, _keys_table(touched_doc_keys)) as touched:
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE {_REGROUPED} AS
            WITH moves AS (
                SELECT t.doc_key, b.doc_key IS NULL AS no_previous,
                       b.exact_hash AS exact_before, a.exact_hash AS exact_after,
                       b.title_key AS title_before, a.title_key AS title_after,
                       b.question_key AS question_before, a.question_key AS question_after
                FROM {touched} t
                LEFT JOIN minhash_previous_groups b USING (doc_key)
                LEFT JOIN minhash_signatures a USING (doc_key)
            ),
            moved AS (  -- group values whose membership changed
                SELECT unnest([exact_before, exact_after]) AS exact_hash, NULL::UBIGINT AS title_key,
                       NULL::UBIGINT AS question_key
                FROM moves WHERE exact_before IS DISTINCT FROM exact_after
                UNION ALL
                SELECT NULL, unnest([title_before, title_after]), NULL
                FROM moves WHERE title_before IS DISTINCT FROM title_after
                UNION ALL
                SELECT NULL, NULL, unnest([question_before, question_after])
                FROM moves WHERE question_before IS DISTINCT FROM question_after
            ),
            partners AS (  -- of touched pages whose previous groups are unknown
                SELECT doc_key_b AS doc_key FROM duplicate_pairs
                WHERE doc_key_a IN (SELECT doc_key FROM moves WHERE no_previous)
                UNION SELECT doc_key_a FROM duplicate_pairs
                WHERE doc_key_b IN (SELECT doc_key FROM moves WHERE no_previous)
            ),
            partner_groups AS (
                SELECT exact_hash, title_key, question_key FROM minhash_signatures
                WHERE doc_key IN (SELECT doc_key FROM partners)
            )
            SELECT doc_key FROM {touched}
            UNION SELECT doc_key FROM partners
            UNION SELECT doc_key FROM minhash_signatures
            WHERE exact_hash IN (SELECT exact_hash FROM moved UNION ALL SELECT exact_hash FROM partner_groups)
               OR title_key IN (SELECT title_key FROM moved UNION ALL SELECT title_key FROM partner_groups)
               OR question_key IN (
                   SELECT question_key FROM moved UNION ALL SELECT question_key FROM partner_groups
               )
            """
        )
    fingerprints = con.execute(
        f"""
        WITH member_groups AS (
            SELECT exact_hash, title_key, question_key FROM minhash_signatures
            WHERE doc_key IN (SELECT doc_key FROM {_REGROUPED})
        )
        SELECT doc_key, exact_hash, title_key, question_key FROM minhash_signatures
        WHERE doc_key IN (SELECT doc_key FROM {_REGROUPED})
           OR exact_hash IN (SELECT exact_hash FROM member_groups)
           OR title_key IN (SELECT title_key FROM member_groups)
           OR question_key IN (SELECT question_key FROM member_groups)
        """
    ).df()
    regrouped = [
        row[0] for row in con.execute(f"SELECT doc_key FROM {_REGROUPED} ORDER BY doc_key").fetchall()
    ]
    con.execute(f"DROP TABLE {_REGROUPED}")
    return regrouped, fingerprints


def candidate_pairs(
    con: duckdb.DuckDBPyConnection,
    changed_doc_keys: Sequence[str] | None,
    max_bucket_size: int = MAX_BUCKET_SIZE,
) -> pd.DataFrame:
    """LSH candidates: doc_key_a < doc_key_b sharing at least one band hash.

    changed_doc_keys: only pairs with at least one side in this set (new and changed pages,
    whose signatures are already stored); None compares all pages with each other (first run).
    Buckets holding more than max_bucket_size pages are skipped (see MAX_BUCKET_SIZE). Pages
    with the same exact_hash are no candidates: they are exact duplicates, linked by their
    exact group (every pair, or a star when the group is large), never by near pairs.
    """
    if changed_doc_keys is None:
        return _all_candidate_pairs(con, max_bucket_size)
    with _registered(con, _keys_table(changed_doc_keys)) as changed:
        # One pass over minhash_bands: the join's matches per changed band row are its bucket.
        sql = f"""
            WITH changed_bands AS (
                SELECT band, band_hash, signature_id FROM minhash_bands
                WHERE signature_id IN (
                    SELECT signature_id FROM minhash_signatures WHERE doc_key IN (SELECT doc_key FROM {changed})
                )
            ),
            matches AS (
                SELECT c.signature_id AS changed_id, o.signature_id AS other_id,
                       count(*) OVER (PARTITION BY c.signature_id, c.band) AS bucket_size
                FROM changed_bands c JOIN minhash_bands o USING (band, band_hash)
            )
            SELECT DISTINCT least(changed_id, other_id) AS id_a, greatest(changed_id, other_id) AS id_b
            FROM matches
            WHERE changed_id <> other_id AND bucket_size <= $max_bucket_size
        """
        return con.execute(_EXCEPT_EXACT.format(pairs=sql), {"max_bucket_size": max_bucket_size}).df()


def _all_candidate_pairs(con: duckdb.DuckDBPyConnection, max_bucket_size: int) -> pd.DataFrame:
    """Every page against every page (a first run): the band join one group of bands at a
    time, each joining at most about _BAND_ROWS_PER_JOIN band rows, its pairs collected in
    a temporary table and made distinct at the end."""
    ((band_rows,),) = con.execute("SELECT count(*) FROM minhash_bands").fetchall()
    parts = max(1, -(-band_rows // _BAND_ROWS_PER_JOIN))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_CANDIDATE_IDS} (id_a UBIGINT, id_b UBIGINT)")
    try:
        for part in range(parts):
            con.execute(
                f"""
                INSERT INTO {_CANDIDATE_IDS}
                WITH buckets AS (
                    SELECT band, band_hash FROM minhash_bands WHERE band % $parts = $part
                    GROUP BY band, band_hash HAVING count(*) BETWEEN 2 AND $max_bucket_size
                )
                SELECT DISTINCT a.signature_id, b.signature_id
                FROM minhash_bands a
                JOIN buckets USING (band, band_hash)
                JOIN minhash_bands b USING (band, band_hash)
                WHERE a.signature_id < b.signature_id AND a.band % $parts = $part
                """,
                {"parts": parts, "part": part, "max_bucket_size": max_bucket_size},
            )
        pairs = f"SELECT DISTINCT id_a, id_b FROM {_CANDIDATE_IDS}"
        return con.execute(_EXCEPT_EXACT.format(pairs=pairs)).df()
    finally:
        with suppress(duckdb.TransactionException):
            con.execute(f"DROP TABLE IF EXISTS {_CANDIDATE_IDS}")


def load_signatures(
    con: duckdb.DuckDBPyConnection, doc_keys: Sequence[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(doc_keys, signatures (n, num_perm) uint32) of the given pages (all when None) in the index."""
    if doc_keys is None:
        table = con.sql("SELECT doc_key, signature FROM minhash_signatures").to_arrow_table()
    else:
        with _registered(con, _keys_table(pd.unique(np.asarray(doc_keys, dtype=object)))) as keys:
            table = con.sql(
                "SELECT doc_key, signature FROM minhash_signatures "
                f"WHERE doc_key IN (SELECT doc_key FROM {keys})"
            ).to_arrow_table()
    keys_out = np.asarray(table.column("doc_key").to_pylist(), dtype=object)
    signature = table.column("signature").combine_chunks()
    values = signature.flatten().to_numpy(zero_copy_only=False).astype(np.uint32, copy=False)
    width = len(values) // len(keys_out) if len(keys_out) else 0
    return keys_out, values.reshape(len(keys_out), width)


def indexed_pages(con: duckdb.DuckDBPyConnection) -> int:
    """Pages in the index (with a signature)."""
    ((pages,),) = con.execute("SELECT count(*) FROM minhash_signatures").fetchall()
    return int(pages)


def load_fingerprints(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """doc_key, exact_hash, title_key, question_key of every page in the index: the input of
    the exact and title pair transforms, without reading any text."""
    return con.execute("SELECT doc_key, exact_hash, title_key, question_key FROM minhash_signatures").df()


def pages_sharing_groups(
    con: duckdb.DuckDBPyConnection, column: str, chunk_pages: int, unless_grouped_by: str | None = None
) -> Iterator[pd.DataFrame]:
    """Frames of doc_key, exact_hash and `column` (one of GROUP_COLUMNS) of the indexed pages
    whose `column` value another page shares, about `chunk_pages` pages a frame: the groups
    in the order of a hash of their value, each whole in the frame where it starts. A first
    run's exact and title pairs are made from these a frame at a time (not from every page's
    keys at once); a page whose value no other page has cannot pair and is never read.
    exact_hash is always there: title pairs leave out pages with the same answer.

    unless_grouped_by: another group column; a group of exactly the pages of one of its
    groups is left out (pages whose question is their title: the title's group already
    gave their pairs, and the same pages make the same pairs)."""
    for name in (column, unless_grouped_by):
        if name is not None and name not in GROUP_COLUMNS:
            raise ValueError(f"not a group column: {name!r}; one of {', '.join(GROUP_COLUMNS)}")
    selected = "doc_key, exact_hash" if column == "exact_hash" else f"doc_key, exact_hash, {column}"
    groups = f"""
        SELECT {column} AS value, count(*) AS pages FROM minhash_signatures
        WHERE {column} IS NOT NULL GROUP BY {column} HAVING count(*) >= 2
    """
    if unless_grouped_by is not None:
        other = unless_grouped_by
        # Every page of the group has the same `other` value, whose group is as large.
        groups = f"""
            SELECT s.{column} AS value, count(*) AS pages
            FROM minhash_signatures s
            LEFT JOIN (
                SELECT {other}, count(*) AS pages FROM minhash_signatures
                WHERE {other} IS NOT NULL GROUP BY {other}
            ) o USING ({other})
            WHERE s.{column} IS NOT NULL
            GROUP BY s.{column}
            HAVING count(*) >= 2
               AND NOT (count(s.{other}) = count(*) AND min(s.{other}) = max(s.{other})
                        AND min(o.pages) = count(*))
        """
    for chunk in shared_value_chunks(con, _GROUP_CHUNKS, groups, chunk_pages):
        yield con.execute(
            f"""
            SELECT {selected} FROM minhash_signatures
            WHERE {column} IN (SELECT value FROM {_GROUP_CHUNKS} WHERE chunk = $chunk)
            """,
            {"chunk": chunk},
        ).df()


def replace_pairs(
    con: duckdb.DuckDBPyConnection,
    pairs: pd.DataFrame | Iterable[pd.DataFrame],
    run_id: int,
    touched_doc_keys: Sequence[str] | None,
    regrouped_doc_keys: Sequence[str] | None = None,
) -> None:
    """Bring duplicate_pairs up to date after a run.

    pairs: this run's findings, in one frame or several (doc_key_a < doc_key_b, kind,
    similarity): near pairs of the touched pages, exact and title pairs of the regrouped
    pages (of all pages when regrouped_doc_keys is None); repeats allowed, within and across
    frames (exact beats near beats title, as in `merge_duplicate_pairs`), so the caller need
    not merge them first. Frames are taken one at a time into a temporary table: a
    generator of frames (a first run's pairs, a chunk of groups at a time) is never in
    memory whole (~400,000 pairs at 400,000 generated pages). Kept from before: near pairs with neither page in
    touched_doc_keys (changed, added or deleted pages; None = first run, keep nothing), and
    exact and title pairs with neither page in regrouped_doc_keys (`group_neighbourhood`;
    None: keep none). found_run is the first run that found the pair, this run's id for new
    ones. Only rows with a touched or regrouped page are looked at, and only those that
    differ are deleted and inserted: a rerun rewrites its few changes. The previous groups
    `group_neighbourhood` read are forgotten: the pairs now reflect the current groups.
    """
    touched = [] if touched_doc_keys is None else list(touched_doc_keys)
    regrouped = [] if regrouped_doc_keys is None else list(regrouped_doc_keys)
    incremental = touched_doc_keys is not None and regrouped_doc_keys is not None
    keep_near = "kind = 'near'" if touched_doc_keys is not None else "FALSE"
    keep_grouped = "kind <> 'near'" if incremental else "FALSE"
    _stage_pairs(con, [pairs] if isinstance(pairs, pd.DataFrame) else pairs)
    with (
        _registered(con, _keys_table(touched)) as keys,
        _registered(con, _keys_table(regrouped)) as group_keys,
        _registered(con, _keys_table(sorted({*touched, *regrouped}))) as scope_keys,
    ):
        # Only rows with a page in scope can change (every finding has one); a full run's scope
        # is every row.
        in_scope = (
            f"(d.doc_key_a IN (SELECT doc_key FROM {scope_keys}) "
            f"OR d.doc_key_b IN (SELECT doc_key FROM {scope_keys}))"
            if incremental
            else "TRUE"
        )
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE {_NEXT_PAIRS} AS
            WITH findings AS (  -- priority 0..2 for findings, 9 for rows only lending found_run
                SELECT doc_key_a, doc_key_b, kind, similarity, NULL::BIGINT AS found_run,
                       CASE kind WHEN 'exact' THEN 0 WHEN 'near' THEN 1 ELSE 2 END AS priority
                FROM {_FOUND_PAIRS}
                UNION ALL
                SELECT doc_key_a, doc_key_b, kind, similarity, found_run,
                       CASE WHEN {keep_near}
                             AND doc_key_a NOT IN (SELECT doc_key FROM {keys})
                             AND doc_key_b NOT IN (SELECT doc_key FROM {keys}) THEN 1
                            WHEN {keep_grouped}
                             AND doc_key_a NOT IN (SELECT doc_key FROM {group_keys})
                             AND doc_key_b NOT IN (SELECT doc_key FROM {group_keys})
                            THEN CASE kind WHEN 'exact' THEN 0 ELSE 2 END
                            ELSE 9 END
                FROM duplicate_pairs d WHERE {in_scope}
            ),
            best AS (  -- one hash aggregate instead of a window: exact beats near beats title
                SELECT doc_key_a, doc_key_b,
                       arg_min({{'kind': kind, 'similarity': similarity}}, priority) AS finding,
                       min(found_run) AS found_run
                FROM findings GROUP BY doc_key_a, doc_key_b HAVING min(priority) < 9
            )
            SELECT doc_key_a, doc_key_b, finding.kind AS kind, finding.similarity AS similarity,
                   coalesce(found_run, $run_id)::BIGINT AS found_run
            FROM best
            """,
            {"run_id": run_id},
        )
        same_row = """
            n.doc_key_a = d.doc_key_a AND n.doc_key_b = d.doc_key_b AND n.kind = d.kind
            AND n.similarity IS NOT DISTINCT FROM d.similarity AND n.found_run = d.found_run"""
        con.execute(
            f"DELETE FROM duplicate_pairs d WHERE {in_scope} "
            f"AND NOT EXISTS (SELECT 1 FROM {_NEXT_PAIRS} n WHERE {same_row})"
        )
        con.execute(
            f"INSERT INTO duplicate_pairs SELECT n.* FROM {_NEXT_PAIRS} n "
            f"ANTI JOIN duplicate_pairs d ON {same_row}"
        )
    con.execute("DELETE FROM minhash_previous_groups")  # those groups are recomputed now
    con.execute(f"DROP TABLE {_NEXT_PAIRS}")
    con.execute(f"DROP TABLE {_FOUND_PAIRS}")


def _stage_pairs(con: duckdb.DuckDBPyConnection, frames: Iterable[pd.DataFrame]) -> None:
    """The frames' pairs (_PAIR_SCHEMA) into the temporary table _FOUND_PAIRS, a frame at a time."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_FOUND_PAIRS} "
        "(doc_key_a VARCHAR, doc_key_b VARCHAR, kind VARCHAR, similarity DOUBLE)"
    )
    for frame in frames:
        if len(frame):
            rows = pa.Table.from_pandas(frame[_PAIR_SCHEMA.names], schema=_PAIR_SCHEMA, preserve_index=False)
            with _registered(con, rows) as staged:
                con.execute(f"INSERT INTO {_FOUND_PAIRS} SELECT * FROM {staged}")


def load_pairs(con: duckdb.DuckDBPyConnection, kinds: Sequence[str] | None = None) -> pd.DataFrame:
    """doc_key_a, doc_key_b, kind, similarity, found_run of the stored pairs (of these kinds)."""
    where = "" if kinds is None else "WHERE list_contains($kinds, kind)"
    params = None if kinds is None else {"kinds": list(kinds)}
    return con.execute(f"SELECT * FROM duplicate_pairs {where} ORDER BY doc_key_a, doc_key_b", params).df()


def store_clusters(con: duckdb.DuckDBPyConnection, clusters: pd.DataFrame) -> None:
    """Replace duplicate_clusters (rebuilt every run).

    clusters: cluster_id, doc_key, is_canonical, kind, cluster_size (from `cluster_duplicates`).
    """
    con.execute("DELETE FROM duplicate_clusters")
    with _registered(
        con, clusters[["cluster_id", "doc_key", "is_canonical", "kind", "cluster_size"]]
    ) as rows:
        con.execute(
            "INSERT INTO duplicate_clusters "
            f"SELECT cluster_id, doc_key, is_canonical, kind, cluster_size FROM {rows}"
        )
