"""Turn the raw bytes of markdown files into document rows and error rows.

Pure: the caller reads the files; this module never touches the file system.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd
import xxhash

from transforms.fields import DOCUMENT_COLUMNS, FieldMapping, map_fields, subject_key
from transforms.front_matter import DocumentError, decode_bytes, split_front_matter
from transforms.plaintext import markdown_to_text

DOCUMENT_FRAME_COLUMNS = (
    "doc_key",
    *DOCUMENT_COLUMNS,
    "subject_key",
    "body_text",
    "content_hash",
    "file_size",
    "file_mtime_ns",
)
ERROR_FRAME_COLUMNS = ("path", "error_kind", "message", "content_hash", "file_size", "file_mtime_ns")


@dataclass(frozen=True)
class RawFile:
    """A file as read from the content folder (or the reason it could not be read)."""

    doc_key: str
    data: bytes | None
    file_size: int
    file_mtime_ns: int
    read_error: DocumentError | None = None


def content_hash(data: bytes) -> str:
    """Fingerprint of a file's bytes: what 'changed' means for incremental runs."""
    return xxhash.xxh3_128_hexdigest(data)


def parse_document(raw: RawFile, mapping: FieldMapping) -> dict:
    """One file's document row; raises DocumentError for files that cannot be documents."""
    if raw.read_error is not None:
        raise raw.read_error
    assert raw.data is not None
    split = split_front_matter(decode_bytes(raw.data))
    record = map_fields(split.front_matter, split.body, raw.doc_key, mapping)
    record["doc_key"] = raw.doc_key
    record["subject_key"] = subject_key(record["subject"])
    record["body_text"] = markdown_to_text(record["body_markdown"] or "")
    return record


@dataclass
class IngestBatch:
    """One batch's outcome: every file read lands in exactly one of the three frames."""

    documents: pd.DataFrame  # new or changed documents
    unchanged: pd.DataFrame  # doc_key, file_size, file_mtime_ns: same bytes as stored
    errors: pd.DataFrame  # ERROR_FRAME_COLUMNS; content_hash and file state when the file was read
    unread_unchanged: int = 0  # files with the stored size and mtime: not read, nothing to store

    @property
    def files_seen(self) -> int:
        return len(self.documents) + len(self.unchanged) + self.unread_unchanged + len(self.errors)

    @classmethod
    def of_unread(cls, unchanged: int, *errors: pd.DataFrame) -> IngestBatch:
        """Files settled without reading: how many are unchanged by size and date, and errors
        (skipped by the scan, still quarantined): frames with path, error_kind, message and
        any other of ERROR_FRAME_COLUMNS. Each is aligned to ERROR_FRAME_COLUMNS as Python objects before
        they meet, so missing values become NULLs and integers never pass through float64."""
        aligned = [frame.reindex(columns=list(ERROR_FRAME_COLUMNS)).astype(object) for frame in errors]
        merged = (
            pd.concat(aligned, ignore_index=True)
            if aligned
            else pd.DataFrame(columns=list(ERROR_FRAME_COLUMNS))
        )
        return cls(
            document_frame([]),
            pd.DataFrame(columns=["doc_key", "file_size", "file_mtime_ns"]),
            merged.where(merged.notna(), None),
            unchanged,
        )


def parse_documents(
    raw_files: Iterable[RawFile], mapping: FieldMapping, known_hashes: Mapping[str, str] | None = None
) -> IngestBatch:
    """Documents, unchanged files and ingest errors of a batch of files.

    known_hashes: content hash stored for a doc_key; a file with the same bytes is
    unchanged and is not parsed again.
    """
    known_hashes = known_hashes or {}
    documents, errors, unchanged = [], [], []
    for raw in raw_files:
        digest = content_hash(raw.data) if raw.data is not None else None
        if digest is not None and known_hashes.get(raw.doc_key) == digest:
            unchanged.append((raw.doc_key, raw.file_size, raw.file_mtime_ns))
            continue
        try:
            record = parse_document(raw, mapping)
        except DocumentError as error:
            errors.append(
                {
                    "path": raw.doc_key,
                    "error_kind": error.kind,
                    "message": error.message,
                    "content_hash": digest,
                    "file_size": raw.file_size,
                    "file_mtime_ns": raw.file_mtime_ns,
                }
            )
            continue
        except Exception as error:  # a parser bug must quarantine the file, not kill the run
            errors.append(
                {
                    "path": raw.doc_key,
                    "error_kind": "unexpected_error",
                    "message": f"{type(error).__name__}: {' '.join(str(error).split())[:400]}",
                    "content_hash": digest,
                    "file_size": raw.file_size,
                    "file_mtime_ns": raw.file_mtime_ns,
                }
            )
            continue
        record.update(content_hash=digest, file_size=raw.file_size, file_mtime_ns=raw.file_mtime_ns)
        documents.append(record)
    return IngestBatch(
        document_frame(documents),
        pd.DataFrame(unchanged, columns=["doc_key", "file_size", "file_mtime_ns"]),
        pd.DataFrame(errors, columns=list(ERROR_FRAME_COLUMNS)),
    )


def document_frame(records: list[dict]) -> pd.DataFrame:
    """Records to a frame with the documents' columns and stable dtypes, even when empty."""
    frame = pd.DataFrame.from_records(records, columns=list(DOCUMENT_FRAME_COLUMNS))
    frame["published_date"] = pd.to_datetime(frame["published_date"], errors="coerce").dt.date
    frame["file_size"] = frame["file_size"].astype("int64")
    frame["file_mtime_ns"] = frame["file_mtime_ns"].astype("int64")
    return frame
