"""Readability scores equal to textstat 0.7.13's, computed once per document.

textstat recounts words, syllables and sentences inside every function. Here each
document is tokenised once (textstat's own punctuation rule), syllables are looked up
once per distinct token for the whole batch (same CMU dictionary and pyphen fallback as
textstat), and the formulas run vectorised over the batch with numpy, in textstat's
order of float operations so that floor/ceil/round inside `text_standard` agree too.
Equality with textstat's functions is what tests/test_readability.py checks.

Textstat's rules reproduced here (textstat/backend/...):
- words: punctuation removed except apostrophes of contractions ('s 't 'd 've 'll 're),
  hyphens removed, split on whitespace. A whitespace-separated piece is a word iff it
  holds a `\\w` character (the apostrophes kept are always followed by a letter).
- sentences: `\\b[^.!?]+[.!?]*` segments with more than two words; at least 1 for a
  non-empty text. Newlines do not end sentences: markdown_to_text adds full stops.
- syllables: CMU dictionary (first pronunciation, phones ending in a digit), else
  pyphen hyphenation points + 1, on the lower-cased word.
- difficult words: lower-cased word not in textstat's Dale-Chall easy list with at least
  N syllables (N=2 for `difficult_words`, unique by exact spelling; 3 for Gunning fog
  from the language config; 0 for Dale-Chall), counted with repeats for the formulas.
- letters: `\\w` characters; characters: non-whitespace; ARI divides by raw pieces.
- no output rounding (textstat's default), text_standard clamped to 1..18.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

import numpy as np
import pandas as pd

from transforms.plaintext import SECTION_BREAK
from transforms.textstat_offline import (
    RE_NONCONTRACTION_APOSTROPHE,
    get_lang_cfg,
    get_lang_easy_words,
    get_pyphen,
    syllable_counts,
)

FORMULA_COLUMNS = (
    "flesch_reading_ease",
    "flesch_kincaid_grade",
    "gunning_fog",
    "smog_index",
    "coleman_liau_index",
    "automated_readability_index",
    "dale_chall_readability_score",
)

COUNT_COLUMNS = (
    "word_count",
    "sentence_count",
    "syllable_count",
    "difficult_words",
    "longest_paragraph_words",
    "longest_section_words",
)
OUTPUT_COLUMNS = (
    "doc_key",
    *FORMULA_COLUMNS,
    "text_standard",
    "reading_time_s",
    *COUNT_COLUMNS[:4],
    "long_sentence_share",
    *COUNT_COLUMNS[4:],
    "readability_flag",
)


@dataclass(frozen=True)
class ReadabilitySettings:
    """Tunables of the readability step.

    lang: textstat language id; only English has a CMU dictionary ("en_US" is
        textstat's default and decides the Flesch constants and syllable threshold).
    min_words: texts with fewer words get NULL scores and flag 'too_short'. 3 because
        textstat ignores any sentence of two words or fewer, so below three words no
        sentence exists and every formula divides by a floor of one sentence.
    long_sentence_words: a sentence with more words than this is long (Yoast: 20).
    ms_per_char: reading speed for reading_time_s (textstat's default 14.69 ms per
        non-space character, Demberg & Keller 2008).
    """

    lang: str = "en_US"
    min_words: int = 3
    long_sentence_words: int = 20
    ms_per_char: float = 14.69


_NONCONTRACTION_APOSTROPHE = re.compile(RE_NONCONTRACTION_APOSTROPHE)
_PUNCTUATION = re.compile(r"[^\w\s\']")
_SENTENCE = re.compile(r"\b[^.!?]+[.!?]*")
_WORD_PIECE = re.compile(r"\w\S*")
# A whitespace-delimited piece that starts with non-word characters and either ends
# there or reaches a sentence end before any word character.
_PUNCTUATION_PIECE = re.compile(r"(?<!\S)(?=[^\w\s])[^\w\s]*?(?:[.!?]|[^\w\s](?!\S))")
# Linsear Write (inside text_standard) reads the first 100 words only.
_LINSEAR_WORDS = 100


class DocumentCounts(NamedTuple):
    """Everything the formulas need, counted once per document."""

    words: int
    sentences: int  # textstat's sentence_count: counted sentences, at least 1 if text
    counted_sentences: int  # segments of more than two words
    long_sentences: int
    syllables: int
    polysyllables: int
    fog_hard_words: int
    dale_chall_hard_words: int
    difficult_words: int  # textstat.difficult_words: unique, >= 2 syllables
    letters: int
    characters: int
    pieces: int
    linsear_easy: int
    linsear_hard: int
    linsear_sentences: int
    longest_paragraph: int
    longest_section: int


def _remove_punctuation(text: str) -> str:
    if "'" in text:
        text = _NONCONTRACTION_APOSTROPHE.sub("", text)
    return _PUNCTUATION.sub("", text)


# What textstat derives from one token, packed into one int so a document's totals are
# one C-level sum over its tokens: syllables, polysyllable (>= 3), Dale-Chall hard (not
# an easy word), Gunning-fog hard (not easy, >= threshold syllables), Linsear easy (1-2).
_FIELD_BITS = 32
_FIELD_MASK = (1 << _FIELD_BITS) - 1
_SYLLABLES, _POLY, _DALE_HARD, _FOG_HARD, _LINSEAR_EASY = range(5)
# Process-wide memo bound: ~100 bytes a token, so about 50 MB at most.
_MAX_MEMO_TOKENS = 500_000


def _field(total: int, field: int) -> int:
    return (total >> (field * _FIELD_BITS)) & _FIELD_MASK


class _Lexicon:
    """Memo of token -> packed counts, shared by every batch of one language."""

    def __init__(self, lang: str) -> None:
        self.syllables = syllable_counts()
        self.pyphen = get_pyphen(lang)
        self.easy = get_lang_easy_words(lang)
        self.fog_threshold = int(get_lang_cfg(lang, "syllable_threshold"))
        self.packed: dict[str, int] = {}
        # The same counts for the C pass, in one machine word: syllables << 5 and a bit
        # each for polysyllable, Dale-Chall hard, Gunning-fog hard, Linsear easy, difficult.
        self.compact: dict[str, int] = {}
        # 1 when textstat.difficult_words counts the token (not easy, >= 2 syllables).
        self.difficult: dict[str, int] = {}

    def _count(self, text: str) -> int:
        # textstat.backend.counts.count_syllables, verbatim in effect.
        count = 0
        for word in _remove_punctuation(text).lower().split():
            known = self.syllables.get(word)
            count += len(self.pyphen.positions(word)) + 1 if known is None else known
        return count

    def learn(self, tokens: set[str]) -> None:
        if len(self.packed) > _MAX_MEMO_TOKENS:
            self.packed.clear()
            self.compact.clear()
            self.difficult.clear()
        for token in tokens.difference(self.packed):
            syllables = self._count(token)
            lower = token.lower()
            # is_difficult_word: easy-list check and syllables on the lower-cased word.
            hard = -1 if lower in self.easy else self._count(lower)
            flags = (
                syllables,
                syllables >= 3,
                hard >= 0,
                hard >= self.fog_threshold,
                0 < syllables < 3,
            )
            self.packed[token] = sum(int(v) << (i * _FIELD_BITS) for i, v in enumerate(flags))
            self.difficult[token] = int(hard >= 2)
            bits = (*flags[1:], hard >= 2)
            self.compact[token] = syllables << 5 | sum(int(v) << i for i, v in enumerate(bits))


@cache
def _lexicon(lang: str) -> _Lexicon:
    return _Lexicon(lang)


def _segment_word_counts(parts: list[str], exact: bool) -> list[int]:
    """Words per part; `str.split` is exact when no piece lacks a word character."""
    if exact:
        return [len(_WORD_PIECE.findall(part)) for part in parts]
    return [len(part.split()) for part in parts]


def _sentence_word_counts(text: str, exact: bool = True) -> list[int]:
    """Words in each of textstat's sentence segments that it counts (> 2 words)."""
    return [n for n in _segment_word_counts(_SENTENCE.findall(text), exact) if n > 2]


def _textstat_sentence_count(text: str, exact: bool) -> int:
    if not text:
        return 0
    return max(1, len(_sentence_word_counts(text, exact)))


def _count_document(text: str, lexicon: _Lexicon, settings: ReadabilitySettings) -> DocumentCounts:
    stripped = _remove_punctuation(text)
    tokens = stripped.split()
    distinct = set(tokens)
    packed = lexicon.packed.__getitem__
    try:  # once a site's words are known, most pages hold no new one
        totals = sum(map(packed, tokens))
    except KeyError:
        lexicon.learn(distinct)
        totals = sum(map(packed, tokens))
    # A piece of punctuation alone (" - "), or one a sentence end splits off (" .x"),
    # is not a word: only then do segment word counts need the regex.
    exact = _PUNCTUATION_PIECE.search(text) is not None
    sentence_words = _sentence_word_counts(text, exact) if text else []
    pieces = text.split()
    line_words = _segment_word_counts(text.split("\n"), exact)
    # Linsear Write: first 100 words, and sentences of the text up to the 100th word.
    if len(pieces) > _LINSEAR_WORDS and len(tokens) >= _LINSEAR_WORDS:
        if exact:
            last = next(itertools.islice(_WORD_PIECE.finditer(text), _LINSEAR_WORDS - 1, None))
            linsear_text = text[: last.end()]
        else:  # every piece holds a word character: the first 100 pieces are the 100 words
            linsear_text = " ".join(pieces[:_LINSEAR_WORDS])
        linsear_totals = sum(map(packed, tokens[:_LINSEAR_WORDS]))
    else:
        linsear_text = " ".join(pieces)
        linsear_totals = totals
    return DocumentCounts(
        words=len(tokens),
        sentences=max(1, len(sentence_words)) if text else 0,
        counted_sentences=len(sentence_words),
        long_sentences=sum(n > settings.long_sentence_words for n in sentence_words),
        syllables=_field(totals, _SYLLABLES),
        polysyllables=_field(totals, _POLY),
        fog_hard_words=_field(totals, _FOG_HARD),
        dale_chall_hard_words=_field(totals, _DALE_HARD),
        difficult_words=sum(map(lexicon.difficult.__getitem__, distinct)),
        # textstat's letters are the \w characters: all of the tokens but apostrophes.
        letters=sum(map(len, tokens)) - stripped.count("'"),
        characters=sum(map(len, pieces)),
        pieces=len(pieces),
        linsear_easy=_field(linsear_totals, _LINSEAR_EASY),
        linsear_hard=_field(linsear_totals, _POLY),
        linsear_sentences=_textstat_sentence_count(linsear_text, exact),
        longest_paragraph=max(line_words),
        longest_section=longest_section(text, line_words),
    )


try:  # the same counts in one pass of C (transforms/_readability_counts.c), when it was built
    from transforms._c_passes import count_document as _count_document_in_c
except ImportError:  # installed without a C compiler: the Python pass above, the reference
    _count_document_in_c = None

IN_C = _count_document_in_c is not None  # see transforms.c_passes


def count_document(text: str, lexicon: _Lexicon, settings: ReadabilitySettings) -> DocumentCounts:
    """A document's counts: by the C pass where it was built, else by `_count_document`
    (equal results; tests compare them)."""
    if _count_document_in_c is None:
        return _count_document(text, lexicon, settings)
    return DocumentCounts._make(
        _count_document_in_c(text, lexicon.compact, lexicon.learn, settings.long_sentence_words)
    )


def longest_section(text: str, line_words: list[int]) -> int:
    """Words in the longest of the text's SECTION_BREAK-separated sections, added up from the
    words of its lines (no word spans a newline): a section of n lines is followed by the
    break's two empty lines. One count of the lines serves paragraphs and sections."""
    longest, start = 0, 0
    for section in text.split(SECTION_BREAK):
        lines = section.count("\n") + 1
        longest = max(longest, sum(line_words[start : start + lines]))
        start += lines + 2
    return longest


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0.0 where textstat catches ZeroDivisionError."""
    out = np.zeros(len(numerator), dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def _text_standard(scores: dict[str, np.ndarray], linsear: np.ndarray) -> np.ndarray:
    """textstat's consensus grade: the most common of floor/ceil/round of each formula
    plus Flesch-band grades, first seen wins ties (Counter.most_common), clamped 1..18."""
    fre = scores["flesch_reading_ease"]
    bands = np.array([100, 90, 80, 70, 60, 50, 40, 30], dtype=np.float64)
    band_grades = np.array([13, 5, 6, 7, 8, 10, 11, 12, 13], dtype=np.float64)
    band = np.searchsorted(-bands, -fre, side="left")  # bounds above fre: [100,90) -> 1
    first_band_grade = band_grades[band]
    second_band_grade = np.where(first_band_grade == 8, 9.0, np.nan)  # 60-70 adds 8 and 9

    def triple(score: np.ndarray) -> list[np.ndarray]:
        return [np.floor(score), np.ceil(score), np.round(score)]

    grades = np.column_stack(
        [
            *triple(scores["flesch_kincaid_grade"]),
            first_band_grade,
            second_band_grade,
            *triple(scores["smog_index"]),
            *triple(scores["coleman_liau_index"]),
            *triple(scores["automated_readability_index"]),
            *triple(scores["dale_chall_readability_score"]),
            *triple(linsear),
            *triple(scores["gunning_fog"]),
        ]
    )
    # NaN (the absent second band grade) equals nothing, so it never wins.
    frequency = (grades[:, :, None] == grades[:, None, :]).sum(axis=2)
    winner = grades[np.arange(len(grades)), frequency.argmax(axis=1)]
    return np.clip(winner, 1, 18)


def evaluate_formulas(counts: list[DocumentCounts], lang: str, ms_per_char: float) -> dict[str, np.ndarray]:
    """textstat's formulas over a batch, float operations in textstat's order."""
    table = np.array(counts, dtype=np.float64).reshape(len(counts), len(DocumentCounts._fields))
    c = {field: table[:, i] for i, field in enumerate(DocumentCounts._fields)}
    words, sentences = c["words"], c["sentences"]
    per_sentence = _ratio(words, sentences)
    per_word = _ratio(c["syllables"], words)
    no_flesch = (per_sentence == 0) | (per_word == 0)
    fre = (
        get_lang_cfg(lang, "fre_base")
        - get_lang_cfg(lang, "fre_sentence_length") * per_sentence
        - get_lang_cfg(lang, "fre_syll_per_word") * per_word
    )
    fkg = (0.39 * per_sentence) + (11.8 * per_word) - 15.59
    fog_share = _ratio(100 * c["fog_hard_words"], words)
    fog = np.where(words == 0, 0.0, 0.4 * (per_sentence + fog_share))
    smog = np.where(
        sentences == 0, 0.0, (1.043 * (30 * _ratio(c["polysyllables"], sentences)) ** 0.5) + 3.1291
    )
    letters = _ratio(c["letters"], words) * 100
    sentences_per_100 = _ratio(sentences, words) * 100
    coleman = (0.058 * letters) - (0.296 * sentences_per_100) - 15.8
    chars_per_piece = _ratio(c["characters"], c["pieces"])
    ari = (4.71 * chars_per_piece) + (0.5 * per_sentence) - 21.43
    dale_share = _ratio(100 * c["dale_chall_hard_words"], words)
    dale = (0.1579 * dale_share) + (0.0496 * per_sentence)
    dale = np.where(dale_share > 5, dale + 3.6365, dale)
    linsear = _ratio(c["linsear_easy"] * 1 + c["linsear_hard"] * 3, c["linsear_sentences"])
    linsear = np.where(c["linsear_sentences"] == 0, 0.0, np.where(linsear <= 20, linsear - 2, linsear) / 2)
    scores = {
        "flesch_reading_ease": np.where(no_flesch, 0.0, fre),
        "flesch_kincaid_grade": np.where(no_flesch, 0.0, fkg),
        "gunning_fog": fog,
        "smog_index": smog,
        "coleman_liau_index": np.where((letters == 0) | (sentences_per_100 == 0), 0.0, coleman),
        "automated_readability_index": np.where((chars_per_piece == 0) | (per_sentence == 0), 0.0, ari),
        "dale_chall_readability_score": np.where(words == 0, 0.0, dale),
    }
    scores["text_standard"] = _text_standard(scores, linsear)
    scores["reading_time_s"] = ms_per_char * c["characters"] / 1000
    long_share = np.full(len(counts), np.nan)
    np.divide(c["long_sentences"], c["counted_sentences"], out=long_share, where=c["counted_sentences"] > 0)
    scores["long_sentence_share"] = long_share
    return scores


def _flag(counts: DocumentCounts, settings: ReadabilitySettings) -> str | None:
    if counts.words == 0:
        return "empty"
    if counts.words < settings.min_words:
        return "too_short"
    if counts.counted_sentences == 0:
        return "no_sentence"
    return None


def score_readability(documents: pd.DataFrame, settings: ReadabilitySettings | None = None) -> pd.DataFrame:
    """One row of readability scores per document, equal to textstat's on body_text.

    Input columns: doc_key, body_text (from markdown_to_text; body_markdown may be
    present and is not needed: headings are read from body_text's layout).
    Output columns: OUTPUT_COLUMNS. Flagged rows ('empty', 'too_short', 'no_sentence')
    keep their counts and reading time and get NaN formula scores and text_standard.
    """
    settings = settings or ReadabilitySettings()
    lexicon = _lexicon(settings.lang)
    texts = [text if isinstance(text, str) else "" for text in documents["body_text"].tolist()]
    counts = [count_document(text, lexicon, settings) for text in texts]
    flags = [_flag(c, settings) for c in counts]
    scores = evaluate_formulas(counts, settings.lang, settings.ms_per_char)
    flagged = np.array([flag is not None for flag in flags], dtype=bool)
    for column in (*FORMULA_COLUMNS, "text_standard"):
        scores[column][flagged] = np.nan

    def count_column(attribute: str) -> np.ndarray:
        return np.fromiter((getattr(c, attribute) for c in counts), dtype=np.int64, count=len(counts))

    columns = {
        "doc_key": documents["doc_key"].to_numpy(),
        **scores,
        "word_count": count_column("words"),
        "sentence_count": count_column("sentences"),
        "syllable_count": count_column("syllables"),
        "difficult_words": count_column("difficult_words"),
        "longest_paragraph_words": count_column("longest_paragraph"),
        "longest_section_words": count_column("longest_section"),
        "readability_flag": pd.array(flags, dtype="string"),
    }
    return pd.DataFrame(columns, index=documents.index)[list(OUTPUT_COLUMNS)]
