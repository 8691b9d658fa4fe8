"""The plain-YAML reader returns PyYAML's result or steps aside (None), never anything else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transforms.front_matter import DocumentError, decode_bytes, load_yaml, load_yaml_with_pyyaml
from transforms.plain_yaml import read_plain_yaml


def pyyaml(header: str) -> Any:
    """PyYAML's result, or the error it raises (as its kind)."""
    try:
        return load_yaml_with_pyyaml(header)
    except DocumentError as error:
        return ("error", error.kind)


def same(a: Any, b: Any) -> bool:
    """Equal values of the same types, all the way down (1 == True would not do)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return a == b


def assert_agrees(header: str) -> bool:
    """The reader's answer equals PyYAML's whenever it gives one; True if it did."""
    plain = read_plain_yaml(header)
    if plain is None:
        return False
    assert same(plain, pyyaml(header)), header
    return True


def yaml_header(path: Path) -> str | None:
    try:
        text = decode_bytes(path.read_bytes()).replace("\r\n", "\n").replace("\r", "\n")
    except DocumentError:
        return None
    lines = text.split("\n")
    if lines[0].rstrip() != "---":
        return None
    for index, line in enumerate(lines[1:], 1):
        if line.rstrip() in ("---", "..."):
            return "\n".join(lines[1:index])
    return None


QUICKTAKES = """\
_schema: default
id: 187557
date: 2025-11-17
title: >-
    Describe how it relates.
seo:
  title: QuickTakes | Accounting and Finance
  page_keywords: >-
    21yunbox, computer, alternate format
empty:
nothing: null
quoted: "Add-Member: adds"
single: 'it''s here'
external help file: Microsoft.PowerShell.Commands.Utility.dll-Help.xml
online version: https://learn.microsoft.com/powershell?view=7.4
answer: >-
    Line one with **bold**, 'quotes' and # hashes.\\n\\n1. Item: with a colon
literal: |-
  first
  second"""


def test_plain_headers_are_read_without_pyyaml_and_equal_its_result() -> None:
    plain = read_plain_yaml(QUICKTAKES)
    assert plain is not None
    assert same(plain, pyyaml(QUICKTAKES))
    assert plain["id"] == "187557" and plain["date"] == "2025-11-17"  # strings, as the loader keeps them
    assert plain["empty"] is None and plain["nothing"] is None
    assert plain["seo"] == {
        "title": "QuickTakes | Accounting and Finance",
        "page_keywords": "21yunbox, computer, alternate format",
    }
    assert plain["literal"] == "first\nsecond"
    assert load_yaml(QUICKTAKES) == plain


@pytest.mark.parametrize(
    "header",
    [
        "tags: [a, b]",
        "tags:\n  - a\n  - b",
        "a: &x 1\nb: *x",
        "a: !!python/object:os.system x",
        "a: 1 # comment",
        "# comment\na: 1",
        "a: 1\na: 2",
        "a:\tb",
        "a: first\n  continued",
        "a: >-\n  one\n\n  two",
        "a: >\n  one",
        "a: >-\n  one\n    indented",
        'a: "escaped \\" quote"',
        "a: 'unclosed",
        "a: b: c",
        "null: 1",
        "a: x\x85y",
        "a: x\u2028y",
        "? complex\n: key",
        "a:\n b: 1\n  c: 2",
        "a: >-\n  text\n b: 1",
        "- just\n- a list",
        "".join(f"{' ' * n}k{n}:\n" for n in range(12)),
        "plain scalar",
    ],
)
def test_other_yaml_is_left_to_pyyaml(header: str) -> None:
    assert read_plain_yaml(header) is None
    try:
        expected: Any = load_yaml_with_pyyaml(header)
    except DocumentError as error:
        with pytest.raises(DocumentError) as raised:
            load_yaml(header)
        assert raised.value.kind == error.kind
    else:
        assert load_yaml(header) == expected


def test_agrees_with_pyyaml_on_the_shared_corpora(shared: Path) -> None:
    read = 0
    headers = 0
    for path in sorted([*(shared / "corpora").rglob("*.md"), *(shared / "sample").rglob("*.md")]):
        header = yaml_header(path)
        if header is not None:
            headers += 1
            read += assert_agrees(header)
    assert headers > 3000
    assert read > headers / 2, (read, headers)  # most real front matter takes the fast path


def test_agrees_with_pyyaml_on_generated_and_hostile_files(corpus_factory) -> None:
    corpus = corpus_factory(400, fresh=False)
    headers = [h for p in sorted(corpus.rglob("*.md")) if (h := yaml_header(p)) is not None]
    read = sum(assert_agrees(h) for h in headers)
    assert read > 0.9 * len(headers)


_WORDS = ["a", "title", "seo", "id", "a b", "a-b", "x.y", "a/b", "é"]
_ODD_KEYS = ["null", "NULL", "yes", "1.10", "a ", "<<", "?", "-a", "a#", "a:b", "'a'"]
_BENIGN = st.text(alphabet=st.sampled_from(list("abxyz 019.,/:-'é😀")), max_size=12)
_TRICKY = st.text(
    alphabet=st.sampled_from([*"ab :#-?,[]{}&*!|>'\"%@`\\~\t", "\xa0", "\x85", "\u2028", "\x7f", "\ufeff"]),
    max_size=8,
)


@st.composite
def headers(draw: st.DrawFn) -> str:
    """Front-matter-like headers: key lines at the current indent (deeper after an empty
    value, back out at random), block scalars and quoted values, with a chance per choice
    (0 to 40%, drawn per header) of something that breaks the pattern."""
    chaos = draw(st.integers(0, 4))

    def odd() -> bool:
        return draw(st.integers(0, 9)) < chaos

    def pick(usual: list, unusual: list) -> Any:
        return draw(st.sampled_from(unusual if odd() else usual))

    def text() -> str:
        return draw(_TRICKY if odd() else _BENIGN)

    lines: list[str] = []
    indent = 0
    for number in range(draw(st.integers(1, 8))):
        pad = " " * indent
        key = pick([f"{w}{number}" for w in _WORDS], _ODD_KEYS + _WORDS)
        kind = pick(
            ["plain", "plain", "empty", "block", "quoted", "single"], ["blank", "raw", "plain", "block"]
        )
        if kind == "plain":
            lines.append(f"{pad}{key}:{pick([' '], ['  ', '', ' ' * 3])}{text()}{pick([''], [' ', '  '])}")
        elif kind == "empty":
            lines.append(f"{pad}{key}:{pick([''], [' '])}")
            indent += pick([2, 4], [0, 1, 3])
            continue
        elif kind == "block":
            lines.append(f"{pad}{key}: {pick(['>-', '|-'], ['>', '|', '>+', '>2', '>- #', '>-  '])}")
            inner = pad + " " * pick([2, 4], [0, 1, 3, 6])
            for _ in range(draw(st.integers(1, 3))):
                lines.append(pick([inner], [inner + " ", "", pad, " "]) + text() + pick([""], [" ", "  "]))
        elif kind == "quoted":
            lines.append(f'{pad}{key}: "{text()}"')
        elif kind == "single":
            lines.append(f"{pad}{key}: '{text()}'")
        elif kind == "blank":
            lines.append(draw(st.sampled_from(["", " ", "  "])))
        else:
            lines.append(text())
        if draw(st.integers(0, 3)) == 0:
            indent = pick([0, max(indent - 2, 0)], [indent - 1, 1])
    return "\n".join(lines)


@settings(max_examples=3000, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(headers())
def test_agrees_with_pyyaml_on_generated_headers(header: str) -> None:
    assert_agrees(header)
