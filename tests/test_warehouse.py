"""Warehouse loaders on a real DuckDB file: upserts, deletions, counts, the run lock."""

from __future__ import annotations

import itertools
from functools import partial
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import duckdb_size_bytes
from transforms.analysis import AnalysisSettings, analyse_documents
from transforms.fields import QUICKTAKES
from transforms.ingest import IngestBatch, RawFile, parse_documents
from transforms.keywords import main_keyword_keys, shared_main_keywords
from transforms.seo import SITE_RULES, metadata_keys, shared_value_wording, site_rule_findings
from warehouse.documents import deleted_with_rows, distinct_main_keywords, files_to_read, mark_deleted
from warehouse.loads import (
    PAGE_ANALYSIS_TABLES,
    forget_documents,
    load_ingest_batch,
    load_page_analysis,
    replace_site_findings,
    store_cannibalisation,
)
from warehouse.lock import WarehouseLock, WarehouseLocked
from warehouse.metadata_keys import pages_without_keys, store_keys, store_shared_value_findings
from warehouse.migrate import apply_migrations, migration_files
from warehouse.session import DuckDBSettings, open_read_only, open_run
from warehouse.store import delete_scattered, insert_frame


def _page(answer: str) -> bytes:
    return f"---\ntitle: T\nsubject: S\nanswer: {answer}\n---\n".encode()


def _batch(pages: dict[str, bytes], known: dict[str, str] | None = None) -> IngestBatch:
    raw = [RawFile(k, v, len(v), 1) for k, v in pages.items()]
    return parse_documents(raw, QUICKTAKES, known)


def test_migrations_apply_once_in_order(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    applied = apply_migrations(con)
    assert applied == sorted(applied) == [v for v, _, _ in migration_files()]
    assert apply_migrations(con) == []
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert {"documents", "runs", "ingest_errors", "schema_version"} <= tables


def test_document_bodies_move_to_zstd_with_every_row_kept(tmp_path: Path) -> None:
    """Migration 0011 rebuilds a warehouse's documents table with its bodies stored as zstd:
    the same columns in the same order, the same rows, and new rows compressed so too."""
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    before = [(v, n, sql) for v, n, sql in migration_files() if v < 11]
    apply_migrations_up_to(con, before)
    columns = [c for c, *_ in con.execute("DESCRIBE documents").fetchall()]
    pages = {f"p{i}.md": _page(f"answer {i} " + "words of a body " * 40) for i in range(3000)}
    load_ingest_batch(con, 1, 1, _batch(pages))
    old_rows = con.execute("SELECT * FROM documents ORDER BY doc_key").fetchall()

    assert apply_migrations(con) == [v for v, _, _ in migration_files() if v >= 11]
    assert [c for c, *_ in con.execute("DESCRIBE documents").fetchall()] == columns
    assert con.execute("SELECT * FROM documents ORDER BY doc_key").fetchall() == old_rows
    load_ingest_batch(con, 1, 2, _batch({"new.md": _page("a later page " * 50)}))
    con.execute("CHECKPOINT")
    compression = dict(
        con.execute(
            "SELECT column_name, string_agg(DISTINCT compression) FROM pragma_storage_info('documents') "
            "WHERE segment_type = 'VARCHAR' GROUP BY column_name"
        ).fetchall()
    )
    assert compression["body_markdown"] == compression["body_text"] == "ZSTD"
    assert compression["doc_key"] != "ZSTD"  # the other columns keep DuckDB's own choice


def test_a_run_knows_which_migrations_it_applied(tmp_path: Path) -> None:
    """So that the flow can say why a run on an older warehouse took longer (0011 rebuilds
    the documents table)."""
    older = tmp_path / "older.duckdb"
    with duckdb.connect(str(older)) as con:
        apply_migrations_up_to(con, [(v, n, sql) for v, n, sql in migration_files() if v < 11])
    newer = [v for v, _, _ in migration_files() if v >= 11]
    with open_run(older, "c") as run:
        assert run.migrations_applied == newer
    with open_run(older, "c") as run:
        assert run.migrations_applied == []
    with open_run(tmp_path / "new.duckdb", "c") as run:
        assert run.migrations_applied == [v for v, _, _ in migration_files()]


def apply_migrations_up_to(con: duckdb.DuckDBPyConnection, migrations: list[tuple[int, str, str]]) -> None:
    """A warehouse as an older release left it: these migrations applied, the rest not."""
    con.execute(
        "CREATE TABLE schema_version "
        "(version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
    )
    for version, name, sql in migrations:
        con.execute(sql)
        con.execute("INSERT INTO schema_version VALUES (?, ?, now())", [version, name])


def test_upserts_count_new_changed_and_resurrected(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with open_run(path, "c") as run:
        counts = load_ingest_batch(
            run.con, run.run_id, 1, _batch({"a.md": _page("one"), "b.md": _page("two")})
        )
        assert (counts["docs_new"], counts["docs_changed"]) == (2, 0)
    with open_run(path, "c") as run:
        counts = load_ingest_batch(run.con, run.run_id, 1, _batch({"a.md": _page("one, edited")}))
        assert (counts["docs_new"], counts["docs_changed"]) == (0, 1)
        assert mark_deleted(run.con, run.run_id, ["a.md"]) == ["b.md"]
    with open_run(path, "c") as run:
        counts = load_ingest_batch(run.con, run.run_id, 1, _batch({"b.md": _page("two")}))
        assert counts["docs_new"] == 1  # came back after deletion
    with open_read_only(path) as con:
        rows = con.execute(
            "SELECT doc_key, first_seen_run, last_changed_run, deleted_run FROM documents ORDER BY doc_key"
        ).fetchall()
        assert rows == [("a.md", 1, 2, None), ("b.md", 3, 3, None)]
        # changed and returning documents are replaced, not added beside their old version
        bodies = con.execute("SELECT doc_key, body_text FROM documents ORDER BY doc_key").fetchall()
        assert [(k, t.rstrip(".")) for k, t in bodies] == [("a.md", "one, edited"), ("b.md", "two")]
        runs = con.execute(
            "SELECT run_id, status, docs_new, docs_changed, docs_deleted FROM runs ORDER BY run_id"
        ).fetchall()
        assert runs == [(1, "completed", 2, 0, 0), (2, "completed", 0, 1, 1), (3, "completed", 1, 0, 0)]


def test_page_analysis_replaces_rows_of_rescored_pages_only(tmp_path: Path) -> None:
    """Rescored pages keep one set of analysis rows, however often they are scored; pages
    scored for the first time (no deletes) and pages forgotten and scored again too."""
    words = "The quick brown fox jumps over the lazy dog near the river bank today. " * 6

    def analysis(pages: dict[str, str]):
        batch = _batch(
            {
                k: f"---\ntitle: {k}\nsubject: S\nseo:\n  page_keywords: fox, dog\nanswer: {v}\n---\n".encode()
                for k, v in pages.items()
            }
        )
        return analyse_documents(batch.documents, AnalysisSettings())

    def rows_per_page(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, int]]:
        tables = (*PAGE_ANALYSIS_TABLES, "seo_findings", "minhash_signatures", BANDS_BY_PAGE)
        return {
            t: dict(
                con.execute(f"SELECT doc_key, count(*) FROM {t} GROUP BY doc_key ORDER BY doc_key").fetchall()
            )
            for t in tables
        }

    with open_run(tmp_path / "w.duckdb", "c") as run:
        load_page_analysis(run.con, run.run_id, analysis({"a.md": words, "b.md": words + "Extra words."}))
        first = rows_per_page(run.con)
        assert all(set(counts) == {"a.md", "b.md"} for t, counts in first.items() if t != "seo_findings")
        load_page_analysis(run.con, run.run_id, analysis({"a.md": words, "c.md": words}))
        load_page_analysis(run.con, run.run_id, analysis({"a.md": words, "b.md": words + "Extra words."}))
        forget_documents(run.con, ["b.md"])
        load_page_analysis(run.con, run.run_id, analysis({"b.md": words + "Extra words."}))
        again = rows_per_page(run.con)
    for table, counts in first.items():
        assert {k: again[table][k] for k in counts} == counts, table
        assert again[table].get("c.md") == counts.get("a.md"), table
    assert orphan_band_rows(tmp_path / "w.duckdb") == 0


def test_failed_run_is_marked_and_its_batch_rolled_back(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    bad = _batch({"a.md": _page("one")})
    bad.errors = pd.DataFrame(
        {"path": ["x.md"], "error_kind": ["k"], "message": [None], "content_hash": [None]}
    )
    with pytest.raises(duckdb.ConstraintException), open_run(path, "c") as run:
        load_ingest_batch(run.con, run.run_id, 1, bad)  # message NOT NULL: the whole batch must roll back
    with open_read_only(path) as con:
        assert con.execute("SELECT count(*) FROM documents").fetchone()[0] == 0
        assert con.execute("SELECT status FROM runs").fetchall() == [("failed",)]


def test_a_document_that_cannot_be_stored_fails_with_its_own_error_and_keeps_the_old_version(
    tmp_path: Path,
) -> None:
    path = tmp_path / "w.duckdb"
    with open_run(path, "c") as run:
        load_ingest_batch(run.con, run.run_id, 1, _batch({"a.md": _page("one")}))
    broken = _batch({"a.md": _page("one, edited")})
    broken.documents["subject_key"] = None  # NOT NULL: the new version cannot be stored
    with pytest.raises(duckdb.ConstraintException), open_run(path, "c") as run:
        load_ingest_batch(run.con, run.run_id, 1, broken)
    with open_read_only(path) as con:
        assert con.execute("SELECT doc_key, last_changed_run FROM documents").fetchall() == [("a.md", 1)]


def test_runs_killed_mid_way_are_abandoned_by_the_next_run(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    apply_migrations(con)
    con.execute("INSERT INTO runs (run_id, started_at, status) VALUES (1, now(), 'running')")
    con.close()
    with open_run(path, "c") as run:
        assert run.run_id == 2
    with open_read_only(path) as con:
        assert con.execute("SELECT run_id, status FROM runs ORDER BY 1").fetchall() == [
            (1, "abandoned"),
            (2, "completed"),
        ]


def test_second_run_is_refused_with_the_holder(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with (
        open_run(path, "c") as run,
        pytest.raises(WarehouseLocked, match=rf"locked by run {run.run_id} since"),
    ):
        WarehouseLock(path).acquire()
    lock = WarehouseLock(path)
    lock.acquire()  # free again once the run is over
    lock.release()


def test_run_connection_applies_the_duckdb_settings(tmp_path: Path) -> None:
    tuning = DuckDBSettings(
        memory_limit="300MB",
        batch_memory_limit="100MB",
        site_memory_limit="200MB",
        checkpoint_threshold="64MB",
    )
    limits = []
    with open_run(tmp_path / "w.duckdb", "c", tuning=tuning) as run:

        def limit() -> float:
            return duckdb_size_bytes(run.con.execute("SELECT current_setting('memory_limit')").fetchone()[0])

        limits.append(limit())
        with pytest.raises(KeyError), run.batch_memory_limit():
            limits.append(limit())
            raise KeyError("a batch failed")
        limits.append(limit())
        with run.site_memory_limit():
            limits.append(limit())
        limits.append(limit())
        threshold = run.con.execute("SELECT current_setting('checkpoint_threshold')").fetchone()[0]
    # DuckDB reports sizes in its own units (300MB -> "286.1 MiB"): compare in bytes.
    assert limits == [pytest.approx(n, rel=0.01) for n in (300e6, 100e6, 300e6, 200e6, 300e6)]
    assert duckdb_size_bytes(threshold) == pytest.approx(64e6, rel=0.01)


def test_site_findings_replace_the_previous_ones_and_keep_the_page_findings(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    apply_migrations(con)
    pages = pd.DataFrame(
        {"doc_key": ["a.md", "b.md", "c.md"], "seo_title": ["Same", " same", "Own"], "title": ["T", "T", "U"]}
    )
    insert_frame(con, "documents", pages, DOCUMENT_CONSTANTS)
    insert_frame(con, "metadata_keys", metadata_keys(pages))
    old = pd.DataFrame({"doc_key": ["old.md", "a.md"], "rule": "r", "severity": "warning", "detail": "d"})
    insert_frame(con, "seo_findings", old.assign(scope=["site", "page"]))
    keys = pd.DataFrame({"main_keyword": ["k"], "main_keyword_key": ["k"]})
    assert replace_site_findings(con, SITE_RULES, shared_value_wording, keys, 10) == (
        4,
        0,
    )  # no page declares k
    rows = con.execute(
        "SELECT doc_key, rule, scope FROM seo_findings ORDER BY scope, rule, doc_key"
    ).fetchall()
    assert rows == [
        ("a.md", "r", "page"),
        ("a.md", "duplicate_seo_title", "site"),
        ("b.md", "duplicate_seo_title", "site"),
        ("a.md", "duplicate_title", "site"),
        ("b.md", "duplicate_title", "site"),
    ]


# Band rows carry their signature's id, not the doc_key.
BANDS_BY_PAGE = "(SELECT doc_key FROM minhash_bands JOIN minhash_signatures USING (signature_id))"


def orphan_band_rows(path: Path) -> int:
    """Band rows whose signature is gone (each re-stored signature must take its bands along)."""
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(
            "SELECT count(*) FROM minhash_bands ANTI JOIN minhash_signatures USING (signature_id)"
        ).fetchone()[0]


def test_cannibalisation_in_the_warehouse_equals_the_in_memory_transform(tmp_path: Path) -> None:
    """store_cannibalisation groups the live pages' stored main keywords by the keys of
    main_keyword_keys: the rows shared_main_keywords makes from the same pages, in its order."""
    pages = [  # doc_key, subject_key, main keyword, deleted
        ("a.md", "bio", "Neurotransmitters", False),
        ("b.md", "chem", "neurotransmitter", False),
        ("c.md", "bio", "NEUROTRANSMITTERS ", False),
        ("d.md", "bio", "enzymes", False),
        ("e.md", "chem", "Enzyme", False),
        ("f.md", "bio", "alone", False),
        ("g.md", "bio", "enzymes", True),  # deleted: in no group
        ("h.md", "bio", "?!", False),  # no key
        ("i.md", "bio", "?!", False),
        ("j.md", " ", "alone too", False),
        ("k.md", "chem", None, False),
        ("l.md", "chem", "Alone-too", False),
    ]
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    apply_migrations(con)
    for doc_key, subject_key, keyword, deleted in pages:
        con.execute(
            "INSERT INTO documents (doc_key, subject_key, content_hash, first_seen_run, last_changed_run, "
            "deleted_run) VALUES (?, ?, 'h', 1, 1, ?)",
            [doc_key, subject_key, 2 if deleted else None],
        )
        con.execute(
            "INSERT INTO page_keywords (doc_key, keywords_declared, keywords_in_body, main_keyword, "
            "keyword_stuffing) VALUES (?, 1, 0, ?, false)",
            [doc_key, keyword],
        )
    insert_frame(
        con,
        "keyword_cannibalisation",
        shared_main_keywords(
            pd.DataFrame(
                {"doc_key": ["old.md", "older.md"], "subject_key": ["s", "s"], "main_keyword": ["x", "x"]}
            )
        ),
    )
    keys = main_keyword_keys(distinct_main_keywords(con))
    assert store_cannibalisation(con, keys) == 7
    live = [(d, s, k) for d, s, k, deleted in pages if not deleted]
    expected = shared_main_keywords(pd.DataFrame(live, columns=["doc_key", "subject_key", "main_keyword"]))
    stored = con.execute(
        "SELECT main_keyword_key, main_keyword, doc_key, subject_key, group_size FROM keyword_cannibalisation "
        "ORDER BY group_size DESC, main_keyword_key, doc_key"
    ).fetchall()
    assert stored == [
        tuple(row) for row in expected.astype(object).where(expected.notna(), None).values.tolist()
    ]
    assert {row[2] for row in stored} == {"a.md", "b.md", "c.md", "d.md", "e.md", "j.md", "l.md"}
    assert [row[3] for row in stored if row[2] == "j.md"] == [None]  # a blank subject: none


def test_loads_that_delete_rows_end_with_a_checkpoint(tmp_path: Path) -> None:
    """Deleted rows hold DuckDB's memory until a checkpoint (warehouse.store.checkpoint): a
    batch that replaced earlier rows, and forgetting pages, leave nothing in the write-ahead
    log; a load that only appended leaves its rows there."""
    wal = tmp_path / "w.duckdb.wal"

    def analysis(*doc_keys: str):
        pages = {key: _page("Some words here for the reader. More words there.") for key in doc_keys}
        return analyse_documents(_batch(pages).documents, AnalysisSettings())

    def logged() -> int:
        return wal.stat().st_size if wal.exists() else 0

    with open_run(tmp_path / "w.duckdb", "c") as run:
        load_page_analysis(run.con, run.run_id, analysis("a.md", "b.md"))
        assert logged() > 0
        load_page_analysis(run.con, run.run_id, analysis("a.md"))  # replaces a.md's rows
        assert logged() == 0
        load_page_analysis(run.con, run.run_id, analysis("c.md"))
        assert logged() > 0
        forget_documents(run.con, ["c.md"])
        assert logged() == 0
        forget_documents(run.con, [])  # nothing to forget: nothing written


def test_mark_deleted_takes_arrow_keys_or_a_list(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with open_run(path, "c") as run:
        load_ingest_batch(run.con, run.run_id, 1, _batch({k: _page(k) for k in ("a.md", "b.md", "c.md")}))
        assert mark_deleted(run.con, run.run_id, pa.chunked_array([["a.md"], ["c.md"]])) == ["b.md"]
        assert sorted(mark_deleted(run.con, run.run_id, [])) == ["a.md", "c.md"]


@pytest.mark.parametrize("slice_rows", [1, 3, 7, 50, 4_000_000])
def test_scattered_delete_by_slices_equals_one_delete(tmp_path: Path, slice_rows: int) -> None:
    """Slices from the end, each committed and checkpointed (which may compact the row
    groups it emptied), delete exactly the rows one DELETE would."""
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("CREATE TABLE t (doc_key VARCHAR, n INTEGER)")
    con.execute("INSERT INTO t SELECT 'p' || (i % 37), i FROM range(300) r(i)")
    con.execute("CHECKPOINT")
    doomed = [f"p{i}" for i in (0, 5, 6, 36, 99)]  # p99 has no rows
    expected = con.execute(
        "SELECT doc_key, n FROM t WHERE doc_key NOT IN (SELECT unnest(?)) ORDER BY n", [doomed]
    ).fetchall()
    assert delete_scattered(con, "t", "doc_key", doomed, slice_rows) == 300 - len(expected)
    assert con.execute("SELECT doc_key, n FROM t ORDER BY n").fetchall() == expected
    assert delete_scattered(con, "t", "doc_key", doomed, slice_rows) == 0
    assert delete_scattered(con, "t", "doc_key", [], slice_rows) == 0


def test_pages_a_stopped_run_left_are_forgotten_by_the_next(tmp_path: Path) -> None:
    """A run stopped between marking pages deleted and forgetting them (or while forgetting:
    each table is its own transaction) leaves their rows; `deleted_with_rows` finds them
    for the next run, and forgetting them again leaves no row of theirs anywhere."""
    words = "Plain words about a river and a bank, written for the reader. " * 4
    pages = {
        k: f"---\ntitle: {k}\nsubject: S\nanswer: {words}\n---\n".encode() for k in ("a.md", "b.md", "c.md")
    }
    path = tmp_path / "w.duckdb"
    with open_run(path, "c") as run:
        batch = _batch(pages)
        load_ingest_batch(run.con, run.run_id, 1, batch)
        load_page_analysis(run.con, run.run_id, analyse_documents(batch.documents, AnalysisSettings()))
        assert deleted_with_rows(run.con) == []
        assert mark_deleted(run.con, run.run_id, ["a.md"]) == ["b.md", "c.md"]
        forget_documents(run.con, ["c.md"])  # b.md: the run stopped before it got there
    with open_run(path, "c") as run:
        assert deleted_with_rows(run.con) == ["b.md"]
        forget_documents(run.con, deleted_with_rows(run.con))
        assert deleted_with_rows(run.con) == []
        tables = (*PAGE_ANALYSIS_TABLES, "seo_findings", "minhash_signatures", BANDS_BY_PAGE)
        left = {t: run.con.execute(f"SELECT DISTINCT doc_key FROM {t} ORDER BY 1").fetchall() for t in tables}
    assert all(set(rows) <= {("a.md",)} for rows in left.values()), left
    assert left["readability"] == left["minhash_signatures"] == left[BANDS_BY_PAGE] == [("a.md",)]
    assert orphan_band_rows(path) == 0


DOCUMENT_CONSTANTS = {"subject_key": "s", "content_hash": "h", "first_seen_run": 1, "last_changed_run": 1}
# Values that fold together (case, spacing, ß and SS; quotes, a backslash), one cut short in
# a finding's detail, blanks, and values of their own.
_METADATA_VALUES = [
    "Straße",
    "STRASSE",
    " strasse ",
    "Sleep  apnea",
    "sleep apnea",
    "SLEEP APNEA",
    'It\'s a "quoted" back\\slash',
    'it\'s a "QUOTED" back\\slash ',
    "A long value " + "x" * 90,
    "",
    "  ",
    None,
]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([*_METADATA_VALUES, "own"]), st.sampled_from([*_METADATA_VALUES, "own"])),
        min_size=1,
        max_size=40,
    ),
    st.sets(st.integers(0, 39), max_size=8),
    st.sampled_from([1, 2, 5, 1000]),
)
def test_duplicate_metadata_grouped_in_the_warehouse_equals_the_rules_over_the_whole_site(
    values: list[tuple[str | None, str | None]], deleted: set[int], chunk_pages: int
) -> None:
    """The findings grouped in DuckDB a chunk of pages sharing a stored key at a time, and
    worded from their distinct values, equal the site rules' over every live page at once
    (values that fold together, blanks, deleted pages); each chunk holds whole groups,
    fewer than chunk_pages pages plus its last group; no temporary table is left."""
    pages = pd.DataFrame(
        {
            "doc_key": [f"p{n:02d}.md" for n in range(len(values))],
            "seo_title": [v if v != "own" else f"Own title {n}" for n, (v, _) in enumerate(values)],
            "title": [t if t != "own" else f"Own {n}" for n, (_, t) in enumerate(values)],
            "meta_description": None,
        }
    )
    with duckdb.connect(":memory:") as con:
        apply_migrations(con)
        insert_frame(con, "documents", pages, DOCUMENT_CONSTANTS)
        insert_frame(con, "metadata_keys", metadata_keys(pages))
        gone = [key for n, key in enumerate(pages["doc_key"]) if n in deleted]
        con.execute("UPDATE documents SET deleted_run = 2 WHERE list_contains(?, doc_key)", [gone])
        live = pages.loc[~pages["doc_key"].isin(gone)]
        for column in SITE_RULES:
            rule = SITE_RULES[column][0]
            before_each_chunk: list[int] = []

            def wording(
                shared: pd.DataFrame, column: str = column, seen: list[int] = before_each_chunk
            ) -> pd.DataFrame:
                seen.append(
                    con.execute(
                        f"SELECT count(*) FROM seo_findings WHERE rule = '{SITE_RULES[column][0]}'"
                    ).fetchall()[0][0]
                )
                return shared_value_wording(column, shared)

            stored = store_shared_value_findings(con, column, wording, chunk_pages)
            found = con.execute(
                f"SELECT doc_key, rule, severity, detail FROM seo_findings WHERE rule = '{rule}'"
            )
            found = found.fetchall()
            whole = site_rule_findings(live[list(dict.fromkeys(["doc_key", column, "title"]))], column)
            assert stored == len(found) == len(whole)
            assert sorted(found) == sorted(whole.itertuples(index=False, name=None))
            groups = metadata_keys(live).groupby(f"{column}_key").size()
            chunk_sizes = [b - a for a, b in itertools.pairwise([*before_each_chunk, stored])]
            assert all(0 < size < chunk_pages + groups.max() for size in chunk_sizes)
        assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchone()[0] == 0


def test_pages_scored_before_metadata_keys_were_kept_are_found(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    apply_migrations(con)
    pages = pd.DataFrame({"doc_key": ["a.md", "b.md", "c.md"], "seo_title": ["X", "x", "y"]})
    insert_frame(con, "documents", pages, DOCUMENT_CONSTANTS)
    store_keys(con, metadata_keys(pages.iloc[:1]))
    con.execute("UPDATE documents SET deleted_run = 2 WHERE doc_key = 'c.md'")
    assert pages_without_keys(con) == ["b.md"]
    store_keys(con, metadata_keys(pages.iloc[1:2]))
    assert pages_without_keys(con) == []
    assert store_shared_value_findings(con, "seo_title", partial(shared_value_wording, "seo_title"), 10) == 2
    found = con.execute("SELECT doc_key FROM seo_findings ORDER BY doc_key").fetchall()
    assert found == [("a.md",), ("b.md",)]


def test_files_to_read_are_those_whose_size_or_date_moved(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    apply_migrations(con)
    stored = pd.DataFrame(
        {
            "doc_key": ["a", "b", "gone"],
            "content_hash": ["ha", "hb", "hg"],
            "file_size": [1, 2, 9],
            "file_mtime_ns": [10, 21, 90],
        }
    )
    constants = {"subject_key": "s", "first_seen_run": 1, "last_changed_run": 1}
    insert_frame(con, "documents", stored, constants)
    con.execute("UPDATE documents SET deleted_run = 1 WHERE doc_key = 'gone'")
    mtime = 1_795_749_947_414_529_148  # past float64's exact integers
    files = pa.table(
        {
            "doc_key": ["c", "b", "a", "gone", "d"],
            "file_size": pa.array([3, 2, 1, 9, 4], pa.int64()),
            "file_mtime_ns": pa.array([30, 20, 10, 90, mtime], pa.int64()),
        }
    )
    to_read, unread = files_to_read(con, files, trust_file_stat=True)
    assert unread == 1  # a: the stored size and date
    assert to_read["doc_key"].tolist() == ["b", "c", "d", "gone"]  # a deleted page's file came back
    assert to_read["known_hash"].tolist()[0] == "hb" and to_read["known_hash"].iloc[1:].isna().all()
    assert to_read["file_mtime_ns"].tolist()[2] == mtime
    to_read, unread = files_to_read(con, files, trust_file_stat=False)
    assert unread == 0 and to_read["doc_key"].tolist() == ["a", "b", "c", "d", "gone"]
    assert to_read["known_hash"].tolist()[:2] == ["ha", "hb"]


def test_run_warnings_of_a_warehouse_from_before_they_were_kept_are_none() -> None:
    """`content-audit report` reads a warehouse without migrating it: runs may lack the column."""
    from warehouse.runs import record_warning, run_warnings

    con = duckdb.connect(":memory:")
    con.execute("CREATE TABLE runs (run_id BIGINT, status VARCHAR)")
    con.execute("INSERT INTO runs VALUES (1, 'completed')")
    assert run_warnings(con, 1) == [] and run_warnings(con, 2) == []
    con.execute("ALTER TABLE runs ADD COLUMN warnings VARCHAR[]")
    record_warning(con, 1, "first")
    record_warning(con, 1, "second")
    assert run_warnings(con, 1) == ["first", "second"]
