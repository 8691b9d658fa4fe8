"""The whole-pipeline benchmark's table says which targets were missed, and by how much."""

from __future__ import annotations

from benchmarks.pipeline import TARGETS, markdown_table


def _figures(wall_s: float, rss_mb: float, pages: int = 1000) -> dict:
    return {"wall_s": wall_s, "peak_rss_mb": rss_mb, "pages_per_s": pages / wall_s}


def test_a_missed_target_names_the_time_that_would_have_met_it() -> None:
    naive, cold, changed, unchanged = (
        _figures(120, 2000),
        _figures(30, 700),
        _figures(6, 600),
        _figures(2, 400),
    )
    result = {
        "pages": 1000,
        "machine": "test machine",
        "date": "2026-11-29 14:00",
        "code": "abc1234",
        "c_passes": "front matter, readability counts",
        "naive": naive,
        "pipeline_cold": cold,
        "pipeline_1pct_changed": changed,
        "pipeline_unchanged": unchanged,
        "ratios": {
            "wall_ratio": 30 / 120,
            "rss_ratio": 700 / 2000,
            "changed_ratio": 6 / 30,
            "unchanged_ratio": 2 / 30,
        },
        "targets": TARGETS,
    }
    table = markdown_table(result)
    verdicts = {line.split("|")[1].strip(): line.split("|")[4].strip() for line in table.splitlines()[-4:]}
    assert verdicts == {
        "pipeline / naive wall": "**missed** (20.0 s would meet it)",  # 120 s / 6
        "pipeline / naive peak RSS": "met",
        "1% changed / cold": "**missed** (4.5 s would meet it)",  # 0.15 x 30 s
        "nothing changed / cold": "met",
    }
    assert "code abc1234, C passes: front matter, readability counts" in table.splitlines()[0]
