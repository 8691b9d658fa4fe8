"""The content-audit flow: ingest, analyse, publish. Wiring only: every decision lives in
transforms/ (pure) or warehouse/ (SQL); tasks run the CPU-heavy batches in workers."""

from __future__ import annotations

from concurrent.futures import Executor, Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from content_audit.faults import maybe_die
from content_audit.heartbeats import end_flow_runs_without_joining_heartbeats
from content_audit.memory import freeze_long_lived, prepared_process, release_freed_memory
from content_audit.runner import default_task_runner, log_migrations, log_task_runner, stop_worker_processes
from content_audit.settings import Settings, analysis_settings, load_settings
from flows.publish import artifacts_posted, publish
from flows.site import analyse_site
from flows.streaming import stream_results, submitter
from flows.tasks import analyse_batch, ingest_batch, scan_content_folder
from transforms.analysis import AnalysisSettings
from transforms.c_passes import describe_c_passes
from transforms.changes import quarantine_warning, split_batches, still_quarantined
from transforms.ingest import IngestBatch
from warehouse import documents as documents_table
from warehouse.loads import forget_documents, load_ingest_batch, load_page_analysis
from warehouse.runs import (
    pages_changed_since_last_completed_run,
    quarantine_reasons,
    record_warning,
    scored_in_run,
    unfinished_site_analysis,
)
from warehouse.session import RunSession, open_run
from warehouse.state import (
    analysis_fingerprint_changed,
    begin_parsing,
    store_analysis_fingerprint,
)

ANALYSIS_COLUMNS = [
    "doc_key",
    "subject_key",
    "title",
    "seo_title",
    "meta_description",
    "keywords",
    "question",
    "body_markdown",
    "body_text",
    "url",
    "file_name",
    "content_hash",
]

# A run ends when its work does, not up to a second later (see content_audit.heartbeats).
end_flow_runs_without_joining_heartbeats()


@flow(name="content-audit", task_runner=default_task_runner(), log_prints=False)
def content_audit(
    content: str | None = None,
    warehouse: str | None = None,
    out: str | None = None,
    config: str | None = None,
    full_refresh: bool = False,
    profile: str | None = None,
) -> dict[str, Any]:
    """Audit a folder of markdown pages into a DuckDB warehouse and publish reports.
    profile: the front-matter profile (`[ingest] profile`), quicktakes or docs."""
    settings = load_settings(
        Path(config) if config else None,
        content_dir=content,
        warehouse=warehouse,
        out_dir=out,
        profile=profile,
    )
    with ThreadPoolExecutor(1, thread_name_prefix="content-audit-artifacts") as background:
        summary, index, posting = audit(settings, str(flow_run.get_id() or ""), full_refresh, background)
    # The run was finished and checkpointed (open_run) while its artifacts were being posted.
    artifacts_posted(posting)
    return {**summary, "report": str(index)}


def audit(
    settings: Settings, flow_run_id: str, full_refresh: bool, background: Executor
) -> tuple[dict[str, Any], Path, Future[None]]:
    """The run itself: its `runs` row (with what it warned of), the report's index.html,
    and the artifacts posting that `publish` handed to `background`."""
    with (
        prepared_process(),
        open_run(settings.warehouse, str(settings.content_dir), flow_run_id, settings.duckdb) as run,
    ):
        get_run_logger().info("Run %s: %s -> %s", run.run_id, settings.content_dir, settings.warehouse)
        log_migrations(run.migrations_applied)
        log_task_runner(settings)
        get_run_logger().info("C passes: %s", describe_c_passes())
        page_settings = analysis_settings(settings)
        with run.batch_memory_limit():  # the worker processes hold memory of their own meanwhile
            ingest(run, settings, page_settings, full_refresh)
            rescored_everything = rescore(run, settings, page_settings, full_refresh)
        with run.site_memory_limit():  # the site's findings and pairs are in this process too
            pages_unchanged = analyse_site_if_changed(run, page_settings, rescored_everything)
        maybe_die("publish")
        index, posting = publish(run, settings, background, pages_unchanged)
    return run.summary, index, posting


def ingest(run: RunSession, settings: Settings, page_settings: AnalysisSettings, full_refresh: bool) -> None:
    """Read, parse and score new and changed files in batches; each batch's documents and
    their page analysis load in two transactions (a kill between them leaves the analysis
    stale, and the analyse step picks it up). When most files were quarantined, a warning
    (transforms.changes.quarantine_warning) is logged and kept with the run."""
    logger = get_run_logger()
    scan = scan_content_folder(settings.content_dir, settings.ingest.patterns, settings.ingest.max_file_bytes)
    why_parse_again = begin_parsing(
        run.con, settings.ingest.parsing, full_refresh, settings.ingest.mapping_changed_since_unrecorded
    )
    if why_parse_again:
        logger.info("Ingest: every file is read and parsed again: %s", why_parse_again)
    trust_file_stat = settings.ingest.trust_file_stat and why_parse_again is None
    to_read, unread_unchanged = documents_table.files_to_read(run.con, scan.files, trust_file_stat)
    to_read, quarantined = still_quarantined(
        to_read, documents_table.quarantined_file_states(run.con, run.run_id), trust_file_stat
    )
    skipped = scan.skipped_frame()
    load_ingest_batch(run.con, run.run_id, 0, IngestBatch.of_unread(unread_unchanged, skipped, quarantined))
    in_process, size = settings.batching(len(to_read))
    batches = split_batches(to_read, size)
    freeze_long_lived()
    files_found = scan.files.num_rows + len(skipped)
    logger.info(
        "Ingest: %d files found, %d unchanged by size and date, %d quarantined and unchanged since, "
        "%d to read in %d batches",
        files_found,
        unread_unchanged,
        len(quarantined),
        len(to_read),
        len(batches),
    )
    mapping = settings.ingest.mapping
    arguments = (
        (n, settings.content_dir, b, mapping, settings.ingest.max_file_bytes, page_settings)
        for n, b in enumerate(batches, start=1)
    )
    for n, (batch, analysis) in enumerate(
        stream_results(
            submitter(ingest_batch, in_process),
            arguments,
            settings.runner.in_flight,
        ),
        1,
    ):
        counts = load_ingest_batch(run.con, run.run_id, n, batch)
        maybe_die(f"ingest-batch-{n}")
        if analysis is not None:
            load_page_analysis(run.con, run.run_id, analysis)
            maybe_die(f"analyse-batch-{n}")
        release_freed_memory()
        logger.info("Ingest batch %d/%d: %s", n, len(batches), counts)
    gone = documents_table.mark_deleted(run.con, run.run_id, scan.paths())
    forgotten = documents_table.deleted_with_rows(run.con)  # and those a stopped run left
    forget_documents(run.con, forgotten)
    logger.info(
        "Ingest: %d documents deleted since the last run; rows of %d deleted documents removed",
        len(gone),
        len(forgotten),
    )
    warning = quarantine_warning(
        settings.ingest.profile, files_found, quarantine_reasons(run.con, run.run_id)
    )
    if warning:
        logger.warning(warning)
        record_warning(run.con, run.run_id, warning)


def rescore(run: RunSession, settings: Settings, page_settings: AnalysisSettings, full_refresh: bool) -> bool:
    """Score what ingest did not: documents whose scores are missing or were computed from
    other content or settings; returns whether every page was scored again (new analysis
    settings, or a full refresh). Stops the worker processes: the batches are done."""
    logger = get_run_logger()
    everything = full_refresh or analysis_fingerprint_changed(run.con, page_settings.fingerprint_data())
    stale = documents_table.stale_documents(run.con, "readability", everything=everything)
    in_process, size = settings.batching(len(stale))
    key_batches = [stale[i : i + size] for i in range(0, len(stale), size)]
    logger.info("Analyse: %d documents left to score in %d batches", len(stale), len(key_batches))
    frames = (documents_table.documents_frame(run.con, keys, ANALYSIS_COLUMNS) for keys in key_batches)
    arguments = ((n, frame, page_settings) for n, frame in enumerate(frames, start=1))
    for n, result in enumerate(
        stream_results(
            submitter(analyse_batch, in_process),
            arguments,
            settings.runner.in_flight,
        ),
        1,
    ):
        load_page_analysis(run.con, run.run_id, result)
        maybe_die(f"analyse-batch-{n}")
        release_freed_memory()
        logger.info("Analyse batch %d/%d loaded", n, len(key_batches))
    store_analysis_fingerprint(run.con, page_settings.fingerprint_data())
    stop_worker_processes()
    return everything


def analyse_site_if_changed(
    run: RunSession, page_settings: AnalysisSettings, rescored_everything: bool
) -> bool:
    """The site-wide checks, unless no page changed since the last completed run: then True
    (its site checks, and page marts, still hold)."""
    unfinished = unfinished_site_analysis(run.con)
    # by ingest or rescore: new and changed pages, and pages parsed again from the same bytes
    scored = scored_in_run(run.con, run.run_id)
    if not (rescored_everything or scored or unfinished or pages_changed_since_last_completed_run(run.con)):
        get_run_logger().info(
            "Site checks and duplicates: no page changed since the last completed run; kept"
        )
        return True
    analyse_site(run, page_settings, changed=None if rescored_everything else sorted({*scored, *unfinished}))
    return False
