"""Reports after real runs (a generated corpus with hostile files, then mutated and run
again): files, links, numbers, exports, and every page rendered in headless Chromium.

Chromium is driven over the DevTools protocol (one browser for every page): console
errors, uncaught exceptions, failed loads and dialogs are collected while each page loads.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.conftest import generate_corpus, mutate_corpus
from tests.test_marts import assert_page_matches_row

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

# A page whose every field is hostile: script in the title, an image with an onerror
# handler in the SEO title and question, a keyword that tries to end a <script> element.
HOSTILE = """---
id: 999001
date: 2025-01-01
title: <script>alert(1)</script>
seo:
  title: '<img src=x onerror="document.body.dataset.pwned=1">'
  page_description: >-
    </script><script>document.body.dataset.pwned=2</script>
  page_keywords: >-
    </script><!-- pwned, <b>bold</b>
author: QuickTakes
question: >-
    <img src=x onerror="document.body.dataset.pwned=3">
answer: >-
    Short answer with <script>document.body.dataset.pwned=4</script> inside.\\n\\nIt is thin on purpose.
subject: Hostile <b>Subject</b>
file_name: hostile.md
url: /learn/hostile/questions/"><script>document.body.dataset.pwned=5</script>
---

&nbsp;"""


@pytest.fixture(scope="module")
def audited(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two runs (generate, run, mutate, run) into one warehouse and report folder."""
    from content_audit.runner import run_pipeline

    base = tmp_path_factory.mktemp("reports")
    content = generate_corpus(base / "qt", 300, seed=5, bad=0.06)
    (content / "hostile").mkdir()
    (content / "hostile" / "hostile.md").write_text(HOSTILE, "utf-8")
    warehouse, out = base / "warehouse.duckdb", base / "report"
    first = run_pipeline(content=content, warehouse=warehouse, out=out)
    mutate_corpus(content)
    second = run_pipeline(content=content, warehouse=warehouse, out=out)
    assert first["status"] == second["status"] == "completed"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        subjects = con.execute("SELECT * FROM subject_quality WHERE run_id = ?", [second["run_id"]]).df()
        findings = dict(con.execute("SELECT subject_key, count(*) FROM page_findings GROUP BY 1").fetchall())
        page_count = con.execute("SELECT count(*) FROM page_quality").fetchone()[0]
        hostile_key = con.execute(
            "SELECT subject_key FROM documents WHERE doc_key = 'hostile/hostile.md'"
        ).fetchone()
    return {
        "out": out,
        "warehouse": warehouse,
        "second": second,
        "subjects": subjects.to_dict("records"),
        "findings": findings,
        "page_count": page_count,
        "hostile_key": hostile_key[0],
    }


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs += [v for k, v in attrs if k == "href" and v]


def _hrefs(path: Path) -> list[str]:
    parser = _Links()
    parser.feed(path.read_text("utf-8"))
    return parser.hrefs


def _subject_file(out: Path, subject_key: str, suffix: str) -> Path:
    return out / "subjects" / f"{subject_key}{suffix}"  # subject keys are slugs already


def test_every_subject_has_a_page_and_csv_linked_from_the_index(audited: dict) -> None:
    out = audited["out"]
    keys = {s["subject_key"] for s in audited["subjects"]}
    assert len(keys) >= 30
    linked = {
        h.removeprefix("subjects/").removesuffix(".html")
        for h in _hrefs(out / "index.html")
        if h.startswith("subjects/")
    }
    assert linked == keys
    written = {p.stem for p in (out / "subjects").glob("*.html")}
    assert written == keys
    for key in keys:
        with _subject_file(out, key, ".csv").open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert list(rows[0]) == [
            "doc_key",
            "title",
            "url",
            "severity",
            "rule",
            "detail",
            "explanation",
            "suggested_fix",
        ]
        assert len(rows) == audited["findings"][key]
        assert all(r["suggested_fix"] for r in rows)
        assert f'href="{key}.csv"' in _subject_file(out, key, ".html").read_text("utf-8")
    assert (out / "assets" / "plotly.min.js").stat().st_size > 1_000_000
    assert not list(out.rglob("*.partial"))


def test_subject_pages_show_the_subject_quality_row(audited: dict) -> None:
    for row in audited["subjects"]:
        assert_page_matches_row(
            _subject_file(audited["out"], row["subject_key"], ".html").read_text("utf-8"), row
        )


def test_changes_since_the_previous_run_add_up(audited: dict) -> None:
    rows, second = audited["subjects"], audited["second"]
    assert sum(r["pages_added"] for r in rows) == second["docs_new"]
    assert sum(r["pages_changed"] for r in rows) == second["docs_changed"]
    assert sum(r["pages_deleted"] for r in rows) == second["docs_deleted"]
    assert second["docs_changed"] > 0 and second["docs_deleted"] > 0
    compared = [r for r in rows if r["previous_run_id"] == second["run_id"] - 1]
    assert len(compared) >= len(rows) - 1  # every subject but a brand-new one has a previous row
    changed = next(r for r in rows if r["pages_changed"] > 0)
    html = _subject_file(audited["out"], changed["subject_key"], ".html").read_text("utf-8")
    assert f"Change since run {second['run_id'] - 1}" in html and "Pages changed (" in html


def test_parquet_exports_match_the_marts(audited: dict) -> None:
    exports = audited["out"] / "exports"
    con = duckdb.connect()
    count = con.execute(
        f"SELECT count(*) FROM read_parquet('{exports / 'page_quality.parquet'}')"
    ).fetchone()[0]
    assert count == audited["page_count"]
    columns = [
        r[0] for r in con.execute(f"DESCRIBE SELECT * FROM '{exports / 'documents.parquet'}'").fetchall()
    ]
    assert "doc_key" in columns and "body_text" not in columns and "body_markdown" not in columns
    for name in ("subject_quality", "readability", "seo_findings", "duplicate_pairs", "keyword_coverage"):
        assert (exports / f"{name}.parquet").is_file(), name


def test_report_command_rebuilds_from_the_warehouse(audited: dict, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from content_audit.cli import app

    result = CliRunner().invoke(
        app, ["report", "--warehouse", str(audited["warehouse"]), "--out", str(tmp_path / "again")]
    )
    assert result.exit_code == 0, result.output
    first = (audited["out"] / "subjects").glob("*.html")
    for page in first:
        assert (tmp_path / "again" / "subjects" / page.name).is_file()
    assert (tmp_path / "again" / "exports" / "subject_quality.parquet").is_file()


# ---- headless Chromium ---------------------------------------------------------------------

# Runs in every page before its own scripts: dialogs are recorded instead of shown.
_TRAP = (
    "window.__dialogs = []; window.alert = window.confirm = window.prompt = "
    "function (m) { window.__dialogs.push(String(m)); };"
)
_STATE = """JSON.stringify({
  charts: document.querySelectorAll('.js-plotly-plot .main-svg').length,
  plots: document.querySelectorAll('.js-plotly-plot').length,
  tables: document.querySelectorAll('table').length,
  rows: document.querySelectorAll('tbody tr').length,
  dialogs: window.__dialogs || [],
  pwned: document.body.dataset.pwned || null,
  title: document.title,
  images: document.images.length,
  text: document.body.innerText
})"""


class DevTools:
    """Just enough of the Chrome DevTools protocol: one tab, navigate, evaluate, events."""

    def __init__(self, profile: Path) -> None:
        from websockets.sync.client import connect

        self.process = subprocess.Popen(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                f"--user-data-dir={profile}",
                "--remote-debugging-port=0",
                "--window-size=1400,2000",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Chromium makes its own temporary folders (org.chromium.Chromium.*) and leaves
            # them: inside the test's profile folder, pytest's clean-up takes them too.
            env={**os.environ, "TMPDIR": str(profile)},
        )
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and len(port_file.read_text().split()) >= 2):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("headless Chromium did not start")
            time.sleep(0.1)
        port, path = port_file.read_text().split()[:2]
        self.socket = connect(f"ws://127.0.0.1:{port}{path}", max_size=None, open_timeout=30)
        self.next_id = 0
        self.events: list[dict] = []
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable", session=True)
        self.call("Page.addScriptToEvaluateOnNewDocument", {"source": _TRAP}, session=True)

    def call(
        self, method: str, params: dict | None = None, session: bool = False, timeout: float = 60
    ) -> dict:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self.session
        self.socket.send(json.dumps(message))
        deadline = time.monotonic() + timeout
        while True:
            reply = json.loads(self.socket.recv(timeout=max(0.1, deadline - time.monotonic())))
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            self.events.append(json.loads(self.socket.recv(timeout=max(0.1, deadline - time.monotonic()))))

    def open(self, url: str, charts: int = 0) -> tuple[dict, list[str]]:
        """Load a page, wait for its charts; returns its state and the errors it logged."""
        self.events = []
        self.call("Page.navigate", {"url": url}, session=True)
        self.wait_for("Page.loadEventFired")
        deadline = time.monotonic() + 20
        while True:
            state = json.loads(self.evaluate(_STATE))
            if state["charts"] >= charts or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        return state, self.errors()

    def evaluate(self, expression: str) -> Any:
        return self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=True)[
            "result"
        ]["value"]

    def errors(self) -> list[str]:
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(json.dumps(params["exceptionDetails"])[:500])
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append(json.dumps(params.get("args"))[:500])
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                found.append(params["entry"].get("text", "") + " " + params["entry"].get("url", ""))
            elif method == "Page.javascriptDialogOpening":
                found.append("dialog: " + params.get("message", ""))
        return found

    def close(self) -> None:
        try:
            self.socket.close()
        finally:
            self.process.terminate()
            self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevTools]:
    if not Path(CHROMIUM).exists():
        pytest.fail("headless Chromium is needed (Debian package `chromium`; the test set-up installs it)")
    tools = DevTools(tmp_path_factory.mktemp("chromium-profile"))
    yield tools
    tools.close()


def _safe(state: dict, errors: list[str]) -> None:
    assert errors == []
    assert state["dialogs"] == [] and state["pwned"] is None and state["images"] == 0
    assert "pwned" not in state["title"]


def test_chromium_renders_the_index(audited: dict, browser: DevTools) -> None:
    state, errors = browser.open((audited["out"] / "index.html").as_uri())
    _safe(state, errors)
    assert state["tables"] >= 2 and state["rows"] >= len(audited["subjects"])


def test_chromium_renders_every_subject_page(audited: dict, browser: DevTools) -> None:
    for row in audited["subjects"]:
        page = _subject_file(audited["out"], row["subject_key"], ".html")
        state, errors = browser.open(page.as_uri(), charts=3)
        _safe(state, errors)
        assert state["plots"] == 3 and state["charts"] >= 3, row["subject_key"]
        assert state["tables"] >= 1, row["subject_key"]


def test_content_shows_as_text_and_never_runs(audited: dict, browser: DevTools) -> None:
    page = _subject_file(audited["out"], audited["hostile_key"], ".html")
    state, errors = browser.open(page.as_uri(), charts=3)
    _safe(state, errors)
    assert "<script>alert(1)</script>" in state["text"]
    assert "Hostile <b>Subject</b>" in state["text"]


def test_prefect_artifacts_per_subject(audited: dict) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    keys = [f"subject-{s['subject_key']}" for s in audited["subjects"]]
    wanted = ["content-quality-summary", "content-quality-subjects", *keys]
    # Only this run's artifacts: the session's other runs post the same keys, and the API
    # returns at most its default page (200 rows) of a filter over all of them.
    flow_run_id = audited["second"]["prefect_flow_run_id"]
    assert flow_run_id
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])),
            limit=len(wanted) + 10,
        )
    assert sorted(a.key for a in found) == sorted(wanted)
    assert all(re.fullmatch(r"[a-z0-9-]+", a.key) for a in found)
    summary = next(a for a in found if a.key == "content-quality-summary" and "run 2" in (a.data or ""))
    assert "Content quality, run 2" in summary.data


def test_subjects_in_any_script_get_file_names_and_artifact_keys_of_their_own() -> None:
    """Subject keys in other scripts folded to the fallback alone ("subject"), so their
    Prefect artifacts shared one key and their file names depended on which other subjects
    sorted first. Each name is now its own; plain keys keep theirs."""
    from reports.paths import artifact_key, subject_file_stems

    keys = ["health-studies", "ধারণা", "概念", "コンセプト", "altyapı", "altyap", "a_b", "a-b", "x" * 120]
    stems = subject_file_stems(keys)
    assert (
        stems["health-studies"] == "health-studies" and stems["a-b"] == "a-b" and stems["altyap"] == "altyap"
    )
    assert len(set(stems.values())) == len(keys)
    assert stems == {key: subject_file_stems([key])[key] for key in keys}  # not from the others
    artifacts = {artifact_key("subject", key) for key in keys}
    assert len(artifacts) == len(keys) and "subject-health-studies" in artifacts
    for name in [*stems.values(), *artifacts]:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name) and len(name) <= 80
