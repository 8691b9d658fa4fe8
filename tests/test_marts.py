"""Marts on small hand-made warehouses: the quality formula, subject rows, history and
deltas between runs, derived findings, and the subject page showing the mart's numbers."""

from __future__ import annotations

import csv
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from reports.build import build_reports
from reports.formatting import number, percent
from warehouse import marts
from warehouse.marts import (
    EXPORTS,
    QualityWeights,
    export_findings_csvs,
    export_parquet,
    finding_rules_frame,
    group_views,
    latest_mart_run,
    read_page_findings,
    rebuild_marts,
)
from warehouse.migrate import apply_migrations
from warehouse.runs import finish_run, start_run
from warehouse.store import insert_frame

# Four pages in two subjects (one spelled two ways). Expected scores by hand, default weights:
#   a: readability (45-30)/30 = 0.5, keywords 0.5, seo 1 - 0.2 - 2 x 0.05 = 0.7, unique 1 -> 67.5
#   b: readability 1 (FRE 70), keywords 0 (none declared, keywords_missing), seo 1 - 0.5 - 0.2 = 0.3,
#      exact copy 0 -> 32.5
#   c: readability 0 (FRE 20), keywords 1, seo 1, near copy 0.5 -> 62.5
#   d: readability 1 (FRE 60), keywords 1, seo 1, canonical 1 -> 100
PAGES = pd.DataFrame(
    {
        "doc_key": ["s1/a.md", "s1/b.md", "s2/c.md", "s2/d.md"],
        "subject": ["Subject One", "Subject One", "subject two", "Subject Two"],
        "subject_key": ["subject-one", "subject-one", "subject-two", "subject-two"],
        "title": ["A", "<script>document.title='pwned'</script>", "C", "D"],
        "url": ["/a", "/b", "/c", "/d"],
        "content_hash": ["ha", "hb", "hc", "hd"],
    }
)
READABILITY = pd.DataFrame(
    {
        "doc_key": PAGES["doc_key"],
        "flesch_reading_ease": [45.0, 70.0, 20.0, 60.0],
        "word_count": [100, 200, 300, 400],
    }
)
PAGE_KEYWORDS = pd.DataFrame(
    {
        "doc_key": PAGES["doc_key"],
        "keywords_declared": [4, 0, 2, 2],
        "keywords_in_body": [2, 0, 2, 2],
        "keyword_coverage_ratio": [0.5, None, 1.0, 1.0],
        "keywords_missing": [["x", "y"], [], [], []],
        "keyword_stuffing": [False, False, False, False],
    }
)
SEO = pd.DataFrame(
    {
        "doc_key": ["s1/a.md", "s1/a.md", "s1/a.md", "s1/b.md", "s1/b.md"],
        "rule": [
            "thin_content",
            "seo_title_too_short",
            "main_keyword_not_in_title",
            "url_file_name_mismatch",
            "keywords_missing",
        ],
        "severity": ["warning", "notice", "notice", "error", "warning"],
        "detail": ["thin", "short", "not in title", "mismatch", "no keywords"],
        "scope": ["page"] * 5,
    }
)
CLUSTERS = pd.DataFrame(
    {
        "cluster_id": ["s1/a.md", "s1/a.md", "s2/d.md", "s2/d.md"],
        "doc_key": ["s1/a.md", "s2/c.md", "s2/d.md", "s1/b.md"],
        "is_canonical": [True, False, True, False],
        "kind": ["near", "near", "exact", "exact"],
        "cluster_size": [2, 2, 2, 2],
    }
)
EXPECTED_SCORES = {"s1/a.md": 67.5, "s1/b.md": 32.5, "s2/c.md": 62.5, "s2/d.md": 100.0}


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    apply_migrations(con)
    insert_frame(con, "documents", PAGES, {"first_seen_run": 1, "last_changed_run": 1})
    insert_frame(con, "readability", READABILITY)
    insert_frame(con, "page_keywords", PAGE_KEYWORDS)
    insert_frame(con, "seo_findings", SEO)
    insert_frame(con, "duplicate_clusters", CLUSTERS)
    yield con
    con.close()


def _scores(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    return dict(con.execute("SELECT doc_key, quality_score FROM page_quality").fetchall())


def test_quality_score_follows_the_documented_formula(con: duckdb.DuckDBPyConnection) -> None:
    rebuild_marts(con, 1)
    assert _scores(con) == EXPECTED_SCORES
    # Only readability counts: a 0.5, b 1, c 0, d 1.
    only_readability = QualityWeights(keyword_weight=0, seo_weight=0, uniqueness_weight=0)
    rebuild_marts(con, 1, only_readability)
    assert _scores(con) == {"s1/a.md": 50.0, "s1/b.md": 100.0, "s2/c.md": 0.0, "s2/d.md": 100.0}


def test_a_page_without_keywords_where_none_are_expected_is_scored_on_the_other_parts(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """No keywords declared and no keywords_missing finding (the analysis gives none where
    keywords are not expected): the keyword part is left out and the other three share its
    weight. b: readability 1, seo 1 - 0.5 = 0.5, exact copy 0 -> 50; the others as before."""
    con.execute("DELETE FROM seo_findings WHERE rule = 'keywords_missing'")
    rebuild_marts(con, 1)
    assert _scores(con) == {**EXPECTED_SCORES, "s1/b.md": 50.0}
    components = "SELECT doc_key, keyword_component FROM page_quality ORDER BY 1"
    assert con.execute(components).fetchall() == [
        ("s1/a.md", 0.5),
        ("s1/b.md", None),
        ("s2/c.md", 1.0),
        ("s2/d.md", 1.0),
    ]
    # Weights that leave only the keyword part would leave b nothing to be scored on.
    with pytest.raises(ValueError, match="cannot all be 0"):
        QualityWeights(readability_weight=0, seo_weight=0, uniqueness_weight=0)


SETTINGS = "SELECT current_setting('preserve_insertion_order'), current_setting('disabled_optimizers')"


def test_marts_are_built_in_bounded_memory_and_leave_the_settings_as_they_were(
    con: duckdb.DuckDBPyConnection,
) -> None:
    seen: list[object] = []
    real_execute = con.execute

    class Watched:  # DuckDB connections take no attributes: wrap the calls the marts make
        def execute(self, sql: str, *args: object) -> duckdb.DuckDBPyConnection:
            if sql.startswith("INSERT INTO page_quality"):
                seen.extend(real_execute(SETTINGS).fetchall()[0])
            return real_execute(sql, *args)

        def __getattr__(self, name: str) -> object:
            return getattr(con, name)

    rebuild_marts(Watched(), 1)  # type: ignore[arg-type]
    # an ordered INSERT cannot spill to disk; with build sides turned, the joins need twice
    # the memory
    assert seen == [False, "build_side_probe_side"]
    assert con.execute(SETTINGS).fetchall()[0] == (True, "")
    assert _scores(con) == EXPECTED_SCORES


def test_page_quality_ranks_and_lists_issues(con: duckdb.DuckDBPyConnection) -> None:
    rebuild_marts(con, 1)
    rows = con.execute(
        "SELECT doc_key, priority_rank, top_issues, seo_errors, seo_warnings, seo_notices, is_duplicate "
        "FROM page_quality ORDER BY doc_key"
    ).fetchall()
    by_key = {r[0]: r[1:] for r in rows}
    assert by_key["s1/b.md"][0] == 1 and by_key["s1/a.md"][0] == 2  # lower score: fix first
    # errors first: b has the url mismatch (SEO) and is an exact copy (derived), then its warning
    assert by_key["s1/b.md"][1] == ["exact_duplicate", "url_file_name_mismatch", "keywords_missing"]
    # warnings (by name) before notices, at most three
    assert by_key["s1/a.md"][1] == ["hard_to_read", "thin_content", "main_keyword_not_in_title"]
    assert by_key["s1/a.md"][2:5] == (0, 1, 2)
    assert [by_key[k][5] for k in sorted(by_key)] == [False, True, True, False]
    # a covers exactly half its keywords: not under the 0.5 bound, so no keywords finding
    derived = set(con.execute("SELECT doc_key, rule FROM page_findings WHERE source <> 'seo'").fetchall())
    assert derived == {
        ("s1/a.md", "hard_to_read"),
        ("s2/c.md", "hard_to_read"),
        ("s1/b.md", "exact_duplicate"),
        ("s2/c.md", "near_duplicate"),
    }
    rules = dict(con.execute("SELECT rule, suggested_fix FROM finding_rules").fetchall())
    assert {"thin_content", "hard_to_read", "exact_duplicate"} <= set(rules)
    assert all(rules.values())


def _many_pages(con: duckdb.DuckDBPyConnection, count: int) -> None:
    """`count` pages in three subjects with findings, ties in score and a few duplicates."""
    rng = np.random.default_rng(7)
    keys = [f"s{i % 3}/p{i:03d}.md" for i in range(count)]
    pages = pd.DataFrame(
        {
            "doc_key": keys,
            "subject": [f"Subject {i % 3}" for i in range(count)],
            "subject_key": [f"subject-{i % 3}" for i in range(count)],
            "title": [f"T{i}" for i in range(count)],
            "url": [f"/{i}" for i in range(count)],
            "content_hash": [f"h{i}" for i in range(count)],
        }
    )
    insert_frame(con, "documents", pages, {"first_seen_run": 1, "last_changed_run": 1})
    ease = rng.choice([20.0, 45.0, 60.0, 70.0], count)  # few values: ties, ranked by findings, then key
    insert_frame(con, "readability", pd.DataFrame({"doc_key": keys, "flesch_reading_ease": ease}))
    declared = rng.integers(0, 4, count)
    found = np.minimum(declared, rng.integers(0, 4, count))
    keywords = pd.DataFrame(
        {
            "doc_key": keys,
            "keywords_declared": declared,
            "keywords_in_body": found,
            "keyword_coverage_ratio": np.where(declared > 0, found / np.maximum(declared, 1), np.nan),
            "keywords_missing": [["k"] * int(d - f) for d, f in zip(declared, found, strict=True)],
            "keyword_stuffing": False,
        }
    )
    insert_frame(con, "page_keywords", keywords)
    rules = ["thin_content", "seo_title_too_short", "url_file_name_mismatch"]
    severities = ["warning", "notice", "error"]
    picked = rng.integers(0, 3, 2 * count)
    insert_frame(
        con,
        "seo_findings",
        pd.DataFrame(
            {
                "doc_key": [keys[i] for i in rng.integers(0, count, 2 * count)],
                "rule": [rules[r] for r in picked],
                "severity": [severities[r] for r in picked],
                "detail": "d",
                "scope": "page",
            }
        ),
    )
    insert_frame(
        con,
        "duplicate_clusters",
        pd.DataFrame(
            {
                "cluster_id": [keys[0]] * 3 + [keys[5]] * 2,
                "doc_key": [keys[0], keys[1], keys[2], keys[5], keys[7]],
                "is_canonical": [True, False, False, True, False],
                "kind": ["exact"] * 3 + ["near"] * 2,
                "cluster_size": [3, 3, 3, 2, 2],
            }
        ),
    )


def _marts_content(con: duckdb.DuckDBPyConnection) -> tuple[list[tuple], list[tuple]]:
    quality = con.execute("SELECT * FROM page_quality ORDER BY doc_key").fetchall()
    findings = con.execute("SELECT * FROM page_findings ORDER BY ALL").fetchall()
    return quality, findings


def test_page_marts_built_in_chunks_equal_one_build() -> None:
    whole, con = duckdb.connect(":memory:"), duckdb.connect(":memory:")
    for each in (whole, con):
        apply_migrations(each)
        _many_pages(each, 90)
    rebuild_marts(whole, 1)
    expected = _marts_content(whole)
    ranks = whole.execute(
        "SELECT subject_key, list(priority_rank ORDER BY priority_rank) FROM page_quality GROUP BY ALL"
    )
    assert {subject: r for subject, r in ranks.fetchall()} == {
        f"subject-{i}": list(range(1, 31)) for i in range(3)
    }
    assert len(expected[0]) == 90 and len(expected[1]) > 180
    subjects = "SELECT * FROM subject_quality ORDER BY subject_key"
    expected_subjects = whole.execute(subjects).fetchall()
    for chunk_pages in (1, 7, 45, 89):
        rebuild_marts(con, 1, chunk_pages=chunk_pages)
        assert _marts_content(con) == expected, chunk_pages
        # Exactly: the means do not depend on the order the chunks left the pages in.
        assert con.execute(subjects).fetchall() == expected_subjects, chunk_pages
    with pytest.raises(ValueError, match="at least 1"):
        rebuild_marts(con, 1, chunk_pages=0)


def test_subject_means_do_not_depend_on_the_order_of_the_page_rows() -> None:
    """subject_quality's means are the same to the last bit whatever order the chunked page
    marts leave the rows in (a float sum is not: deltas of ~1e-15 between runs where nothing
    changed)."""
    built = []
    for chunk_pages in (3000, 700, 290):
        con = duckdb.connect(":memory:")
        apply_migrations(con)
        _many_pages(con, 3000)
        con.execute("UPDATE page_keywords SET keyword_coverage_ratio = (hash(doc_key) % 97) / 97")
        rebuild_marts(con, 1, chunk_pages=chunk_pages)
        built.append(
            con.execute(
                "SELECT subject_key, keyword_coverage_ratio, quality_score FROM subject_quality ORDER BY 1"
            ).fetchall()
        )
    assert built[1] == built[0] and built[2] == built[0]


@pytest.mark.parametrize("chunk_pages", [1, 7, 30, 89, 90, 1000])
def test_page_mart_chunks_are_ranges_of_live_pages(chunk_pages: int) -> None:
    """Each chunk is a range of doc_key holding chunk_pages live pages (the last fewer);
    together they hold every live page once, deleted pages not counted."""
    con = duckdb.connect(":memory:")
    apply_migrations(con)
    _many_pages(con, 95)
    con.execute("UPDATE documents SET deleted_run = 2 WHERE doc_key LIKE '%7.md'")
    live = [k for (k,) in con.execute("SELECT doc_key FROM documents WHERE deleted_run IS NULL").fetchall()]
    bounds = marts._chunk_bounds(con, chunk_pages)
    in_chunk = [[k for k in live if k >= first and (after is None or k < after)] for first, after in bounds]
    assert sorted(k for chunk in in_chunk for k in chunk) == sorted(live)
    assert [len(chunk) for chunk in in_chunk[:-1]] == [chunk_pages] * (len(bounds) - 1)
    assert 0 < len(in_chunk[-1]) <= chunk_pages and bounds[-1][1] is None
    assert len(bounds) == -(-len(live) // chunk_pages)


def test_subject_quality_aggregates_pages(con: duckdb.DuckDBPyConnection) -> None:
    rebuild_marts(con, 1)
    rows = con.execute("SELECT * FROM subject_quality WHERE run_id = 1 ORDER BY subject_key").df()
    one, two = rows.to_dict("records")
    assert one["subject"] == "Subject One" and one["pages"] == 2
    assert one["median_flesch_reading_ease"] == pytest.approx(57.5)
    assert one["keyword_coverage_ratio"] == pytest.approx(0.5)  # b declares none: left out
    assert one["duplicate_pages"] == 1 and one["duplicate_share"] == pytest.approx(0.5)
    assert (one["seo_errors"], one["seo_warnings"], one["seo_notices"], one["seo_findings"]) == (1, 2, 2, 5)
    assert one["quality_score"] == pytest.approx((67.5 + 32.5) / 2)
    assert two["quality_score"] == pytest.approx((62.5 + 100) / 2, abs=0.05)  # rounded to 0.1
    assert two["subject"] in {"subject two", "Subject Two"}  # a tie: either spelling, but stable
    assert (one["pages_added"], one["pages_changed"], one["pages_deleted"]) == (2, 0, 0)
    assert pd.isna(one["previous_run_id"]) and pd.isna(one["quality_score_delta"])


def test_subject_quality_keeps_history_and_deltas(con: duckdb.DuckDBPyConnection) -> None:
    rebuild_marts(con, 1)
    # Run 2: b deleted, c changed (now readable), e added to subject one.
    con.execute("UPDATE documents SET deleted_run = 2 WHERE doc_key = 's1/b.md'")
    con.execute("UPDATE documents SET last_changed_run = 2 WHERE doc_key = 's2/c.md'")
    con.execute("UPDATE readability SET flesch_reading_ease = 60 WHERE doc_key = 's2/c.md'")
    new = pd.DataFrame(
        {
            "doc_key": ["s1/e.md"],
            "subject": ["Subject One"],
            "subject_key": ["subject-one"],
            "content_hash": ["he"],
        }
    )
    insert_frame(con, "documents", new, {"first_seen_run": 2, "last_changed_run": 2})
    rebuild_marts(con, 2)
    rebuild_marts(con, 2)  # rebuilt, not appended
    assert con.execute("SELECT run_id, count(*) FROM subject_quality GROUP BY 1 ORDER BY 1").fetchall() == [
        (1, 2),
        (2, 2),
    ]
    assert latest_mart_run(con) == 2
    rows = {
        r["subject_key"]: r
        for r in con.execute("SELECT * FROM subject_quality WHERE run_id = 2").df().to_dict("records")
    }
    one, two = rows["subject-one"], rows["subject-two"]
    assert (one["pages_added"], one["pages_changed"], one["pages_deleted"]) == (1, 0, 1)
    assert (two["pages_added"], two["pages_changed"], two["pages_deleted"]) == (0, 1, 0)
    assert one["previous_run_id"] == 1 and one["pages_delta"] == 0
    # c's readability component went from 0 to 1: +25 on c, +12.5 on the subject's mean
    assert two["quality_score_delta"] == pytest.approx(12.5)
    assert two["median_flesch_reading_ease_delta"] == pytest.approx(20.0)
    assert con.execute("SELECT count(*) FROM page_quality WHERE doc_key = 's1/b.md'").fetchone()[0] == 0


def test_subject_quality_says_when_the_scoring_changed_since_the_previous_row(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """A row scored another way than its previous row (new weights here; new analysis
    settings or a new release's marts alike) says so: its deltas are not the pages' alone."""
    changed = "SELECT DISTINCT scoring_changed, scoring_fingerprint FROM subject_quality WHERE run_id = ?"
    rebuild_marts(con, 1)
    ((first, fingerprint),) = con.execute(changed, [1]).fetchall()
    assert first is None and fingerprint  # no previous row
    rebuild_marts(con, 2)
    assert con.execute(changed, [2]).fetchall() == [(False, fingerprint)]
    rebuild_marts(con, 3, QualityWeights(seo_weight=2.0))
    ((third, other),) = con.execute(changed, [3]).fetchall()
    assert third is True and other != fingerprint
    con.execute("INSERT OR REPLACE INTO pipeline_state VALUES ('analysis_settings', 'other thresholds')")
    rebuild_marts(con, 4, QualityWeights(seo_weight=2.0))
    assert con.execute(changed, [4]).fetchall()[0][0] is True
    rebuild_marts(con, 5, QualityWeights(seo_weight=2.0))
    assert con.execute(changed, [5]).fetchall()[0][0] is False


class _Metrics(HTMLParser):
    """data-metric / data-value pairs and the visible text of each metric element."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self.texts: dict[str, str] = {}
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if "data-metric" in found:
            self._open = found["data-metric"]
            self.values[self._open] = found.get("data-value") or ""
            self.texts[self._open] = ""

    def handle_endtag(self, tag: str) -> None:
        self._open = None

    def handle_data(self, data: str) -> None:
        if self._open:
            self.texts[self._open] += data


def page_metrics(html: str) -> tuple[dict[str, str], dict[str, str]]:
    parser = _Metrics()
    parser.feed(html)
    return parser.values, parser.texts


SHOWN = {
    "pages": lambda v: number(v),
    "quality_score": lambda v: number(v, 1),
    "median_flesch_reading_ease": lambda v: number(v, 1),
    "median_word_count": lambda v: number(v),
    "keyword_coverage_ratio": lambda v: percent(v, 1),
    "duplicate_share": lambda v: percent(v, 1),
    "seo_findings": number,
    "seo_errors": number,
    "seo_warnings": number,
    "seo_notices": number,
    "duplicate_pages": number,
    "pages_added": number,
    "pages_changed": number,
    "pages_deleted": number,
}


def assert_page_matches_row(html: str, row: dict) -> None:
    """Every metric on a subject page equals its subject_quality row, as value and as text."""
    values, texts = page_metrics(html)
    assert set(SHOWN) <= set(values), set(SHOWN) - set(values)
    for name, shown in SHOWN.items():
        expected = row[name]
        if expected is None or pd.isna(expected):
            assert values[name] == "", name
        else:
            assert float(values[name]) == pytest.approx(float(expected), abs=1e-9), name
        assert texts[name].strip() == shown(None if pd.isna(expected) else expected), name


def test_subject_page_shows_the_mart_numbers(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    rebuild_marts(con, 1)
    files = build_reports(con, tmp_path / "report")
    rows = con.execute("SELECT * FROM subject_quality WHERE run_id = 1").df().to_dict("records")
    assert set(files.subject_pages) == {r["subject_key"] for r in rows}
    for row in rows:
        html = files.subject_pages[row["subject_key"]].read_text("utf-8")
        assert_page_matches_row(html, row)
    one = files.subject_pages["subject-one"].read_text("utf-8")
    assert "<script>document.title" not in one
    assert "&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;" in one
    assert re.search(r'href="subject-two\.html#doc-[0-9a-f]{16}"', one)  # cross-subject duplicate link


def test_pages_of_vanished_subjects_leave_the_report(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    out = tmp_path / "report"
    rebuild_marts(con, 1)
    first = build_reports(con, out, 1)
    (out / "subjects" / "notes.txt").write_text("kept")  # not ours: left alone
    con.execute("UPDATE documents SET deleted_run = 1 WHERE subject_key = 'subject-two'")
    rebuild_marts(con, 2)  # run 2: subject-two has neither pages nor deletions to show
    second = build_reports(con, out, 2)
    assert set(second.subject_pages) == {"subject-one"}
    assert not first.subject_pages["subject-two"].exists() and not first.subject_csvs["subject-two"].exists()
    left = {p.name for p in (out / "subjects").iterdir() if not p.name.startswith(".")}
    assert left == {"subject-one.html", "subject-one.csv", "notes.txt"}


def test_page_marts_are_kept_when_nothing_changed(con: duckdb.DuckDBPyConnection) -> None:
    first = start_run(con, "content", None)
    rebuild_marts(con, first)
    finish_run(con, first, "completed")
    findings = sorted(con.execute("SELECT * FROM page_findings").fetchall())
    # A change the flow did not report (it would have): kept marts do not see it, which is
    # how the test tells keeping from rebuilding.
    con.execute("UPDATE readability SET flesch_reading_ease = 60 WHERE doc_key = 's2/c.md'")

    second = start_run(con, "content", None)
    counts, kept = rebuild_marts(con, second, pages_unchanged=True)
    assert kept
    finish_run(con, second, "completed")
    assert _scores(con) == EXPECTED_SCORES
    assert sorted(con.execute("SELECT * FROM page_findings").fetchall()) == findings
    assert con.execute("SELECT DISTINCT run_id FROM page_quality").fetchall() == [(second,)]
    assert counts["subject_quality"] == 2
    deltas = con.execute("SELECT quality_score_delta FROM subject_quality WHERE run_id = ?", [second])
    assert [d for (d,) in deltas.fetchall()] == [0.0, 0.0]

    # Other weights: rebuilt, and the change shows (c: readability 0 -> 1).
    third = start_run(con, "content", None)
    assert not rebuild_marts(con, third, QualityWeights(seo_weight=2.0), pages_unchanged=True).page_marts_kept
    finish_run(con, third, "completed")
    assert _scores(con)["s2/c.md"] > EXPECTED_SCORES["s2/c.md"]

    # Marts of a run that did not complete are not kept either.
    fourth = start_run(con, "content", None)
    rebuild_marts(con, fourth)
    finish_run(con, fourth, "failed", "killed")
    fifth = start_run(con, "content", None)
    con.execute("UPDATE readability SET flesch_reading_ease = 20 WHERE doc_key = 's2/c.md'")
    rebuild_marts(con, fifth, pages_unchanged=True)
    assert _scores(con) == EXPECTED_SCORES


def test_parquet_exports_are_written_again_only_when_their_content_changed(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    rebuild_marts(con, 1)
    folder = tmp_path / "exports"
    paths = export_parquet(con, folder)
    assert {p.name for p in paths} == {f"{name}.parquet" for name in EXPORTS}
    written = {p.name: p.stat().st_mtime_ns for p in paths}
    for path in paths:  # a later write would show as a new inode and mtime
        os.utime(path, ns=(1, 1))

    con.execute("UPDATE readability SET flesch_reading_ease = 61 WHERE doc_key = 's2/d.md'")
    (folder / "keyword_coverage.parquet").write_text("not parquet")  # damaged: written again
    export_parquet(con, folder)
    again = {p.name for p in folder.glob("*.parquet") if p.stat().st_mtime_ns != 1}
    assert again == {"readability.parquet", "keyword_coverage.parquet"}
    value = con.execute(
        f"SELECT flesch_reading_ease FROM '{folder / 'readability.parquet'}' WHERE doc_key = 's2/d.md'"
    ).fetchone()[0]
    assert value == 61 and len(written) == len(EXPORTS)


def test_findings_csvs_are_written_again_only_when_findings_changed(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    rebuild_marts(con, 1)
    paths = {key: tmp_path / f"{key}.csv" for key in ("subject-one", "subject-two")}
    earlier_stamp = tmp_path / ".findings-csv-fingerprint"  # one for all files (earlier versions)
    earlier_stamp.write_text("0" * 32)
    export_findings_csvs(con, paths)
    assert not earlier_stamp.exists()
    assert "url_file_name_mismatch" in paths["subject-one"].read_text("utf-8")
    findings = read_page_findings(con)  # the order the subject pages list them in
    for key, path in paths.items():
        with path.open(newline="", encoding="utf-8") as handle:
            rows = [(r["doc_key"], r["rule"], r["detail"]) for r in csv.DictReader(handle)]
        expected = findings[findings["subject_key"] == key][["doc_key", "rule", "detail"]]
        assert rows == list(expected.itertuples(index=False, name=None)) and len(rows) > 1

    def rewritten() -> set[str]:
        return {key for key, path in paths.items() if path.stat().st_mtime_ns != 1}

    for path in paths.values():
        os.utime(path, ns=(1, 1))
    assert export_findings_csvs(con, paths) == [] and rewritten() == set()

    # Only subject-one's page has the finding (its page's score and rank move with it).
    con.execute("DELETE FROM seo_findings WHERE rule = 'url_file_name_mismatch'")
    rebuild_marts(con, 1)
    assert export_findings_csvs(con, paths) == ["subject-one"] and rewritten() == {"subject-one"}
    assert "url_file_name_mismatch" not in paths["subject-one"].read_text("utf-8")
    assert "url_file_name_mismatch" in findings["rule"].tolist()  # it was there before

    for path in paths.values():
        os.utime(path, ns=(1, 1))
    paths["subject-two"].unlink()  # a missing file: written again, alone
    assert export_findings_csvs(con, paths) == ["subject-two"] and paths["subject-two"].is_file()
    assert rewritten() == {"subject-two"}

    # A rule's explanation is in every subject's file.
    con.execute("UPDATE finding_rules SET explanation = 'Reworded.' WHERE rule = 'hard_to_read'")
    assert sorted(export_findings_csvs(con, paths)) == ["subject-one", "subject-two"]
    assert all("Reworded." in path.read_text("utf-8") for path in paths.values())


def test_findings_csvs_stopped_halfway_write_the_rest_next_time(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rebuild_marts(con, 1)
    paths = {key: tmp_path / f"{key}.csv" for key in ("subject-one", "subject-two")}
    export_findings_csvs(con, paths)
    con.execute("UPDATE finding_rules SET suggested_fix = 'Rewrite it.' WHERE rule = 'hard_to_read'")
    copies = []

    def copy_once_then_fail(path: Path) -> str:  # the second file's COPY fails
        copies.append(path)
        if len(copies) == 2:
            raise OSError("disk full")
        return original(path)

    original = marts._sql_path
    monkeypatch.setattr(marts, "_sql_path", copy_once_then_fail)
    with pytest.raises(OSError):
        export_findings_csvs(con, paths, chunk_pages=1)
    monkeypatch.setattr(marts, "_sql_path", original)
    written_first = copies[0]
    assert "Rewrite it." in written_first.read_text("utf-8")
    left = [key for key, path in paths.items() if path != written_first]
    assert export_findings_csvs(con, paths) == left
    assert all("Rewrite it." in path.read_text("utf-8") for path in paths.values())


# Cells a spreadsheet would run as a formula: =, +, -, @, tab or carriage return first.
FORMULA_STARTS = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"]


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_findings_csv_cells_from_content_never_start_a_formula(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, start: str
) -> None:
    """Title, URL and finding detail come from the pages: a cell that a spreadsheet would
    run as a formula gets an apostrophe in front, and the rest of the text is kept."""
    con.execute("UPDATE documents SET title = ?, url = ? WHERE doc_key = 's1/a.md'", [start, start + "/u"])
    con.execute("UPDATE seo_findings SET detail = ? WHERE doc_key = 's1/a.md'", [start + " detail"])
    rebuild_marts(con, 1)
    path = tmp_path / "subject-one.csv"
    export_findings_csvs(con, {"subject-one": path})
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["doc_key"] == "s1/a.md"]
    stored = [r for r in rows if r["rule"] in set(SEO["rule"])]
    assert len(stored) == 3 and len(rows) > len(stored)  # and a finding the marts derive
    for row in rows:
        assert row["title"] == "'" + start and row["url"] == "'" + start + "/u"
    assert all(row["detail"] == "'" + start + " detail" for row in stored)
    other = [r for r in csv.reader(path.read_text("utf-8").splitlines()[1:]) if r and r[0] == "s1/b.md"]
    assert other and all(not cell.startswith("'") for row in other for cell in row)


def test_findings_csvs_sorted_by_groups_of_subjects_equal_one_sort(tmp_path: Path) -> None:
    con = duckdb.connect(":memory:")
    apply_migrations(con)
    _many_pages(con, 90)
    rebuild_marts(con, 1)
    written = {}
    for chunk_pages in (100_000, 30, 45, 1):  # one group; one subject each; two; one each
        folder = tmp_path / str(chunk_pages)
        paths = {f"subject-{i}": folder / f"subject-{i}.csv" for i in range(3)}
        folder.mkdir()
        export_findings_csvs(con, paths, chunk_pages)
        written[chunk_pages] = {key: path.read_bytes() for key, path in paths.items()}
    assert written[100_000]["subject-0"].count(b"\n") > 60
    assert written[30] == written[45] == written[1] == written[100_000]


def test_findings_csvs_are_in_the_documented_order_across_many_row_groups(tmp_path: Path) -> None:
    """Each file holds its subject's findings worst page first, then errors before warnings
    before notices, then by rule, doc_key and detail, on marts of ~500,000 findings (several
    of DuckDB's 122,880-row groups; a table written in order came back out of order through
    filtered scans at that size). Marts filled directly, in random order."""
    con = duckdb.connect(":memory:")
    apply_migrations(con)
    con.execute(
        """
        INSERT INTO page_quality BY NAME
        SELECT 1 AS run_id, printf('s%d/p%06d.md', i % 12, i) AS doc_key, printf('subject-%d', i % 12) AS subject_key,
               printf('=T%d', i) AS title, printf('/%d', i) AS url,
               0 AS seo_errors, 0 AS seo_warnings, 0 AS seo_notices, false AS is_duplicate,
               0.0 AS readability_component, 0.0 AS keyword_component, 0.0 AS seo_component,
               0.0 AS uniqueness_component, (hash(i) % 1000) / 10.0 AS quality_score, 1 AS finding_count,
               []::VARCHAR[] AS top_issues,
               row_number() OVER (PARTITION BY i % 12 ORDER BY hash(i * 7)) AS priority_rank
        FROM range(120000) t(i) ORDER BY hash(i)
        """
    )
    con.execute(
        """
        INSERT INTO page_findings
        SELECT printf('s%d/p%06d.md', p % 12, p), printf('subject-%d', p % 12),
               ['thin_content', 'seo_title_too_short', 'url_file_name_mismatch'][1 + (hash(i) % 3)::BIGINT],
               ['warning', 'notice', 'error'][1 + (hash(i * 3) % 3)::BIGINT], printf('detail %d', hash(i) % 5), 'seo'
        FROM (SELECT i, hash(i * 11) % 120000 AS p FROM range(500000) t(i)) ORDER BY hash(i * 5)
        """
    )
    insert_frame(con, "finding_rules", finding_rules_frame())
    paths = {f"subject-{k}": tmp_path / f"subject-{k}.csv" for k in range(12)}
    assert sorted(export_findings_csvs(con, paths)) == sorted(paths)
    for subject_key, path in paths.items():
        with path.open(newline="", encoding="utf-8") as handle:
            written = [(r["doc_key"], r["severity"], r["rule"], r["detail"]) for r in csv.DictReader(handle)]
        expected = con.execute(
            """
            SELECT f.doc_key, f.severity, f.rule, f.detail
            FROM page_findings f JOIN page_quality q USING (doc_key)
            WHERE f.subject_key = ?
            ORDER BY q.priority_rank, CASE f.severity WHEN 'error' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END,
                     f.rule, f.doc_key, f.detail
            """,
            [subject_key],
        ).fetchall()
        assert len(written) > 30_000
        assert written == expected, subject_key


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(("groups", "pages"), [(1, 1), (2, 2), (5, 3)])
def test_cannibalisation_views_list_own_pages_then_the_first_others(
    seed: int, groups: int, pages: int
) -> None:
    """Each subject sees its largest shared keywords, its own pages first, then other
    subjects' pages by doc_key, every subject cut to its first `pages` pages of a keyword;
    checked against the same rule written out in pandas on random groups."""
    import random

    rng = random.Random(seed)
    rows = [(f"p{n:03d}", f"s{rng.randrange(12)}", f"k{rng.randrange(3)}") for n in range(40)]
    quality = pd.DataFrame(
        [(d, s, f"T {d}", f"/{d}", n) for n, (d, s, _) in enumerate(rows)],
        columns=["doc_key", "subject_key", "title", "url", "priority_rank"],
    )
    sizes = {k: sum(r[2] == k for r in rows) for k in {r[2] for r in rows}}
    shared = pd.DataFrame(
        [(k, k.upper(), sizes[k], d) for d, _, k in rows],
        columns=["main_keyword_key", "main_keyword", "group_size", "doc_key"],
    )
    con = duckdb.connect()
    con.execute("CREATE TABLE page_quality AS SELECT * FROM quality")
    con.execute("CREATE TABLE keyword_cannibalisation AS SELECT * FROM shared")
    got = group_views(con, "cannibalisation", groups, pages)

    members = shared.merge(quality, on="doc_key").sort_values("doc_key")
    members["members"] = members.groupby("main_keyword_key")["doc_key"].transform("size")
    members = members.groupby(["main_keyword_key", "subject_key"]).head(pages)
    expected = []
    for viewer in sorted(members["subject_key"].unique()):
        keys = members[members["subject_key"] == viewer].groupby("main_keyword_key")["group_size"].max()
        for key, _ in sorted(keys.items(), key=lambda kv: (-kv[1], kv[0]))[:groups]:
            group = members[members["main_keyword_key"] == key]
            own, others = group[group["subject_key"] == viewer], group[group["subject_key"] != viewer]
            expected += [(viewer, d) for d in [*own["doc_key"], *others["doc_key"]][:pages]]
    assert list(zip(got["viewer"], got["doc_key"], strict=True)) == expected
    assert (got["members"] == got["main_keyword_key"].map(sizes)).all()
