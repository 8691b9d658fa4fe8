"""The content folder: find the markdown files in it and read them, safely.

This is the only module that reads content. It never follows symbolic links (a link may
point outside the folder or into a loop), never reads more than the size limit, and
reports every file it passes over, so that counts always reconcile.
"""

from __future__ import annotations

import fnmatch
import os
import re
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa

from transforms.front_matter import DocumentError
from transforms.ingest import RawFile


@dataclass(frozen=True)
class FileEntry:
    doc_key: str
    file_size: int
    file_mtime_ns: int


@dataclass(frozen=True)
class SkippedFile:
    path: str
    error_kind: str
    message: str


FILES_SCHEMA = pa.schema([("doc_key", pa.string()), ("file_size", pa.int64()), ("file_mtime_ns", pa.int64())])


@dataclass(frozen=True)
class Scan:
    """What a scan found. The files are held by column (FILES_SCHEMA, sorted by doc_key),
    not as an object per file: at 400,000 files a list of FileEntry took ~130 MB of the
    flow process for the whole run, the Arrow table ~45 MB."""

    files: pa.Table
    skipped: list[SkippedFile]

    def files_frame(self) -> pd.DataFrame:
        """doc_key, file_size, file_mtime_ns of each file."""
        return self.files.to_pandas()

    def skipped_frame(self) -> pd.DataFrame:
        """path, error_kind, message of each file passed over."""
        return pd.DataFrame([vars(s) for s in self.skipped], columns=["path", "error_kind", "message"])

    def paths(self) -> pa.ChunkedArray:
        """Every path found, read or passed over."""
        skipped = pa.chunked_array([[s.path for s in self.skipped]], pa.string())
        return pa.chunked_array([*self.files.column("doc_key").chunks, *skipped.chunks], pa.string())


class _FileColumns:
    """Files found so far, by column: Python lists up to `chunk` files, then an Arrow batch
    (so the objects a scan holds at once stay bounded, whatever the folder's size)."""

    def __init__(self, chunk: int = 65_536) -> None:
        self._chunk = chunk
        self._batches: list[pa.RecordBatch] = []
        self._keys: list[str] = []
        self._sizes: list[int] = []
        self._mtimes: list[int] = []

    def append(self, key: str, size: int, mtime_ns: int) -> None:
        self._keys.append(key)
        self._sizes.append(size)
        self._mtimes.append(mtime_ns)
        if len(self._keys) >= self._chunk:
            self._flush()

    def _flush(self) -> None:
        if self._keys:
            self._batches.append(
                pa.record_batch([self._keys, self._sizes, self._mtimes], schema=FILES_SCHEMA)
            )
            self._keys, self._sizes, self._mtimes = [], [], []

    def sorted_table(self) -> pa.Table:
        """Sorted by doc_key: Arrow compares UTF-8 bytes, which orders valid UTF-8 (every key
        is, see _storable) as Python orders the strings."""
        self._flush()
        table = pa.Table.from_batches(self._batches, schema=FILES_SCHEMA)
        self._batches = []
        return table.sort_by("doc_key").combine_chunks()


def scan_content(root: Path, patterns: Sequence[str], max_file_bytes: int) -> Scan:
    """Every file under `root` whose name matches `patterns`, as keys relative to root."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"content folder {root} does not exist or is not a folder")
    files = _FileColumns()
    skipped: list[SkippedFile] = []
    wanted = re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns) or "(?!)")
    # (folder, its key prefix): keys are built as strings, not as paths relative to root.
    stack: list[tuple[str, str]] = [(str(root), "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as error:
            skipped.append(
                SkippedFile(
                    prefix.rstrip("/") or ".", "unreadable", f"folder cannot be listed: {error.strerror}"
                )
            )
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            matches = wanted.match(entry.name.lower()) is not None
            key = prefix + entry.name
            if entry.is_symlink():
                if matches:
                    skipped.append(SkippedFile(key, "symlink", _symlink_reason(root, Path(entry.path))))
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError as error:
                skipped.append(SkippedFile(key, "unreadable", f"cannot stat file: {error.strerror}"))
                continue
            if stat.S_ISDIR(info.st_mode):
                stack.append((entry.path, key + "/"))
                if matches:
                    skipped.append(
                        SkippedFile(
                            key, "not_a_file", "a folder is named like a page; its files are scanned as pages"
                        )
                    )
                continue
            if not matches:
                continue
            if not stat.S_ISREG(info.st_mode):
                skipped.append(SkippedFile(key, "not_a_file", "not a regular file (device, pipe or socket)"))
            elif not _storable(key):
                skipped.append(
                    SkippedFile(
                        key.encode("utf-8", "backslashreplace").decode(),
                        "bad_file_name",
                        "file name is not valid UTF-8; rename the file",
                    )
                )
            elif info.st_size > max_file_bytes:
                skipped.append(
                    SkippedFile(
                        key,
                        "too_large",
                        f"file is {info.st_size:,} bytes; the limit is "
                        f"{max_file_bytes:,} (ingest.max_file_bytes)",
                    )
                )
            else:
                files.append(key, info.st_size, info.st_mtime_ns)
    skipped.sort(key=lambda s: s.path)
    return Scan(files.sorted_table(), skipped)


def read_files(root: Path, entries: Iterable[FileEntry], max_file_bytes: int) -> list[RawFile]:
    """The bytes of each file; a file that cannot be read carries its error instead."""
    raw: list[RawFile] = []
    for entry in entries:
        path = Path(root) / entry.doc_key
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
            try:
                info = os.fstat(fd)
                if not stat.S_ISREG(info.st_mode):
                    raise DocumentError("not_a_file", "not a regular file")
                if info.st_size > max_file_bytes:
                    raise DocumentError(
                        "too_large",
                        f"file is {info.st_size:,} bytes; the limit is "
                        f"{max_file_bytes:,} (ingest.max_file_bytes)",
                    )
                with os.fdopen(fd, "rb", closefd=False) as handle:
                    data = handle.read(max_file_bytes + 1)
                if len(data) > max_file_bytes:  # grew after fstat: never parse a cut-off file
                    raise DocumentError(
                        "too_large", f"file grew past the limit of {max_file_bytes:,} bytes while read"
                    )
                size, mtime = info.st_size, info.st_mtime_ns
            finally:
                os.close(fd)
            raw.append(RawFile(entry.doc_key, data, size, mtime))
        except DocumentError as error:
            raw.append(RawFile(entry.doc_key, None, entry.file_size, entry.file_mtime_ns, error))
        except OSError as error:
            kind = "symlink" if error.errno == 40 else ("vanished" if error.errno == 2 else "unreadable")
            raw.append(
                RawFile(
                    entry.doc_key,
                    None,
                    entry.file_size,
                    entry.file_mtime_ns,
                    DocumentError(kind, f"cannot read file: {error.strerror}"),
                )
            )
    return raw


def _storable(key: str) -> bool:
    if key.isascii():
        return True
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _symlink_reason(root: Path, path: Path) -> str:
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return "symbolic link is broken or loops; links are never followed"
    inside = target.is_relative_to(root.resolve())
    where = "inside" if inside else "outside"
    return f"symbolic link to a file {where} the content folder; links are never followed"
