"""Set membership of string columns, fast.

pandas 3's `Series.isin` on its default string dtype converts the value set per call and costs
~6 µs per value (35 ms for 30,000 keys against 3,000); Arrow's `is_in` hashes it once (<1 ms).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def is_in(values: pd.Series | pd.Index | np.ndarray, keys: Iterable[str]) -> np.ndarray:
    """Boolean mask: which of values (strings; missing never matches) are among keys."""
    value_set = pa.array(list(keys), type=pa.string(), from_pandas=True)
    found = pc.is_in(pa.array(values, type=pa.string(), from_pandas=True), value_set=value_set)
    return found.to_numpy(zero_copy_only=False).astype(bool, copy=False)
