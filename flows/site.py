"""Site-wide analysis: checks that compare pages with each other (duplicate metadata,
keyword cannibalisation, duplicate pages). Runs in the flow process, on small columns."""

from __future__ import annotations

import contextvars
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import duckdb
import pandas as pd
from prefect import get_run_logger

from transforms.analysis import AnalysisSettings
from transforms.changes import site_steps_side_by_side
from transforms.clusters import CLUSTER_KINDS
from transforms.duplicates import (
    DuplicateSettings,
    cluster_duplicates,
    confirm_pairs,
    exact_duplicate_pairs,
    pair_members,
    pairs_touching,
    promising_pairs,
    title_duplicate_pairs,
)
from transforms.keywords import main_keyword_keys
from transforms.seo import SITE_RULES, metadata_keys, shared_value_wording
from warehouse import duplicate_index
from warehouse.documents import distinct_main_keywords, documents_frame, live_page_count
from warehouse.loads import replace_site_findings
from warehouse.metadata_keys import SITE_CHUNK_PAGES, pages_without_keys, store_keys
from warehouse.session import RunSession
from warehouse.store import transaction

# What cluster_duplicates chooses a cluster's canonical page by.
CANONICAL_COLUMNS = ["doc_key", "published_date", "first_seen_run"]


def analyse_site(run: RunSession, settings: AnalysisSettings, changed: Sequence[str] | None) -> None:
    """changed: documents new or changed this run (None: everything was re-analysed).

    After a small change on a site of at most `site_chunk_pages` pages
    (transforms.changes.site_steps_side_by_side) the site checks run in a thread of their
    own, on a second connection, beside the duplicate pass: one is mostly Python, the other
    mostly DuckDB. Otherwise one after the other: the duplicate pass of a first run or a
    large change holds every page it reads, and on a larger site both steps use the whole
    site memory limit."""
    side_by_side = changed is not None and site_steps_side_by_side(
        len(changed), live_page_count(run.con), run.tuning.site_chunk_pages
    )
    if not side_by_side:
        check_site_metadata(run, settings)
        detect_duplicates(run, settings, changed)
        return
    with run.cursor() as beside, ThreadPoolExecutor(1, thread_name_prefix="content-audit-site") as pool:
        checking = pool.submit(contextvars.copy_context().run, check_site_metadata, beside, settings)
        detect_duplicates(run, settings, changed)
        checking.result()


def check_site_metadata(run: RunSession, settings: AnalysisSettings) -> None:
    """Duplicate metadata, grouped in the warehouse one column and one chunk of the pages
    sharing a value at a time, worded by transforms.seo; cannibalisation grouped in the
    warehouse by the keys of the distinct main keywords the page analysis stored (every live
    page is scored by now). Pages scored before metadata keys were stored get theirs first."""
    add_missing_metadata_keys(run)
    keys = main_keyword_keys(distinct_main_keywords(run.con), settings.keywords)
    stored, cannibalised = replace_site_findings(
        run.con, SITE_RULES, shared_value_wording, keys, run.tuning.site_chunk_pages
    )
    get_run_logger().info(
        "Site checks: %d duplicate-metadata findings, %d pages share a main keyword",
        stored,
        cannibalised,
    )


def add_missing_metadata_keys(run: RunSession, batch_pages: int = 50_000) -> None:
    missing = pages_without_keys(run.con)
    for start in range(0, len(missing), batch_pages):
        pages = documents_frame(run.con, missing[start : start + batch_pages], ["doc_key", *SITE_RULES])
        with transaction(run.con):
            store_keys(run.con, metadata_keys(pages))
    if missing:
        get_run_logger().info(
            "Site checks: metadata keys added for %d pages scored before they were kept", len(missing)
        )


def detect_duplicates(run: RunSession, settings: AnalysisSettings, changed: Sequence[str] | None) -> None:
    def body_texts(doc_keys: Sequence[str]) -> pd.Series:
        return documents_frame(run.con, doc_keys, ["doc_key", "body_text"]).set_index("doc_key")["body_text"]

    def canonical_columns(doc_keys: Sequence[str]) -> pd.DataFrame:
        return documents_frame(run.con, doc_keys, CANONICAL_COLUMNS)

    counts = refresh_duplicates(
        run.con,
        settings.duplicates,
        run.run_id,
        changed,
        canonical_columns,
        body_texts,
        run.tuning.site_chunk_pages,
    )
    get_run_logger().info(
        "Duplicates: %d candidates checked, %d near pairs confirmed; %d exact or near pairs stored",
        counts.candidates,
        counts.near,
        counts.linking,
    )


class DuplicateCounts(NamedTuple):
    candidates: int  # LSH candidate pairs verified
    near: int  # of which confirmed near pairs
    linking: int  # exact and near pairs stored after the pass


def refresh_duplicates(
    con: duckdb.DuckDBPyConnection,
    settings: DuplicateSettings,
    run_id: int,
    changed: Sequence[str] | None,
    pages_of: Callable[[Sequence[str]], pd.DataFrame],
    texts_of: Callable[[Sequence[str]], pd.Series],
    chunk_pages: int = SITE_CHUNK_PAGES,
) -> DuplicateCounts:
    """One duplicate pass over the stored index (signatures of new and changed pages already
    stored): near pairs of the changed pages, exact and title pairs of the groups they left
    or joined, clusters over all stored pairs. changed None: every page (first run).
    pages_of: doc_key and the canonical-page columns of `cluster_duplicates` of the given
    pages; texts_of: their body text by doc_key, for exact verification. chunk_pages: how
    many near pairs are verified at a time, and, on a larger site, about how many pages'
    group keys a first run's exact and title pairs are made from at a time. No Prefect
    here: benchmarks.duplicates times it too.
    """
    touched = None if changed is None else [*changed, *duplicate_index.unindexed_pair_members(con)]
    candidates, near = _near_pairs(con, settings, changed, texts_of, chunk_pages)
    regrouped, pairs = _pairs_found(con, settings, touched, chunk_pages)
    with transaction(con):
        duplicate_index.replace_pairs(con, itertools.chain([near], pairs), run_id, touched, regrouped)
        linking = duplicate_index.load_pairs(con, CLUSTER_KINDS)
        duplicate_index.store_clusters(con, cluster_duplicates(linking, pages_of(pair_members(linking))))
    return DuplicateCounts(candidates, len(near), len(linking))


# The steps of refresh_duplicates, each a function so that what it holds (candidate pairs,
# signatures, every page's group keys) is freed when it returns, not kept to the end.


def _near_pairs(
    con: duckdb.DuckDBPyConnection,
    settings: DuplicateSettings,
    changed: Sequence[str] | None,
    texts_of: Callable[[Sequence[str]], pd.Series],
    chunk_pages: int,
) -> tuple[int, pd.DataFrame]:
    """How many LSH candidate pairs were verified, and the confirmed near pairs. Pairs are
    confirmed chunk_pages pairs at a time, with the texts of their pages only."""
    candidates = duplicate_index.candidate_pairs(con, None if changed is None else list(changed))
    keys, signatures = duplicate_index.load_signatures(con, pair_members(candidates))
    promising = promising_pairs(candidates, keys, signatures, settings)
    count = len(candidates)
    del candidates
    chunks = [promising[start : start + chunk_pages] for start in range(0, len(promising), chunk_pages)]
    confirmed = [
        confirm_pairs(chunk, keys, signatures, settings, texts_of(pair_members(chunk)))
        for chunk in chunks or [promising]
    ]
    return count, pd.concat(confirmed, ignore_index=True)


def _pairs_found(
    con: duckdb.DuckDBPyConnection,
    settings: DuplicateSettings,
    touched: Sequence[str] | None,
    chunk_pages: int,
) -> tuple[list[str] | None, Iterable[pd.DataFrame]]:
    """The regrouped pages and their exact and title pairs, as frames (`replace_pairs` keeps
    the strongest finding of a pair). A first run (touched None) regroups every page; on a
    site of more than chunk_pages pages its pairs come a chunk of shared groups at a time
    (`pages_sharing_groups`), generated while `replace_pairs` takes them: memory bounded,
    time longer (title and question groups read apart, each page's keys converted more
    than once: at 400,000 generated pages ~3.2 s against ~1.9 s in one piece)."""
    if touched is None and duplicate_index.indexed_pages(con) > chunk_pages:
        return None, _pairs_by_group_chunk(con, settings, chunk_pages)
    regrouped, fingerprints = duplicate_index.group_neighbourhood(con, touched)
    exact = pairs_touching(exact_duplicate_pairs(fingerprints, settings), regrouped)
    title = pairs_touching(title_duplicate_pairs(fingerprints, settings), regrouped)
    return regrouped, [exact, title]


def _pairs_by_group_chunk(
    con: duckdb.DuckDBPyConnection, settings: DuplicateSettings, chunk_pages: int
) -> Iterator[pd.DataFrame]:
    """A first run's exact, then title and question pairs, a chunk of whole groups at a time."""
    for part in duplicate_index.pages_sharing_groups(con, "exact_hash", chunk_pages):
        yield exact_duplicate_pairs(part, settings)
    # A pair found by both is stored once; a question group of the very pages of a title
    # group is not read again.
    for column, unless in (("title_key", None), ("question_key", "title_key")):
        for part in duplicate_index.pages_sharing_groups(con, column, chunk_pages, unless):
            yield title_duplicate_pairs(part, settings)
