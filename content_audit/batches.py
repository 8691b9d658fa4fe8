"""The CPU-heavy work of one batch, as a worker process runs it.

Nothing here imports Prefect: a worker process loads this module, the transforms and
pandas, and nothing of Prefect's task engine (see content_audit.worker_pool). The Prefect
tasks in flows/tasks.py hand these functions to the worker pool, or call them in place
when no pool is running (runs too small for workers, the thread and Dask task runners).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from content_audit.files import FileEntry, read_files
from content_audit.memory import start_worker_batch
from transforms.analysis import AnalysisSettings, PageAnalysis, analyse_documents
from transforms.fields import FieldMapping
from transforms.ingest import IngestBatch, parse_documents
from transforms.textstat_offline import use_installed_cmudict


def read_and_score(
    content_dir: Path,
    files: pd.DataFrame,
    mapping: FieldMapping,
    max_file_bytes: int,
    settings: AnalysisSettings,
) -> tuple[IngestBatch, PageAnalysis | None]:
    """Read and parse a batch of files (doc_key, file_size, file_mtime_ns, known_hash), and
    score its new and changed documents in the same pass: each page crosses between
    processes once. The analysis is None when the batch holds no new or changed document."""
    entries = [
        FileEntry(k, s, m)
        for k, s, m in files[["doc_key", "file_size", "file_mtime_ns"]].itertuples(index=False, name=None)
    ]
    known = {k: v for k, v in zip(files["doc_key"], files["known_hash"], strict=True) if isinstance(v, str)}
    start_worker_batch()  # frees what the previous batch in this worker left
    batch = parse_documents(read_files(content_dir, entries, max_file_bytes), mapping, known)
    if batch.documents.empty:
        return batch, None
    return batch, _analysed(batch.documents, settings)


def score(documents: pd.DataFrame, settings: AnalysisSettings) -> PageAnalysis:
    """Everything computed from each document alone (transforms.analysis), for documents
    read by an earlier run."""
    start_worker_batch()
    return _analysed(documents, settings)


def _analysed(documents: pd.DataFrame, settings: AnalysisSettings) -> PageAnalysis:
    use_installed_cmudict()
    return analyse_documents(documents, settings)
