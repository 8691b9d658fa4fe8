"""Estimated rendered width of a string in Arial, the font of Google's result snippets.

Search engines cut titles and descriptions by rendered width, not by character count: a title
of capital Ws is cut long before one of lowercase ls. The width is the sum of each character's
advance width from Arial's metrics (``transforms._arial_widths``), scaled to the font size.

Sizes assumed (Google desktop results): titles are set in Arial at 20 px
(``TITLE_FONT_PX``) and descriptions in Arial at 14 px (``DESCRIPTION_FONT_PX``). Kerning is
ignored (Arial's kerning pairs change a title by a pixel or two).

Characters outside the table:
- combining marks (accents stored as separate code points) add no width;
- East Asian wide and full-width characters (CJK ideographs, kana, hangul, full-width forms)
  take a full em, as they do in the fallback fonts that render them;
- anything else takes the average width of Arial's lowercase a-z (``FALLBACK_ADVANCE``),
  a middle estimate for letters of other scripts.
"""

import unicodedata
from functools import lru_cache

from transforms._arial_widths import ARIAL_ADVANCE_WIDTHS_BY_WIDTH, UNITS_PER_EM

TITLE_FONT_PX = 20.0
DESCRIPTION_FONT_PX = 14.0

_ADVANCE: dict[str, int] = {
    char: width for width, chars in ARIAL_ADVANCE_WIDTHS_BY_WIDTH.items() for char in chars
}
FALLBACK_ADVANCE: float = sum(_ADVANCE[chr(c)] for c in range(ord("a"), ord("z") + 1)) / 26


@lru_cache(maxsize=4096)
def _fallback_advance(char: str) -> float:
    if unicodedata.combining(char):
        return 0.0
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return float(UNITS_PER_EM)
    if char in "\t\n\r\f\v":
        # A snippet renders any whitespace as one space.
        return float(_ADVANCE[" "])
    return FALLBACK_ADVANCE


def text_width_units(text: str) -> float:
    """Sum of Arial advance widths of ``text``, in font units (2048 per em)."""
    advance = _ADVANCE
    total = 0.0
    for char in unicodedata.normalize("NFC", text):
        width = advance.get(char)
        total += width if width is not None else _fallback_advance(char)
    return total


def text_width_px(text: str, font_px: float) -> float:
    """Rendered width of ``text`` in pixels when set in Arial at ``font_px`` pixels per em."""
    return text_width_units(text) * font_px / UNITS_PER_EM
