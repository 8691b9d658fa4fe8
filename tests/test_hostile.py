"""Hostile and broken content: every file becomes a document or an `ingest_errors` row with
a clear kind, nothing executes, nothing is followed outside the folder, and a run over all
of it at once completes with counts that reconcile.

Most cases are unit tests of the pure steps (parse_document, scan_content, read_files);
one pipeline run covers them all together (a Prefect run costs tens of seconds here).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import duckdb
import pytest

from content_audit import files as content_files
from content_audit.files import FileEntry, read_files, scan_content
from transforms.fields import DOCS, QUICKTAKES
from transforms.front_matter import DocumentError
from transforms.ingest import RawFile, parse_document, parse_documents

MD = ("*.md", "*.markdown")
LIMIT = 5_000_000


def page(answer: str = "A short answer about cells.", **fields: str) -> bytes:
    """A QuickTakes-style page; `fields` are raw YAML lines (key: value as written)."""
    lines = [f"{key}: {value}" for key, value in fields.items()]
    return ("---\n" + "\n".join([*lines, f"answer: {answer}"]) + "\n---\n\n&nbsp;\n").encode()


def parse(data: bytes, mapping=QUICKTAKES, doc_key: str = "page.md") -> dict:
    return parse_document(RawFile(doc_key, data, len(data), 0), mapping)


def error_of(data: bytes, mapping=QUICKTAKES) -> DocumentError:
    with pytest.raises(DocumentError) as caught:
        parse(data, mapping)
    assert caught.value.message.strip(), "every error carries a message for people"
    return caught.value


BILLION_LAUGHS = (
    b"---\nanswer: x\n"
    + b'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + b"".join(
        f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n".encode()
        for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    )
    + b"---\n"
)
DEEP_SEQUENCE = b"---\nanswer: x\na: " + b"[" * 5000 + b"]" * 5000 + b"\n---\n"
DEEPER_SEQUENCE = b"---\nanswer: x\na: " + b"[" * 60_000 + b"]" * 60_000 + b"\n---\n"  # segfaulted libyaml
DEEP_FLOW_MAPPING = b"---\nanswer: x\na: " + b"{a: " * 5000 + b"1" + b"}" * 5000 + b"\n---\n"
DEEP_BLOCK_MAPPING = (
    "---\nanswer: x\n" + "".join(" " * i + f"k{i}:\n" for i in range(1200)) + " " * 1200 + "v: 1\n---\n"
).encode()
DEEP_TOML = b"+++\nanswer = 'x'\na = " + b"[" * 5000 + b"]" * 5000 + b"\n+++\n"


def _marker_tag(marker: Path) -> bytes:
    return f"x: !!python/object/apply:os.system ['touch {marker}']".encode()


# --- front matter and encodings -----------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"---\ntitle: [unclosed\nanswer: x\n---\n", "invalid_yaml"),
        (b"---\ntitle: 50% off: today\nanswer: x\n---\n", "invalid_yaml"),
        (b"---\n- a list\n- not fields\n---\n", "invalid_yaml"),
        (b"---\ntitle: a\nanswer: b\n\nbody without a closing fence\n", "unclosed_front_matter"),
        (b"+++\ntitle = a bare word\n+++\n", "invalid_toml"),
        (b"# Just markdown\n\nNo front matter at all.\n", "no_front_matter"),
        (b"", "empty_file"),
        (b" \n\r\n\t\n", "empty_file"),
        (bytes(range(256)) * 4, "binary"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(1, 256)), "encoding"),
        ("---\ntitle: café\nanswer: x\n---\n".encode("latin-1"), "encoding"),
        (b"\xff\xfe\x00\xd8" + "---\n".encode("utf-16-le"), "encoding"),  # UTF-16 lone surrogate
        (b"---\nanswer: a\x07bell\n---\n", "invalid_yaml"),
        (b"---\ntitle: a\nanswer: x\ntitle: b\n---\n", "duplicate_key"),
        (b"---\nanswer: x\nseo:\n  title: a\n  title: b\n---\n", "duplicate_key"),
        (BILLION_LAUGHS, "front_matter_too_large"),
        (DEEP_SEQUENCE, "yaml_too_deep"),
        (DEEPER_SEQUENCE, "yaml_too_deep"),
        (DEEP_FLOW_MAPPING, "yaml_too_deep"),
        (DEEP_BLOCK_MAPPING, "yaml_too_deep"),
        (DEEP_TOML, "toml_too_deep"),
        (b"---\nanswer: !!python/name:os.system\n---\n", "unsafe_yaml_tag"),
        (b"---\nanswer: !custom thing\n---\n", "unsafe_yaml_tag"),
        (b"---\ntitle: only a title\n---\n", "missing_field"),
        (b"---\n---\n", "missing_field"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_broken_file_is_rejected_with_its_kind(data: bytes, kind: str) -> None:
    assert error_of(data).kind == kind


def test_python_object_tags_never_execute(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    for tag in ("apply", "new"):
        data = b"---\nanswer: x\n" + _marker_tag(marker).replace(b"apply", tag.encode()) + b"\n---\n"
        assert error_of(data).kind == "unsafe_yaml_tag"
    assert error_of(b"---\nanswer: !!python/object/apply:os.system ['true']\n---\n").kind == "unsafe_yaml_tag"
    assert not marker.exists()


@pytest.mark.parametrize(
    ("data", "title", "answer"),
    [
        ("---\ntitle: Café\nanswer: Ça va\n---\n".encode("utf-16"), "Café", "Ça va"),  # LE with BOM
        (b"\xfe\xff" + "---\ntitle: Café\nanswer: Ça va\n---\n".encode("utf-16-be"), "Café", "Ça va"),
        (b"\xef\xbb\xbf" + "---\ntitle: Café\nanswer: Ça va\n---\n".encode(), "Café", "Ça va"),
        (
            b"---\r\ntitle: T\r\nanswer: >-\r\n  line one\r\n  line two\r\n---\r\n\r\n&nbsp;\r\n",
            "T",
            "line one line two",
        ),
        (b"---\rtitle: T\ranswer: old Mac\r---\r", "T", "old Mac"),
    ],
    ids=["utf16-le-bom", "utf16-be-bom", "utf8-bom", "crlf", "cr"],
)
def test_encodings_and_line_endings_are_read(data: bytes, title: str, answer: str) -> None:
    record = parse(data)
    assert (record["title"], record["body_markdown"]) == (title, answer)
    assert "\r" not in record["body_markdown"] and "\ufeff" not in record["title"]


def test_toml_front_matter_is_a_document_when_fields_map() -> None:
    record = parse(b'+++\ntitle = "TOML page"\nanswer = "Answer from TOML."\n[seo]\ntitle = "S"\n+++\nbody\n')
    assert (record["title"], record["body_markdown"], record["seo_title"]) == (
        "TOML page",
        "Answer from TOML.",
        "S",
    )
    assert error_of(b'+++\ntitle = "TOML without answer"\n+++\nbody\n').kind == "missing_field"


def test_no_front_matter_is_a_document_for_the_docs_profile() -> None:
    record = parse(b"# Heading\n\nPlain markdown body.\n", DOCS)
    assert record["body_markdown"] == "# Heading\n\nPlain markdown body.\n"
    assert error_of(b"# Heading\n\nPlain markdown body.\n").kind == "no_front_matter"


# --- field types ------------------------------------------------------------------------


def test_scalar_answer_is_kept_as_written() -> None:
    # Scalars stay strings (no YAML 1.1 typing), so `answer: 42` is a (very short) document.
    assert parse(page("42"))["body_markdown"] == "42"
    assert parse(page("true"))["body_markdown"] == "true"
    assert parse(page("1.10"))["body_markdown"] == "1.10"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (page("[1, 2]"), "'answer'"),
        (page("{a: 1}"), "'answer'"),
        (page("!!binary aGVsbG8="), "'answer'"),
        (page(seo='"text"'), "'seo'"),
        (page(seo="[a, b]"), "'seo'"),
        (page(seo="\n  page_keywords: {a: 1}"), "'seo.page_keywords'"),
        (page(seo="\n  page_keywords: [[nested]]"), "'seo.page_keywords'"),
        (page(title="[a, b]"), "'title'"),
    ],
    ids=[
        "answer-list",
        "answer-map",
        "answer-bytes",
        "seo-text",
        "seo-list",
        "keywords-map",
        "keywords-nested",
        "title-list",
    ],
)
def test_wrong_types_are_rejected_naming_the_field(data: bytes, field: str) -> None:
    error = error_of(data)
    assert error.kind == "wrong_type" and field in error.message


@pytest.mark.parametrize(
    "keywords",
    ["[cells, Cells, ' mitosis ', 7]", "cells, Cells ,, mitosis, 7", "'cells, Cells, mitosis, 7'"],
    ids=["list", "comma-string", "quoted-string"],
)
def test_keywords_as_list_or_comma_string(keywords: str) -> None:
    record = parse(page(seo=f"\n  page_keywords: {keywords}"))
    assert record["keywords"] == ["cells", "mitosis", "7"]


def test_quotes_sql_and_html_are_plain_values() -> None:
    data = (
        b"---\ntitle: \"'; DROP TABLE documents; --\"\nsubject: '<script>alert(1)</script>'\n"
        b"answer: 'He said \"hi\" & <b>left</b>; DELETE FROM runs;'\n---\n"
    )
    record = parse(data)
    assert record["title"] == "'; DROP TABLE documents; --"
    assert record["subject"] == "<script>alert(1)</script>"
    assert record["body_markdown"] == 'He said "hi" & <b>left</b>; DELETE FROM runs;'


def test_parse_documents_quarantines_every_bad_file_and_keeps_the_good() -> None:
    raws = [
        RawFile("good.md", page(), 1, 0),
        RawFile("bad.md", b"---\nanswer: [1]\n---\n", 1, 0),
        RawFile("gone.md", None, 1, 0, DocumentError("unreadable", "cannot read file: Permission denied")),
    ]
    batch = parse_documents(raws, QUICKTAKES)
    assert batch.documents["doc_key"].tolist() == ["good.md"]
    assert sorted(zip(batch.errors["path"], batch.errors["error_kind"], strict=True)) == [
        ("bad.md", "wrong_type"),
        ("gone.md", "unreadable"),
    ]
    assert batch.files_seen == 3


# --- the content folder -------------------------------------------------------------------


def _write_bytes_name(folder: Path, name: bytes, data: bytes) -> None:
    fd = os.open(os.fsencode(folder) + b"/" + name, os.O_CREAT | os.O_WRONLY, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


@pytest.fixture
def odd_folder(tmp_path: Path) -> Path:
    """A content folder full of things that are not plain page files."""
    content, outside = tmp_path / "content", tmp_path / "outside"
    content.mkdir()
    outside.mkdir()
    (outside / "secret.md").write_bytes(page("outside secret"))
    (content / "ok.md").write_bytes(page())
    (content / "to-outside.md").symlink_to(outside / "secret.md")
    (content / "to-inside.md").symlink_to(content / "ok.md")
    (content / "loop.md").symlink_to(content / "loop.md")
    (content / "a.md").symlink_to(content / "b.md")
    (content / "b.md").symlink_to(content / "a.md")
    (content / "linked-folder").symlink_to(outside, target_is_directory=True)
    (content / "x.md").mkdir()
    (content / "x.md" / "inner.md").write_bytes(page("inside a folder named x.md"))
    os.mkfifo(content / "pipe.md")
    (content / "with space 'single' \"double\" é 数学.md").write_bytes(page())
    _write_bytes_name(content, b"latin-\xe9.md", page())
    with open(content / "huge.md", "wb") as handle:  # sparse: 50 MB by size, never read
        handle.truncate(50_000_000)
    return content


def test_scan_never_follows_links_and_names_every_odd_file(odd_folder: Path) -> None:
    scan = scan_content(odd_folder, MD, LIMIT)
    keys = scan.files.column("doc_key").to_pylist()
    assert keys == ["ok.md", "with space 'single' \"double\" é 数学.md", "x.md/inner.md"]
    skipped = {s.path: s for s in scan.skipped}
    assert {p: s.error_kind for p, s in skipped.items()} == {
        "a.md": "symlink",
        "b.md": "symlink",
        "huge.md": "too_large",
        "latin-\\udce9.md": "bad_file_name",
        "loop.md": "symlink",
        "pipe.md": "not_a_file",
        "to-inside.md": "symlink",
        "to-outside.md": "symlink",
        "x.md": "not_a_file",
    }
    assert "outside the content folder" in skipped["to-outside.md"].message
    assert "loops" in skipped["loop.md"].message
    assert (
        "50,000,000 bytes" in skipped["huge.md"].message
        and "ingest.max_file_bytes" in skipped["huge.md"].message
    )
    assert not any("secret" in k for k in keys)


def test_size_limit_is_configurable(odd_folder: Path) -> None:
    (odd_folder / "two-mb.md").write_bytes(page("word " * 400_000))
    default = {s.path for s in scan_content(odd_folder, MD, LIMIT).skipped}
    small = {s.path: s.error_kind for s in scan_content(odd_folder, MD, 1_000_000).skipped}
    assert "two-mb.md" not in default and small["two-mb.md"] == "too_large"


def test_read_quarantines_a_file_that_grew_past_the_limit(tmp_path: Path) -> None:
    (tmp_path / "grown.md").write_bytes(page("x" * 5000))
    (raw,) = read_files(tmp_path, [FileEntry("grown.md", 10, 0)], 1000)
    assert raw.data is None and raw.read_error.kind == "too_large"


def test_read_never_follows_a_link_swapped_in_after_the_scan(tmp_path: Path) -> None:
    (tmp_path / "secret.md").write_bytes(page("secret"))
    (tmp_path / "page.md").symlink_to(tmp_path / "secret.md")
    (raw,) = read_files(tmp_path, [FileEntry("page.md", 10, 0)], LIMIT)
    assert raw.data is None and raw.read_error.kind == "symlink"


def test_read_never_blocks_on_a_pipe_swapped_in(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "page.md")
    (raw,) = read_files(tmp_path, [FileEntry("page.md", 10, 0)], LIMIT)
    assert raw.read_error.kind == "not_a_file"


def test_unreadable_file_is_quarantined(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests run as root, where chmod 000 does not stop reads: force the open to fail.
    (tmp_path / "locked.md").write_bytes(page())
    (tmp_path / "fine.md").write_bytes(page())
    real_open = os.open

    def refuse(path, flags, *args):
        if str(path).endswith("locked.md"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(content_files.os, "open", refuse)
    raws = read_files(tmp_path, [FileEntry("fine.md", 1, 0), FileEntry("locked.md", 1, 0)], LIMIT)
    batch = parse_documents(raws, QUICKTAKES)
    assert batch.documents["doc_key"].tolist() == ["fine.md"]
    ((path, kind, message),) = batch.errors[["path", "error_kind", "message"]].itertuples(index=False)
    assert (path, kind) == ("locked.md", "unreadable") and "Permission denied" in message


# --- one pipeline run over all of it -----------------------------------------------------

SQL_TITLE = "'; DROP TABLE documents; --"
HTML_SUBJECT = '<script>alert("x")</script> & <b>bold</b>'


def _hostile_folder(root: Path, marker: Path) -> tuple[Path, dict[str, str]]:
    """A content folder holding every hostile case; returns {path: 'document' | error kind}."""
    content, outside = root / "content", root / "outside"
    content.mkdir()
    outside.mkdir()
    (outside / "secret.md").write_bytes(page("outside secret"))
    expected: dict[str, str] = {}

    def put(name: str, data: bytes, outcome: str) -> None:
        path = content / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        expected[name] = outcome

    put("invalid-yaml.md", b"---\ntitle: [unclosed\nanswer: x\n---\n", "invalid_yaml")
    put("unclosed.md", b"---\ntitle: a\nanswer: b\n", "unclosed_front_matter")
    put("toml.md", b'+++\ntitle = "TOML page"\nanswer = "From TOML."\n+++\n', "document")
    put("no-front-matter.md", b"# Heading\n\ntext\n", "no_front_matter")
    put("empty.md", b"", "empty_file")
    put("binary.md", bytes(range(256)) * 8, "binary")
    put("latin1.md", "---\nanswer: café\n---\n".encode("latin-1"), "encoding")
    put("utf16.md", "---\ntitle: UTF-16\nanswer: Ça va\n---\n".encode("utf-16"), "document")
    put("utf8-bom.md", b"\xef\xbb\xbf" + page(title="BOM"), "document")
    put("crlf.md", page(title="CRLF").replace(b"\n", b"\r\n"), "document")
    put("alias-bomb.md", BILLION_LAUGHS, "front_matter_too_large")
    put("deep-sequence.md", DEEP_SEQUENCE, "yaml_too_deep")
    put("deeper-sequence.md", DEEPER_SEQUENCE, "yaml_too_deep")
    put("deep-mapping.md", DEEP_BLOCK_MAPPING, "yaml_too_deep")
    put("python-tag.md", b"---\nanswer: x\n" + _marker_tag(marker) + b"\n---\n", "unsafe_yaml_tag")
    put("duplicate-keys.md", b"---\nanswer: x\nanswer: y\n---\n", "duplicate_key")
    put("answer-42.md", page("42"), "document")
    put("answer-list.md", page("[1, 2]"), "wrong_type")
    put("seo-text.md", page(seo='"text"'), "wrong_type")
    put("keywords-list.md", page(seo="\n  page_keywords: [a, b]"), "document")
    put("keywords-string.md", page(seo="\n  page_keywords: a, b"), "document")
    put("two-mb.md", page("word " * 400_000), "too_large")  # over the 1 MB limit of the config
    with open(content / "huge.md", "wb") as handle:
        handle.truncate(50_000_000)
    expected["huge.md"] = "too_large"
    put("with space 'single' \"double\" é 数学.md", page(title="Odd name"), "document")
    put("$(touch PWNED-NAME); rm -rf x.md", page(title="Shell name"), "document")
    put("..%2F..%2Fetc%2Fpasswd.md", page(title="hidden"), "ignored")  # dot files are not content
    del expected["..%2F..%2Fetc%2Fpasswd.md"]
    put("a..%2F..%2Fetc%2Fpasswd.md", page(title="../../etc/passwd", subject="../../etc"), "document")
    put("sql.md", page(title=f'"{SQL_TITLE}"', subject=f"'{HTML_SUBJECT}'"), "document")
    put("x.md/inner.md", page(title="Inside x.md"), "document")
    expected["x.md"] = "not_a_file"
    _write_bytes_name(content, b"latin-\xe9.md", page())
    expected["latin-\\udce9.md"] = "bad_file_name"
    (content / "to-outside.md").symlink_to(outside / "secret.md")
    (content / "loop.md").symlink_to(content / "loop.md")
    (content / "linked-folder").symlink_to(outside, target_is_directory=True)
    expected["to-outside.md"] = expected["loop.md"] = "symlink"
    if os.geteuid() != 0:  # root reads through chmod 000; the unit test above covers it
        put("no-permission.md", page(), "unreadable")
        (content / "no-permission.md").chmod(0)
    return content, expected


def _all_files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if not p.is_dir() or p.is_symlink()}


def test_pipeline_survives_every_hostile_file_at_once(run_audit, tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    content, expected = _hostile_folder(tmp_path, marker)
    config = tmp_path / "audit.toml"
    config.write_text("[ingest]\nmax_file_bytes = 1_000_000\n", "utf-8")
    warehouse_dir, out = tmp_path / "warehouse", tmp_path / "report"
    warehouse = warehouse_dir / "w.duckdb"
    before = _all_files(tmp_path)
    cwd_before = set(Path.cwd().iterdir())

    summary = run_audit(content, warehouse, out, config=config, task_runner="thread", workers=2)

    assert summary["status"] == "completed"
    assert (
        not marker.exists()
        and not list(tmp_path.rglob("PWNED*"))
        and not (Path.cwd() / "PWNED-NAME").exists()
    )
    assert summary["files_seen"] == len(expected)
    assert summary["files_seen"] == (
        summary["docs_new"]
        + summary["docs_changed"]
        + summary["docs_unchanged"]
        + summary["files_quarantined"]
    )
    with duckdb.connect(str(warehouse), read_only=True) as con:
        docs = dict(con.execute("SELECT doc_key, title FROM documents WHERE deleted_run IS NULL").fetchall())
        errors = con.execute("SELECT path, error_kind, message FROM ingest_errors").fetchall()
        subjects = dict(con.execute("SELECT doc_key, subject FROM documents").fetchall())
        tables = {t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        run_rows = con.execute("SELECT count(*) FROM runs").fetchone()[0]
    outcome = {key: "document" for key in docs} | {path: kind for path, kind, _ in errors}
    assert len(outcome) == len(docs) + len(errors), "a file is both a document and an error"
    assert outcome == expected
    assert all(message.strip() for _, _, message in errors)
    # SQL and HTML are data: the tables survive and values round-trip exactly
    assert {"documents", "runs", "ingest_errors"} <= tables and run_rows == 1
    assert docs["sql.md"] == SQL_TITLE and subjects["sql.md"] == HTML_SUBJECT
    assert subjects["a..%2F..%2Fetc%2Fpasswd.md"] == "../../etc"
    assert docs["with space 'single' \"double\" é 数学.md"] == "Odd name"
    assert "outside secret" not in str(docs)
    # reports land under --out only; the warehouse folder holds only the warehouse's files
    created = _all_files(tmp_path) - before
    stray = [p for p in created if not p.is_relative_to(out) and not p.is_relative_to(warehouse_dir)]
    assert stray == []
    assert {p.name for p in warehouse_dir.iterdir()} <= {"w.duckdb", "w.duckdb.lock", "w.duckdb.wal"}
    assert set(Path.cwd().iterdir()) == cwd_before
    for report in out.rglob("*.htm*"):  # reports, when publish writes HTML, escape content
        assert "<script>alert(" not in report.read_text("utf-8", "replace")
