"""Small key-value facts the pipeline keeps between runs."""

from __future__ import annotations

import dataclasses
import json

import duckdb
import xxhash


def settings_fingerprint(settings: object) -> str:
    """Stable hash of a (nested) settings dataclass."""
    data = dataclasses.asdict(settings) if dataclasses.is_dataclass(settings) else settings
    return xxhash.xxh3_64_hexdigest(json.dumps(data, sort_keys=True, default=str).encode())


def analysis_fingerprint_changed(con: duckdb.DuckDBPyConnection, settings: object) -> bool:
    """True when the analysis settings differ from those of the last analysis: rescore all."""
    row = con.execute("SELECT value FROM pipeline_state WHERE key = 'analysis_settings'").fetchone()
    return row is not None and row[0] != settings_fingerprint(settings)


def store_analysis_fingerprint(con: duckdb.DuckDBPyConnection, settings: object) -> None:
    con.execute(
        "INSERT OR REPLACE INTO pipeline_state VALUES ('analysis_settings', ?)",
        [settings_fingerprint(settings)],
    )
