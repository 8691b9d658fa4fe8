"""Kill `content-audit run` with SIGKILL at several points, rerun, and check nothing is lost.

The CLI runs as a subprocess with CONTENT_AUDIT_TEST_KILL_AT=<point>: the process kills
itself there (content_audit/faults.py), as a power cut would, with no cleanup at all.
After each kill the warehouse must open, hold no partial batch and no duplicate rows,
and the next run must mark the killed run 'abandoned' and end with exactly the contents
of an uninterrupted run over the same corpus.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from content_audit.faults import KILL_AT_VARIABLE
from warehouse.documents import deleted_with_rows

REPO = Path(__file__).resolve().parents[1]
DOCS = 600
CONFIG = "[ingest]\nbatch_size = 100\nmin_batch_size = 50\n"  # 600 pages, read in process: 6 batches of 100
# Tables that hold the audit's results; run ids and load times differ between runs.
COMPARED_TABLES = (
    "documents",
    "readability",
    "keyword_coverage",
    "page_keywords",
    "seo_findings",
    "duplicate_pairs",
    "keyword_cannibalisation",
)
RUN_COLUMNS = ("first_seen_run", "last_changed_run", "deleted_run", "scored_run", "found_run", "run_id")


@pytest.fixture(scope="module")
def api_url(prefect_harness: None) -> str:
    """The session's Prefect test server, shared by every subprocess run (no server each)."""
    from prefect.settings import get_current_settings

    return str(get_current_settings().api.url)


@pytest.fixture(scope="module")
def corpus(corpus_factory, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    config = tmp_path_factory.mktemp("crash-config") / "audit.toml"
    config.write_text(CONFIG, "utf-8")
    return corpus_factory(DOCS, seed=5, fresh=False), config


def cli_run(
    api_url: str, content: Path, warehouse: Path, config: Path, kill_at: str | None = None
) -> subprocess.CompletedProcess:
    """`content-audit run` in its own process group (the thread runner: no worker processes)."""
    env = {k: v for k, v in os.environ.items() if k != KILL_AT_VARIABLE}
    env.update(PREFECT_API_URL=api_url, PYTHONPATH=str(REPO))
    if kill_at:
        env[KILL_AT_VARIABLE] = kill_at
    args = [sys.executable, "-m", "content_audit.cli", "run", "--content", str(content), "--warehouse",
            str(warehouse), "--out", str(warehouse.parent / "report"), "--config", str(config),
            "--task-runner", "thread", "--workers", "2"]  # fmt: skip
    process = subprocess.Popen(
        args, cwd=warehouse.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True,
    )  # fmt: skip
    try:
        out, err = process.communicate(timeout=900)
    finally:
        with contextlib.suppress(ProcessLookupError):  # anything a killed run left behind goes too
            os.killpg(process.pid, signal.SIGKILL)
    return subprocess.CompletedProcess(args, process.returncode, out, err)


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


def contents(warehouse: Path) -> dict[str, list[tuple]]:
    """Every compared table as sorted rows, without run ids or timestamps."""
    result = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for table in COMPARED_TABLES:
            columns = [c for (c, *_) in _rows(con, f"DESCRIBE {table}") if c not in RUN_COLUMNS]
            rows = _rows(con, f"SELECT {', '.join(columns)} FROM {table}")
            result[table] = sorted((tuple(_plain(v) for v in row) for row in rows), key=repr)
        result["ingest_errors"] = sorted(
            _rows(
                con,
                "SELECT path, error_kind, message FROM ingest_errors "
                "WHERE run_id = (SELECT max(run_id) FROM runs)",
            )
        )
    return result


def _plain(value: object) -> object:
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 9)
    return tuple(value) if isinstance(value, list) else value


def check_consistent(warehouse: Path) -> None:
    """Opens; every loaded batch is whole (its counts match the rows); no duplicate rows."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for run_id, status in _rows(con, "SELECT run_id, status FROM runs ORDER BY run_id"):
            batches = _rows(
                con,
                "SELECT coalesce(sum(docs_new), 0), coalesce(sum(files_quarantined), 0), "
                "coalesce(sum(files_seen), 0), coalesce(sum(docs_new + docs_changed + docs_unchanged "
                "+ files_quarantined), 0) FROM run_batches WHERE run_id = ?",
                [run_id],
            )[0]
            new_docs = _rows(con, "SELECT count(*) FROM documents WHERE first_seen_run = ?", [run_id])[0][0]
            errors = _rows(con, "SELECT count(*) FROM ingest_errors WHERE run_id = ?", [run_id])[0][0]
            assert (batches[0], batches[1]) == (new_docs, errors), f"partial batch in run {run_id} ({status})"
            assert batches[2] == batches[3], f"batch counts of run {run_id} do not reconcile"
            numbers = _rows(con, "SELECT batch_no FROM run_batches WHERE run_id = ? ORDER BY 1", [run_id])
            assert [n for (n,) in numbers] == list(range(len(numbers))), "batches land whole and in order"
        for table in ("documents", "readability", "page_keywords"):
            total, distinct = _rows(con, f"SELECT count(*), count(DISTINCT doc_key) FROM {table}")[0]
            assert total == distinct, f"duplicate doc_key in {table}"
        dupes = _rows(
            con, "SELECT count(*) - count(DISTINCT (doc_key_a, doc_key_b, kind)) FROM duplicate_pairs"
        )
        assert dupes[0][0] == 0
        orphans = _rows(
            con,
            "SELECT count(*) FROM readability r ANTI JOIN documents d "
            "ON d.doc_key = r.doc_key AND d.deleted_run IS NULL",
        )
        assert orphans[0][0] == 0


@pytest.fixture(scope="module")
def uninterrupted(api_url: str, corpus: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> dict:
    content, config = corpus
    warehouse = tmp_path_factory.mktemp("uninterrupted") / "w.duckdb"
    done = cli_run(api_url, content, warehouse, config)
    assert done.returncode == 0, done.stderr[-3000:]
    check_consistent(warehouse)
    return contents(warehouse)


@pytest.mark.parametrize(
    "kill_at", ["ingest-batch-2-uncommitted", "ingest-batch-3", "analyse-batch-1", "publish"]
)
def test_killed_run_loses_nothing(
    kill_at: str, api_url: str, corpus: tuple[Path, Path], uninterrupted: dict, tmp_path: Path
) -> None:
    content, config = corpus
    warehouse = tmp_path / "w.duckdb"

    killed = cli_run(api_url, content, warehouse, config, kill_at=kill_at)
    assert killed.returncode == -signal.SIGKILL, (killed.returncode, killed.stderr[-3000:])
    check_consistent(warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert _rows(con, "SELECT run_id, status FROM runs") == [(1, "running")]
        batches = [n for (n,) in _rows(con, "SELECT batch_no FROM run_batches ORDER BY 1")]
        analysed = _rows(con, "SELECT count(*) FROM readability")[0][0]
        docs_by_batch = dict(_rows(con, "SELECT batch_no, docs_new FROM run_batches"))
    # Each ingest batch loads its documents, then (a second transaction) their page analysis.
    if kill_at == "ingest-batch-2-uncommitted":
        assert batches == [0, 1]  # batch 2 had written its rows: the kill rolled them back
    elif kill_at == "ingest-batch-3":  # documents of batch 3 in, their analysis not yet
        assert batches == [0, 1, 2, 3] and analysed == docs_by_batch[1] + docs_by_batch[2] > 0
    elif kill_at == "analyse-batch-1":
        assert batches == [0, 1] and analysed == docs_by_batch[1] > 0
    else:
        assert analysed == len(uninterrupted["readability"])

    rerun = cli_run(api_url, content, warehouse, config)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    check_consistent(warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        runs = _rows(con, "SELECT run_id, status, message FROM runs ORDER BY run_id")
        final = _rows(con, "SELECT files_seen, docs_new + docs_changed + docs_unchanged + files_quarantined "
                           "FROM runs WHERE run_id = 2")[0]  # fmt: skip
    assert [(r, s) for r, s, _ in runs] == [(1, "abandoned"), (2, "completed")]
    assert "process ended" in runs[0][2]
    assert final == (DOCS, DOCS)
    assert contents(warehouse) == uninterrupted


def test_run_killed_while_forgetting_deleted_pages_is_finished_by_the_next(
    api_url: str, corpus: tuple[Path, Path], tmp_path: Path
) -> None:
    """Deleted pages leave the tables one by one (each in slices, committed as it goes), so a
    kill there leaves some of their rows; the next run finds and removes them, and ends where
    a run that was never killed ends."""
    content, config = corpus
    ends = {}
    for name, kill_at in (("uninterrupted", None), ("killed", "forget-deleted")):
        site, warehouse = tmp_path / name / "content", tmp_path / name / "w.duckdb"
        shutil.copytree(content, site)
        assert cli_run(api_url, site, warehouse, config).returncode == 0
        with duckdb.connect(str(warehouse), read_only=True) as con:
            gone = [k for (k,) in _rows(con, "SELECT doc_key FROM documents ORDER BY doc_key LIMIT 12")]
        for key in gone:
            (site / key).unlink()
        run = cli_run(api_url, site, warehouse, config, kill_at=kill_at)
        if kill_at:
            assert run.returncode == -signal.SIGKILL, (run.returncode, run.stderr[-3000:])
            with duckdb.connect(str(warehouse), read_only=True) as con:
                assert deleted_with_rows(con) == gone  # out of the index, not yet of the rest
                assert _rows(
                    con, "SELECT count(*) FROM minhash_signatures WHERE doc_key IN (SELECT unnest(?))", [gone]
                ) == [(0,)]
                assert _rows(
                    con, "SELECT count(*) FROM readability WHERE doc_key IN (SELECT unnest(?))", [gone]
                ) == [(12,)]
            run = cli_run(api_url, site, warehouse, config)
        assert run.returncode == 0, run.stderr[-3000:]
        check_consistent(warehouse)
        with duckdb.connect(str(warehouse), read_only=True) as con:
            assert deleted_with_rows(con) == []
        ends[name] = contents(warehouse)
    assert ends["killed"] == ends["uninterrupted"]


def test_run_killed_while_parsing_every_page_again_is_finished_by_the_next(
    api_url: str, corpus: tuple[Path, Path], tmp_path: Path
) -> None:
    """A new field mapping makes a run parse every file again. Killed after some batches,
    the warehouse holds pages of both mappings; the next run, with the settings the killed
    run already recorded, parses the pages still marked, and ends where a run that was never
    killed ends: every meta description is the page's SEO title."""
    content, config = corpus
    remapped = tmp_path / "remapped.toml"
    remapped.write_text(CONFIG + '[ingest.fields]\nmeta_description = ["seo.title"]\n', "utf-8")
    others = (
        "SELECT count(*) FILTER (WHERE meta_description IS DISTINCT FROM seo_title) "
        "FROM documents WHERE deleted_run IS NULL"
    )
    ends = {}
    for name, kill_at in (("uninterrupted", None), ("killed", "ingest-batch-3")):
        warehouse = tmp_path / name / "w.duckdb"
        warehouse.parent.mkdir()
        assert cli_run(api_url, content, warehouse, config).returncode == 0
        run = cli_run(api_url, content, warehouse, remapped, kill_at=kill_at)
        if kill_at:
            assert run.returncode == -signal.SIGKILL, (run.returncode, run.stderr[-3000:])
            check_consistent(warehouse)
            with duckdb.connect(str(warehouse), read_only=True) as con:
                left = _rows(con, others)[0][0]
            assert DOCS / 3 < left < DOCS  # three batches of six parsed again before the kill
            run = cli_run(api_url, content, warehouse, remapped)
        assert run.returncode == 0, run.stderr[-3000:]
        check_consistent(warehouse)
        with duckdb.connect(str(warehouse), read_only=True) as con:
            assert _rows(con, others) == [(0,)]
        ends[name] = contents(warehouse)
    assert ends["killed"] == ends["uninterrupted"]
