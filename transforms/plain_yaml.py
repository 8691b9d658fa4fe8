"""A fast reader for the plain YAML that front matter nearly always is; PyYAML for the rest.

Front matter is mostly `key: value` lines, a level or two of nested mappings and folded or
literal block scalars (`answer: >-` and indented lines). For that subset `read_plain_yaml`
returns exactly what `front_matter.load_yaml` returns (PyYAML's C loader with plain scalars
kept as strings, null excepted), in a fraction of the time: libyaml is fast, but every
node then goes through PyYAML's Python constructors. For anything else (sequences, flow
collections, anchors, tags, comments, quotes with escapes, multi-line plain scalars,
blank lines inside block scalars, tabs, duplicate keys, characters YAML reads as line
breaks) it returns None and the caller loads the header with PyYAML, so every error
message and every corner of YAML stays PyYAML's. tests/test_plain_yaml.py holds it to
that on the shared corpora, the hostile files and generated headers.
"""

from __future__ import annotations

import re
from typing import Any

# Anything outside YAML's printable set, and \x85, \u2028, \u2029 (line breaks to YAML) and
# a BOM inside the text: PyYAML decides what those mean. ASCII text needs the short check.
_UNUSUAL_CHARACTER = re.compile(
    "[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)
_UNUSUAL_ASCII = re.compile("[\x00-\x09\x0b-\x1f\x7f]")
# indent, key, value: keys that are plain words (no quotes, colons or comment marks).
_KEY_LINE = re.compile(r"( *)([A-Za-z0-9_][A-Za-z0-9_. /-]*):(?: +(.*))?\Z")
_NULL_WORDS = frozenset({"~", "null", "Null", "NULL"})
# A plain scalar that cannot be anything else: no indicator first, no ': ' or ' #' inside.
_PLAIN_SCALAR = re.compile(r"[^-?:,\[\]{}#&*!|>'\"%@` ](?:(?!: | #).)*(?<![: ])\Z")
_BLOCK_HEADERS = {">-": " ", "|-": "\n"}
# Deeper nesting is left to PyYAML, with its depth and size checks.
_MAX_DEPTH = 8


class _NotPlain(Exception):
    """The header needs PyYAML."""


try:  # the same reader in C (transforms/_plain_yaml.c), when it was built
    from transforms._c_passes import read_plain_yaml as _read_in_c
except ImportError:  # installed without a C compiler: the Python reader below, the reference
    _read_in_c = None
IN_C = _read_in_c is not None  # see transforms.c_passes


def read_plain_yaml(header: str) -> dict[str, Any] | None:
    """The header as a dict when it is plain YAML (see the module docstring), else None:
    by the C reader where it was built, else by `read_plain_yaml_in_python` (the same
    results; tests compare them)."""
    if _read_in_c is not None:
        return _read_in_c(header)
    return read_plain_yaml_in_python(header)


def read_plain_yaml_in_python(header: str) -> dict[str, Any] | None:
    """The header as a dict when it is plain YAML (see the module docstring), else None."""
    unusual = _UNUSUAL_ASCII if header.isascii() else _UNUSUAL_CHARACTER
    if unusual.search(header):
        return None
    lines = header.split("\n")
    try:
        mapping, end = _read_mapping(lines, 0, 0, 0)
    except _NotPlain:
        return None
    return mapping if end == len(lines) else None


def _read_mapping(lines: list[str], start: int, indent: int, depth: int) -> tuple[dict[str, Any], int]:
    """The mapping whose keys sit at `indent` from line `start`; returns it and the index of
    the first line that does not belong to it."""
    if depth > _MAX_DEPTH:
        raise _NotPlain
    mapping: dict[str, Any] = {}
    index = start
    while index < len(lines):
        line = lines[index]
        if not line:
            index += 1
            continue
        match = _KEY_LINE.match(line)
        if match is None:
            raise _NotPlain
        line_indent = len(match.group(1))
        if line_indent < indent:
            break
        key, value = match.group(2), (match.group(3) or "").rstrip(" ")
        if line_indent > indent or key in mapping or key in _NULL_WORDS or key.endswith(" "):
            raise _NotPlain
        index += 1
        if value in _BLOCK_HEADERS:
            mapping[key], index = _read_block_scalar(lines, index, indent, _BLOCK_HEADERS[value])
            continue
        following = _next_indent(lines, index)
        if not value:
            if following > indent:
                mapping[key], index = _read_mapping(lines, index, following, depth + 1)
            else:
                mapping[key] = None
            continue
        if following > indent:  # a multi-line plain scalar, or an error
            raise _NotPlain
        mapping[key] = _scalar(value)
    return mapping, index


def _read_block_scalar(lines: list[str], start: int, indent: int, joiner: str) -> tuple[str, int]:
    """A `>-` (folded) or `|-` (literal) block whose lines all share one indent, deeper than
    the key's, with no blank line inside; folded lines join with a space, literal ones with
    a newline, and the final line break is stripped."""
    if start >= len(lines):
        raise _NotPlain
    first = lines[start]
    content_indent = len(first) - len(first.lstrip(" "))
    if content_indent <= indent or content_indent == len(first):
        raise _NotPlain
    prefix = " " * content_indent
    index = start
    while index < len(lines) and lines[index].startswith(prefix):
        if lines[index][content_indent : content_indent + 1] in (" ", ""):
            raise _NotPlain  # more indented (not folded the same way), or only spaces
        index += 1
    if index < len(lines) and (
        not lines[index] or (lines[index][:1] == " " and _indent_of(lines[index]) > indent)
    ):
        raise _NotPlain  # a blank line, or a line between the key's indent and the block's
    return joiner.join(line[content_indent:] for line in lines[start:index]), index


def _scalar(value: str) -> str | None:
    if value[0] in "\"'":
        return _quoted(value)
    if not _PLAIN_SCALAR.match(value):
        raise _NotPlain
    return None if value in _NULL_WORDS else value


def _quoted(value: str) -> str:
    """A quoted scalar on one line: double quotes without escapes, single quotes with ''."""
    quote, inner = value[0], value[1:-1]
    if len(value) < 2 or value[-1] != quote:
        raise _NotPlain
    if quote == '"':
        if '"' in inner or "\\" in inner:
            raise _NotPlain
        return inner
    if "'" in inner.replace("''", ""):
        raise _NotPlain
    return inner.replace("''", "'")


def _next_indent(lines: list[str], start: int) -> int:
    """Indent of the next non-blank line; -1 at the end."""
    for index in range(start, len(lines)):
        if lines[index]:
            return _indent_of(lines[index])
    return -1


def _indent_of(line: str) -> int:
    return len(line) - len(line.lstrip(" "))
