"""One settings object for a run: defaults, then a TOML file, then the command line.

Every path, threshold and field mapping the pipeline uses comes from here. Each part's
tunables are the frozen dataclass its transform module defines, so a default is written
once, next to the code that uses it.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transforms.analysis import AnalysisSettings
from transforms.changes import batch_size_for
from transforms.duplicates import DuplicateSettings
from transforms.fields import FieldMapping, mapping_from_config
from transforms.keywords import KeywordSettings
from transforms.readability import ReadabilitySettings
from transforms.seo import SeoThresholds, resolve_thresholds
from warehouse.marts import QualityWeights
from warehouse.session import DuckDBSettings

PACKAGE_DIR = Path(__file__).resolve().parent
EXAMPLE_CONTENT = PACKAGE_DIR / "example_content"
DEFAULT_CONFIG_NAME = "content-audit.toml"
TASK_RUNNERS = ("process", "thread", "dask")


@dataclass(frozen=True)
class IngestSettings:
    """How files are found and read.

    max_file_bytes: larger files are quarantined unread (5 MB: a real page is ~10 KB).
    batch_size: files per batch task; a task run costs 10-30 ms in Prefect, so batches are
    hundreds of files. The batch size also bounds memory: results stream into DuckDB, and
    each worker holds one batch (100,000 pages: workers ~190 MB each with 1,500-page
    batches, ~220 MB with 2,000).
    """

    profile: str = "quicktakes"
    patterns: tuple[str, ...] = ("*.md", "*.markdown")
    max_file_bytes: int = 5_000_000
    batch_size: int = 1_500
    min_batch_size: int = 200
    trust_file_stat: bool = True  # same size and mtime as stored: unchanged, not re-read
    mapping_overrides: Mapping[str, Any] = field(default_factory=dict)

    @property
    def mapping(self) -> FieldMapping:
        return mapping_from_config(self.profile, self.mapping_overrides)

    @property
    def parsing(self) -> dict[str, Any]:
        """What a stored document depends on beyond its file's bytes: when it differs from
        the last run's, every file is parsed again (warehouse.state.begin_parsing)."""
        return {"mapping": dataclasses.asdict(self.mapping), "max_file_bytes": self.max_file_bytes}

    @property
    def mapping_changed_since_unrecorded(self) -> bool:
        """Whether a warehouse built before parsing settings were recorded was parsed with
        another mapping than this profile's: the docs profile read `tags` as keywords until
        then. Such a warehouse is parsed again once (warehouse.state.begin_parsing)."""
        return self.profile == "docs"


@dataclass(frozen=True)
class RunnerSettings:
    """Where CPU-heavy batches run: 'process' (default, all cores), 'thread' or 'dask'."""

    task_runner: str = "process"
    workers: int = 0  # 0: one per core
    dask_address: str | None = None
    # Fewer pages than this to read or analyse run in the flow's own process: starting
    # worker processes (~1 s: each imports pandas and the transforms) costs more than
    # the work (~2 ms a page read and scored: 3,000 pages take ~6 s on one core, ~3.5 s
    # on two once the workers are up).
    inline_below: int = 3000

    @property
    def worker_count(self) -> int:
        return self.workers or max(1, os.cpu_count() or 1)

    @property
    def in_flight(self) -> int:
        """Batches submitted ahead of the one being loaded: keeps every worker busy while
        bounding the memory of finished results."""
        return self.worker_count + 1


@dataclass(frozen=True)
class Settings:
    content_dir: Path = EXAMPLE_CONTENT
    warehouse: Path = Path("content-audit.duckdb")
    out_dir: Path = Path("content-audit-report")
    ingest: IngestSettings = field(default_factory=IngestSettings)
    runner: RunnerSettings = field(default_factory=RunnerSettings)
    duckdb: DuckDBSettings = field(default_factory=DuckDBSettings)
    sections: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def section(self, name: str) -> Mapping[str, Any]:
        """Raw TOML table for a part whose dataclass lives in its own transform module."""
        return self.sections.get(name, {})

    def batching(self, pages: int) -> tuple[bool, int]:
        """For `pages` to read or score: whether they stay in the flow's own process (too few
        to pay for starting workers), and the batch size."""
        in_process = pages < self.runner.inline_below
        size = batch_size_for(
            pages, self.runner.worker_count, self.ingest.batch_size, self.ingest.min_batch_size, in_process
        )
        return in_process, size


def build_dataclass(cls: type, values: Mapping[str, Any], where: str) -> Any:
    """A dataclass from a TOML table, with a clear error for unknown keys."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - names
    if unknown:
        raise ValueError(f"[{where}] has unknown keys {sorted(unknown)}; known: {', '.join(sorted(names))}")
    converted = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return cls(**converted)


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Defaults < TOML (`config`, or ./content-audit.toml if present) < keyword overrides.

    Overrides with value None are ignored, so CLI options that were not given keep the
    TOML value. Paths in the TOML file are relative to the file's folder.
    """
    data: dict[str, Any] = {}
    base = Path.cwd()
    if config is None and Path(DEFAULT_CONFIG_NAME).is_file():
        config = Path(DEFAULT_CONFIG_NAME)
    if config is not None:
        config = Path(config)
        if not config.is_file():
            raise FileNotFoundError(f"config file {config} not found")
        with config.open("rb") as handle:
            data = tomllib.load(handle)
        base = config.resolve().parent
    paths = data.pop("paths", {})
    ingest = dict(data.pop("ingest", {}))
    ingest_fields = {
        k: ingest.pop(k)
        for k in ("fields", "required", "require_front_matter", "decode_escapes")
        if k in ingest
    }
    ingest["mapping_overrides"] = ingest_fields
    runner = dict(data.pop("runner", {}))
    for key in ("task_runner", "workers", "dask_address"):
        if overrides.get(key) is not None:
            runner[key] = overrides[key]
    if overrides.get("profile") is not None:
        ingest["profile"] = overrides["profile"]
    settings = Settings(
        content_dir=_path(overrides.get("content_dir"), paths.get("content"), base, EXAMPLE_CONTENT),
        warehouse=_path(overrides.get("warehouse"), paths.get("warehouse"), base, Settings.warehouse),
        out_dir=_path(overrides.get("out_dir"), paths.get("out"), base, Settings.out_dir),
        ingest=build_dataclass(IngestSettings, ingest, "ingest"),
        runner=build_dataclass(RunnerSettings, runner, "runner"),
        duckdb=build_dataclass(DuckDBSettings, data.pop("duckdb", {}), "duckdb"),
        sections=data,
    )
    if settings.runner.task_runner not in TASK_RUNNERS:
        raise ValueError(
            f"runner.task_runner must be one of {TASK_RUNNERS}, not {settings.runner.task_runner!r}"
        )
    _check(settings)
    return settings


# Tables of the TOML file besides [paths], [ingest], [runner] and [duckdb], each read by the
# part it configures (analysis_settings, quality_weights).
SECTIONS = ("readability", "keywords", "seo", "duplicates", "quality")


def _check(settings: Settings) -> None:
    """Every table and key of the file now, not when the run reaches the part it configures
    (a typo in [quality] failed a run after its whole ingest)."""
    unknown = set(settings.sections) - set(SECTIONS)
    if unknown:
        raise ValueError(
            f"unknown settings tables {sorted(unknown)}; known: paths, ingest, runner, duckdb, {', '.join(SECTIONS)}"
        )
    settings.ingest.mapping  # noqa: B018 - the field mapping
    page = analysis_settings(settings)
    for subject_key in page.seo_by_subject:
        resolve_thresholds(page.seo, page.seo_by_subject, subject_key)
    quality_weights(settings)


def _path(cli: Any, toml: Any, base: Path, default: Path) -> Path:
    if cli is not None:
        return Path(cli)
    if toml is not None:
        return (base / toml) if not Path(toml).is_absolute() else Path(toml)
    return default


# What a front-matter profile changes beyond its field mapping, where the TOML file is silent.
PROFILE_DEFAULTS: dict[str, dict[str, dict[str, Any]]] = {
    "docs": {"keywords": {"expected": False}},  # docs pages rarely declare target keywords
}


def analysis_settings(settings: Settings) -> AnalysisSettings:
    """The per-page analysis tunables from the TOML tables [readability], [keywords],
    [seo] (with [seo.subjects.<subject_key>] overrides) and [duplicates] (`preset` plus
    overrides); where a table does not set a key, the profile's default (PROFILE_DEFAULTS)
    applies before the built-in one."""
    profile = PROFILE_DEFAULTS.get(settings.ingest.profile, {})
    keywords = {**profile.get("keywords", {}), **settings.section("keywords")}
    seo = dict(settings.section("seo"))
    by_subject = seo.pop("subjects", {})
    duplicates = dict(settings.section("duplicates"))
    preset = DuplicateSettings.preset(duplicates.pop("preset", "default"))
    return AnalysisSettings(
        readability=build_dataclass(ReadabilitySettings, settings.section("readability"), "readability"),
        keywords=build_dataclass(KeywordSettings, keywords, "keywords"),
        seo=build_dataclass(SeoThresholds, seo, "seo"),
        seo_by_subject=by_subject,
        duplicates=dataclasses.replace(preset, **duplicates) if duplicates else preset,
    )


def quality_weights(settings: Settings) -> QualityWeights:
    """How the quality score is made, from the TOML table [quality]."""
    return build_dataclass(QualityWeights, settings.section("quality"), "quality")
