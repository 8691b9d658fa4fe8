import json

import numpy as np
import pytest

from reports.charts import histogram, script_json


@pytest.mark.parametrize(
    "values",
    [
        [10.0, None, 30.0, float("nan")],
        np.ma.masked_array([10.0, 20.0, 30.0, 40.0], mask=[False, True, False, True]),
    ],
    ids=["list-with-none", "masked-duckdb-list"],
)
def test_histogram_leaves_missing_values_out_and_counts_them(values) -> None:
    chart = histogram(values, "Readability", "score")
    assert chart["data"][0]["x"] == [10.0, 30.0]
    assert "2 without a value" in chart["layout"]["title"]["text"]


def test_histogram_of_ratios_in_percent_and_safe_in_a_script_tag() -> None:
    chart = histogram([0.5, 1.0], "Coverage </script>", "share", percent=True, bin_size=10, x_range=(0, 100))
    assert chart["data"][0]["x"] == [50.0, 100.0]
    assert chart["data"][0]["xbins"] == {"start": 0, "size": 10}
    text = script_json(chart)
    assert "</script>" not in text and json.loads(text)["layout"]["title"]["text"].startswith(
        "Coverage </script>"
    )
