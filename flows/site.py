"""Site-wide analysis: checks that compare pages with each other (duplicate metadata,
keyword cannibalisation, duplicate pages). Runs in the flow process, on small columns."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from prefect import get_run_logger

from transforms.analysis import AnalysisSettings
from transforms.duplicates import (
    cluster_duplicates,
    exact_duplicate_pairs,
    merge_duplicate_pairs,
    pair_members,
    pairs_touching,
    title_duplicate_pairs,
    verify_pairs,
)
from transforms.keywords import keyword_cannibalisation
from transforms.seo import site_seo_findings
from warehouse import duplicate_index
from warehouse.documents import documents_frame
from warehouse.loads import replace_site_findings
from warehouse.session import RunSession
from warehouse.store import transaction

SITE_COLUMNS = [
    "doc_key",
    "subject_key",
    "title",
    "seo_title",
    "meta_description",
    "keywords",
    "published_date",
    "first_seen_run",
]


def analyse_site(run: RunSession, settings: AnalysisSettings, changed: Sequence[str] | None) -> None:
    """changed: documents new or changed this run (None: everything was re-analysed)."""
    pages = documents_frame(run.con, columns=SITE_COLUMNS)
    check_site_metadata(run, pages)
    detect_duplicates(run, settings, pages, changed)


def check_site_metadata(run: RunSession, pages: pd.DataFrame) -> None:
    findings = site_seo_findings(pages)
    cannibalised = keyword_cannibalisation(pages)
    replace_site_findings(run.con, findings, cannibalised)
    get_run_logger().info(
        "Site checks: %d duplicate-metadata findings, %d pages share a main keyword",
        len(findings),
        len(cannibalised),
    )


def detect_duplicates(
    run: RunSession, settings: AnalysisSettings, pages: pd.DataFrame, changed: Sequence[str] | None
) -> None:
    """Near pairs of the changed pages against the stored index; exact and title pairs of the
    groups they left or joined; clusters over all stored pairs."""
    dup = settings.duplicates
    touched = None if changed is None else [*changed, *duplicate_index.unindexed_pair_members(run.con)]
    candidates = duplicate_index.candidate_pairs(run.con, None if changed is None else list(changed))
    involved = pair_members(candidates)
    keys, signatures = duplicate_index.load_signatures(run.con, involved)
    texts = documents_frame(run.con, involved, ["doc_key", "body_text"]).set_index("doc_key")["body_text"]
    near = verify_pairs(candidates, keys, signatures, dup, texts)
    regrouped, fingerprints = duplicate_index.group_neighbourhood(run.con, touched)
    grouped = merge_duplicate_pairs(
        exact_duplicate_pairs(fingerprints, dup), title_duplicate_pairs(fingerprints, dup)
    )
    pairs = merge_duplicate_pairs(pairs_touching(grouped, regrouped), near)
    with transaction(run.con):
        duplicate_index.replace_pairs(run.con, pairs, run.run_id, touched, regrouped)
        linking = duplicate_index.load_pairs(run.con, ["exact", "near"])
        duplicate_index.store_clusters(run.con, cluster_duplicates(linking, pages))
    get_run_logger().info(
        "Duplicates: %d candidates checked, %d near pairs confirmed; %d exact or near pairs stored",
        len(candidates),
        len(near),
        len(linking),
    )
