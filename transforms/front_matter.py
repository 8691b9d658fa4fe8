"""Split a markdown file into front matter and body, and load the front matter safely.

Everything here is pure: bytes or text in, Python values out. Failures raise
`DocumentError` with a short machine-readable `kind` and a message for people; the
ingest step turns those into `ingest_errors` rows, so a bad file never stops a run.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import yaml

from transforms.plain_yaml import read_plain_yaml

# The C loader is ~5x faster than the pure-Python one; both are safe loaders.
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_FRONT_MATTER_NODES = 20_000
MAX_FRONT_MATTER_DEPTH = 64
# Headers whose structural characters bound their depth below this load without an event
# scan; far under the ~25,000 levels at which libyaml's recursion overflows the C stack.
_DEPTH_SCAN_ABOVE = 2_000


class DocumentError(ValueError):
    """A file that cannot become a document; `kind` is a stable snake_case id."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True)
class SplitFile:
    front_matter: dict[str, Any] | None
    body: str
    front_matter_format: str  # 'yaml' | 'toml' | 'none'


class _StrictLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe loader that keeps scalars as written and rejects duplicate mapping keys.

    PyYAML follows YAML 1.1: `NO` would load as False, `1.10` as 1.1 and `2025-02-06` as a
    date. Front matter is text written by people, so plain scalars stay strings (null
    excepted) and the field mapping coerces the few typed columns explicitly.
    """

    yaml_implicit_resolvers: ClassVar[dict] = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag == "tag:yaml.org,2002:null"]
        for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
    }

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:  # unhashable key: let the base class raise its own error
                break
            if duplicate:
                raise DocumentError(
                    "duplicate_key",
                    f"front matter repeats the key {key!r} (line {key_node.start_mark.line + 1}); "
                    "keep one of them",
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def decode_bytes(data: bytes) -> str:
    """Bytes of a file to text: UTF-8 (with or without BOM) or UTF-16 with a BOM."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as error:
            raise DocumentError("encoding", f"invalid UTF-16 text: {error.reason}") from None
    if b"\x00" in data:
        raise DocumentError("binary", "file holds NUL bytes: it is binary, not markdown text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DocumentError(
            "encoding", f"not valid UTF-8 (byte {error.start}: {error.reason}); save the file as UTF-8"
        ) from None
    return text


def split_front_matter(text: str) -> SplitFile:
    """Separate `---` YAML (or `+++` TOML) front matter from the markdown body. Blank lines
    before the opening fence are skipped, as Hugo and python-frontmatter skip them (137 of the
    531 pages of Hugo's own docs start with one)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise DocumentError("empty_file", "file is empty")
    stripped = text.lstrip(" \t\n")
    first, _, rest = stripped.partition("\n")
    fence = first.rstrip()
    if fence not in ("---", "+++"):
        return SplitFile(None, text, "none")
    header_line = text.count("\n", 0, len(text) - len(stripped)) + 2  # in the file, from 1
    closers = ("---", "...") if fence == "---" else ("+++",)
    lines = rest.split("\n")
    for index, line in enumerate(lines):
        if line.rstrip() in closers:
            header = "\n".join(lines[:index])
            body = "\n".join(lines[index + 1 :])
            if fence == "+++":
                return SplitFile(_load_toml(header, header_line), body, "toml")
            return SplitFile(load_yaml(header, header_line), body, "yaml")
    raise DocumentError("unclosed_front_matter", f"front matter opened with '{fence}' is never closed")


def load_yaml(header: str, first_line: int = 1) -> dict[str, Any]:
    """Safe-load YAML front matter; the result must be a mapping of bounded size. Plain
    headers (most) are read without PyYAML, to the same result (see `plain_yaml`).
    first_line: the file's line number of the header's first line, for error messages."""
    plain = read_plain_yaml(header)
    if plain is not None:
        # No aliases, at most one value a line and 8 levels deep: only a header of that many
        # lines can be too large (`check_size` took ~15% of parsing a page).
        if header.count("\n") >= MAX_FRONT_MATTER_NODES - 1:
            check_size(plain)
        return plain
    return load_yaml_with_pyyaml(header, first_line)


def load_yaml_with_pyyaml(header: str, first_line: int = 1) -> dict[str, Any]:
    check_depth(header)
    try:
        value = yaml.load(header, Loader=_StrictLoader)
    except DocumentError:
        raise
    except yaml.constructor.ConstructorError as error:
        tag = getattr(error, "problem", "") or ""
        if "python/" in tag or "tag" in tag:
            raise DocumentError(
                "unsafe_yaml_tag", f"front matter uses a tag that is never executed: {_one_line(error)}"
            ) from None
        raise DocumentError("invalid_yaml", _yaml_message(error, first_line)) from None
    except yaml.YAMLError as error:
        raise DocumentError("invalid_yaml", _yaml_message(error, first_line)) from None
    except RecursionError:
        raise DocumentError("yaml_too_deep", "front matter is nested too deeply to load") from None
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise DocumentError(
            "invalid_yaml", f"front matter is a {type(value).__name__}, not a mapping of fields"
        )
    check_size(value)
    return dict(value)


def _load_toml(header: str, first_line: int = 1) -> dict[str, Any]:
    try:
        value = tomllib.loads(header)
    except tomllib.TOMLDecodeError as error:
        # "... (at line 3, column 7)": line of the header, made the file's.
        message = _TOML_LINE.sub(lambda m: f"at line {int(m.group(1)) + first_line - 1}", str(error))
        raise DocumentError("invalid_toml", _one_line(message)) from None
    except RecursionError:
        raise DocumentError("toml_too_deep", "front matter is nested too deeply to load") from None
    check_size(value)
    return value


def check_depth(header: str) -> None:
    """Reject YAML nested deeper than MAX_FRONT_MATTER_DEPTH before it is loaded.

    libyaml's C composer recurses once per level: ~25,000 levels (a 50 KB line of '[')
    overflow the C stack and kill the process with a segfault, which no except clause
    catches. Every level needs one of the characters counted below, so most headers are
    cleared by counting; only suspicious ones are walked as parser events (iterative in C).
    """
    bound = sum(header.count(c) for c in "[{-?:\n") + 1
    if bound <= _DEPTH_SCAN_ABOVE:
        return
    depth = 0
    try:
        for event in yaml.parse(header, Loader=_BaseLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_FRONT_MATTER_DEPTH:
                    raise DocumentError(
                        "yaml_too_deep", f"front matter is nested over {MAX_FRONT_MATTER_DEPTH} levels deep"
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return  # the loader reports the syntax error with its own message


def check_size(value: Any) -> None:
    """Reject alias bombs and absurd nesting without expanding them.

    YAML aliases share one object, so a 'billion laughs' document loads cheaply but any
    later walk over it (JSON dumps, string joins) would explode. Count nodes with an early
    stop rather than trusting the loader.
    """
    budget = MAX_FRONT_MATTER_NODES
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        budget -= 1
        if budget < 0:
            raise DocumentError(
                "front_matter_too_large",
                f"front matter expands to over {MAX_FRONT_MATTER_NODES:,} values (YAML alias bomb?)",
            )
        if depth > MAX_FRONT_MATTER_DEPTH:
            raise DocumentError(
                "yaml_too_deep", f"front matter is nested over {MAX_FRONT_MATTER_DEPTH} levels deep"
            )
        if isinstance(node, Mapping):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list | tuple):
            stack.extend((child, depth + 1) for child in node)


_TOML_LINE = re.compile(r"at line (\d+)")


def _yaml_message(error: yaml.YAMLError, first_line: int) -> str:
    """PyYAML's error as one line, its position the file's line and column (PyYAML counts
    lines of the header alone, from 0, and names the text "<unicode string>")."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None)
    if mark is None or problem is None:
        return _one_line(error)
    context = getattr(error, "context", None)
    where = f"line {mark.line + first_line}, column {mark.column + 1}"
    return _one_line(f"{where}: {problem}" + (f" ({context})" if context else ""))


def _one_line(error: Exception | str) -> str:
    return " ".join(str(error).split())[:500]
