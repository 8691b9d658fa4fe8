"""Publish: rebuild the marts, write the reports, export Parquet, post Prefect artifacts."""

from __future__ import annotations

import contextvars
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from content_audit.settings import Settings, quality_weights
from reports.build import build_reports
from reports.paths import artifact_key
from warehouse.marts import export_parquet, read_subject_quality, rebuild_marts
from warehouse.session import RunSession

SUMMARY_COLUMNS = [
    "subject_key",
    "subject",
    "pages",
    "quality_score",
    "quality_score_delta",
    "median_flesch_reading_ease",
    "keyword_coverage_ratio",
    "duplicate_share",
    "seo_findings",
    "pages_added",
    "pages_changed",
    "pages_deleted",
    "scoring_changed",
]


def publish(
    run: RunSession, settings: Settings, background: Executor, pages_unchanged: bool = False
) -> tuple[Path, Future[None]]:
    """Marts, reports and Parquet exports; returns the path of the report's index.html and
    the posting of the run's Prefect artifacts, handed to `background` (with this thread's
    Prefect run context): posting waits on the Prefect server (~20 ms an artifact, 42 at
    40 subjects), which it may do while the caller finishes and checkpoints the run.
    pages_unchanged: see rebuild_marts."""
    logger = get_run_logger()
    built = rebuild_marts(
        run.con, run.run_id, quality_weights(settings), pages_unchanged, run.tuning.mart_chunk_pages
    )
    # The Parquet exports (DuckDB, off the GIL) are written while the reports render (Python),
    # through a cursor of their own: both only read the marts just committed.
    with run.con.cursor() as cursor, ThreadPoolExecutor(1) as pool:
        exporting = pool.submit(export_parquet, cursor, settings.out_dir / "exports")
        files = build_reports(run.con, settings.out_dir, run.run_id, run.tuning.mart_chunk_pages)
        exports = exporting.result()
    logger.info(
        "Publish: marts %s, %d Parquet exports, %d subject reports; open %s",
        built.counts,
        len(exports),
        len(files.subject_pages),
        files.index,
    )
    # Subject figures can move with unchanged pages (new weights): only kept marts repeat them.
    posting = background.submit(
        contextvars.copy_context().run,
        post_artifacts,
        summary_rows(read_subject_quality(run.con, run.run_id)),
        run.run_id,
        files.index,
        not built.page_marts_kept,
    )
    return files.index, posting


def artifacts_posted(posting: Future[None]) -> None:
    """Wait for the artifacts `publish` handed on. Their failure fails the flow run, with the
    warehouse run already completed: its tables, reports and exports are whole."""
    try:
        posting.result()
    except Exception as error:
        raise RuntimeError(
            f"the run's Prefect artifacts could not be posted ({type(error).__name__}: {error}); "
            "the warehouse run completed and its reports and exports were written"
        ) from error


def _cell(value: object, digits: int = 3) -> object:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return round(value, digits) if isinstance(value, float) else value


def summary_rows(subjects: pd.DataFrame) -> list[dict[str, Any]]:
    """The subject_quality rows the artifacts show (SUMMARY_COLUMNS, floats rounded)."""
    return [
        {column: _cell(value) for column, value in row.items()}
        for row in subjects[SUMMARY_COLUMNS].to_dict("records")
    ]


_NOTHING_CHANGED = "Nothing changed since the last completed run: subject artifacts not posted again."


def post_artifacts(rows: list[dict[str, Any]], run_id: int, index: Path, per_subject: bool = True) -> None:
    """One markdown and one table artifact for the run, and one markdown artifact per
    subject (key `subject-<slug>`, so each subject's history lines up across runs).
    per_subject False (nothing changed since the last completed run): the subjects'
    artifacts of that run still hold, and are not posted again (40 posts: ~1-2 s)."""
    worst = sorted((r for r in rows if r["quality_score"] is not None), key=lambda r: r["quality_score"])[:5]
    lines = [
        f"# Content quality, run {run_id}",
        "",
        f"{len(rows)} subjects, {sum(r['pages'] for r in rows):,} pages; "
        f"{sum(r['pages_added'] for r in rows):,} added, {sum(r['pages_changed'] for r in rows):,} changed, "
        f"{sum(r['pages_deleted'] for r in rows):,} deleted.",
        "",
        f"Report: `{index.resolve()}`",
        "",
        *([] if per_subject else [_NOTHING_CHANGED, ""]),
        "| Lowest-scoring subjects | Quality score | Pages |",
        "|---|---:|---:|",
        *(
            f"| {_md(r['subject'] or r['subject_key'])} | {r['quality_score']} | {r['pages']:,} |"
            for r in worst
        ),
    ]
    create_markdown_artifact(
        markdown="\n".join(lines), key="content-quality-summary", description=f"Run {run_id} summary"
    )
    create_table_artifact(table=rows, key="content-quality-subjects", description=f"Run {run_id} subjects")
    for row in rows if per_subject else []:
        create_markdown_artifact(
            markdown=_subject_markdown(row, run_id),
            key=artifact_key("subject", row["subject_key"]),
            description=f"{row['subject'] or row['subject_key']}: run {run_id}",
        )


def _md(text: object) -> str:
    """Content in a markdown table cell: no pipes, no markup, no line breaks."""
    cleaned = str(text).replace("\n", " ").replace("|", "/")
    return "".join("\\" + ch if ch in "\\`*_{}[]<>#!" else ch for ch in cleaned)


def _subject_markdown(row: dict, run_id: int) -> str:
    delta = row["quality_score_delta"]
    rescored = ", scored another way" if row.get("scoring_changed") else ""
    change = "" if delta is None else f" ({delta:+.1f} since the previous run{rescored})"
    coverage = row["keyword_coverage_ratio"]
    share = row["duplicate_share"]
    return "\n".join(
        [
            f"# {_md(row['subject'] or row['subject_key'])}, run {run_id}",
            "",
            "| Measure | Value |",
            "|---|---:|",
            f"| Pages | {row['pages']:,} |",
            f"| Quality score | {row['quality_score']}{change} |",
            f"| Median readability | {row['median_flesch_reading_ease']} |",
            f"| Keyword coverage | {'' if coverage is None else f'{100 * coverage:.1f}%'} |",
            f"| Duplicate share | {'' if share is None else f'{100 * share:.1f}%'} |",
            f"| SEO findings | {row['seo_findings']:,} |",
            f"| Added / changed / deleted | {row['pages_added']} / {row['pages_changed']} / "
            f"{row['pages_deleted']} |",
        ]
    )
