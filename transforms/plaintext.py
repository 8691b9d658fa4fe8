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
URLs (link text is kept), thematic breaks, Hugo shortcode tags and the code shortcodes
show (`without_shortcodes`). Inline code is kept: it is part of the
sentence it sits in ("The `Get-Help` cmdlet ..."). Entities such as `&nbsp;` are
decoded by the parser and whitespace is collapsed, so a page of `&nbsp;` is empty.

The parser is pyromark (pulldown-cmark, CommonMark with GFM tables and alerts), walked as a stream of
events. It replaced markdown-it-py (~10x slower; 0.35 against 3.2 ms a page on the shared
corpora) after both gave the same text for every page of the shared corpora and of a
generated corpus (7,600 pages); they differ on lists and quotes nested hundreds deep,
whose text markdown-it dropped.
"""

from __future__ import annotations

import re
from typing import Any

import pyromark

# GFM tables, and GFM alerts: `> [!NOTE]` opens a note box whose marker readers never see
# (883 of the 2,133 PowerShell docs pages hold one).
_OPTIONS = pyromark.Options.ENABLE_TABLES | pyromark.Options.ENABLE_GFM

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

# Hugo shortcodes: tags `{{< name args >}}` or `{{% name args %}}`, closed by `{{< /name >}}`
# (or self-closing `{{< name />}}`). A tag renders a widget, an embed or a link, not prose, and
# is dropped; what a pair encloses stays (a note's text), except in the shortcodes that show
# code, dropped whole like a fenced code block. `{{</* name */>}}`, which Hugo renders as the
# literal tag (in pages about shortcodes), is not a tag here and stays as written.
# Jekyll's Liquid tags `{% name args %}` (`{%- ... -%}` too) are dropped the same way:
# `{% highlight %}...{% endhighlight %}` is code and `{% comment %}...{% endcomment %}` is never
# shown, so both go whole; `{% raw %}...{% endraw %}` shows what it holds as written, tags
# included. Output tags `{{ ... }}` stay: Hugo shows them as written, and pages about
# templates mention them in prose. A tag holds no brace and its parts are matched
# possessively: a match never backtracks nor scans past the next brace, so hostile text costs
# linear time.
CODE_SHORTCODES = frozenset({"highlight", "code", "code-toggle", "funcsig"})
# Liquid blocks whose content is not prose: the tag that closes each, and what replaces them.
_HIDDEN_LIQUID_BLOCKS = {"highlight": ("endhighlight", "\n\n"), "comment": ("endcomment", "")}
_TEMPLATE_TAG = re.compile(
    r"{{[<%]\s*+(?P<closing>/?)\s*+(?P<name>\w[\w./-]*+)[^{}]*?(?P<end>/?)[>%]}}"
    r"|(?<!{){%-?\s*+(?P<liquid>\w++)[^{}]*?-?%}"
)

_INLINE_TAGS = frozenset({"Emphasis", "Strong", "Strikethrough"})
_HIDDEN_BLOCKS = frozenset({"CodeBlock", "HtmlBlock"})  # their text is not prose
_LINE_GROUPS = frozenset({"List", "Table"})  # their lines are consecutive
_ROWS = frozenset({"TableHead", "TableRow"})
_AUTOLINKS = frozenset({"Autolink", "Email"})


def decode_escapes(raw: str) -> str:
    """Turn literal `\\n`, `\\r\\n`, `\\t` (and `\\\\`) escapes and real CRLF into text."""
    if "\r" in raw:
        raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    if "\\" not in raw:
        return raw
    return _ESCAPE.sub(lambda match: _ESCAPE_VALUES[match.group(1)], raw)


def without_shortcodes(markdown: str) -> str:
    """The markdown without Hugo shortcode tags and Liquid tags, and without the code that
    code shortcodes and Liquid `highlight` blocks hold or a Liquid comment (see
    CODE_SHORTCODES, _HIDDEN_LIQUID_BLOCKS); a block never closed keeps its text. What a
    Liquid `raw` block holds is kept as written."""
    if "{{" not in markdown and "{%" not in markdown:
        return markdown
    kept: list[str] = []  # the text shown
    held: list[str] = []  # the text of the hidden block open now
    closer: tuple[str, str] | None = None  # the tag that ends the hidden (or raw) block open now
    closes_with = ""  # what replaces a hidden block once closed
    raw = False  # the block open now is a Liquid raw block: its text and tags are shown
    position = 0
    for tag in _TEMPLATE_TAG.finditer(markdown):
        (held if closer and not raw else kept).append(markdown[position : tag.start()])
        position = tag.end()
        liquid = tag.group("liquid")
        ends = closer == (
            ("liquid", liquid) if liquid else ("hugo", tag.group("name") if tag.group("closing") else "")
        )
        if raw:
            if ends:
                closer, raw = None, False
            else:
                kept.append(tag.group(0))
        elif closer is not None:
            if ends:
                kept.append(closes_with)
                held.clear()
                closer = None
        elif liquid is None:
            name = tag.group("name")
            if name in CODE_SHORTCODES and not tag.group("closing") and not tag.group("end"):
                closer, closes_with = ("hugo", name), "\n\n"
        elif liquid == "raw":
            closer, raw = ("liquid", "endraw"), True
        elif liquid in _HIDDEN_LIQUID_BLOCKS:
            end, closes_with = _HIDDEN_LIQUID_BLOCKS[liquid]
            closer = ("liquid", end)
    (held if closer and not raw else kept).append(markdown[position:])
    return "".join(kept + held)


def _as_sentence(text: str) -> str:
    last = text.rstrip(_CLOSERS)[-1:]
    if last and last in _SENTENCE_END:
        return text
    if text[-1] in _SOFT_END:
        return text[:-1] + "."
    return text + "."


def _tag(value: Any) -> str:
    """An event's tag: 'Paragraph', or the key of {'Heading': {...}}."""
    return value if isinstance(value, str) else next(iter(value))


class _BlockLines:
    """Walks pyromark's events into (line, top-level block index, is-heading) per visible
    block: the text of a paragraph, heading, tight list item or table row."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, int, bool]] = []
        self.parts: list[str] = []  # inline text of the block being read
        self.depth = 0  # block nesting
        self.top_index = -1
        self.top_groups_lines = False
        self.heading = False
        self.hidden = 0  # inside code or HTML blocks, images or autolinks
        self.autolinks: list[bool] = []  # open links: autolink or not
        self.cells: list[str] | None = None  # sentences of the table row being read

    def walk(self, markdown: str) -> list[tuple[str, int, bool]]:
        for event in pyromark.events(markdown, options=_OPTIONS):
            if isinstance(event, str):  # SoftBreak, HardBreak, Rule
                if event == "Rule":
                    self._flush()
                    self._top_level_block("Rule")
                elif not self.hidden:
                    self.parts.append(" ")
                continue
            ((kind, value),) = event.items()
            if kind == "Text" or kind == "Code":
                if not self.hidden:
                    self.parts.append(value)
            elif kind == "Start":
                self._start(_tag(value), value)
            elif kind == "End":
                self._end(_tag(value))
            # Html, InlineHtml: nothing visible
        self._flush()
        return self.lines

    def _start(self, tag: str, value: Any) -> None:
        if tag in _INLINE_TAGS:
            return
        if tag == "Link":
            autolink = value["Link"]["link_type"] in _AUTOLINKS
            self.autolinks.append(autolink)
            self.hidden += autolink
            return
        if tag == "Image":  # alt text is for screen readers, not part of the prose
            self.hidden += 1
            return
        self._flush()
        self._top_level_block(tag)
        self.depth += 1
        if tag in _HIDDEN_BLOCKS:
            self.hidden += 1
        elif tag == "Heading":
            self.heading = True
        elif tag in _ROWS:
            self.cells = []

    def _end(self, tag: str) -> None:
        if tag in _INLINE_TAGS:
            return
        if tag == "Link":
            self.hidden -= self.autolinks.pop()
            return
        if tag == "Image":
            self.hidden -= 1
            return
        self._flush()
        self.depth -= 1
        if tag in _HIDDEN_BLOCKS:
            self.hidden -= 1
        elif tag == "Heading":
            self.heading = False
        elif tag in _ROWS:
            if self.cells:
                self.lines.append((" ".join(self.cells), self.top_index, False))
            self.cells = None

    def _top_level_block(self, tag: str) -> None:
        if self.depth == 0:
            self.top_index += 1
            self.top_groups_lines = tag in _LINE_GROUPS

    def _flush(self) -> None:
        if not self.parts:
            return
        text = "".join(self.parts)
        self.parts.clear()
        if "://" in text or "www." in text:
            text = _BARE_URL.sub("", text)
        text = " ".join(text.split())
        if not text:
            return
        if self.cells is not None:
            self.cells.append(_as_sentence(text))
        else:
            group = self.top_index if self.top_groups_lines else -2 - self.top_index
            self.lines.append((_as_sentence(text), group, self.heading))


def markdown_to_text(markdown: str) -> str:
    """The prose readers see, one block per line (layout in the module docstring).

    Never raises on a string: a parser failure yields "" (nothing to score).
    """
    if "\x00" in markdown:  # CommonMark: NUL is read as U+FFFD
        markdown = markdown.replace("\x00", "\ufffd")
    try:
        blocks = _BlockLines().walk(without_shortcodes(markdown))
    except Exception:  # a parser bug must not stop a batch; empty text gets flagged
        return ""
    out: list[str] = []
    previous_group: int | None = None
    for line, group, heading in blocks:
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
