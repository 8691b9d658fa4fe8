"""Keyword coverage: where each page's declared keywords really appear.

Matching rules, shared by every field (title, SEO title, meta description, URL slug, first
paragraph, body):
- text is NFKC-normalised (so ``Na⁺`` reads ``Na+``) and case-folded;
- it is cut into tokens: runs of word characters, keeping internal apostrophes (``Cramer's``),
  a trailing ``+`` or ``#`` (``C++``, ``Na+``, ``C#``) and a leading dot when the dot starts a
  word (``.NET``); hyphens, slashes and other punctuation separate tokens, so
  ``gamma-aminobutyric`` matches the keyword ``gamma aminobutyric``;
- purely alphabetic tokens are reduced to their Snowball (Porter2) English stem, so
  ``neurotransmitters`` matches ``neurotransmitter`` and ``Cramer's`` matches ``Cramer``;
  tokens with digits or symbols are compared as they are;
- a keyword matches where its tokens appear as a contiguous run of tokens. Matching whole
  tokens gives word boundaries for free: ``art`` never matches inside ``start``.

Stemming can over-conflate (Porter2 stems ``experiment`` and ``experience`` alike); that is
the price of inflection tolerance, and the same rule applies to every page.
"""

import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

import numpy as np
import pandas as pd
import regex
import snowballstemmer

# Yoast SEO's keyphrase density assessment: 0.5-3% is good, over 3% is keyword stuffing.
YOAST_DENSITY_MIN = 0.005
YOAST_DENSITY_MAX = 0.03
# Yoast only judges density on texts of 100 words or more: below that one mention is 1%+.
YOAST_DENSITY_MIN_WORDS = 100


@dataclass(frozen=True)
class KeywordSettings:
    """Tunables of keyword matching and of the per-page keyword summary.

    - ``stemmer_language``: Snowball stemmer used for inflection tolerance (``english``).
    - ``stuffing_density``: fraction of body words above which the main keyword counts as
      stuffed (0.03 = 3%, Yoast's upper bound; density = occurrences x words in keyword /
      body words).
    - ``density_min_words``: pages with fewer body words are never flagged for density
      (100, as Yoast: on a short page a single mention is already over 1%).
    - ``expected``: every page should declare target keywords (the QuickTakes schema has
      them). When False (the docs profile's default: a docs site's tags are not target
      keywords, and most pages declare none), a page without keywords gets no
      ``keywords_missing`` finding and its quality score leaves the keyword part out; pages
      that declare keywords are checked as always.
    """

    stemmer_language: str = "english"
    stuffing_density: float = YOAST_DENSITY_MAX
    density_min_words: int = YOAST_DENSITY_MIN_WORDS
    expected: bool = True


_COVERAGE_DTYPES = {
    "doc_key": "str",
    "keyword": "str",
    "keyword_position": "int64",
    "in_title": "bool",
    "in_seo_title": "bool",
    "in_meta_description": "bool",
    "in_url": "bool",
    "in_first_paragraph": "bool",
    "body_occurrences": "int64",
    "density": "float64",
}
COVERAGE_COLUMNS = list(_COVERAGE_DTYPES)

# Possessive quantifiers: tokens never need backtracking, and this is the hot loop. Words
# first: the alternatives start with different characters, so their order decides no match,
# and most tokens are words.
_TOKEN_RE = re.compile(r"\w++(?:'\w++)*+[+#]*+|(?<![\w.])\.\w++[+#]*+")
# The same tokens for pieces holding marks (Unicode category M: the vowel signs and viramas of
# Bengali, Devanagari, ...), which `\w` leaves out: "ধারণা" is one token, not "ধ" and "রণ"
# (which "ধারণ", another word, also gave). Only such pieces pay for the `regex` module.
_MARK = regex.compile(r"\p{M}")
_WORD_CHARACTERS = r"\p{L}\p{N}\p{M}_"  # `\w` with marks
_TOKEN_WITH_MARKS_RE = regex.compile(
    rf"[{_WORD_CHARACTERS}]++(?:'[{_WORD_CHARACTERS}]++)*+[+#]*+|(?<![{_WORD_CHARACTERS}.])\.[{_WORD_CHARACTERS}]++[+#]*+"
)
_ALPHA_TOKEN_RE = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")
# Word count used when ingest gave no ``word_count``: runs of word characters, with internal
# hyphens, apostrophes or dots kept inside one word (``well-known``, ``neuron's``, ``3.14``).
WORD_RE = re.compile(r"\w+(?:[-'’.]\w+)*")
# Typographic apostrophes read as the ASCII one, so ``Cramer’s`` matches ``Cramer's``.
_APOSTROPHES = ("’", "‘", "ʼ")

Stems = tuple[str, ...]

try:  # the tokens and their stems in one pass of C (transforms/_keyword_tokens.c), when built
    from transforms._c_passes import stems_of as _stems_in_c
except ImportError:  # installed without a C compiler: `tokens` below, the reference
    _stems_in_c = None
IN_C = _stems_in_c is not None  # see transforms.c_passes
_SHORT_TEXT = 200  # characters; texts up to this long are memoised whole


def count_words(text: str | None) -> int:
    """Number of words in ``text`` by ``WORD_RE``; 0 for None."""
    return len(WORD_RE.findall(text)) if text else 0


# Stems by language, shared by every batch of a process: a site's vocabulary (tens of thousands
# of words) repeats across batches, and a dict hit is cheaper than any call into the stemmer.
# snowballstemmer hands the work to PyStemmer (the same Snowball algorithms compiled: ~4 us a
# new word against ~40 us in Python, which a small rerun's cold cache pays for every word).
# Stemming is a pure function of the word, so sharing cannot change a result.
_STEM_CACHES: dict[str, dict[str, str]] = {}
_STEM_CACHE_LIMIT = 500_000  # words; ~50 MB at most, then the cache starts over


class Stemmer:
    """Tokeniser plus memoised stemmer: each distinct token is stemmed once per process."""

    def __init__(self, language: str = "english") -> None:
        self._stem_word = snowballstemmer.stemmer(language).stemWord
        self._cache = _STEM_CACHES.setdefault(language, {})
        if len(self._cache) > _STEM_CACHE_LIMIT:
            self._cache.clear()
        # Titles, SEO titles and keywords repeat across a site (``QuickTakes | <subject>``).
        self._short_texts: dict[str, Stems] = {}

    def _stem_new(self, token: str) -> str:
        stem = self._stem_word(token) if _ALPHA_TOKEN_RE.fullmatch(token) else token
        self._cache[token] = stem
        return stem

    def stems(self, text: str | None) -> Stems:
        """Stems of the tokens of ``text``, in order (empty for None or blank text)."""
        if not text:
            return ()
        if len(text) <= _SHORT_TEXT:
            stems = self._short_texts.get(text)
            if stems is None:
                stems = self._short_texts[text] = self._tokenise(text)
            return stems
        return self._tokenise(text)

    def _tokenise(self, text: str) -> Stems:
        folded = unicodedata.normalize("NFKC", text).casefold()
        for apostrophe in _APOSTROPHES:
            if apostrophe in folded:
                folded = folded.replace(apostrophe, "'")
        if _stems_in_c is not None:
            return _stems_in_c(folded, self._cache, self._stem_new, piece_tokens)
        cache, stem_new = self._cache, self._stem_new
        return tuple([cache[t] if t in cache else stem_new(t) for t in tokens(folded)])


def tokens(folded: str) -> list[str]:
    """``_TOKEN_RE.findall(folded)``, piece by piece: no token holds whitespace, so the tokens of
    the text are those of its whitespace-separated pieces in turn, and a piece of word
    characters only (most of them) is one token as it stands. ~25% faster on a page's body
    than one ``findall`` over the text, which tests every position against both alternatives."""
    found: list[str] = []
    keep, scan = found.append, found.extend
    for piece in folded.split():
        if piece.isalnum():
            keep(piece)
        else:
            scan(piece_tokens(piece))
    return found


def piece_tokens(piece: str) -> list[str]:
    """The tokens of a whitespace-free piece that is not alphanumeric; the rule with marks
    only where the piece holds one."""
    if piece.isascii() or not _MARK.search(piece):
        return _TOKEN_RE.findall(piece)
    return _TOKEN_WITH_MARKS_RE.findall(piece)


def count_phrase(stems: Stems, phrase: Stems) -> int:
    """Non-overlapping occurrences of ``phrase`` as a contiguous run in ``stems``.

    Scans with ``tuple.count`` / ``tuple.index`` (C loops) rather than a Python loop per token:
    a page's body is scanned once per keyword, which keeps a page with 10 keywords well under
    a millisecond."""
    if not phrase:
        return 0
    if len(phrase) == 1:
        return stems.count(phrase[0])
    first, width, found, start = phrase[0], len(phrase), 0, 0
    while True:
        try:
            start = stems.index(first, start)
        except ValueError:
            return found
        if stems[start : start + width] == phrase:
            found += 1
            start += width
        else:
            start += 1


def starts_with(stems: Stems, phrase: Stems) -> bool:
    return bool(phrase) and stems[: len(phrase)] == phrase


class DocumentRow(NamedTuple):
    """The document columns these checks read; a column absent from the frame reads None."""

    doc_key: str
    subject_key: object
    title: object
    seo_title: object
    meta_description: object
    keywords: object
    body_markdown: object
    body_text: object
    url: object
    file_name: object
    word_count: object


def document_rows(documents: pd.DataFrame) -> Iterator[DocumentRow]:
    """The documents as plain tuples. Columns are converted to Python lists once: iterating an
    Arrow-backed string column cell by cell costs more than the keyword matching itself."""
    size = len(documents)
    columns = [
        documents[name].tolist() if name in documents.columns else [None] * size
        for name in DocumentRow._fields
    ]
    return map(DocumentRow._make, zip(*columns, strict=True))


def _text(value: object) -> str | None:
    """A str cell, or None for None/NaN/blank (any str column may be missing)."""
    return value if isinstance(value, str) and value.strip() else None


def declared_keywords(value: object) -> list[str]:
    """A page's keyword list, robust to None, NaN, arrays and comma-separated strings."""
    return list(_declared(value))


def _declared(value: object) -> Iterator[str]:
    if isinstance(value, str):
        items: Iterable[object] = value.split(",")
    elif isinstance(value, list | tuple | np.ndarray | pd.Series):
        items = value
    else:
        return
    for item in items:
        if isinstance(item, str) and item.strip():
            yield " ".join(item.split())


def keyword_key(keyword: str, stemmer: Stemmer) -> str:
    """Stemmed, case-folded identity of a keyword: ``Neurotransmitters`` == ``neurotransmitter``."""
    return " ".join(stemmer.stems(keyword))


def clean_keywords(value: object, stemmer: Stemmer) -> list[tuple[str, Stems]]:
    """Declared keywords with their stems, dropping blanks, punctuation-only entries and
    duplicates (same stems, e.g. ``GABA`` and ``gaba``, or singular and plural); first wins."""
    seen: set[Stems] = set()
    cleaned = []
    for keyword in declared_keywords(value):
        stems = stemmer.stems(keyword)
        if stems and stems not in seen:
            seen.add(stems)
            cleaned.append((keyword, stems))
    return cleaned


def main_keyword(value: object, stemmer: Stemmer) -> tuple[str, Stems] | None:
    """The page's main keyword: the first of ``clean_keywords`` (computed without stemming
    the rest of the list)."""
    for keyword in _declared(value):
        stems = stemmer.stems(keyword)
        if stems:
            return keyword, stems
    return None


_BLANK_LINE = re.compile(r"\n[ \t]*\n")


def first_paragraph(body_text: str | None) -> str | None:
    """Text before the first blank line of the plain-text body."""
    return paragraphs(body_text)[0]


def paragraphs(body_text: str | None) -> tuple[str | None, str | None]:
    """(first paragraph, the rest): the plain-text body split at its first blank line (None
    for a part that is not there). No token spans a blank line, so the body's tokens are
    the first paragraph's followed by the rest's."""
    if not body_text:
        return None, None
    parts = _BLANK_LINE.split(body_text.strip(), maxsplit=1)
    return parts[0], parts[1] if len(parts) > 1 else None


def url_slug(url: str | None) -> str | None:
    """Last non-empty path segment of a URL (the slug), percent-decoded, separators as spaces."""
    if not url:
        return None
    segments = [segment for segment in urlsplit(url).path.split("/") if segment]
    if not segments:
        return None
    return re.sub(r"[-_]+", " ", unquote(segments[-1]))


def body_of(row: DocumentRow) -> str | None:
    """Plain-text body, falling back to the markdown when ingest gave no plain text."""
    return _text(row.body_text) or _text(row.body_markdown)


def body_word_count(row: DocumentRow) -> int:
    """Ingest's ``word_count`` when present, else ``count_words`` of the body."""
    value = row.word_count
    if value is not None and not pd.isna(value):
        return int(value)
    return count_words(body_of(row))


def field_stems(row: DocumentRow, stemmer: Stemmer) -> dict[str, Stems]:
    """The stems of each field a keyword is looked for in: title, SEO title, meta
    description, URL slug, first paragraph and body. The body's are its first paragraph's
    followed by the rest's (`paragraphs`), so the first paragraph is tokenised once."""
    first, rest = paragraphs(body_of(row))
    first_stems = stemmer.stems(first)
    return {
        "title": stemmer.stems(_text(row.title)),
        "seo_title": stemmer.stems(_text(row.seo_title)),
        "meta_description": stemmer.stems(_text(row.meta_description)),
        "url": stemmer.stems(url_slug(_text(row.url))),
        "first_paragraph": first_stems,
        "body": first_stems + stemmer.stems(rest),
    }


def keyword_coverage(documents: pd.DataFrame, settings: KeywordSettings = KeywordSettings()) -> pd.DataFrame:
    """One row per (document, declared keyword): where the keyword appears.

    ``keyword_position`` is the keyword's rank among the page's cleaned keywords (0 = main
    keyword). ``in_url`` looks at the URL slug (last path segment). ``body_occurrences`` counts
    non-overlapping phrase matches in the body; ``density`` is a fraction (0.03 = 3%):
    ``body_occurrences x words in keyword / body words``, NaN when the body has no words.
    """
    stemmer = Stemmer(settings.stemmer_language)
    columns: dict[str, list] = {name: [] for name in COVERAGE_COLUMNS}
    for row in document_rows(documents):
        keywords = clean_keywords(row.keywords, stemmer)
        if not keywords:
            continue
        fields = field_stems(row, stemmer)
        body_words = body_word_count(row)
        for position, (keyword, stems) in enumerate(keywords):
            occurrences = count_phrase(fields["body"], stems)
            columns["doc_key"].append(row.doc_key)
            columns["keyword"].append(keyword)
            columns["keyword_position"].append(position)
            for name in ("title", "seo_title", "meta_description", "url", "first_paragraph"):
                columns[f"in_{name}"].append(count_phrase(fields[name], stems) > 0)
            columns["body_occurrences"].append(occurrences)
            columns["density"].append(occurrences * len(stems) / body_words if body_words else np.nan)
    return pd.DataFrame(columns, columns=COVERAGE_COLUMNS).astype(_COVERAGE_DTYPES)


SUMMARY_COLUMNS = [
    "doc_key",
    "keywords_declared",
    "keywords_in_body",
    "keyword_coverage_ratio",
    "keywords_missing",
    "main_keyword",
    "main_keyword_in_title",
    "main_keyword_at_title_start",
    "main_keyword_in_first_paragraph",
    "main_keyword_in_meta_description",
    "main_keyword_in_url",
    "main_keyword_density",
    "keyword_stuffing",
]


def _main_keyword_at_title_start(documents: pd.DataFrame, main: pd.Series, stemmer: Stemmer) -> pd.Series:
    """Whether the page title or the SEO title begins with the page's main keyword."""
    titles = documents.set_index("doc_key")[["title", "seo_title"]].reindex(main.index)
    at_start = []
    for keyword, title, seo_title in zip(main, titles["title"], titles["seo_title"], strict=True):
        stems = stemmer.stems(keyword)
        at_start.append(any(starts_with(stemmer.stems(_text(text)), stems) for text in (title, seo_title)))
    return pd.Series(at_start, index=main.index, dtype="bool")


def page_keyword_summary(
    documents: pd.DataFrame, coverage: pd.DataFrame, settings: KeywordSettings = KeywordSettings()
) -> pd.DataFrame:
    """One row per document: how well its declared keywords are covered.

    ``keyword_coverage_ratio`` is the share of declared keywords found in the body (NaN when
    none are declared); ``keywords_missing`` lists those not found. ``main_keyword_*`` describe
    the first declared keyword and are NA when there is none; "in title" means in the page
    title or the SEO title, "at title start" that either begins with it.
    ``keyword_stuffing``: main keyword density over ``settings.stuffing_density`` on a body of
    at least ``settings.density_min_words`` words.
    """
    found = coverage["body_occurrences"] > 0
    per_page = coverage.assign(found=found).groupby("doc_key", sort=False)
    declared = per_page.size()
    in_body = per_page["found"].sum()
    missing = coverage.loc[~found].groupby("doc_key", sort=False)["keyword"].agg(list)
    main = coverage.loc[coverage["keyword_position"] == 0].set_index("doc_key")

    keys = documents["doc_key"]
    summary = pd.DataFrame({"doc_key": keys.to_numpy()})
    summary["keywords_declared"] = declared.reindex(keys).fillna(0).astype("int64").to_numpy()
    summary["keywords_in_body"] = in_body.reindex(keys).fillna(0).astype("int64").to_numpy()
    summary["keyword_coverage_ratio"] = (
        summary["keywords_in_body"] / summary["keywords_declared"].where(summary["keywords_declared"] > 0)
    ).astype("float64")
    missing_lists = missing.reindex(keys).to_numpy()
    summary["keywords_missing"] = [value if isinstance(value, list) else [] for value in missing_lists]
    main_rows = main.reindex(keys)
    summary["main_keyword"] = main_rows["keyword"].to_numpy()
    has_main = main_rows["keyword"].notna().to_numpy()
    at_start = _main_keyword_at_title_start(
        documents, main["keyword"], Stemmer(settings.stemmer_language)
    ).reindex(keys)
    placements = {
        "main_keyword_in_title": main_rows["in_title"] | main_rows["in_seo_title"],
        "main_keyword_at_title_start": at_start,
        "main_keyword_in_first_paragraph": main_rows["in_first_paragraph"],
        "main_keyword_in_meta_description": main_rows["in_meta_description"],
        "main_keyword_in_url": main_rows["in_url"],
    }
    for column, values in placements.items():
        summary[column] = pd.array(values.to_numpy(), dtype="boolean")
        summary.loc[~has_main, column] = pd.NA
    summary["main_keyword_density"] = main_rows["density"].astype("float64").to_numpy()
    body_words = np.array([body_word_count(row) for row in document_rows(documents)], dtype=np.int64)
    summary["keyword_stuffing"] = (
        (summary["main_keyword_density"] > settings.stuffing_density).to_numpy()
        & (body_words >= settings.density_min_words)
    ).astype(bool)
    return summary[SUMMARY_COLUMNS]


CANNIBALISATION_COLUMNS = ["main_keyword_key", "main_keyword", "doc_key", "subject_key", "group_size"]


MAIN_KEYWORD_COLUMNS = ["doc_key", "subject_key", "main_keyword"]


MAIN_KEYWORD_KEY_COLUMNS = ["main_keyword", "main_keyword_key"]


def main_keyword_keys(keywords: Sequence[str], settings: KeywordSettings = KeywordSettings()) -> pd.DataFrame:
    """main_keyword -> main_keyword_key (``keyword_key``) of each distinct main keyword given,
    leaving out keywords without a key (punctuation only). Keywords are grouped by this key:
    a site has few distinct main keywords (2,304 on 400,000 generated pages), so the site
    check keys them here and groups the pages in the warehouse."""
    stemmer = Stemmer(settings.stemmer_language)
    distinct = list(dict.fromkeys(k for k in keywords if isinstance(k, str)))
    keys = [keyword_key(keyword, stemmer) for keyword in distinct]
    frame = pd.DataFrame(
        {"main_keyword": distinct, "main_keyword_key": keys}, columns=MAIN_KEYWORD_KEY_COLUMNS
    )
    return frame.loc[frame["main_keyword_key"] != ""].reset_index(drop=True).astype("str")


def shared_main_keywords(pages: pd.DataFrame, settings: KeywordSettings = KeywordSettings()) -> pd.DataFrame:
    """Keyword cannibalisation: pages that target the same main keyword, one row per page of
    each group of two or more, largest groups first. Keywords are compared by
    ``keyword_key`` (stems, case-folded), so ``Neurotransmitters`` and ``neurotransmitter``
    compete. Input: each page's main keyword as `page_keyword_summary` names it
    (MAIN_KEYWORD_COLUMNS; pages without one may be left out or NULL). In memory, for a
    frame of pages; the site check builds the same rows in the warehouse from
    `main_keyword_keys` (warehouse.loads.store_cannibalisation), without a row per page
    in Python."""
    pages = pages.loc[pages["main_keyword"].notna(), MAIN_KEYWORD_COLUMNS]
    keys = main_keyword_keys(pages["main_keyword"].tolist(), settings)
    groups = pd.DataFrame(
        {
            "main_keyword": pages["main_keyword"].to_numpy(dtype=object),
            "doc_key": pages["doc_key"].to_numpy(dtype=object),
            "subject_key": [_text(value) for value in pages["subject_key"].tolist()],
        }
    ).merge(keys.astype(object), on="main_keyword")
    groups["group_size"] = groups.groupby("main_keyword_key")["doc_key"].transform("size").astype("int64")
    groups = groups.loc[groups["group_size"] >= 2]
    return groups.sort_values(
        ["group_size", "main_keyword_key", "doc_key"], ascending=[False, True, True], ignore_index=True
    )[CANNIBALISATION_COLUMNS]
