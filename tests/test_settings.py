"""One settings object: defaults < TOML < command line, with clear errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from content_audit.settings import (
    IngestSettings,
    RunnerSettings,
    analysis_settings,
    build_dataclass,
    load_settings,
)
from transforms.analysis import AnalysisSettings
from warehouse.marts import QualityWeights
from warehouse.session import DuckDBSettings

REPO = Path(__file__).resolve().parents[1]


def test_example_config_documents_the_real_defaults() -> None:
    settings = load_settings(REPO / "content-audit.example.toml")
    assert settings.ingest == IngestSettings()
    assert settings.runner == RunnerSettings()
    assert settings.duckdb == DuckDBSettings()
    assert analysis_settings(settings) == AnalysisSettings()
    assert build_dataclass(QualityWeights, settings.section("quality"), "quality") == QualityWeights()


def test_example_config_ingest_lines_load_when_uncommented(tmp_path: Path) -> None:
    """The field-mapping lines the example shows commented out are where the loader reads
    them: uncommented, they load, and give the columns their stated sources."""
    text = (REPO / "content-audit.example.toml").read_text("utf-8")
    ingest = text[text.index("[ingest]") : text.index("[runner]")]
    lines = [line[2:] if re.match(r"# (\[|\w+ = )", line) else line for line in ingest.splitlines()]
    assert sum(a != b for a, b in zip(lines, ingest.splitlines(), strict=True)) >= 5
    config = tmp_path / "c.toml"
    config.write_text("\n".join(lines) + "\n", "utf-8")
    mapping = load_settings(config).ingest.mapping
    assert mapping.required == ("body_markdown",) and mapping.require_front_matter
    assert mapping.decode_escapes == ("body_markdown",)
    assert mapping.fields["subject"] == ("section", "categories", "$folder")


def test_command_line_wins_over_toml(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        '[paths]\ncontent = "pages"\nwarehouse = "w.duckdb"\n[runner]\nworkers = 3\n'
        "[seo]\nthin_content_words = 150\n[seo.subjects.maths]\nthin_content_words = 50\n"
        '[duplicates]\npreset = "loose"\n'
    )
    settings = load_settings(config, warehouse="cli.duckdb", workers=None)
    assert settings.content_dir == tmp_path / "pages"  # relative to the TOML file
    assert settings.warehouse == Path("cli.duckdb")
    assert settings.runner.workers == 3
    page = analysis_settings(settings)
    assert page.seo.thin_content_words == 150 and page.seo_by_subject["maths"]["thin_content_words"] == 50
    assert (
        page.duplicates.shingle_size != AnalysisSettings().duplicates.shingle_size
        or page.duplicates.threshold != AnalysisSettings().duplicates.threshold
    )


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[ingest]\nbatch_sise = 10\n", "unknown keys"),
        ("[runner]\ntask_runner = 'gpu'\n", "task_runner must be one of"),
        ("[ingest]\nprofile = 'wordpress'\n", "unknown front-matter profile"),
        ("[seo]\nthin_content_wrds = 1\n", "unknown keys"),
        ("[duckdb]\nmemory_limit = '512'\n", "memory_limit is a size"),
        ('[duckdb]\ncheckpoint_threshold = "1GB\'; PRAGMA x; --"\n', "checkpoint_threshold is a size"),
        ("[qualty]\nseo_weight = 2\n", "unknown settings tables"),
        ("[quality]\nseo_wieght = 2\n", "unknown keys"),
        ("[quality]\nreadability_weight = 0\nseo_weight = 0\nuniqueness_weight = 0\n", "cannot all be 0"),
        ("[quality]\nkeyword_weight = -1\n", "cannot be negative"),
        ("[keywords]\nexpectd = false\n", "unknown keys"),
        ("[seo.subjects.maths]\nthin_content_wrds = 1\n", "maths"),
        ("[duplicates]\npreset = 'tight'\n", "preset"),
    ],
)
def test_bad_settings_fail_when_loaded(tmp_path: Path, toml: str, message: str) -> None:
    """Before any file is read: a typo in [quality] used to fail a run after its ingest."""
    config = tmp_path / "c.toml"
    config.write_text(toml)
    with pytest.raises(ValueError, match=message):
        load_settings(config)


def test_the_docs_profile_does_not_expect_keywords_unless_told(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[keywords]\nexpected = true\n")
    assert analysis_settings(load_settings(None)).keywords.expected
    assert not analysis_settings(load_settings(None, profile="docs")).keywords.expected
    assert analysis_settings(load_settings(config, profile="docs")).keywords.expected


def test_the_profile_option_overrides_the_config(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[ingest]\nprofile = 'quicktakes'\n")
    assert load_settings(config, profile="docs").ingest.profile == "docs"
    assert load_settings(config).ingest.profile == "quicktakes"
    with pytest.raises(ValueError, match="unknown front-matter profile"):
        load_settings(config, profile="wordpress")


def test_small_runs_stay_in_the_flow_process_in_one_batch() -> None:
    settings = load_settings(None)
    below = settings.runner.inline_below
    assert settings.batching(below - 1) == (True, settings.ingest.batch_size)
    in_process, size = settings.batching(100_000)
    assert not in_process and settings.ingest.min_batch_size <= size <= settings.ingest.batch_size


def test_settings_added_at_their_neutral_value_leave_the_analysis_fingerprint_as_it_was() -> None:
    """A warehouse keeps the fingerprint of the analysis settings; a change rescores every
    page. Settings a release adds, at the value that keeps the analysis as it was, leave it
    alone: the default settings give the fingerprint releases before them stored (session
    20's, written before `[keywords] expected` and `[seo] title_suffix` existed), so an
    upgrade does not rescore a site that does not use them; used, they rescore."""
    from transforms.keywords import KeywordSettings
    from transforms.seo import SeoThresholds
    from warehouse.state import settings_fingerprint

    assert settings_fingerprint(AnalysisSettings().fingerprint_data()) == "b21917b22ab2555a"
    docs = analysis_settings(load_settings(None, profile="docs"))
    assert settings_fingerprint(docs.fingerprint_data()) != "b21917b22ab2555a"
    suffixed = AnalysisSettings(seo=SeoThresholds(title_suffix=" | Hugo"))
    assert settings_fingerprint(suffixed.fingerprint_data()) != "b21917b22ab2555a"
    assert (
        "expected"
        in AnalysisSettings(keywords=KeywordSettings(expected=False)).fingerprint_data()["keywords"]
    )
