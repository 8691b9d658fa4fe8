"""Static HTML reports from the marts: OUT/index.html, OUT/subjects/<subject>.html and .csv,
OUT/assets/ (plotly.js, once, and the style sheet). Works from file:// with no network.

Every string from content reaches the page through Jinja2 with autoescape on; chart data
goes into <script type="application/json"> blocks escaped by charts.script_json.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from reports import charts
from reports.formatting import FILTERS
from reports.paths import doc_anchor, subject_file_stems
from warehouse import marts

WORST_PAGES = 30  # pages listed with their findings on a subject page; the CSV has them all
GROUP_PAGES = 12  # pages listed per duplicate cluster or cannibalisation group
GROUPS = 25  # duplicate clusters / cannibalisation groups listed per subject
CHANGES_LISTED = 40  # added/changed/deleted pages listed per subject
CSV_COLUMNS = ["doc_key", "title", "url", "severity", "rule", "detail", "explanation", "suggested_fix"]


@dataclass(frozen=True)
class ReportFiles:
    index: Path
    subject_pages: dict[str, Path]  # subject_key -> html
    subject_csvs: dict[str, Path]  # subject_key -> csv


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("reports", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    env.globals["anchor"] = doc_anchor
    return env


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts, missing values as None (templates test `is none`). Converted
    once per frame: pandas costs milliseconds per small slice, dicts cost nothing."""
    rows = frame.to_dict("records")
    for row in rows:
        for name, value in row.items():
            if value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
                row[name] = None
    return rows


def _by(rows: list[dict[str, Any]], key: str) -> dict[Any, list[dict[str, Any]]]:
    """Group rows by a column, keeping their order."""
    groups: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row[key], []).append(row)
    return groups


def write_assets(out: Path) -> Path:
    """plotly.min.js from the installed plotly package, written only when it differs."""
    from plotly.offline import get_plotlyjs

    assets = out / "assets"
    assets.mkdir(parents=True, exist_ok=True)
    bundle = get_plotlyjs().encode("utf-8")
    target = assets / "plotly.min.js"
    if not target.exists() or target.stat().st_size != len(bundle):
        target.write_bytes(bundle)
    css = (resources.files("reports") / "templates" / "report.css").read_bytes()
    (assets / "report.css").write_bytes(css)
    return target


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    """Findings for spreadsheets: text cells that a spreadsheet would run as a formula
    (leading = + - @) get a leading apostrophe."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for row in rows:
            cells = ["" if row[c] is None else str(row[c]) for c in CSV_COLUMNS]
            writer.writerow(["'" + c if c.startswith(_FORMULA_START) else c for c in cells])


def _subject_charts(pages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def column(name: str) -> list[Any]:
        return [page[name] for page in pages]

    specs = [
        (
            "readability",
            charts.histogram(
                column("flesch_reading_ease"),
                "Readability (Flesch reading ease)",
                "Flesch reading ease (60+ is plain English)",
                bin_size=5,
            ),
        ),
        ("length", charts.histogram(column("word_count"), "Length", "words in the answer")),
        (
            "coverage",
            charts.histogram(
                column("keyword_coverage_ratio"),
                "Keyword coverage",
                "% of declared keywords found in the body",
                bin_size=10,
                x_range=(0, 100),
                percent=True,
            ),
        ),
    ]
    return [{"id": f"chart-{name}", "json": charts.script_json(spec)} for name, spec in specs]


def _groups(members: dict[Any, list[dict[str, Any]]], keys_of_subject: list[Any]) -> list[dict[str, Any]]:
    """Groups (duplicate clusters or cannibalisation) holding a page of this subject."""
    chosen = list(dict.fromkeys(keys_of_subject))[:GROUPS]
    return [{"key": key, "rows": members[key][:GROUP_PAGES], "total": len(members[key])} for key in chosen]


def build_reports(con: duckdb.DuckDBPyConnection, out: Path, run_id: int | None = None) -> ReportFiles:
    """Write every report file under OUT from the marts of `run_id` (default: the latest)."""
    out = Path(out)
    run_id = marts.latest_mart_run(con) if run_id is None else run_id
    subjects = marts.read_subject_quality(con, run_id)
    pages = marts.read_page_quality(con)
    findings = marts.read_page_findings(con)
    clusters = marts.duplicate_members(con)
    cannibal = marts.cannibalisation_groups(con)
    changes = marts.page_changes(con, run_id)
    quarantined = marts.quarantined_files(con, run_id)
    weights = marts.stored_weights(con)

    env = _environment()
    write_assets(out)
    folder = out / "subjects"
    folder.mkdir(parents=True, exist_ok=True)
    stems = subject_file_stems(subjects["subject_key"].tolist())
    links = {key: f"{stem}.html" for key, stem in stems.items()}
    context = {
        "run_id": run_id,
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "formula": weights.describe(),
        "links": links,
        "worst_limit": WORST_PAGES,
    }
    page_rows, finding_rows = _records(pages), _records(findings)
    cluster_rows, cannibal_rows = _records(clusters), _records(cannibal)
    pages_by, findings_by = _by(page_rows, "subject_key"), _by(finding_rows, "subject_key")
    changes_by = _by(_records(changes), "subject_key")
    clusters_by, cannibal_by = _by(cluster_rows, "cluster_id"), _by(cannibal_rows, "main_keyword_key")
    subject_clusters = {k: [r["cluster_id"] for r in v] for k, v in _by(cluster_rows, "subject_key").items()}
    subject_cannibal = {
        k: [r["main_keyword_key"] for r in v] for k, v in _by(cannibal_rows, "subject_key").items()
    }
    subject_template = env.get_template("subject.html.j2")
    html_files, csv_files = {}, {}
    for subject in _records(subjects):
        key = subject["subject_key"]
        subject_pages = pages_by.get(key, [])
        subject_findings = findings_by.get(key, [])
        worst = subject_pages[:WORST_PAGES]
        worst_keys = {page["doc_key"] for page in worst}
        by_doc = _by([f for f in subject_findings if f["doc_key"] in worst_keys], "doc_key")
        csv_path = folder / f"{stems[key]}.csv"
        _write_csv(subject_findings, csv_path)
        html = subject_template.render(
            **context,
            subject=subject,
            csv_name=csv_path.name,
            charts=_subject_charts(subject_pages),
            worst=[dict(page, findings=by_doc.get(page["doc_key"], [])) for page in worst],
            finding_count=len(subject_findings),
            clusters=_groups(clusters_by, subject_clusters.get(key, [])),
            cannibalisation=_groups(cannibal_by, subject_cannibal.get(key, [])),
            changes={
                kind: rows[:CHANGES_LISTED] for kind, rows in _by(changes_by.get(key, []), "change").items()
            },
        )
        html_path = folder / f"{stems[key]}.html"
        html_path.write_text(html, "utf-8")
        html_files[key], csv_files[key] = html_path, csv_path
    totals = {
        "pages": int(subjects["pages"].sum()),
        "added": int(subjects["pages_added"].sum()),
        "changed": int(subjects["pages_changed"].sum()),
        "deleted": int(subjects["pages_deleted"].sum()),
        "quarantined": len(quarantined),
        "score": _mean_score(pages),
    }
    index = out / "index.html"
    index.write_text(
        env.get_template("index.html.j2").render(
            **context,
            subjects=_records(subjects),
            totals=totals,
            quarantined=_records(quarantined),
            exports=sorted(marts.EXPORTS),
        ),
        "utf-8",
    )
    return ReportFiles(index, html_files, csv_files)


def _mean_score(pages: pd.DataFrame) -> float | None:
    value = pages["quality_score"].mean() if len(pages) else None
    return None if value is None or math.isnan(value) else round(float(value), 1)
