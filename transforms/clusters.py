"""Exact and title duplicate pairs, and duplicate clusters with a canonical page each."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from transforms.membership import is_in
from transforms.minhash import DuplicateSettings, pair_similarity
from transforms.shingles import text_keys

PAIR_COLUMNS = ["doc_key_a", "doc_key_b", "kind", "similarity"]
# When a pair is found by several checks, the strongest statement wins.
_KIND_PRIORITY = {"exact": 0, "near": 1, "title": 2}
# Pairs of these kinds join pages into one cluster; a shared title alone does not.
CLUSTER_KINDS = ("exact", "near")
DEFAULT_SETTINGS = DuplicateSettings()


def _empty_pairs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "doc_key_a": pd.Series(dtype=str),
            "doc_key_b": pd.Series(dtype=str),
            "kind": pd.Series(dtype=str),
            "similarity": pd.Series(dtype=np.float64),
        }
    )


def _pairs_within_groups(
    groups: pd.Series, key_rank: np.ndarray, limit: int
) -> tuple[np.ndarray, np.ndarray]:
    """Row numbers (a, b) of documents sharing a group value (NA never matches), key a < key b.

    Every pair in groups of at most `limit` members; in larger groups a star from the smallest
    key (same components, linear size). key_rank orders the rows by doc_key. Pure index
    arithmetic per group size, no string joins.
    """
    rows = np.flatnonzero(groups.notna().to_numpy())
    codes = pd.factorize(groups.to_numpy()[rows])[0]
    order = np.lexsort((key_rank[rows], codes))
    rows, codes = rows[order], codes[order]
    starts = np.flatnonzero(np.diff(codes, prepend=-1))
    sizes = np.diff(np.append(starts, len(rows)))
    found_a, found_b = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
    for size in np.unique(sizes[(sizes >= 2) & (sizes <= limit)]):
        first, second = np.triu_indices(size, 1)
        group_starts = starts[sizes == size][:, None]
        found_a.append(rows[(group_starts + first).ravel()])
        found_b.append(rows[(group_starts + second).ravel()])
    large = sizes > limit
    hubs = np.repeat(starts[large], sizes[large] - 1)
    members = hubs + np.concatenate(
        [np.arange(1, size) for size in sizes[large]] or [np.zeros(0, dtype=np.int64)]
    )
    found_a.append(rows[hubs])
    found_b.append(rows[members])
    return np.concatenate(found_a), np.concatenate(found_b)


def _key_rank(doc_keys: np.ndarray) -> np.ndarray:
    rank = np.empty(len(doc_keys), dtype=np.int64)
    rank[np.argsort(doc_keys, kind="stable")] = np.arange(len(doc_keys))
    return rank


def _pair_frame(
    doc_keys: np.ndarray, rows_a: np.ndarray, rows_b: np.ndarray, kind: str, similarity
) -> pd.DataFrame:
    return pd.DataFrame(
        {"doc_key_a": doc_keys[rows_a], "doc_key_b": doc_keys[rows_b], "kind": kind, "similarity": similarity}
    )


def exact_duplicate_pairs(
    documents: pd.DataFrame, settings: DuplicateSettings = DEFAULT_SETTINGS
) -> pd.DataFrame:
    """Pages with the same exact_hash: doc_key_a < doc_key_b, kind 'exact', similarity 1.0.

    documents: doc_key (unique), exact_hash (from `exact_hash` of the body text, so a page
    cross-posted under another subject or path is found; NA for a text without words,
    which has no exact duplicate). Groups over
    settings.group_pair_limit are stars.
    """
    doc_keys = documents["doc_key"].astype(str).to_numpy(dtype=object)
    rows_a, rows_b = _pairs_within_groups(
        documents["exact_hash"], _key_rank(doc_keys), settings.group_pair_limit
    )
    if not len(rows_a):
        return _empty_pairs()
    return _pair_frame(doc_keys, rows_a, rows_b, "exact", 1.0)


def title_duplicate_pairs(
    documents: pd.DataFrame,
    settings: DuplicateSettings = DEFAULT_SETTINGS,
    doc_keys: Sequence[str] | None = None,
    signatures: np.ndarray | None = None,
) -> pd.DataFrame:
    """Pages asking the same question (or titled the same) with different answers: kind 'title'.

    documents: doc_key (unique), exact_hash, and title_key / question_key (from `text_keys`,
    as stored with the signatures) or else raw title / question columns, folded here. Empty
    titles never match; pairs with equal exact_hash are left out (they are exact duplicates).
    Groups over settings.group_pair_limit are stars. similarity: estimated Jaccard of the
    answers when doc_keys and signatures are given, else NaN (NULL in the warehouse): the
    shared title is the finding, the similarity only says how far the answers drifted apart.
    """
    keys = documents["doc_key"].astype(str).to_numpy(dtype=object)
    rank = _key_rank(keys)
    found_a, found_b = [], []
    for key_column, text_column in (("title_key", "title"), ("question_key", "question")):
        if key_column in documents:
            groups = documents[key_column]
        elif text_column in documents:
            groups = text_keys(documents[text_column])
        else:
            continue
        rows_a, rows_b = _pairs_within_groups(groups, rank, settings.group_pair_limit)
        found_a.append(rows_a)
        found_b.append(rows_b)
    if not found_a:
        return _empty_pairs()
    pair_codes = np.unique(np.concatenate(found_a) * len(keys) + np.concatenate(found_b))
    rows_a, rows_b = pair_codes // max(len(keys), 1), pair_codes % max(len(keys), 1)
    exact_codes = pd.factorize(documents["exact_hash"].to_numpy())[0]  # -1: no words, no exact group
    differ = (exact_codes[rows_a] != exact_codes[rows_b]) | (exact_codes[rows_a] < 0)
    rows_a, rows_b = rows_a[differ], rows_b[differ]
    if not len(rows_a):
        return _empty_pairs()
    pairs = _pair_frame(keys, rows_a, rows_b, "title", np.nan)
    if doc_keys is not None and signatures is not None:
        scored = pair_similarity(pairs, doc_keys, signatures, settings)
        merged = pairs[["doc_key_a", "doc_key_b"]].merge(scored, on=["doc_key_a", "doc_key_b"], how="left")
        pairs["similarity"] = merged["estimated_similarity"].to_numpy(dtype=np.float64)
    return pairs


def merge_duplicate_pairs(*frames: pd.DataFrame) -> pd.DataFrame:
    """One row per (doc_key_a, doc_key_b): exact beats near beats title (a copy is also 'near')."""
    frames = tuple(f[PAIR_COLUMNS] for f in frames if len(f))
    if not frames:
        return _empty_pairs()
    pairs = pd.concat(frames, ignore_index=True)
    # A stable sort on the small priority number, then hash-based dedup: no string sort.
    priority = pairs["kind"].map(_KIND_PRIORITY).to_numpy()
    pairs = pairs.iloc[np.argsort(priority, kind="stable")]
    return pairs.drop_duplicates(["doc_key_a", "doc_key_b"])[PAIR_COLUMNS].reset_index(drop=True)


def pairs_touching(pairs: pd.DataFrame, doc_keys: Sequence[str] | None) -> pd.DataFrame:
    """The pairs with at least one page in doc_keys (every pair when doc_keys is None)."""
    if doc_keys is None:
        return pairs
    keys = list(doc_keys)
    touching = is_in(pairs["doc_key_a"], keys) | is_in(pairs["doc_key_b"], keys)
    return pairs[touching].reset_index(drop=True)


def connected_components(rows_a: np.ndarray, rows_b: np.ndarray, n: int) -> np.ndarray:
    """Component label (the smallest member row) of each of n nodes, given edges rows_a-rows_b.

    Min-label propagation with pointer jumping, all in numpy: a few passes over the edges,
    each O(edges), instead of a Python union-find loop per pair.
    """
    label = np.arange(n)
    while True:
        smallest = np.minimum(label[rows_a], label[rows_b])
        updated = label.copy()
        np.minimum.at(updated, rows_a, smallest)
        np.minimum.at(updated, rows_b, smallest)
        while True:  # labels only ever point to smaller rows of the same component
            jumped = updated[updated]
            if np.array_equal(jumped, updated):
                break
            updated = jumped
        if np.array_equal(updated, label):
            return label
        label = updated


def cluster_duplicates(pairs: pd.DataFrame, documents: pd.DataFrame) -> pd.DataFrame:
    """Duplicate clusters: cluster_id, doc_key, is_canonical, kind, cluster_size.

    Connected components over 'exact' and 'near' pairs (title pairs do not join pages). Only
    pages in some pair appear. The canonical page, the one to keep, is chosen by, in order:
    oldest published_date, earliest first_seen_run, highest quality_score, shortest doc_key,
    alphabetically first doc_key (missing values last; each column optional in documents).
    cluster_id is the canonical page's doc_key: readable, and stable while that page stays
    the one to keep. kind is 'exact' when every link in the cluster is exact, else 'near'.
    """
    linking = pairs[pairs["kind"].isin(CLUSTER_KINDS)]
    if linking.empty:
        return pd.DataFrame(columns=["cluster_id", "doc_key", "is_canonical", "kind", "cluster_size"])
    keys = pd.Index(
        pd.unique(np.concatenate((linking["doc_key_a"].to_numpy(), linking["doc_key_b"].to_numpy())))
    )
    rows_a, rows_b = keys.get_indexer(linking["doc_key_a"]), keys.get_indexer(linking["doc_key_b"])
    component = connected_components(rows_a, rows_b, len(keys))

    members = pd.DataFrame({"doc_key": keys, "component": component})
    rule_columns = [c for c in ("published_date", "first_seen_run", "quality_score") if c in documents]
    info = documents[["doc_key", *rule_columns]].drop_duplicates("doc_key").set_index("doc_key")
    sort_columns, ascending = ["component"], [True]
    for column, earliest_first in (
        ("published_date", True),
        ("first_seen_run", True),
        ("quality_score", False),
    ):
        if column in info:
            members[column] = info[column].reindex(keys).to_numpy()
            sort_columns.append(column)
            ascending.append(earliest_first)
    members["key_length"] = members["doc_key"].str.len()
    members = members.sort_values(
        [*sort_columns, "key_length", "doc_key"], ascending=[*ascending, True, True], na_position="last"
    )
    canonical = members.groupby("component")["doc_key"].transform("first")

    has_near = np.zeros(len(keys), dtype=bool)
    near_edges = (linking["kind"] == "near").to_numpy()
    has_near[component[rows_a[near_edges]]] = True
    return pd.DataFrame(
        {
            "cluster_id": canonical.to_numpy(),
            "doc_key": members["doc_key"].to_numpy(),
            "is_canonical": (members["doc_key"] == canonical).to_numpy(),
            "kind": np.where(has_near[members["component"].to_numpy()], "near", "exact"),
            "cluster_size": members.groupby("component")["doc_key"].transform("size").to_numpy(),
        }
    ).reset_index(drop=True)
