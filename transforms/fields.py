"""Map front-matter fields of any schema onto the columns of a document.

A `FieldMapping` names, for each document column, the front-matter paths to try in
order (dotted paths reach into mappings: `seo.title`). Two pseudo-fields exist:
`$body` (the markdown after the front matter) and `$folder` (the first folder of the
document's path). Built-in profiles cover the QuickTakes schema of the sample page and
the usual Hugo / Jekyll / docs styles; TOML config can define others.
"""

from __future__ import annotations

import datetime as dt
import functools
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from transforms.front_matter import DocumentError
from transforms.plaintext import decode_escapes

TEXT_COLUMNS = (
    "source_id",
    "subject",
    "title",
    "seo_title",
    "meta_description",
    "question",
    "url",
    "file_name",
    "author",
    "body_markdown",
)
DOCUMENT_COLUMNS = (*TEXT_COLUMNS, "keywords", "published_date")


@dataclass(frozen=True)
class FieldMapping:
    """Where each document column comes from, and what a document must have."""

    fields: Mapping[str, tuple[str, ...]]
    required: tuple[str, ...] = ("body_markdown",)
    require_front_matter: bool = True
    decode_escapes: tuple[str, ...] = ("body_markdown",)  # columns holding literal "\n" sequences

    def __post_init__(self) -> None:
        unknown = set(self.fields) - set(DOCUMENT_COLUMNS)
        if unknown:
            raise ValueError(
                f"field mapping names unknown columns: {sorted(unknown)}; "
                f"known: {', '.join(DOCUMENT_COLUMNS)}"
            )
        missing = set(self.required) - set(self.fields)
        if missing:
            raise ValueError(f"required columns have no mapping: {sorted(missing)}")


QUICKTAKES = FieldMapping(
    fields={
        "source_id": ("id",),
        "subject": ("subject", "$folder"),
        "title": ("title", "article_title"),
        "seo_title": ("seo.title",),
        "meta_description": ("seo.page_description",),
        "keywords": ("seo.page_keywords",),
        "question": ("question",),
        "body_markdown": ("answer",),
        "url": ("url",),
        "file_name": ("file_name",),
        "published_date": ("date",),
        "author": ("author",),
    },
)

DOCS = FieldMapping(
    fields={
        "source_id": ("id", "ms.assetid", "uid"),
        "subject": ("Module Name", "categories", "category", "section", "tags", "$folder"),
        "title": ("title", "Title", "linkTitle"),
        "seo_title": ("seo.title", "seo_title", "title", "Title"),
        "meta_description": ("description", "Description", "summary", "seo.page_description"),
        "keywords": ("keywords", "Keywords"),  # not tags: a taxonomy, not target keywords
        "question": ("question",),
        "body_markdown": ("$body",),
        "url": ("url", "slug", "permalink"),
        "file_name": ("file_name",),
        "published_date": ("date", "ms.date", "publishDate", "lastmod"),
        "author": ("author", "ms.author", "authors"),
    },
    required=(),  # section index pages have no body and are still pages of the site
    require_front_matter=False,
    decode_escapes=(),
)

PROFILES: dict[str, FieldMapping] = {"quicktakes": QUICKTAKES, "docs": DOCS}


def mapping_from_config(profile: str, overrides: Mapping[str, Any] | None = None) -> FieldMapping:
    """A built-in profile, with per-column source lists from config replacing its own."""
    if profile not in PROFILES:
        raise ValueError(f"unknown front-matter profile {profile!r}; choose one of {sorted(PROFILES)}")
    base = PROFILES[profile]
    overrides = dict(overrides or {})
    fields = dict(base.fields)
    for column, sources in dict(overrides.pop("fields", {})).items():
        fields[column] = (sources,) if isinstance(sources, str) else tuple(sources)
    return FieldMapping(
        fields=fields,
        required=tuple(overrides.pop("required", base.required)),
        require_front_matter=bool(overrides.pop("require_front_matter", base.require_front_matter)),
        decode_escapes=tuple(overrides.pop("decode_escapes", base.decode_escapes)),
    )


def lookup(front_matter: Mapping[str, Any], path: str) -> Any:
    """Value at a dotted path, or None. A literal key containing dots wins over nesting."""
    if path in front_matter:
        return front_matter[path]
    node: Any = front_matter
    parts = path.split(".")
    for depth, part in enumerate(parts):
        if node is None:
            return None
        if not isinstance(node, Mapping):
            # `seo: "text"` where seo.title is expected: the value is there, in the wrong
            # shape; reading it as missing would drop it silently.
            parent = ".".join(parts[:depth])
            raise DocumentError(
                "wrong_type", f"field {parent!r} must be a mapping (for {path!r}), found {_type_name(node)}"
            )
        if part not in node:
            return None
        node = node[part]
    return node


def map_fields(
    front_matter: Mapping[str, Any] | None, body: str, doc_key: str, mapping: FieldMapping
) -> dict[str, Any]:
    """One document's columns from its front matter, with types checked and coerced."""
    if front_matter is None and mapping.require_front_matter:
        raise DocumentError("no_front_matter", "file has no front matter (it must start with a '---' line)")
    front_matter = front_matter or {}
    folder = doc_key.split("/")[0] if "/" in doc_key else None
    record: dict[str, Any] = {}
    for column, sources in mapping.fields.items():
        value, source = None, None
        for source in sources:
            if source == "$body":
                value = body
            elif source == "$folder":
                value = folder
            else:
                value = lookup(front_matter, source)
            if value not in (None, "", []):
                break
        record[column] = _coerce(column, value, source)
    for column in DOCUMENT_COLUMNS:
        record.setdefault(column, [] if column == "keywords" else None)
    for column in mapping.required:
        if record[column] in (None, "", []):
            names = " or ".join("the page body" if s == "$body" else repr(s) for s in mapping.fields[column])
            raise DocumentError("missing_field", f"required field {names} is missing or empty")
    for column in mapping.decode_escapes:
        if record[column]:
            record[column] = decode_escapes(record[column])
    return record


def _coerce(column: str, value: Any, source: str | None) -> Any:
    if value is None:
        return [] if column == "keywords" else None
    if column == "keywords":
        return parse_keywords(value, source)
    if column == "published_date":
        return _as_date(value)
    if column == "subject" and isinstance(value, list):
        # Hugo's categories / tags: the first entry is the page's subject.
        value = next((v for v in value if isinstance(v, str | int | float) and str(v).strip()), None)
        if value is None:
            return None
    if isinstance(value, bool) or not isinstance(value, str | int | float | dt.date):
        raise DocumentError(
            "wrong_type",
            f"field {source!r} must be text, found {_type_name(value)}",
        )
    return str(value).strip() if column != "body_markdown" else str(value)


def _type_name(value: Any) -> str:
    return {dict: "a mapping", list: "a list", bool: "true/false", str: "text"}.get(
        type(value), type(value).__name__
    )


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


def parse_keywords(value: Any, source: str | None = "keywords") -> list[str]:
    """Declared keywords from a comma string or a list: trimmed, empties and repeats dropped."""
    if isinstance(value, str):
        items: Sequence[Any] = value.split(",")
    elif isinstance(value, list | tuple):
        items = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        items = [value]
    else:
        raise DocumentError(
            "wrong_type",
            f"field {source!r} must be a list or comma-separated text, found {_type_name(value)}",
        )
    keywords: list[str] = []
    seen: set[str] = set()
    for item in items:
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise DocumentError("wrong_type", f"field {source!r} holds {_type_name(item)}, not text")
        keyword = " ".join(str(item).split())
        folded = keyword.casefold()
        if keyword and folded not in seen:
            seen.add(folded)
            keywords.append(keyword)
    return keywords


def subject_key(subject: str | None) -> str:
    """Fold case, accents, spacing and punctuation so spelling variants of a subject group:
    a Latin letter loses its accents (`Tecnología` -> `tecnologia`), every other letter and
    its marks stay as written (`ধারণা`, `हिन्दी विषय` -> `हिन्दी-विषय`, `altyapı`), and each run
    of anything else becomes one `-`."""
    return _subject_key(subject) if subject else "unassigned"


@functools.lru_cache(maxsize=65_536)  # a site has few subjects; every page names one
def _subject_key(subject: str) -> str:
    folded = "".join(map(_without_accent, unicodedata.normalize("NFKC", subject)))
    text = folded.casefold().replace("&", " and ")
    key = "".join(ch if _is_word_character(ch) else " " for ch in text)
    return "-".join(key.split()).strip("-_") or "unassigned"


def _without_accent(ch: str) -> str:
    """An accented ASCII letter's letter (é -> e); any other character as it is."""
    if ch.isascii():
        return ch
    base, *marks = unicodedata.normalize("NFD", ch)
    return base if base.isascii() and marks and all(map(unicodedata.combining, marks)) else ch


def _is_word_character(ch: str) -> bool:
    """Letters, digits, `_` and the marks of scripts that write vowels and viramas as marks
    (Bengali, Devanagari, ...): Python's `\\w` leaves those marks out, and cut words there."""
    return ch.isalnum() or ch == "_" or unicodedata.category(ch)[0] == "M"
