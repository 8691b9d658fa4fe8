"""The run's Prefect artifacts are markdown the Prefect UI renders: a subject name taken from
the content must show as text, and must not break the tables it sits in."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pyromark
import pytest

import flows.publish

HOSTILE = "Evil | <script>alert(1)</script> *bold* [link](http://x.test)\n# heading `code`"


def _row(subject_key: str, subject: str, score: float) -> dict[str, Any]:
    return {
        "subject_key": subject_key,
        "subject": subject,
        "pages": 1200,
        "quality_score": score,
        "quality_score_delta": -1.5,
        "median_flesch_reading_ease": 55.0,
        "keyword_coverage_ratio": 0.5,
        "duplicate_share": 0.25,
        "seo_findings": 3000,
        "pages_added": 1,
        "pages_changed": 2,
        "pages_deleted": 3,
        "scoring_changed": subject_key == "plain",
    }


@pytest.fixture
def posted(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    posted: dict[str, str] = {}

    def create_markdown_artifact(markdown: str, key: str, description: str) -> None:
        posted[key] = markdown

    monkeypatch.setattr(flows.publish, "create_markdown_artifact", create_markdown_artifact)
    monkeypatch.setattr(flows.publish, "create_table_artifact", lambda **_: None)
    rows = [_row("evil", HOSTILE, 10.0), _row("plain", "Plain subject", 90.0)]
    flows.publish.post_artifacts(rows, 7, Path("/tmp/report/index.html"))
    return posted


def _html(markdown: str) -> str:
    return pyromark.html(markdown, options=pyromark.Options.ENABLE_TABLES)


def test_a_subject_name_from_the_content_shows_as_text(posted: dict[str, str]) -> None:
    assert set(posted) == {"content-quality-summary", "subject-evil", "subject-plain"}
    for key in ("content-quality-summary", "subject-evil"):
        html = _html(posted[key])
        assert "<script" not in html and "<strong>" not in html and "<em>" not in html
        assert "<a " not in html and "<h1>heading" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt; *bold* [link](http://x.test) # heading `code`" in html


def test_a_subject_name_from_the_content_keeps_the_tables_whole(posted: dict[str, str]) -> None:
    summary = _html(posted["content-quality-summary"])
    rows = re.findall(r"<tr>(.*?)</tr>", summary, re.S)
    assert len(rows) == 3  # header, then the two subjects, worst first
    assert [len(re.findall(r"<t[dh][ >]", row)) for row in rows] == [3, 3, 3]
    assert "Evil / " in rows[1] and "Plain subject" in rows[2]
    heading = re.search(r"<h1>(.*?)</h1>", _html(posted["subject-evil"]), re.S)
    assert heading and "Evil / " in heading.group(1) and heading.group(1).endswith("run 7")
    measures = re.findall(r"<tr>(.*?)</tr>", _html(posted["subject-evil"]), re.S)
    assert len(measures) == 8 and all(len(re.findall(r"<t[dh][ >]", row)) == 2 for row in measures)


def test_a_subject_scored_another_way_says_so_beside_its_change(posted: dict[str, str]) -> None:
    assert "(-1.5 since the previous run, scored another way)" in posted["subject-plain"]
    assert "(-1.5 since the previous run)" in posted["subject-evil"]
