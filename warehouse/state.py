"""Small key-value facts the pipeline keeps between runs."""

from __future__ import annotations

import dataclasses
import json

import duckdb
import xxhash

from warehouse.documents import mark_parse_again
from warehouse.store import transaction


def settings_fingerprint(settings: object) -> str:
    """Stable hash of a (nested) settings dataclass."""
    data = dataclasses.asdict(settings) if dataclasses.is_dataclass(settings) else settings
    return xxhash.xxh3_64_hexdigest(json.dumps(data, sort_keys=True, default=str).encode())


def _stored(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    row = con.execute("SELECT value FROM pipeline_state WHERE key = ?", [key]).fetchone()
    return None if row is None else row[0]


def _store(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    con.execute("INSERT OR REPLACE INTO pipeline_state VALUES (?, ?)", [key, value])


def analysis_fingerprint_changed(con: duckdb.DuckDBPyConnection, settings: object) -> bool:
    """True when the analysis settings differ from those of the last analysis: rescore all."""
    stored = _stored(con, "analysis_settings")
    return stored is not None and stored != settings_fingerprint(settings)


def stored_analysis_fingerprint(con: duckdb.DuckDBPyConnection) -> str | None:
    """The fingerprint of the settings the stored page analysis was made with."""
    return _stored(con, "analysis_settings")


def store_analysis_fingerprint(con: duckdb.DuckDBPyConnection, settings: object) -> None:
    _store(con, "analysis_settings", settings_fingerprint(settings))


def begin_parsing(
    con: duckdb.DuckDBPyConnection,
    parsing: object,
    full_refresh: bool,
    older_warehouse_parsed_otherwise: bool,
) -> str | None:
    """Why this run parses every page again, or None: a full refresh, or parsing settings (the
    front-matter field mapping, the file size limit) other than those the stored documents
    were parsed with. Stores the settings and, when parsing again, marks every live document
    in the same transaction (documents.mark_parse_again): a run stopped midway leaves the
    pages it did not reach marked, so a warehouse never keeps pages parsed under two
    mappings. A warehouse from before these settings were kept (documents, no fingerprint)
    is taken as parsed with them unless `older_warehouse_parsed_otherwise`
    (IngestSettings.mapping_changed_since_unrecorded)."""
    fingerprint = settings_fingerprint(parsing)
    stored = _stored(con, "parsing_settings")
    if full_refresh:
        why = "full refresh"
    elif stored is not None and stored != fingerprint:
        why = "the front-matter mapping or the file size limit changed since the last run"
    elif stored is None and older_warehouse_parsed_otherwise and _has_documents(con):
        why = "the profile's field mapping changed since the release that built this warehouse"
    else:
        why = None
    with transaction(con):
        _store(con, "parsing_settings", fingerprint)
        if why is not None:
            mark_parse_again(con)
    return why


def _has_documents(con: duckdb.DuckDBPyConnection) -> bool:
    return con.execute("SELECT EXISTS (SELECT 1 FROM documents)").fetchone()[0]
