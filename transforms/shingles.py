"""Text folding, exact-duplicate hashes and word-shingle hashes, vectorised over a batch.

A document's text is folded to its words (`normalise_text`): lower case, Unicode NFKC,
every run of punctuation, markdown syntax or whitespace becomes one space. The exact
hash and the shingles both read these words, so two pages that differ only in case,
spacing, emphasis marks or list markers are the same text to every duplicate check.

Shingles are hashed to 32-bit integers in numpy: each distinct word is hashed once with
xxh3 (a vocabulary of tens of thousands, not millions of Python objects), and the k words
of a shingle are combined with integer arithmetic over the whole batch at once.
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import regex
import xxhash

# Letters, digits and marks: `_` is markdown emphasis (`__bold__`) as often as it is a word
# character, so it separates words like any other punctuation. Marks (Unicode category M) are
# parts of words: Bengali, Devanagari, Thai, ... write vowel signs and viramas as marks, and
# without them "ধারণা" split into "ধ" and "রণ", words with the same consonants became the same
# words. Python's `re` has no class for marks; the `regex` module's \p{M} costs ~10% more
# than `[^\W_]+` did on the non-ASCII path (ASCII text never reaches it).
_WORD = regex.compile(r"[\p{L}\p{N}\p{M}]+")
# The same split for ASCII text, 2.5x faster than the regex (measured on generated answers):
# every ASCII character that is not a letter or digit becomes a space.
_ASCII_SEPARATORS = str.maketrans(
    dict.fromkeys(string.punctuation + "".join(map(chr, range(32))) + "\x7f", " ")
)

# Odd 64-bit multipliers, one per position in a shingle, so that shingles are order-sensitive
# ("a b" and "b a" hash apart). Fixed constants: stored signatures must stay valid across runs.
_POSITION_MULTIPLIERS = np.array(
    [
        0x9E3779B97F4A7C15,
        0xC2B2AE3D27D4EB4F,
        0x165667B19E3779F9,
        0xD6E8FEB86659FD93,
        0xFF51AFD7ED558CCD,
        0xC4CEB9FE1A85EC53,
        0x94D049BB133111EB,
        0xBF58476D1CE4E5B9,
    ],
    dtype=np.uint64,
)
MAX_SHINGLE_SIZE = len(_POSITION_MULTIPLIERS)


def tokenise(text: str) -> list[str]:
    """The document's words: NFKC-normalised, lower case, letters (with their marks) and digits."""
    if text.isascii():
        return text.lower().translate(_ASCII_SEPARATORS).split()
    return _WORD.findall(unicodedata.normalize("NFKC", text).lower())


def _spaced_words(text: str) -> str:
    """The text's words separated by whitespace (the fast ASCII translation, or the regex)."""
    if text.isascii():
        return text.lower().translate(_ASCII_SEPARATORS).strip()
    return " ".join(_WORD.findall(unicodedata.normalize("NFKC", text).lower()))


def tokenise_texts(texts: Sequence[str]) -> pa.ListArray:
    """`tokenise` of many texts as one Arrow list<string> array.

    Python only folds each text to words-and-spaces; Arrow splits and holds the words, so a
    batch of millions of words never becomes millions of Python strings.
    """
    # A text without words becomes a null list: splitting "" would give one empty word.
    spaced = pa.array([_spaced_words(text) or None for text in texts], type=pa.large_string())
    return pc.utf8_split_whitespace(spaced)


def exact_hashes(word_lists: pa.ListArray) -> list[str | None]:
    """`exact_hash` of every text in a `tokenise_texts` result (None for a text without words)."""
    joined = pc.binary_join(word_lists, pa.scalar(" ", type=pa.large_string())).to_pylist()
    return [xxhash.xxh64_hexdigest(text.encode("utf-8")) if text else None for text in joined]


def normalise_text(text: str) -> str:
    """Text with case, whitespace, punctuation and markdown folded: its words joined by spaces."""
    return " ".join(tokenise(text))


def normalise_texts(texts: pd.Series) -> pd.Series:
    """`normalise_text` of many short texts (titles, questions) at once, with Arrow's kernels.

    Equal to `normalise_text` on ASCII; on other text the word classes are RE2's letters,
    numbers and marks rather than the `regex` module's, which matters only when comparing
    these results with each other, which is all they are for. Missing values become "".
    """
    values = pa.array(texts.fillna("").astype(str).tolist(), type=pa.string())
    folded = pc.utf8_lower(pc.utf8_normalize(values, "NFKC"))
    spaced = pc.replace_substring_regex(folded, r"[^\p{L}\p{N}\p{M}]+", " ")
    return pd.Series(pc.utf8_trim_whitespace(spaced).to_pylist(), index=texts.index, dtype=object)


def text_keys(texts: pd.Series) -> pd.Series:
    """Per text, xxhash64 (UInt64) of its `normalise_texts` form; <NA> when it has no words.

    Small integer keys for grouping titles and questions: computed once when a page changes,
    stored, and compared across all pages without folding every title again.
    """
    folded = normalise_texts(texts)
    keys = [xxhash.xxh64_intdigest(text.encode("utf-8")) if text else None for text in folded]
    return pd.Series(keys, index=texts.index, dtype="UInt64")


def exact_hash(text: str) -> str | None:
    """xxhash64 (hex) of the normalised text: equal for pages whose words are identical.
    None when the text has no words (a page of code blocks, images or nothing): such pages
    share no text, so they are no exact duplicates of each other; thin_content flags them."""
    normalised = normalise_text(text)
    return xxhash.xxh64_hexdigest(normalised.encode("utf-8")) if normalised else None


def fmix64(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser, element-wise: spreads every input bit over the output."""
    values = values ^ (values >> np.uint64(33))
    values = values * np.uint64(0xFF51AFD7ED558CCD)
    values = values ^ (values >> np.uint64(33))
    values = values * np.uint64(0xC4CEB9FE1A85EC53)
    return values ^ (values >> np.uint64(33))


def shingle_hashes(texts: Sequence[str], shingle_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Hash every `shingle_size`-word shingle of every text to a uint32.

    Returns (hashes, offsets): the shingles of text i are hashes[offsets[i]:offsets[i + 1]],
    in text order, repeats included (MinHash ignores repeats; `unique_shingle_sets` drops them).
    A text with fewer words than `shingle_size` has one shingle made of all its words; a text
    with no words has none.
    """
    return _joined(
        [
            shingle_hashes_of_words(tokenise_texts(texts[start:end]), shingle_size)
            for start, end in _text_blocks(len(texts))
        ]
    )


# Texts whose words and shingles are worked on at once: the arrays of a block take ~11 KB a
# text (~400 MB for the 34,000 texts a first run's near pairs verified at 1,000,000 generated
# pages); in blocks memory stays bounded, the hashes are the same.
_TEXTS_PER_BLOCK = 4096


def _text_blocks(texts: int) -> list[tuple[int, int]]:
    """(start, end) of each block of at most _TEXTS_PER_BLOCK consecutive texts."""
    return [(start, min(start + _TEXTS_PER_BLOCK, texts)) for start in range(0, texts, _TEXTS_PER_BLOCK)]


def _joined(parts: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """(hashes, offsets) blocks of consecutive texts as one (hashes, offsets); no blocks:
    no texts."""
    if not parts:
        return np.zeros(0, dtype=np.uint32), np.zeros(1, dtype=np.int64)
    if len(parts) == 1:
        return parts[0]
    bases = np.cumsum([0, *(len(hashes) for hashes, _ in parts[:-1])])
    offsets = np.concatenate(
        [parts[0][1][:1], *(o[1:] + base for (_, o), base in zip(parts, bases, strict=True))]
    )
    return np.concatenate([hashes for hashes, _ in parts]), offsets


def shingle_hashes_of_words(word_lists: pa.ListArray, shingle_size: int) -> tuple[np.ndarray, np.ndarray]:
    """`shingle_hashes` of a `tokenise_texts` result (so callers tokenise each text once)."""
    if not 1 <= shingle_size <= MAX_SHINGLE_SIZE:
        raise ValueError(f"shingle_size must be between 1 and {MAX_SHINGLE_SIZE}, got {shingle_size}")
    word_counts = (
        pc.list_value_length(word_lists).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    )
    total_words = int(word_counts.sum())
    shingle_counts = np.where(word_counts > 0, np.maximum(word_counts - shingle_size + 1, 1), 0)
    offsets = np.concatenate(([0], np.cumsum(shingle_counts)))
    if total_words == 0:
        return np.zeros(0, dtype=np.uint32), offsets

    # Each distinct word is hashed once: Arrow numbers the words, Python hashes the vocabulary.
    encoded = pc.list_flatten(word_lists).dictionary_encode()
    vocabulary = encoded.dictionary.to_pylist()
    codes = encoded.indices.to_numpy()
    word_hashes = np.fromiter(
        (xxhash.xxh3_64_intdigest(word.encode("utf-8")) for word in vocabulary),
        dtype=np.uint64,
        count=len(vocabulary),
    )
    token_hashes = word_hashes[codes]

    # Every word position starts a window of k words: contiguous slices, no gathers.
    word_starts = np.concatenate(([0], np.cumsum(word_counts)[:-1]))
    padded = np.concatenate((token_hashes, np.zeros(shingle_size, dtype=np.uint64)))
    combined = np.zeros(total_words, dtype=np.uint64)
    for position in range(shingle_size):
        combined += padded[position : position + total_words] * _POSITION_MULTIPLIERS[position]
    # Windows starting in the last k-1 words of a text run into the next text: dropped.
    keep = np.ones(total_words, dtype=bool)
    text_ends = word_starts + word_counts
    for back in range(1, shingle_size):
        starts = text_ends - back
        keep[starts[starts >= word_starts]] = False
    # A text shorter than a shingle keeps one shingle of its own words only.
    short = (word_counts > 0) & (word_counts < shingle_size)
    if short.any():
        first, length = word_starts[short], word_counts[short]
        own = np.zeros(len(first), dtype=np.uint64)
        for position in range(shingle_size):
            contribution = padded[first + position] * _POSITION_MULTIPLIERS[position]
            own += np.where(position < length, contribution, np.uint64(0))
        combined[first] = own
        keep[first] = True
    return (fmix64(combined[keep]) >> np.uint64(32)).astype(np.uint32), offsets


def unique_shingle_sets(hashes: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per text, the sorted distinct shingle hashes, in the same (hashes, offsets) layout;
    _TEXTS_PER_BLOCK texts at a time."""
    return _joined(
        [
            _unique_sets(hashes[offsets[start] : offsets[end]], offsets[start : end + 1] - offsets[start])
            for start, end in _text_blocks(len(offsets) - 1)
        ]
    )


def _unique_sets(hashes: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(hashes) == 0:  # texts without words
        return np.zeros(0, dtype=np.uint32), np.zeros(len(offsets), dtype=np.int64)
    counts = np.diff(offsets)
    text_index = np.repeat(np.arange(len(counts), dtype=np.uint64), counts)
    keyed = np.sort((text_index << np.uint64(32)) | hashes.astype(np.uint64))
    # Sort and drop repeats: several times faster than np.unique's hash table on uint64 here.
    keyed = keyed[np.concatenate(([True], keyed[1:] != keyed[:-1]))]
    unique_offsets = np.searchsorted(keyed >> np.uint64(32), np.arange(len(counts) + 1), side="left")
    return (keyed & np.uint64(0xFFFFFFFF)).astype(np.uint32), unique_offsets
