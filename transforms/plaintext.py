"""The visible prose of a document: escape decoding and markdown -> plain text.

`markdown_to_text` produces `documents.body_text`, the text readability is scored on.
Its layout is part of the contract (whitespace is invisible to every textstat count, so
it carries structure for free):

- every block (paragraph, heading, list item, table row, blockquote paragraph) is one
  line ending in `.`, `!` or `?`, so a bullet without a full stop is still a sentence;
  a trailing `:` `;` or `,` is replaced by `.` rather than followed by one;
- table cells each end as a sentence and a row's cells share its line;
- items of one list and rows of one table are on consecutive lines; other blocks are
  separated by one blank line;
- a heading starts a section: it is preceded by two blank lines (unless it opens the
  text). `transforms.readability` counts section lengths from this.

Dropped: fenced and indented code blocks, HTML blocks and inline HTML, images (alt text
too: it is read by screen readers, not by readers of the prose), autolinks and bare
URLs (link text is kept), thematic breaks. Inline code is kept: it is part of the
sentence it sits in ("The `Get-Help` cmdlet ..."). Entities such as `&nbsp;` are
decoded by the parser and whitespace is collapsed, so a page of `&nbsp;` is empty.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.token import Token

# One parser for the process: building MarkdownIt compiles its rule chains.
_MARKDOWN = MarkdownIt("commonmark").enable("table")

# Literal escapes in QuickTakes answers. `\\` is an escaped backslash, so `C:\\new`
# stays a path; a lone `\n` always decodes, so `C:\new` becomes "C:" + newline + "ew"
# (the answers are prose; a path written with one backslash is rarer than `\n`).
_ESCAPE = re.compile(r"\\(\\|r\\n|n|t|r)")
# `\t` becomes a space, not a tab: a tab at a line start would turn prose into an
# indented code block, which markdown_to_text drops.
_ESCAPE_VALUES = {"\\": "\\", "r\\n": "\n", "n": "\n", "t": " ", "r": "\n"}

# Bare URLs with the space before them; trailing punctuation stays with its sentence.
_BARE_URL = re.compile(r"\s*(?:(?:https?|ftp)://|www\.)[^\s<>]*[^\s<>.,;:!?)\]'\"]")
_SENTENCE_END = ".!?"
_SOFT_END = ":;,"
_CLOSERS = ")]}\"'”’*_"
# Whitespace before a heading; invisible to textstat, read back by transforms.readability.
SECTION_BREAK = "\n\n\n"
_LINE_GROUPS = frozenset({"bullet_list_open", "ordered_list_open", "table_open"})


def decode_escapes(raw: str) -> str:
    """Turn literal `\\n`, `\\r\\n`, `\\t` (and `\\\\`) escapes and real CRLF into text."""
    if "\r" in raw:
        raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    if "\\" not in raw:
        return raw
    return _ESCAPE.sub(lambda match: _ESCAPE_VALUES[match.group(1)], raw)


def _inline_text(children: list[Token] | None) -> str:
    parts: list[str] = []
    in_autolink = False
    for child in children or ():
        kind = child.type
        if kind == "text":
            if not in_autolink:
                parts.append(child.content)
        elif kind == "code_inline":
            parts.append(child.content)
        elif kind in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif kind == "link_open":
            in_autolink = child.markup in ("autolink", "linkify")
        elif kind == "link_close":
            in_autolink = False
        # html_inline, image and emphasis markers contribute nothing visible.
    text = "".join(parts)
    if "://" in text or "www." in text:
        text = _BARE_URL.sub("", text)
    return " ".join(text.split())


def _as_sentence(text: str) -> str:
    last = text.rstrip(_CLOSERS)[-1:]
    if last and last in _SENTENCE_END:
        return text
    if text[-1] in _SOFT_END:
        return text[:-1] + "."
    return text + "."


def _blocks(tokens: list[Token]) -> list[tuple[str, int, bool]]:
    """(line, top-level block index, is-heading) for every visible block."""
    lines: list[tuple[str, int, bool]] = []
    top_index = -1
    top_groups_lines = False
    heading = False
    cells: list[str] | None = None
    for token in tokens:
        kind = token.type
        if token.level == 0 and token.nesting >= 0:
            top_index += 1
            top_groups_lines = kind in _LINE_GROUPS
        if kind == "inline":
            text = _inline_text(token.children)
            if cells is not None:
                if text:
                    cells.append(_as_sentence(text))
            elif text:
                lines.append((_as_sentence(text), top_index if top_groups_lines else -2 - top_index, heading))
        elif kind == "heading_open":
            heading = True
        elif kind == "heading_close":
            heading = False
        elif kind == "tr_open":
            cells = []
        elif kind == "tr_close":
            if cells:
                lines.append((" ".join(cells), top_index, False))
            cells = None
    return lines


def markdown_to_text(markdown: str) -> str:
    """The prose readers see, one block per line (layout in the module docstring).

    Never raises on a string: a parser failure yields "" (nothing to score).
    """
    try:
        tokens = _MARKDOWN.parse(markdown)
    except Exception:  # a parser bug must not stop a batch; empty text gets flagged
        return ""
    out: list[str] = []
    previous_group: int | None = None
    for line, group, heading in _blocks(tokens):
        if out:
            if heading:
                out.append(SECTION_BREAK)
            elif group >= 0 and group == previous_group:
                out.append("\n")
            else:
                out.append("\n\n")
        out.append(line)
        previous_group = group
    return "".join(out)
