"""Exact and title duplicate pairs, and duplicate clusters with a canonical page each."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from transforms.minhash import DuplicateSettings, pair_similarity
from transforms.shingles import normalise_texts

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


def _pairs_within_groups(frame: pd.DataFrame, group: str, limit: int) -> pd.DataFrame:
    """doc_key_a < doc_key_b for documents sharing `group`: every pair in groups of at most
    `limit` members, a star from the smallest key in larger groups (same components, linear size)."""
    members = frame[["doc_key", group]].dropna().drop_duplicates().sort_values([group, "doc_key"])
    size = members.groupby(group)["doc_key"].transform("size")
    small = members[(size >= 2) & (size <= limit)]
    every = small.merge(small, on=group, suffixes=("_a", "_b"))
    every = every[every["doc_key_a"] < every["doc_key_b"]]
    large = members[size > limit]
    hub = large.groupby(group)["doc_key"].transform("first")
    star = pd.DataFrame({group: large[group], "doc_key_a": hub, "doc_key_b": large["doc_key"]})
    star = star[star["doc_key_a"] != star["doc_key_b"]]
    return pd.concat([every[[group, "doc_key_a", "doc_key_b"]], star], ignore_index=True)


def exact_duplicate_pairs(
    documents: pd.DataFrame, settings: DuplicateSettings = DEFAULT_SETTINGS
) -> pd.DataFrame:
    """Pages with the same exact_hash: doc_key_a < doc_key_b, kind 'exact', similarity 1.0.

    documents: doc_key, exact_hash (from `exact_hash` of the body text, so a page cross-posted
    under another subject or path is found). Groups over settings.group_pair_limit are stars.
    """
    pairs = _pairs_within_groups(documents, "exact_hash", settings.group_pair_limit)
    if pairs.empty:
        return _empty_pairs()
    return pd.DataFrame(
        {"doc_key_a": pairs["doc_key_a"], "doc_key_b": pairs["doc_key_b"], "kind": "exact", "similarity": 1.0}
    ).reset_index(drop=True)


def title_duplicate_pairs(
    documents: pd.DataFrame,
    settings: DuplicateSettings = DEFAULT_SETTINGS,
    doc_keys: Sequence[str] | None = None,
    signatures: np.ndarray | None = None,
) -> pd.DataFrame:
    """Pages asking the same question (or titled the same) with different answers: kind 'title'.

    documents: doc_key, title, question, exact_hash. Title and question are compared after
    `normalise_text`; empty ones never match; pairs with equal exact_hash are left out (they
    are exact duplicates). similarity: estimated Jaccard of the answers when doc_keys and
    signatures are given, else NaN (NULL in the warehouse): a shared title is the finding,
    the similarity only says how far the answers drifted apart.
    """
    found = []
    for column in ("title", "question"):
        if column not in documents:
            continue
        normalised = normalise_texts(documents[column])
        frame = pd.DataFrame({"doc_key": documents["doc_key"], "same_text": normalised.replace("", None)})
        found.append(_pairs_within_groups(frame, "same_text", settings.group_pair_limit))
    if not found:
        return _empty_pairs()
    pairs = pd.concat(found, ignore_index=True)[["doc_key_a", "doc_key_b"]].drop_duplicates(ignore_index=True)
    exact = documents.set_index("doc_key")["exact_hash"]
    pairs = pairs[
        exact.reindex(pairs["doc_key_a"]).to_numpy() != exact.reindex(pairs["doc_key_b"]).to_numpy()
    ]
    if pairs.empty:
        return _empty_pairs()
    pairs = pairs.reset_index(drop=True)
    similarity = pd.Series(np.nan, index=pairs.index)
    if doc_keys is not None and signatures is not None:
        scored = pair_similarity(pairs, doc_keys, signatures, settings)
        similarity = pairs.merge(scored, on=["doc_key_a", "doc_key_b"], how="left")["estimated_similarity"]
    return pd.DataFrame(
        {
            "doc_key_a": pairs["doc_key_a"],
            "doc_key_b": pairs["doc_key_b"],
            "kind": "title",
            "similarity": similarity.to_numpy(dtype=np.float64),
        }
    )


def merge_duplicate_pairs(*frames: pd.DataFrame) -> pd.DataFrame:
    """One row per (doc_key_a, doc_key_b): exact beats near beats title (a copy is also 'near')."""
    frames = tuple(f[PAIR_COLUMNS] for f in frames if len(f))
    if not frames:
        return _empty_pairs()
    pairs = pd.concat(frames, ignore_index=True)
    pairs["priority"] = pairs["kind"].map(_KIND_PRIORITY)
    pairs = pairs.sort_values(["doc_key_a", "doc_key_b", "priority"], kind="stable")
    return pairs.drop_duplicates(["doc_key_a", "doc_key_b"])[PAIR_COLUMNS].reset_index(drop=True)


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
    info = documents.drop_duplicates("doc_key").set_index("doc_key")
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
