"""Chart specifications for plotly.js, as plain dicts (no plotly.graph_objects validation:
it costs milliseconds per figure and the reports draw hundreds), and JSON that is safe
inside an HTML <script> element."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

import numpy as np

_PALETTE = "#3b6ea8"


def histogram(
    values: Iterable[float | None],
    title: str,
    x_title: str,
    bin_size: float | None = None,
    x_range: tuple[float, float] | None = None,
    percent: bool = False,
) -> dict[str, Any]:
    """One histogram trace with its layout; missing values are left out (and counted in the title)."""
    if isinstance(values, np.ma.MaskedArray):  # a DuckDB list with NULLs arrives masked
        values = values.astype(float).filled(np.nan)
    # numpy reads None as NaN in a float array; no Python loop over the values.
    array = np.array(values if isinstance(values, np.ndarray) else list(values), dtype=float)
    present = array[~np.isnan(array)]
    missing = len(array) - len(present)
    if percent:
        present = present * 100
    trace: dict[str, Any] = {
        "type": "histogram",
        "x": np.round(present, 2).tolist(),
        "marker": {"color": _PALETTE, "line": {"color": "#ffffff", "width": 1}},
        "hovertemplate": "%{x}: %{y} pages<extra></extra>",
    }
    if bin_size:
        start = x_range[0] if x_range else math.floor(float(present.min()) if len(present) else 0)
        trace["xbins"] = {"start": start, "size": bin_size}
    subtitle = f" ({missing} without a value)" if missing else ""
    layout: dict[str, Any] = {
        "title": {"text": title + subtitle, "font": {"size": 14}, "x": 0, "xanchor": "left"},
        "xaxis": {"title": {"text": x_title}, "zeroline": False},
        "yaxis": {"title": {"text": "pages"}, "rangemode": "tozero"},
        "bargap": 0.05,
        "margin": {"l": 50, "r": 10, "t": 40, "b": 45},
        "height": 260,
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#f6f8fa",
        "font": {"family": "system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif"},
    }
    if x_range:
        layout["xaxis"]["range"] = list(x_range)
    return {"data": [trace], "layout": layout}


def script_json(value: Any) -> str:
    """JSON that cannot end or comment out the <script> element holding it: `<`, `>` and `&`
    become unicode escapes (so no `</script>` or `<!--`), as do the JS line separators."""
    text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
