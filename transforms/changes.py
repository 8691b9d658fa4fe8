"""Which files need reading this run, and how to cut the work into batches. Pure."""

from __future__ import annotations

import math

import pandas as pd


def still_quarantined(
    to_read: pd.DataFrame, quarantined: pd.DataFrame, trust_file_stat: bool
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split files to read into (to_read, still_quarantined).

    quarantined: path, error_kind, message, content_hash, file_size, file_mtime_ns of files
    the previous run quarantined. A file with that size and mtime again keeps its error
    without being read (as an unchanged document is kept, when trust_file_stat); the others
    are read.
    """
    if not trust_file_stat or to_read.empty or quarantined.empty:
        return to_read, quarantined.iloc[:0]
    stat = quarantined.astype({"file_size": "int64", "file_mtime_ns": "int64"}).rename(
        columns={"path": "doc_key"}
    )
    merged = to_read.merge(stat, on=["doc_key", "file_size", "file_mtime_ns"], how="left", indicator=True)
    same = (merged["_merge"] == "both").to_numpy()
    kept = merged.loc[same, ["doc_key", *quarantined.columns.drop("path")]].rename(
        columns={"doc_key": "path"}
    )
    return to_read[~same].reset_index(drop=True), kept.reset_index(drop=True)


def batch_size_for(total: int, workers: int, max_batch: int, min_batch: int, in_process: bool = False) -> int:
    """Big enough that Prefect's per-task cost stays small, small enough to use every
    worker and to bound the memory of results in flight. In process (no workers to keep
    busy) a batch is as large as max_batch allows: each batch load has a fixed cost."""
    if total <= 0:
        return max(1, min_batch)
    if in_process:
        return max(1, max_batch)
    even_split = math.ceil(total / max(1, workers * 4))
    return max(min_batch, min(max_batch, even_split))


def split_batches(frame: pd.DataFrame, size: int) -> list[pd.DataFrame]:
    return [frame.iloc[start : start + size].reset_index(drop=True) for start in range(0, len(frame), size)]


# Largest change, as a share of the live pages, after which the site checks run beside the
# duplicate pass (flows.site.analyse_site).
SIDE_BY_SIDE_SHARE = 0.05


def site_steps_side_by_side(changed_pages: int, live_pages: int, largest_site: int) -> bool:
    """Whether the site checks may run beside the duplicate pass: when the pages new or
    changed are at most SIDE_BY_SIDE_SHARE of the live pages, on a site of at most
    `largest_site` pages. The duplicate pass then reads few pages; a first run's reads them
    all. Side by side, a 1% rerun at 100,000 pages took 1.06 s for the two against 1.68 s.
    On a larger site (over `site_chunk_pages`) each step works in chunks sized to use the
    whole site memory limit, and side by side they can ask for it at the same moment: a 1%
    rerun at 1,000,000 pages failed so, once in three (DuckDB out of memory at 256 MB in the
    duplicate pass's pair replacement, as the site checks committed), so there they run
    one after the other."""
    return live_pages <= largest_site and changed_pages <= live_pages * SIDE_BY_SIDE_SHARE


# Quarantine reasons that say the files follow another front-matter schema than the profile's.
_SCHEMA_REASONS = frozenset({"missing_field", "no_front_matter"})


def quarantine_warning(profile: str, files_found: int, reasons: pd.DataFrame) -> str | None:
    """A warning when most files found were quarantined (reasons: error_kind, message, files,
    most frequent first, as warehouse.runs.quarantine_reasons gives them), naming the main
    reasons; when they are the profile's missing fields or front matter, it names the other
    profile. None when at most half the files were quarantined."""
    quarantined = int(reasons["files"].sum()) if len(reasons) else 0
    if files_found == 0 or quarantined * 2 <= files_found:
        return None
    named = "; ".join(
        f"{files:,} {kind}: {message}"
        for kind, message, files in reasons[["error_kind", "message", "files"]].itertuples(index=False)
    )
    warning = f"{quarantined:,} of {files_found:,} files were quarantined this run (most frequent: {named})."
    other = "docs" if profile == "quicktakes" else "quicktakes"
    if set(reasons["error_kind"].head(2)) <= _SCHEMA_REASONS:
        warning += (
            f" The files may follow another schema than the {profile!r} profile's: try --profile {other} "
            "(Hugo, Jekyll and docs pages: docs; QuickTakes pages: quicktakes), or map the fields "
            "in [ingest.fields]."
        )
    return warning
