"""Safe names for everything the reports write or link: files stay under the output folder,
anchors and Prefect artifact keys use lowercase letters, digits and dashes only."""

from __future__ import annotations

import re

import xxhash

_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str, fallback: str = "subject") -> str:
    """Lowercase letters, digits and single dashes; never empty, never a path."""
    cleaned = _NOT_SLUG.sub("-", str(text).lower()).strip("-")
    return cleaned[:80].strip("-") or fallback


def unique_slug(text: str, fallback: str) -> str:
    """`slug`, with a short hash of the text appended when folding it lost more than case:
    names in other scripts, which fold to nothing but the fallback ("ধারণা", "概念"), or to
    the same letters ("altyapı" -> "altyap"), stay apart, each with a name of its own that
    does not depend on which other names exist. Names already of lowercase letters, digits
    and single dashes are their own slug (the keys of earlier runs stay)."""
    cleaned = slug(text, fallback)
    if cleaned == str(text).lower():
        return cleaned
    return f"{cleaned[:71].strip('-')}-{xxhash.xxh3_64_hexdigest(str(text).encode('utf-8'))[:8]}"


def subject_file_stems(subject_keys: list[str]) -> dict[str, str]:
    """subject_key -> file stem (`unique_slug`)."""
    return {key: unique_slug(key, "subject") for key in subject_keys}


def doc_anchor(doc_key: str) -> str:
    """A stable HTML id for a document (doc_keys hold slashes, dots and any character)."""
    return "doc-" + xxhash.xxh3_64_hexdigest(doc_key.encode("utf-8"))[:16]


def artifact_key(prefix: str, name: str) -> str:
    """Prefect artifact keys: lowercase letters, digits and dashes only (GUIDE pitfall 5),
    one key per name (`unique_slug`): every subject's history lines up under its own key."""
    return unique_slug(f"{prefix}-{name}", fallback=prefix)
