"""Jinja2 filters: numbers for people (thousands separators, fixed decimals, signed deltas,
a dash for missing values). They return plain text; autoescape still applies."""

from __future__ import annotations

import math
from typing import Any

MISSING = "\u2014"  # em dash


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def number(value: Any, digits: int = 0) -> str:
    if _missing(value):
        return MISSING
    return f"{float(value):,.{digits}f}"


def percent(value: Any, digits: int = 0) -> str:
    """A ratio (0..1) as a percentage."""
    return MISSING if _missing(value) else f"{100 * float(value):,.{digits}f}%"


def delta(value: Any, digits: int = 1, ratio: bool = False) -> str:
    """+1.5 / -0.3 / 0 (ratios in percentage points); empty when there is no previous run."""
    if _missing(value):
        return ""
    amount = 100 * float(value) if ratio else float(value)
    if round(amount, digits) == 0:
        return "\u00b10"
    unit = " pt" if ratio else ""
    return f"{amount:+,.{digits}f}{unit}".replace("-", "\u2212")


def trend(value: Any, higher_is_better: bool = True) -> str:
    """CSS class of a delta: better, worse or same."""
    if _missing(value) or float(value) == 0:
        return "same"
    return "better" if (float(value) > 0) == higher_is_better else "worse"


def raw(value: Any) -> str:
    """Machine-readable value for data-* attributes (tests compare them with the mart)."""
    if _missing(value):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(float(value)) if isinstance(value, float) else str(value)


FILTERS = {"number": number, "percent": percent, "delta": delta, "trend": trend, "raw": raw}
