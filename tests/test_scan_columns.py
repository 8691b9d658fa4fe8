"""The scan holds files by column (Arrow), in chunks: same keys, same order as sorting the
Python strings, whatever the chunk size."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from content_audit.files import FILES_SCHEMA, _FileColumns, scan_content

# Valid UTF-8 keys (no lone surrogates: scan_content skips names that are not).
_KEYS = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12)


@given(keys=st.lists(_KEYS, unique=True, max_size=60), chunk=st.integers(1, 7))
@settings(max_examples=200, deadline=None)
def test_file_columns_sort_as_python_sorts_the_keys(keys: list[str], chunk: int) -> None:
    columns = _FileColumns(chunk)
    for n, key in enumerate(keys):
        columns.append(key, n, 10 * n)
    table = columns.sorted_table()
    assert table.schema == FILES_SCHEMA
    expected = sorted(keys)
    assert table.column("doc_key").to_pylist() == expected
    position = {key: n for n, key in enumerate(keys)}
    assert table.column("file_size").to_pylist() == [position[k] for k in expected]
    assert table.column("file_mtime_ns").to_pylist() == [10 * position[k] for k in expected]


def test_scan_frame_and_paths_hold_every_file(tmp_path: Path) -> None:
    for name in ("b.md", "a.md", "é.md", "sub/c.md", "notes.txt", "sub/z.md"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x" * len(name), "utf-8")
    (tmp_path / "big.md").write_text("y" * 50, "utf-8")
    scan = scan_content(tmp_path, ["*.md"], 40)
    frame = scan.files_frame()
    assert frame["doc_key"].tolist() == ["a.md", "b.md", "sub/c.md", "sub/z.md", "é.md"]
    assert frame["file_size"].tolist() == [4, 4, 8, 8, len("é.md")]
    assert str(frame["doc_key"].dtype) == "str" and str(frame["file_mtime_ns"].dtype) == "int64"
    assert scan.paths().to_pylist() == [*frame["doc_key"], "big.md"]


def test_empty_scan_has_typed_columns(tmp_path: Path) -> None:
    scan = scan_content(tmp_path, ["*.md"], 40)
    assert scan.files.num_rows == 0 and scan.files.schema == FILES_SCHEMA
    assert scan.files_frame().empty and scan.paths().type == pa.string()
