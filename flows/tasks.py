"""Prefect tasks: thin wrappers that hand batches to worker processes.

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

from content_audit.batches import read_and_score, score
from content_audit.files import Scan, scan_content
from content_audit.worker_pool import offload
from transforms.analysis import AnalysisSettings, PageAnalysis
from transforms.fields import FieldMapping
from transforms.ingest import IngestBatch


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
    """Read, parse and score a batch of files (content_audit.batches.read_and_score), in a
    worker process when the task runner has them."""
    return offload(read_and_score, content_dir, files, mapping, max_file_bytes, settings)


@task(name="analyse-batch", cache_policy=NO_CACHE, task_run_name="analyse-batch-{batch_no}")
def analyse_batch(batch_no: int, documents: pd.DataFrame, settings: AnalysisSettings) -> PageAnalysis:
    """Score documents read by an earlier run (content_audit.batches.score)."""
    return offload(score, documents, settings)
