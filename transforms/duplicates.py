"""Exact, near and title duplicates of documents: the public face of shingles, minhash, clusters.

Flow of one run (the warehouse side is `warehouse.duplicate_index`):
  1. `fingerprint_documents` on new and changed pages only -> exact hashes, signatures, bands;
     the warehouse stores them and drops deleted pages.
  2. The warehouse's band join yields candidate pairs touching the changed pages; `verify_pairs`
     keeps those whose (exact, where texts are at hand) Jaccard reaches the threshold.
  3. `exact_duplicate_pairs` and `title_duplicate_pairs` run over the stored hashes and titles
     of the groups the changed pages left or joined (all pages on a first run), and
     `pairs_touching` keeps the pairs of those groups' pages; the warehouse stores one row per
     pair, the strongest kind (as `merge_duplicate_pairs` would keep, without a merged copy in
     memory); `cluster_duplicates` rebuilds the clusters from all stored pairs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from transforms.clusters import (
    cluster_duplicates,
    connected_components,
    exact_duplicate_pairs,
    merge_duplicate_pairs,
    pairs_touching,
    title_duplicate_pairs,
)
from transforms.minhash import (
    PRESETS,
    DuplicateSettings,
    band_hashes,
    confirm_pairs,
    estimated_jaccard,
    minhash_signatures,
    order_pairs,
    pair_members,
    pair_similarity,
    promising_pairs,
    signatures_from_shingles,
    verify_pairs,
)
from transforms.shingles import (
    exact_hash,
    exact_hashes,
    normalise_text,
    normalise_texts,
    shingle_hashes,
    shingle_hashes_of_words,
    text_keys,
    tokenise,
    tokenise_texts,
)

__all__ = [
    "PRESETS",
    "DuplicateSettings",
    "band_hashes",
    "cluster_duplicates",
    "confirm_pairs",
    "connected_components",
    "estimated_jaccard",
    "exact_duplicate_pairs",
    "exact_hash",
    "fingerprint_documents",
    "merge_duplicate_pairs",
    "minhash_signatures",
    "normalise_text",
    "normalise_texts",
    "order_pairs",
    "pair_members",
    "pair_similarity",
    "pairs_touching",
    "promising_pairs",
    "shingle_hashes",
    "text_keys",
    "title_duplicate_pairs",
    "tokenise",
    "tokenise_texts",
    "verify_pairs",
]


def fingerprint_documents(
    documents: pd.DataFrame, settings: DuplicateSettings, text_column: str = "text"
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Exact hashes, MinHash signatures and band hashes of documents[doc_key, text_column].

    Returns (frame, signatures, bands): frame has doc_key and exact_hash, plus content_hash,
    and title_key / question_key (`text_keys`) when documents has content_hash, title,
    question columns; row i of signatures (n, num_perm) uint32 and bands (n, bands)
    uint64 belongs to frame row i. This is what `warehouse.duplicate_index.store_signatures`
    takes.
    """
    word_lists = tokenise_texts(documents[text_column].fillna("").astype(str).tolist())
    frame = pd.DataFrame({"doc_key": documents["doc_key"].to_numpy()})
    if "content_hash" in documents:
        frame["content_hash"] = documents["content_hash"].to_numpy()
    frame["exact_hash"] = exact_hashes(word_lists)
    for column in ("title", "question"):
        if column in documents:
            frame[f"{column}_key"] = text_keys(documents[column]).array
    signatures = signatures_from_shingles(
        *shingle_hashes_of_words(word_lists, settings.shingle_size), settings
    )
    return frame, signatures, band_hashes(signatures, settings)
