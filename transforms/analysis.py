"""Everything computed from one document alone, for a batch of new or changed documents.

Pure composition of the per-page transforms, so that one worker call does all the
CPU-heavy work of a batch and returns frames ready to load.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pandas as pd

from transforms.duplicates import DuplicateSettings, fingerprint_documents
from transforms.keywords import KeywordSettings, keyword_coverage, page_keyword_summary
from transforms.readability import ReadabilitySettings, score_readability
from transforms.seo import SeoThresholds, metadata_keys, page_seo_findings, resolve_thresholds


@dataclass(frozen=True)
class AnalysisSettings:
    readability: ReadabilitySettings = field(default_factory=ReadabilitySettings)
    keywords: KeywordSettings = field(default_factory=KeywordSettings)
    seo: SeoThresholds = field(default_factory=SeoThresholds)
    seo_by_subject: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    duplicates: DuplicateSettings = field(default_factory=DuplicateSettings)

    def fingerprint_data(self) -> dict[str, Any]:
        """The settings as the warehouse fingerprints them (a change rescores every page),
        without the settings added since, at the value that keeps the analysis as it was
        (ADDED_SETTINGS): a release that adds a setting does not rescore the pages of a
        site that does not use it."""
        data = dataclasses.asdict(self)
        for (part, name), neutral in ADDED_SETTINGS.items():
            if data[part].get(name, neutral) == neutral:
                data[part].pop(name, None)
        return data


# Settings added after warehouses began keeping the analysis fingerprint, each with the value
# at which the analysis is what it was before the setting existed.
ADDED_SETTINGS: dict[tuple[str, str], Any] = {
    ("keywords", "expected"): True,  # session 21: pages without keywords where none are expected
    ("seo", "title_suffix"): "",  # session 21: what page templates add to titles
}


@dataclass
class PageAnalysis:
    """Frames of one analysed batch, named after the tables they load into."""

    readability: pd.DataFrame
    keyword_coverage: pd.DataFrame
    page_keywords: pd.DataFrame
    seo_findings: pd.DataFrame
    metadata_keys: pd.DataFrame
    fingerprints: pd.DataFrame
    signatures: Any  # numpy (n, num_perm) uint32, row i = fingerprints row i
    bands: Any  # numpy (n, bands) uint64


def analyse_documents(documents: pd.DataFrame, settings: AnalysisSettings) -> PageAnalysis:
    """Readability, keyword coverage, page SEO findings, the keys the site checks group
    metadata by, and duplicate fingerprints."""
    readability = score_readability(documents[["doc_key", "body_text"]], settings.readability)
    readability["content_hash"] = documents["content_hash"].to_numpy()  # what the scores were computed from
    with_counts = documents.assign(word_count=readability["word_count"].to_numpy())
    coverage = keyword_coverage(with_counts, settings.keywords)
    summary = page_keyword_summary(with_counts, coverage, settings.keywords)
    thresholds_for = partial(resolve_thresholds, settings.seo, settings.seo_by_subject)
    findings = page_seo_findings(with_counts, thresholds_for, summary, settings.keywords).assign(scope="page")
    fingerprints, signatures, bands = fingerprint_documents(
        documents.assign(text=documents["body_text"]), settings.duplicates
    )
    keys = metadata_keys(documents)
    return PageAnalysis(readability, coverage, summary, findings, keys, fingerprints, signatures, bands)
