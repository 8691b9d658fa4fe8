"""Duplicate step vs datasketch MinHash.bulk + MinHashLSH on the same texts (not a test).

    python -m benchmarks.duplicates --docs 20000 [--content DIR] [--preset default]

Generates a QuickTakes corpus with planted duplicates (make_corpus.py) or reads --content DIR
(a generated corpus, truth in DIR.truth), reads the answers (not timed), then times, in this
one process:
  (a) datasketch: 5-word shingles as bytes, MinHash.bulk (128 permutations), MinHashLSH at the
      same threshold, insert all + query all + MinHash.jaccard of every candidate pair;
  (b) the whole duplicate step: fingerprints (exact hash, signatures, bands), store in an
      in-memory DuckDB, band join, verification (exact Jaccard), exact and title pairs,
      pairs table, clusters (as flows/site.py wires them);
  (c) the same step rerun incrementally after 1% of pages changed (edited in memory), three
      times over (other pages each time), and the median of the three.
and prints pages/s, ratios and recall against DIR.truth/pairs.csv for the default and loose
presets.
"""

from __future__ import annotations

import argparse
import csv
import gc
import importlib.util
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import yaml

from flows.site import refresh_duplicates
from transforms.duplicates import (
    DuplicateSettings,
    connected_components,
    fingerprint_documents,
    tokenise,
)
from warehouse import duplicate_index
from warehouse.metadata_keys import SITE_CHUNK_PAGES
from warehouse.migrate import apply_migrations

RERUNS = 3
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def generate_corpus(out: Path, docs: int, seed: int = 0, near: float = 0.03) -> None:
    """make_corpus.py generate; `near` is the share of pages planted as near copies."""
    generator = str(SHARED / "corpora" / "make_corpus.py")
    command = [sys.executable, generator, "generate", "--out", str(out), "--docs", str(docs)]
    subprocess.run([*command, "--seed", str(seed), "--near", str(near)], check=True, capture_output=True)


def read_generated_corpus(content: Path) -> pd.DataFrame:
    """doc_key, title, question, answer, published_date of a make_corpus.py folder.

    Files the truth lists as malformed (expected: reject) are skipped; answers get their
    literal backslash-n sequences turned into newlines.
    """
    truth = Path(str(content).rstrip("/") + ".truth")
    rejected: set[str] = set()
    if (truth / "bad.csv").exists():
        with open(truth / "bad.csv", newline="") as handle:
            rejected = {row["path"] for row in csv.DictReader(handle) if row["expected"] == "reject"}
    rows = []
    for path in sorted(content.rglob("*.md")):
        doc_key = path.relative_to(content).as_posix()
        if doc_key in rejected:
            continue
        _, front, _ = path.read_text("utf-8-sig").split("---", 2)
        meta = yaml.load(front, Loader=yaml.CSafeLoader)
        rows.append(
            {
                "doc_key": doc_key,
                "title": str(meta.get("title") or ""),
                "question": str(meta.get("question") or ""),
                "answer": str(meta.get("answer") or "").replace("\\n", "\n"),
                "published_date": pd.Timestamp(str(meta["date"])) if meta.get("date") else pd.NaT,
            }
        )
    return pd.DataFrame(rows)


def new_warehouse() -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse with the whole schema (the duplicate tables are a part of it)."""
    con = duckdb.connect()
    apply_migrations(con)
    return con


def duplicate_step(
    con: duckdb.DuckDBPyConnection,
    documents: pd.DataFrame,
    settings: DuplicateSettings,
    run_id: int,
    changed_doc_keys: Sequence[str] | None = None,
    deleted_doc_keys: Sequence[str] = (),
    chunk_pages: int = SITE_CHUNK_PAGES,
) -> None:
    """One run's duplicate work: the flow's pass (`flows.site.refresh_duplicates`) after
    storing the changed pages' fingerprints, as a run's analysis batches do.

    documents: every current page (doc_key, title, question, answer, published_date).
    changed_doc_keys: new and changed pages (None: first run, all pages).
    chunk_pages: as `[duckdb] site_chunk_pages`.
    """
    duplicate_index.remove_documents(con, deleted_doc_keys)
    changed = (
        documents if changed_doc_keys is None else documents[documents["doc_key"].isin(changed_doc_keys)]
    )
    frame, signatures, bands = fingerprint_documents(changed, settings, text_column="answer")
    duplicate_index.store_signatures(con, frame, signatures, bands)

    texts = documents.set_index("doc_key")["answer"]

    def pages_of(doc_keys: Sequence[str]) -> pd.DataFrame:
        return documents[documents["doc_key"].isin(doc_keys)]

    refresh_duplicates(con, settings, run_id, changed_doc_keys, pages_of, texts.reindex, chunk_pages)


def stored_pairs_after_step(documents: pd.DataFrame, settings: DuplicateSettings) -> pd.DataFrame:
    """All pairs a first run over documents stores, in a fresh in-memory warehouse."""
    con = new_warehouse()
    duplicate_step(con, documents, settings, run_id=1)
    return duplicate_index.load_pairs(con)


def datasketch_step(texts: Sequence[str], settings: DuplicateSettings) -> int:
    """datasketch's way: MinHash.bulk, MinHashLSH insert + query, jaccard per candidate pair."""
    from datasketch import MinHash, MinHashLSH

    k = settings.shingle_size
    shingle_sets = []
    for text in texts:
        words = tokenise(text)
        shingle_sets.append(
            [" ".join(words[i : i + k]).encode() for i in range(max(1, len(words) - k + 1))] if words else []
        )
    minhashes = MinHash.bulk(shingle_sets, num_perm=settings.num_perm)
    lsh = MinHashLSH(threshold=settings.threshold, num_perm=settings.num_perm)
    for number, minhash in enumerate(minhashes):
        lsh.insert(number, minhash)
    found = 0
    for number, minhash in enumerate(minhashes):
        for other in lsh.query(minhash):
            if other > number and minhash.jaccard(minhashes[other]) >= settings.threshold:
                found += 1
    return found


def change_pages(documents: pd.DataFrame, share: float, seed: int = 1) -> tuple[pd.DataFrame, list[str]]:
    """A copy with `share` of the pages edited (every 25th word dropped)."""
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(documents), size=max(1, int(len(documents) * share)), replace=False)
    changed = documents.copy()
    edited = (
        changed["answer"]
        .iloc[picked]
        .map(lambda text: " ".join(word for number, word in enumerate(text.split(" ")) if number % 25 != 7))
    )
    changed.iloc[picked, changed.columns.get_loc("answer")] = edited.to_numpy()
    return changed, changed["doc_key"].iloc[picked].tolist()


@dataclass(frozen=True)
class TruthFigures:
    exact_found: float
    near_recall: dict[float, float]
    title_found: float
    min_reported_jaccard5: float


def title_groups_found(pairs: pd.DataFrame, title_truth: pd.DataFrame) -> float:
    """Share of planted title pairs whose pages are linked by title pairs (large title groups
    are stored as stars, so two members need not form a pair of their own)."""
    title = pairs[pairs["kind"] == "title"]
    keys = pd.Index(pd.unique(np.concatenate((title["doc_key_a"], title["doc_key_b"]))))
    labels = connected_components(
        keys.get_indexer(title["doc_key_a"]), keys.get_indexer(title["doc_key_b"]), len(keys)
    )
    rows_a, rows_b = keys.get_indexer(title_truth["path_a"]), keys.get_indexer(title_truth["path_b"])
    linked = (rows_a >= 0) & (rows_b >= 0) & (labels[rows_a] == labels[rows_b])
    return float(linked.mean())


def truth_figures(pairs: pd.DataFrame, documents: pd.DataFrame, truth: pd.DataFrame) -> TruthFigures:
    """Share of planted pairs found, and the lowest make_corpus jaccard5 of any reported pair."""
    spec = importlib.util.spec_from_file_location("make_corpus", SHARED / "corpora" / "make_corpus.py")
    make_corpus = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_corpus)
    a = np.minimum(truth["path_a"], truth["path_b"])
    b = np.maximum(truth["path_a"], truth["path_b"])
    kinds = pairs.set_index(["doc_key_a", "doc_key_b"])["kind"]
    found = pd.Series(kinds.reindex(pd.MultiIndex.from_arrays([a, b])).to_numpy(), index=truth.index)
    exact = truth["kind"] == "exact"
    near = truth["kind"] == "near"
    near_recall = {
        rate: float(found[near & (truth["edit_rate"] <= rate)].isin(["near", "exact"]).mean())
        for rate in (0.01, 0.02, 0.05, 0.10)
    }
    raw = documents.set_index("doc_key")["answer"].str.replace("\n", "\\n")
    reported = pairs[pairs["kind"].isin(["near", "exact"])]
    lowest = min(
        (
            make_corpus.jaccard5(raw[x], raw[y])
            for x, y in zip(reported["doc_key_a"], reported["doc_key_b"], strict=True)
        ),
        default=float("nan"),
    )
    return TruthFigures(
        exact_found=float((found[exact] == "exact").mean()),
        near_recall=near_recall,
        title_found=title_groups_found(pairs, truth[truth["kind"] == "title"]),
        min_reported_jaccard5=lowest,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=20000)
    parser.add_argument("--content", type=Path, help="a generated corpus folder (truth in DIR.truth)")
    parser.add_argument("--skip-datasketch", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        content = args.content
        if content is None:
            content = Path(folder) / "corpus"
            generate_corpus(content, args.docs)
        documents = read_generated_corpus(content)
        truth = pd.read_csv(Path(str(content).rstrip("/") + ".truth") / "pairs.csv")
    n = len(documents)
    settings = DuplicateSettings.preset("default")
    print(f"{n} pages, default preset: {settings}")

    if not args.skip_datasketch:
        start = time.perf_counter()
        found = datasketch_step(documents["answer"].tolist(), settings)
        gc.collect()  # datasketch's objects are gone; do not bill their collection to the next step
        baseline = time.perf_counter() - start
        print(
            f"(a) datasketch bulk+LSH+jaccard: {baseline:.2f} s, {n / baseline:,.0f} pages/s, {found} pairs"
        )

    con = new_warehouse()
    start = time.perf_counter()
    duplicate_step(con, documents, settings, run_id=1)
    first = time.perf_counter() - start
    pairs = duplicate_index.load_pairs(con)
    print(f"(b) duplicate step, first run:   {first:.2f} s, {n / first:,.0f} pages/s, {len(pairs)} pairs")
    if not args.skip_datasketch:
        print(f"    speed-up vs datasketch: {baseline / first:.1f}x")

    current, reruns = documents, []
    for rerun_no in range(1, RERUNS + 1):  # a single sub-second timing is noise-prone
        current, changed_keys = change_pages(current, 0.01, seed=rerun_no)
        start = time.perf_counter()
        duplicate_step(con, current, settings, run_id=1 + rerun_no, changed_doc_keys=changed_keys)
        reruns.append(time.perf_counter() - start)
    rerun = float(np.median(reruns))
    print(
        f"(c) rerun, {len(changed_keys)} pages changed (1%), median of {RERUNS}: {rerun:.2f} s "
        f"({first / rerun:.1f}x faster than the first run; each: "
        + ", ".join(f"{seconds:.2f} s" for seconds in reruns)
        + ")"
    )

    for name in ("default", "loose", "strict"):
        preset = DuplicateSettings.preset(name)
        preset_pairs = pairs if name == "default" else stored_pairs_after_step(documents, preset)
        figures = truth_figures(preset_pairs, documents, truth)
        recall = ", ".join(f"<= {rate:.2f}: {share:.3f}" for rate, share in figures.near_recall.items())
        print(
            f"{name:8s} (threshold {preset.threshold}): exact found {figures.exact_found:.3f}; "
            f"near recall by edit rate {recall}; title found {figures.title_found:.3f}; "
            f"lowest jaccard5 reported {figures.min_reported_jaccard5:.3f}"
        )


if __name__ == "__main__":
    main()
