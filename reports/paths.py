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


def subject_file_stems(subject_keys: list[str]) -> dict[str, str]:
    """subject_key -> file stem; keys that fold to the same slug get a short hash suffix."""
    stems: dict[str, str] = {}
    taken: set[str] = set()
    for key in sorted(subject_keys):
        stem = slug(key)
        if stem in taken:
            stem = f"{stem}-{xxhash.xxh3_64_hexdigest(key.encode())[:8]}"
        taken.add(stem)
        stems[key] = stem
    return stems


def doc_anchor(doc_key: str) -> str:
    """A stable HTML id for a document (doc_keys hold slashes, dots and any character)."""
    return "doc-" + xxhash.xxh3_64_hexdigest(doc_key.encode("utf-8"))[:16]


def artifact_key(prefix: str, name: str) -> str:
    """Prefect artifact keys: lowercase letters, digits and dashes only (GUIDE pitfall 5)."""
    return slug(f"{prefix}-{name}", fallback=prefix)
