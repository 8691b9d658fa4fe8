"""Marts: page_quality, page_findings, finding_rules and subject_quality, rebuilt in SQL from
the other tables at the end of each run; readers for the reports; Parquet exports.

The build queries live in warehouse/marts/*.sql (one statement each, `$name` parameters
from QualityWeights). page_quality, page_findings and finding_rules hold the latest run;
subject_quality keeps a row per subject and run, so reports can show change over time.
"""

from __future__ import annotations

import dataclasses
import json
import re
from contextlib import suppress
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import pandas as pd
import xxhash

from transforms.seo import SEO_RULES, SEVERITY
from warehouse.runs import previous_completed_run
from warehouse.state import stored_analysis_fingerprint
from warehouse.store import insert_frame, transaction


@dataclass(frozen=True)
class QualityWeights:
    """How a page's 0-100 quality score is made, and when the marts add their own findings.

    quality_score = 100 x weighted mean of four components, each between 0 and 1:
    readability (Flesch reading ease mapped linearly from `readability_zero_at` -> 0 to
    `readable_from` -> 1; 60 is Yoast's "good" bound, 30 is "very difficult" on Flesch's
    scale), keywords (share of declared keywords found in the body; 0 when none declared, or
    left out of the mean, NULL, when none are expected: KeywordSettings.expected),
    seo (1 minus a penalty per SEO finding by severity, floored at 0: one error costs half
    the component, a warning a fifth, a notice a twentieth) and uniqueness (1, or 0 for an
    exact copy of another page, `near_duplicate_uniqueness` for a near copy). The four
    weights are equal by default: no part of the audit outranks another.

    hard_to_read_below: Flesch reading ease under which a page gets a `hard_to_read`
    finding (50: Yoast's "bad" bound). coverage_low_below: keyword coverage ratio under
    which a page gets a `keywords_not_in_body` finding (half the declared keywords).
    """

    readability_weight: float = 1.0
    keyword_weight: float = 1.0
    seo_weight: float = 1.0
    uniqueness_weight: float = 1.0
    readability_zero_at: float = 30.0
    readable_from: float = 60.0
    error_penalty: float = 0.5
    warning_penalty: float = 0.2
    notice_penalty: float = 0.05
    near_duplicate_uniqueness: float = 0.5
    hard_to_read_below: float = 50.0
    coverage_low_below: float = 0.5

    def __post_init__(self) -> None:
        weights = {name: getattr(self, name) for name in _WEIGHTS}
        negative = [name for name, weight in weights.items() if weight < 0]
        if negative:
            raise ValueError(f"[quality] weights cannot be negative: {', '.join(negative)}")
        if weights["readability_weight"] + weights["seo_weight"] + weights["uniqueness_weight"] <= 0:
            raise ValueError(
                "[quality] readability_weight, seo_weight and uniqueness_weight cannot all be 0: "
                "a page without keywords where none are expected is scored on them alone"
            )

    def describe(self) -> list[str]:
        """The formula in plain words, one line per component, for the reports."""
        total = self.readability_weight + self.keyword_weight + self.seo_weight + self.uniqueness_weight

        def share(weight: float) -> str:
            return f"{100 * weight / total:.0f}%"

        return [
            f"Readability ({share(self.readability_weight)}): Flesch reading ease of "
            f"{self.readability_zero_at:g} or less scores 0, {self.readable_from:g} or more scores "
            "full marks, linear in between.",
            f"Keyword coverage ({share(self.keyword_weight)}): the share of the page's declared "
            "keywords found in its body (no keywords declared scores 0, or, where keywords are not "
            "expected, leaves this part out: the other parts share its weight).",
            f"SEO metadata ({share(self.seo_weight)}): full marks minus "
            f"{100 * self.error_penalty:g}% per error, {100 * self.warning_penalty:g}% per warning "
            f"and {100 * self.notice_penalty:g}% per notice, never below 0.",
            f"Uniqueness ({share(self.uniqueness_weight)}): full marks unless the page copies "
            f"another page: an exact copy scores 0, a near copy "
            f"{100 * self.near_duplicate_uniqueness:g}%.",
        ]


_WEIGHTS = ("readability_weight", "keyword_weight", "seo_weight", "uniqueness_weight")

# Rules the marts add to the SEO rules: (severity, explanation, suggested fix).
MART_RULES: dict[str, tuple[str, str, str]] = {
    "hard_to_read": (
        "warning",
        "The text is hard to read: long sentences and long words.",
        "Split long sentences, prefer short everyday words, and use lists for steps.",
    ),
    "keywords_not_in_body": (
        "notice",
        "Many declared keywords never appear in the text, so the page is unlikely to rank for them.",
        "Cover the missing keywords in the text, or drop the ones the page is not about.",
    ),
    "exact_duplicate": (
        "error",
        "The page has the same text as another page, so search engines show only one of them.",
        "Keep the canonical page; redirect this one to it or point a canonical link at it.",
    ),
    "near_duplicate": (
        "warning",
        "The page is a near copy of another page and competes with it in search results.",
        "Merge the two pages, or rewrite this one so it covers a different question or topic.",
    ),
}

MART_TABLES = ("finding_rules", "page_findings", "page_quality", "subject_quality")
MART_CHUNK_PAGES = 100_000  # pages a page-mart query or findings-CSV table holds at once
_PARAMETER = re.compile(r"\$([a-z_]+)")
_COMMENT = re.compile(r"--[^\n]*")
_WEIGHTS_STATE_KEY = "quality_weights"
_DEFINITION_STATE_KEY = "page_marts_definition"


def split_advice(text: str) -> tuple[str, str]:
    """An SEO rule's text is 'What is wrong. What to do.': split at the first full stop."""
    head, dot, tail = text.partition(". ")
    return (head + "." if dot else head), tail.strip()


def finding_rules_frame() -> pd.DataFrame:
    rows = [(rule, SEVERITY[rule], *split_advice(text)) for rule, text in SEO_RULES.items()]
    rows += [(rule, *advice) for rule, advice in MART_RULES.items()]
    return pd.DataFrame(rows, columns=["rule", "severity", "explanation", "suggested_fix"])


def _mart_sql(name: str) -> str:
    return (resources.files("warehouse") / "marts" / f"{name}.sql").read_text("utf-8")


# DuckDB settings for a mart's INSERT, RESET after it.
# Marts are read by key and ordered by their readers, never by row position, so their
# INSERTs need not keep the query's row order, which DuckDB cannot spill to disk: at 100,000
# pages the page_quality INSERT ran out of memory at memory_limit 256 MB with the order kept
# and passed without it.
_INSERT_SETTINGS = {"preserve_insertion_order": "false"}
# page_quality: DuckDB's build_side_probe_side optimizer turns its chain of joins around,
# and the query then needs more memory than the limits it runs under: on a 100,000-page
# warehouse (DuckDB 2.0.0) it failed at every memory_limit from 96 to 224 MB and passed
# from 128 MB with that optimizer off, in the same time (0.50-0.58 s against 0.61-0.65 s
# at 512 MB). Its memory still grows with the pages it joins (the rules listed per page
# cannot spill), hence the chunks of rebuild_marts.
_MART_SETTINGS = {"page_quality": {"disabled_optimizers": "'build_side_probe_side'"}}
# page_quality.priority_rank, 1 = fix first within the subject: lowest quality_score, then
# more findings, then doc_key. It ranks a whole subject, so it is set by one UPDATE once
# every chunk is in (at 100,000 pages the page marts took 0.83-0.86 s so, against 0.84-0.91 s
# with the rank in the INSERT of a single chunk; 1.45 s as two chunks, 2.0 s as four).
_RANK_PAGES = """
    UPDATE page_quality SET priority_rank = ranked.priority_rank
    FROM (
        SELECT doc_key,
               row_number() OVER (PARTITION BY subject_key ORDER BY quality_score, finding_count DESC, doc_key)
                   AS priority_rank
        FROM page_quality
    ) ranked
    WHERE page_quality.doc_key = ranked.doc_key
"""


def _run_mart(con: duckdb.DuckDBPyConnection, name: str, table: str, values: dict[str, Any]) -> None:
    sql = _mart_sql(name)
    code = _COMMENT.sub("", sql)  # comments may name parameters too
    used = {key: values[key] for key in set(_PARAMETER.findall(code))}
    settings = {**_INSERT_SETTINGS, **_MART_SETTINGS.get(name, {})}
    for setting, value in settings.items():
        con.execute(f"SET {setting} = {value}")
    try:
        con.execute(f"INSERT INTO {table} BY NAME {sql}", used)
    finally:
        # In a transaction the INSERT aborted, RESET fails too: the INSERT's error must
        # surface, not that one (the failing run's connection is closed next).
        with suppress(duckdb.TransactionException):
            for setting in settings:
                con.execute(f"RESET {setting}")


class MartBuild(NamedTuple):
    counts: dict[str, int]  # rows per mart (subject_quality: this run's)
    page_marts_kept: bool  # the last completed run's page marts were kept, not rebuilt


def rebuild_marts(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    weights: QualityWeights | None = None,
    pages_unchanged: bool = False,
    chunk_pages: int = MART_CHUNK_PAGES,
) -> MartBuild:
    """Rebuild every mart for `run_id` in one transaction; returns row counts per mart and
    whether the page marts were kept.

    chunk_pages: page_findings and page_quality are built for this many pages at a time
    (the live pages split into ranges of doc_key, _chunk_bounds), so the memory their queries
    need is bounded by it, not by the site: at 200,000 pages the single query failed at
    memory_limit 256 MB inside a run. page_quality's priority_rank ranks whole subjects:
    see _RANK_PAGES.

    pages_unchanged: no page, score, finding or duplicate changed since the last completed
    run (the flow kept its site checks). The page marts that run built are then kept (their
    run_id moved to this run) when they were built by the same definitions and weights:
    they would come out the same, and rebuilding 100,000 pages' marts takes seconds. The
    subject_quality rows of the run are always built (trends get their point).
    """
    weights = weights or QualityWeights()
    definition = _page_marts_definition(weights)
    values = {
        "run_id": run_id,
        **dataclasses.asdict(weights),
        "scoring_fingerprint": _scoring_fingerprint(con, definition),
    }
    keep = pages_unchanged and _page_marts_built_by(con, previous_completed_run(con, run_id), definition)
    with transaction(con):
        if keep:
            con.execute("UPDATE page_quality SET run_id = ?", [run_id])
        else:
            for table in ("finding_rules", "page_findings", "page_quality"):
                con.execute(f"DELETE FROM {table}")
            insert_frame(con, "finding_rules", finding_rules_frame())
            bounds = _chunk_bounds(con, chunk_pages)
            con.execute(_IN_CHUNK)
            for first, after in bounds:
                of_chunk = {**values, "chunks": len(bounds), "chunk_from": first, "chunk_to": after}
                _run_mart(con, "page_findings", "page_findings", of_chunk)
                _run_mart(con, "page_quality", "page_quality", of_chunk)  # reads the chunk's findings
            con.execute(_RANK_PAGES)
        con.execute("DELETE FROM subject_quality WHERE run_id = ?", [run_id])
        _run_mart(con, "subject_quality", "subject_quality", values)
        con.execute(
            "INSERT OR REPLACE INTO pipeline_state VALUES (?, ?), (?, ?)",
            [_WEIGHTS_STATE_KEY, json.dumps(dataclasses.asdict(weights)), _DEFINITION_STATE_KEY, definition],
        )
    counts = {}
    for table in MART_TABLES:
        where = f" WHERE run_id = {int(run_id)}" if table == "subject_quality" else ""
        counts[table] = con.execute(f"SELECT count(*) FROM {table}{where}").fetchone()[0]
    return MartBuild(counts, keep)


# Whether a page mart source's row (its doc_key) is in the chunk being built. A macro, expanded
# where it is used: DuckDB still pushes the range into each table scan and skips row groups
# by their min and max. One chunk: no test at all.
_IN_CHUNK = """
    CREATE OR REPLACE TEMP MACRO in_chunk(key, chunks, chunk_from, chunk_to) AS
    chunks = 1 OR (key >= chunk_from AND (chunk_to IS NULL OR key < chunk_to))
"""


def _chunk_bounds(con: duckdb.DuckDBPyConnection, chunk_pages: int) -> list[tuple[str, str | None]]:
    """The page marts' chunks as ranges of doc_key, chunk_pages live pages each (the last
    fewer): (first, after), after None for the last. Ranges, not hash buckets: each chunk's
    query then reads the row groups its range can be in (DuckDB skips the others by their
    min and max), and the tables the pages are loaded into are in doc_key order after a
    first run (files are read in that order; page_findings is built a range at a time).
    With hash buckets every chunk read every table whole: at 1,000,000 pages ten chunks took
    ~29 s of a 33 s rebuild."""
    if chunk_pages < 1:
        raise ValueError(f"chunk_pages must be at least 1, not {chunk_pages}")
    starts = [
        key
        for (key,) in con.execute(
            """
            SELECT doc_key FROM documents WHERE deleted_run IS NULL
            QUALIFY (row_number() OVER (ORDER BY doc_key) - 1) % $pages = 0
            ORDER BY doc_key
            """,
            {"pages": chunk_pages},
        ).fetchall()
    ]
    if len(starts) <= 1:
        return [("", None)]
    return list(zip(starts, [*starts[1:], None], strict=True))


def _page_marts_definition(weights: QualityWeights) -> str:
    """Fingerprint of what the page marts are built from besides the data: their SQL, the
    finding rules' texts and the weights (a new version or new weights rebuild them)."""
    parts = [_mart_sql("page_findings"), _mart_sql("page_quality"), _IN_CHUNK, _RANK_PAGES]
    parts.append(finding_rules_frame().to_json())
    parts.append(json.dumps(dataclasses.asdict(weights), sort_keys=True))
    return xxhash.xxh3_128_hexdigest("\x00".join(parts).encode())


def _scoring_fingerprint(con: duckdb.DuckDBPyConnection, definition: str) -> str:
    """How this run's scores are made: the page marts' definition (their SQL, rules and
    weights) and the page analysis settings the pages were scored with (pipeline_state)."""
    analysis = stored_analysis_fingerprint(con) or ""
    return xxhash.xxh3_64_hexdigest(f"{definition}\x00{analysis}".encode())


def _page_marts_built_by(con: duckdb.DuckDBPyConnection, run_id: int | None, definition: str) -> bool:
    """Whether the page marts in the warehouse are run `run_id`'s, built by `definition`."""
    if run_id is None:
        return False
    row = con.execute(
        """
        SELECT (SELECT value FROM pipeline_state WHERE key = $key) = $definition
           AND (SELECT count(*) FROM page_quality) > 0
           AND NOT EXISTS (SELECT 1 FROM page_quality WHERE run_id <> $run)
        """,
        {"key": _DEFINITION_STATE_KEY, "definition": definition, "run": run_id},
    ).fetchone()
    return bool(row[0])


# ---- readers for the reports -------------------------------------------------------------


class MartsMissing(RuntimeError):
    """The warehouse has no built marts yet (no completed run since the marts existed)."""


def latest_mart_run(con: duckdb.DuckDBPyConnection) -> int:
    """The run the current marts were built for: the latest completed run (each publishes
    its marts, even one whose every file was quarantined, which has no subject rows), or
    the latest run with subject_quality rows."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'subject_quality'"
    ).fetchone()[0]
    row = (
        con.execute(
            "SELECT greatest((SELECT max(run_id) FROM subject_quality), "
            "(SELECT max(run_id) FROM runs WHERE status = 'completed'))"
        ).fetchone()
        if exists
        else None
    )
    if row is None or row[0] is None:
        raise MartsMissing("the warehouse has no quality marts yet; run `content-audit run` first")
    return int(row[0])


def stored_weights(con: duckdb.DuckDBPyConnection) -> QualityWeights:
    """The weights the current marts were built with (defaults if none were recorded)."""
    row = con.execute("SELECT value FROM pipeline_state WHERE key = ?", [_WEIGHTS_STATE_KEY]).fetchone()
    if row is None:
        return QualityWeights()
    known = {f.name for f in dataclasses.fields(QualityWeights)}
    return QualityWeights(**{k: v for k, v in json.loads(row[0]).items() if k in known})


def read_subject_quality(con: duckdb.DuckDBPyConnection, run_id: int) -> pd.DataFrame:
    """The subject_quality rows of one run, by subject_key."""
    return con.execute("SELECT * FROM subject_quality WHERE run_id = ? ORDER BY subject_key", [run_id]).df()


def mean_quality_score(con: duckdb.DuckDBPyConnection) -> float | None:
    """The mean quality_score of every page in page_quality (None when it has none), of an
    exact sum as subject_quality's means are (marts/subject_quality.sql)."""
    ((mean,),) = con.execute("SELECT avg(quality_score::DECIMAL(38, 18)) FROM page_quality").fetchall()
    return mean


def read_page_quality(con: duckdb.DuckDBPyConnection, worst_per_subject: int | None = None) -> pd.DataFrame:
    """page_quality rows, worst first within each subject (only the worst N per subject
    when `worst_per_subject` is given)."""
    where = "" if worst_per_subject is None else f"WHERE priority_rank <= {int(worst_per_subject)}"
    return con.execute(f"SELECT * FROM page_quality {where} ORDER BY subject_key, priority_rank").df()


_FINDINGS_COLUMNS = """
    f.subject_key, f.doc_key, q.title, q.url, f.rule, f.severity, f.detail,
    r.explanation, r.suggested_fix
"""
_FINDINGS_FROM = """
    FROM page_findings f
    JOIN page_quality q USING (doc_key)
    LEFT JOIN finding_rules r USING (rule)
"""
_FINDINGS_SQL = f"SELECT {_FINDINGS_COLUMNS} {_FINDINGS_FROM}"
# The order of a subject's findings, as (name, expression) of its keys: worst page first,
# then errors before warnings; the last keys only make the order stable. The findings CSVs'
# table carries the keys under these names (doc_key and detail as stored: the cells may
# carry an apostrophe) and each file sorts its rows by them.
_FINDINGS_SORT_KEYS = {
    "priority_rank": "q.priority_rank",
    "severity_order": "CASE f.severity WHEN 'error' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END",
    "sort_rule": "f.rule",
    "sort_doc_key": "f.doc_key",
    "sort_detail": "f.detail",
}
_FINDINGS_ORDER = "ORDER BY f.subject_key, " + ", ".join(_FINDINGS_SORT_KEYS.values())
FINDINGS_CSV_COLUMNS = (
    "doc_key",
    "title",
    "url",
    "severity",
    "rule",
    "detail",
    "explanation",
    "suggested_fix",
)
# A spreadsheet runs a cell starting with = + - @ (or tab, CR) as a formula: an apostrophe
# goes in front of such a cell from content (doc_key, title, URL, detail; the other columns
# are the rules' own texts). Its first character compared, not a regular expression: at
# 100,000 pages the CSVs' sorted table took 0.68 s so, against 1.17 s.
_CSV_CONTENT_COLUMNS = ("doc_key", "title", "url", "detail")
_CSV_CELL = (
    "CASE WHEN left({c}, 1) IN ('=', '+', '-', '@', chr(9), chr(13)) THEN chr(39) || {c} ELSE {c} END AS {c}"
)


def read_page_findings(con: duckdb.DuckDBPyConnection, worst_per_subject: int | None = None) -> pd.DataFrame:
    """Findings with their plain-words explanation and fix, worst page and severity first:
    subject_key, doc_key, title, url, rule, severity, detail, explanation, suggested_fix."""
    where = "" if worst_per_subject is None else f"WHERE q.priority_rank <= {int(worst_per_subject)}"
    return con.execute(f"{_FINDINGS_SQL} {where} {_FINDINGS_ORDER}").df()


def export_findings_csvs(
    con: duckdb.DuckDBPyConnection, paths: dict[str, Path], chunk_pages: int = MART_CHUNK_PAGES
) -> list[str]:
    """All findings of each subject as CSV (FINDINGS_CSV_COLUMNS), worst page first, to
    paths[subject_key]; returns the subject keys whose file was written. The findings of a
    group of subjects (about `chunk_pages` pages; a larger subject alone) are joined once,
    into a table with their sort keys (_FINDINGS_SORT_KEYS), and each file is its subject's
    rows sorted by them; one group at a time, so that table does not grow with the site. (A
    position from a window over the group's rows instead needed the whole group sorted in
    memory: at 1,000,000 pages a 1% rerun failed there at the 512 MB limit, beside the
    Parquet exports. A group's subjects are consecutive in key order, and its rows are read
    between the first and the last: the marts are built in doc_key order, so DuckDB skips
    the row groups of other subjects where the keys follow the pages' folders. The sort is
    in each file's query:
    a table written in order does not give its rows back in order through a filtered scan.
    At 100,000 pages, with the table built in order and the files unsorted, one or two of 40
    files came out misordered in three runs of three.)

    A file is a function of its subject's rows in the tables it is read from: their
    fingerprint is kept beside the files, per file (written after them), and a file whose
    fingerprint matches and that is there is not written again. A run that changed pages of
    a few subjects writes those subjects' files only (a whole site's are ~170 MB at 100,000
    pages)."""
    wanted = _findings_csv_fingerprints(con, paths)
    stamps = {path.parent: _read_stamp(path.parent) for path in paths.values()}
    stale = [
        key
        for key, path in paths.items()
        if stamps[path.parent].get(path.name) != wanted[key] or not path.is_file()
    ]
    if not stale:
        return []
    # Kept: the files still current. A run stopped while writing leaves the rest to write again.
    current = {folder: {} for folder in stamps}
    for key, path in paths.items():
        if key not in stale:
            current[path.parent][path.name] = wanted[key]
    for folder, fingerprints in current.items():
        _write_stamp(folder, fingerprints)
    cells = ", ".join(_CSV_CELL.format(c=c) if c in _CSV_CONTENT_COLUMNS else c for c in FINDINGS_CSV_COLUMNS)
    columns = ", ".join(FINDINGS_CSV_COLUMNS)
    sort_keys = ", ".join(_FINDINGS_SORT_KEYS)
    sort_columns = ", ".join(f"{expression} AS {name}" for name, expression in _FINDINGS_SORT_KEYS.items())
    try:
        for subjects in _subject_chunks(con, stale, chunk_pages):
            con.execute(
                f"""
                CREATE OR REPLACE TEMP TABLE findings_csv_rows AS
                SELECT subject_key, {cells}, {sort_keys} FROM (
                    SELECT {_FINDINGS_COLUMNS}, {sort_columns}
                    {_FINDINGS_FROM}
                    WHERE list_contains($subjects, f.subject_key)
                      AND f.subject_key BETWEEN $first AND $last AND q.subject_key BETWEEN $first AND $last
                )
                """,
                {"subjects": subjects, "first": subjects[0], "last": subjects[-1]},
            )
            for subject_key in subjects:
                query = f"SELECT {columns} FROM findings_csv_rows WHERE subject_key = $subject ORDER BY {sort_keys}"
                path = _sql_path(paths[subject_key])
                con.execute(f"COPY ({query}) TO {path} (FORMAT csv, HEADER)", {"subject": subject_key})
                current[paths[subject_key].parent][paths[subject_key].name] = wanted[subject_key]
    finally:
        con.execute("DROP TABLE IF EXISTS findings_csv_rows")
        for folder, fingerprints in current.items():
            _write_stamp(folder, fingerprints)
    return stale


def _subject_chunks(
    con: duckdb.DuckDBPyConnection, subject_keys: list[str], chunk_pages: int
) -> list[list[str]]:
    """The subjects in groups of at most `chunk_pages` live pages (a larger subject alone)."""
    pages = dict(
        con.execute("SELECT subject_key, count(*) FROM page_quality GROUP BY subject_key").fetchall()
    )
    chunks: list[list[str]] = []
    size = 0
    for subject_key in sorted(subject_keys):
        count = pages.get(subject_key, 0)
        if not chunks or size + count > chunk_pages:
            chunks.append([])
            size = 0
        chunks[-1].append(subject_key)
        size += count
    return chunks


def _findings_csv_fingerprints(con: duckdb.DuckDBPyConnection, paths: dict[str, Path]) -> dict[str, str]:
    """By subject key, what its findings CSV is made of: the subject's rows of page_findings
    and page_quality (one grouped pass over each, no join: both take subject_key from the
    page's document), the finding rules, the query that joins and orders them, and the
    file's name."""
    of_subject = "SELECT subject_key, count(*), sum(hash(t)::HUGEINT) FROM ({query}) t GROUP BY subject_key"
    findings_query = "SELECT * FROM page_findings"
    pages_query = "SELECT subject_key, doc_key, title, url, priority_rank FROM page_quality"
    findings = {key: (n, h) for key, n, h in con.execute(of_subject.format(query=findings_query)).fetchall()}
    pages = {key: (n, h) for key, n, h in con.execute(of_subject.format(query=pages_query)).fetchall()}
    common = [
        _shape(con, findings_query),
        _shape(con, pages_query),
        _content_fingerprint(con, "SELECT * FROM finding_rules"),
        _FINDINGS_SQL,
        _FINDINGS_ORDER,
        _CSV_CELL,
        repr(_CSV_CONTENT_COLUMNS),
        repr(FINDINGS_CSV_COLUMNS),
    ]
    return {
        key: xxhash.xxh3_128_hexdigest(
            "\n".join([*common, repr(findings.get(key)), repr(pages.get(key)), str(path)]).encode()
        )
        for key, path in paths.items()
    }


_CSV_FINGERPRINT_FILE = ".findings-csv-fingerprints.json"


def _read_stamp(folder: Path) -> dict[str, str]:
    """The fingerprints of the CSVs in `folder` by file name; empty when missing or unreadable."""
    with suppress(OSError, ValueError):
        stamp = json.loads((folder / _CSV_FINGERPRINT_FILE).read_text("utf-8"))
        if isinstance(stamp, dict):
            return {str(name): str(fingerprint) for name, fingerprint in stamp.items()}
    return {}


def _write_stamp(folder: Path, fingerprints: dict[str, str]) -> None:
    partial = folder / f"{_CSV_FINGERPRINT_FILE}.partial"
    partial.write_text(json.dumps(fingerprints, sort_keys=True, indent=0), "utf-8")
    partial.replace(folder / _CSV_FINGERPRINT_FILE)
    (folder / _SITE_WIDE_STAMP).unlink(missing_ok=True)


# Where versions before per-file fingerprints kept one for all the files: removed on sight.
_SITE_WIDE_STAMP = ".findings-csv-fingerprint"


def page_distributions(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per subject, the values the report's charts show, as lists (NULLs kept), and the
    number of findings: subject_key, flesch_reading_ease, word_count, keyword_coverage_ratio,
    finding_count."""
    return con.execute(
        """
        SELECT subject_key, list(flesch_reading_ease) AS flesch_reading_ease,
               list(word_count) AS word_count, list(keyword_coverage_ratio) AS keyword_coverage_ratio,
               any_value(f.findings) AS finding_count
        FROM page_quality
        LEFT JOIN (SELECT subject_key, count(*) AS findings FROM page_findings GROUP BY ALL) f
            USING (subject_key)
        GROUP BY subject_key
        """
    ).df()


def group_views(con: duckdb.DuckDBPyConnection, kind: str, groups: int, pages: int) -> pd.DataFrame:
    """What each subject's report lists of duplicate clusters (kind 'duplicate') or keyword
    cannibalisation groups (kind 'cannibalisation'): one row per (viewer subject, group,
    member), at most `groups` groups per subject and `pages` members per group; `members`
    is the group's full size. Columns: see warehouse/marts/<kind>_groups.sql."""
    if kind not in ("duplicate", "cannibalisation"):
        raise ValueError(f"unknown group kind {kind!r}")
    return con.execute(_mart_sql(f"{kind}_groups"), {"groups": groups, "pages": pages}).df()


def page_changes(con: duckdb.DuckDBPyConnection, run_id: int, per_subject: int = 1_000_000) -> pd.DataFrame:
    """Pages added, changed or deleted in the run: subject_key, doc_key, url, change; at
    most `per_subject` of each kind of change per subject."""
    return con.execute(
        """
        SELECT subject_key, doc_key, url,
               CASE WHEN deleted_run = $run THEN 'deleted'
                    WHEN first_seen_run = $run THEN 'added' ELSE 'changed' END AS change
        FROM documents
        WHERE deleted_run = $run OR (deleted_run IS NULL AND last_changed_run = $run)
        QUALIFY row_number() OVER (PARTITION BY subject_key, change ORDER BY doc_key) <= $limit
        ORDER BY subject_key, change, doc_key
        """,
        {"run": run_id, "limit": per_subject},
    ).df()


def quarantined_files(con: duckdb.DuckDBPyConnection, run_id: int) -> pd.DataFrame:
    """Files the run could not ingest: path, error_kind, message, kept_previous_version."""
    return con.execute(
        "SELECT path, error_kind, message, kept_previous_version FROM ingest_errors "
        "WHERE run_id = ? ORDER BY path",
        [run_id],
    ).df()


# ---- Parquet exports ---------------------------------------------------------------------

EXPORTS: dict[str, str] = {
    "page_quality": "SELECT * FROM page_quality",
    "subject_quality": "SELECT * FROM subject_quality",
    "page_findings": "SELECT * FROM page_findings",
    "finding_rules": "SELECT * FROM finding_rules",
    "documents": "SELECT * EXCLUDE (body_markdown, body_text) FROM documents",
    "readability": "SELECT * FROM readability",
    "keyword_coverage": "SELECT * FROM keyword_coverage",
    "page_keywords": "SELECT * FROM page_keywords",
    "seo_findings": "SELECT * FROM seo_findings",
    "duplicate_pairs": "SELECT * FROM duplicate_pairs",
    "duplicate_clusters": "SELECT * FROM duplicate_clusters",
    "keyword_cannibalisation": "SELECT * FROM keyword_cannibalisation",
}


def export_parquet(con: duckdb.DuckDBPyConnection, folder: Path) -> list[Path]:
    """Write each export to FOLDER/<name>.parquet (via a temp name, then renamed, so a
    notebook never reads half a file). Parquet support is built into DuckDB: no download.
    zstd at level 1: at 100,000 pages 2.2 s and 42 MB for the twelve files, against 2.7 s
    and 40 MB at DuckDB's default level (snappy: 2.0 s, 61 MB).

    Each file carries a fingerprint of what it holds (row count, sum of row hashes, column
    names and types) in its metadata; an export whose fingerprint matches the file already
    there is not written again (a run where nothing changed rewrites 2 of 12 files).
    Returns every export's path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    exports = []
    for name, query in EXPORTS.items():
        target = folder / f"{name}.parquet"
        exports.append(target)
        fingerprint = _content_fingerprint(con, query)
        if _file_fingerprint(con, target) == fingerprint:
            continue
        partial = folder / f".{name}.parquet.partial"
        con.execute(
            f"COPY ({query}) TO {_sql_path(partial)} "
            f"(FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1, KV_METADATA {{{_FINGERPRINT_KEY}: '{fingerprint}'}})"
        )
        partial.replace(target)
    return exports


_FINGERPRINT_KEY = "content_audit_fingerprint"


def _content_fingerprint(con: duckdb.DuckDBPyConnection, query: str) -> str:
    """Hex digits: changes when any row, the row count or the columns change."""
    rows, hashes = con.execute(f"SELECT count(*), sum(hash(t)::HUGEINT) FROM ({query}) t").fetchone()
    return xxhash.xxh3_128_hexdigest(f"{rows}:{hashes}:{_shape(con, query)}".encode())


def _shape(con: duckdb.DuckDBPyConnection, query: str) -> str:
    """The names and types of the query's columns."""
    columns = con.execute(f"SELECT * FROM ({query}) LIMIT 0").description
    return repr([(c[0], str(c[1])) for c in columns])


def _file_fingerprint(con: duckdb.DuckDBPyConnection, path: Path) -> str | None:
    if not path.is_file():
        return None
    try:
        rows = con.execute(
            "SELECT value::VARCHAR FROM parquet_kv_metadata(?) WHERE key::VARCHAR = ?",
            [str(path), _FINGERPRINT_KEY],
        ).fetchall()
    except duckdb.Error:  # not a Parquet file (any more): write it again
        return None
    return rows[0][0] if rows else None


def _sql_path(path: Path) -> str:
    """A path as a SQL string literal, for COPY ... TO, which takes no parameter there."""
    return "'" + str(path).replace("'", "''") + "'"
