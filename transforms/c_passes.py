"""Which of the optional C passes this install built (pyproject.toml `ext-modules`): each is
the C twin of a Python function that runs instead where no C compiler was at hand."""

from __future__ import annotations

from transforms import keywords, minhash, plain_yaml, readability


def built_c_passes() -> list[str]:
    """Names of the C passes in use, in the order a page meets them."""
    passes = {
        "front matter": plain_yaml.IN_C,
        "readability counts": readability.IN_C,
        "keyword tokens": keywords.IN_C,
        "MinHash": minhash.IN_C,
    }
    return [name for name, built in passes.items() if built]


def describe_c_passes() -> str:
    """What a run logs and a benchmark records: the C passes in use, or that none is."""
    return ", ".join(built_c_passes()) or "none (the Python passes)"
