"""Keyword matching, coverage, per-page summary and cannibalisation on hand-written pages and on
the sample QuickTakes page."""

import math
import re
import unicodedata
from pathlib import Path

import pandas as pd
import pytest
import regex
import yaml
from hypothesis import assume, given
from hypothesis import strategies as st

from transforms.keywords import (
    CANNIBALISATION_COLUMNS,
    COVERAGE_COLUMNS,
    SUMMARY_COLUMNS,
    KeywordSettings,
    Stemmer,
    clean_keywords,
    count_phrase,
    count_words,
    first_paragraph,
    keyword_coverage,
    main_keyword,
    page_keyword_summary,
    paragraphs,
    shared_main_keywords,
    tokens,
)

SAMPLE_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "sample"


def page(**fields: object) -> dict[str, object]:
    """A document row with every column ingest produces; ``fields`` override the defaults."""
    row: dict[str, object] = {
        "doc_key": "page.md",
        "subject": "Health studies",
        "subject_key": "health-studies",
        "title": None,
        "seo_title": None,
        "meta_description": None,
        "keywords": [],
        "question": None,
        "body_markdown": None,
        "body_text": None,
        "url": None,
        "file_name": None,
    }
    row.update(fields)
    return row


def frame(*rows: dict[str, object]) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def coverage_of(keyword: str, **fields: object) -> dict[str, object]:
    """The coverage row of a single keyword on one page."""
    result = keyword_coverage(frame(page(keywords=[keyword], **fields)))
    assert len(result) == 1
    return result.iloc[0].to_dict()


def sample_document(**overrides: object) -> dict[str, object]:
    """The sample page as ingest would present it (keywords split on commas)."""
    from transforms.plaintext import markdown_to_text

    path = next(SAMPLE_DIR.glob("*.md"))
    header = path.read_text(encoding="utf-8").split("---")[1]
    meta = yaml.load(header, Loader=yaml.CSafeLoader)
    body = meta["answer"].replace("\\n", "\n")
    row = page(
        doc_key=path.name,
        subject=meta["subject"],
        subject_key="health-studies",
        title=meta["title"],
        seo_title=meta["seo"]["title"],
        meta_description=meta["seo"]["page_description"],
        keywords=[keyword.strip() for keyword in meta["seo"]["page_keywords"].split(",")],
        question=meta["question"],
        body_markdown=body,
        body_text=markdown_to_text(body),
        url=meta["url"],
        file_name=meta["file_name"],
    )
    row.update(overrides)
    return row


# --- matching -------------------------------------------------------------------------------


def test_inflection_matches_plural_and_singular() -> None:
    row = coverage_of("neurotransmitter", body_text="Neurotransmitters carry signals.")
    assert row["body_occurrences"] == 1
    row = coverage_of("Neurotransmitters", body_text="A neurotransmitter carries a signal.")
    assert row["body_occurrences"] == 1


def test_word_boundary_art_does_not_match_start() -> None:
    assert coverage_of("art", body_text="Start the party, then restart it.")["body_occurrences"] == 0
    assert coverage_of("art", body_text="Modern art, and arts.")["body_occurrences"] == 2


@pytest.mark.parametrize(
    ("keyword", "body", "expected"),
    [
        ("Na+", "Sodium (Na⁺) and Na+ ions; Na alone is not the ion.", 2),
        ("C++", "C++ differs from C and from C#.", 1),
        ("C#", "C++ differs from C and from C#.", 1),
        ("Cramer's Rule", "Apply Cramer’s rule, then Cramer's Rule again.", 2),
        (".NET", "Build it on .NET or on the .net runtime; a network is not it.", 2),
        ("gamma-aminobutyric acid", "GABA is gamma aminobutyric acid.", 1),
    ],
)
def test_keywords_with_punctuation(keyword: str, body: str, expected: int) -> None:
    assert coverage_of(keyword, body_text=body)["body_occurrences"] == expected


def test_c_does_not_match_inside_cplusplus() -> None:
    assert coverage_of("C", body_text="Write it in C++ or C#.")["body_occurrences"] == 0


def test_multiword_keyword_must_be_a_contiguous_phrase() -> None:
    scattered = "The balance of each neurotransmitter matters; balance is a neurotransmitter question."
    assert coverage_of("neurotransmitter balance", body_text=scattered)["body_occurrences"] == 0
    together = "Neurotransmitter balance matters. Restoring neurotransmitter balances takes time."
    assert coverage_of("neurotransmitter balance", body_text=together)["body_occurrences"] == 2


def test_overlapping_phrase_occurrences_are_counted_once() -> None:
    assert count_phrase(("a", "a"), ("a", "a")) == 1
    assert count_phrase(("a", "a", "a", "a"), ("a", "a")) == 2
    assert count_phrase(("x", "a", "b", "a", "b"), ("a", "b")) == 2


def test_stemmer_keeps_symbol_tokens_whole() -> None:
    stems = Stemmer().stems("C++, C#, Na⁺ and .NET")
    assert stems == ("c++", "c#", "na+", "and", ".net")


# The token rule as one regex over the whole text: what `tokens` must equal, piece by piece.
WHOLE_TEXT_TOKENS = re.compile(r"(?<![\w.])\.\w++[+#]*+|\w++(?:'\w++)*+[+#]*+")


@given(
    st.text(
        st.sampled_from([*"ab_9é.'+#-,", " ", "\n", "\t", "\x1c", "\u00a0", "\u2028", "\u3000", "²", "⁺"]),
        max_size=60,
    )
    | st.text(max_size=60)
)
def test_tokens_piece_by_piece_equal_one_pass_over_the_text(text: str) -> None:
    """Text without marks (pieces with marks are read by the rule with marks, below). Marks
    as the tokeniser finds them, with the `regex` module's Unicode database: it is newer than
    Python 3.11's (U+1611E, a Gurung Khema vowel sign of Unicode 16, is a mark to `regex` and
    unassigned to `unicodedata`), and a text holding such a character is read by the rule
    with marks."""
    assume(not MARK.search(text))
    assert tokens(text) == WHOLE_TEXT_TOKENS.findall(text)


MARK = regex.compile(r"\p{M}")


def test_a_mark_newer_than_pythons_unicode_data_is_read_with_the_rule_with_marks() -> None:
    """Hypothesis found it: Python 3.11 knows no U+1611E, `regex` knows a vowel sign."""
    assert unicodedata.category("\U0001611e") == "Cn" and MARK.search("\U0001611e")
    assert tokens("ka\U0001611e x") == ["ka\U0001611e", "x"]


def test_words_with_marks_are_whole_tokens() -> None:
    """Bengali writes vowel signs as marks: a keyword matches its word, not another word of
    the same consonants ("ধারণা" concept, "ধারণ" holding)."""
    assert tokens("ধারণা হল, ধারণ করা। हिन्दी's c++") == ["ধারণা", "হল", "ধারণ", "করা", "हिन्दी's", "c++"]
    assert coverage_of("ধারণা", body_text="এটি ধারণ করা।")["body_occurrences"] == 0
    assert coverage_of("ধারণা", body_text="এটি একটি ধারণা, একটি ধারণা।")["body_occurrences"] == 2


@given(
    st.lists(
        st.sampled_from(
            [*"ab_9é.'’+#-,", "Na⁺", "ß", "\u0301", " ", "\n", "\n\n", "\n \t\n", "\t", "\u00a0", "\u2028"]
        ),
        max_size=40,
    ).map("".join)
    | st.text(max_size=80)
)
def test_body_stems_are_the_first_paragraphs_then_the_rests(body: str) -> None:
    """field_stems tokenises the first paragraph once: the body's stems must be its stems
    followed by those of the rest, whatever the text (normalisation, case folding and
    apostrophes included)."""
    first, rest = paragraphs(body)
    assert first == first_paragraph(body)
    stemmer = Stemmer()
    assert stemmer.stems(first) + stemmer.stems(rest) == stemmer.stems(body)


def test_count_words_keeps_hyphenated_and_possessive_words_whole() -> None:
    assert count_words("A well-known neuron's 3.14 rule.") == 5
    assert count_words(None) == 0


# --- coverage fields ------------------------------------------------------------------------


def test_coverage_reports_each_field() -> None:
    row = coverage_of(
        "glutamate receptors",
        title="How glutamate receptors work",
        seo_title="Glutamate receptors explained",
        meta_description="A short look at the brain.",
        url="https://example.org/learn/biology/glutamate-receptors/",
        body_text="Glutamate receptors bind glutamate.\n\nLater, glutamate receptors close again.",
        word_count=10,
    )
    assert row["in_title"] and row["in_seo_title"] and row["in_url"] and row["in_first_paragraph"]
    assert not row["in_meta_description"]
    assert row["body_occurrences"] == 2
    assert row["density"] == pytest.approx(2 * 2 / 10)


def test_url_match_uses_the_slug_not_the_folders() -> None:
    row = coverage_of("health", url="/learn/health-studies/questions/what-is-sleep", body_text="x")
    assert not row["in_url"]
    row = coverage_of("sleep", url="/learn/health-studies/questions/what_is_sleep", body_text="x")
    assert row["in_url"]


def test_first_paragraph_is_text_before_the_first_blank_line() -> None:
    body = "Intro line one.\nIntro line two mentions dopamine.\n\nDetails about serotonin."
    assert coverage_of("dopamine", body_text=body)["in_first_paragraph"]
    assert not coverage_of("serotonin", body_text=body)["in_first_paragraph"]


def test_density_uses_computed_word_count_when_ingest_gave_none() -> None:
    body = "sleep " * 3 + "word " * 97  # 100 words, keyword three times
    assert coverage_of("sleep", body_text=body)["density"] == pytest.approx(0.03)


def test_empty_body_has_no_density() -> None:
    assert math.isnan(coverage_of("sleep", body_text=None)["density"])


def test_keywords_are_cleaned_and_deduplicated() -> None:
    documents = frame(
        page(keywords=["  GABA ", "", "   ", "gaba", "!!!", "Neurotransmitters", "neurotransmitter"])
    )
    coverage = keyword_coverage(documents)
    assert list(coverage.columns) == COVERAGE_COLUMNS
    assert coverage["keyword"].tolist() == ["GABA", "Neurotransmitters"]
    assert coverage["keyword_position"].tolist() == [0, 1]


@pytest.mark.parametrize("keywords", [None, [], float("nan"), "GABA, , glutamate"])
def test_keywords_cell_may_be_missing_or_a_string(keywords: object) -> None:
    coverage = keyword_coverage(frame(page(keywords=keywords, body_text="GABA and glutamate.")))
    expected = ["GABA", "glutamate"] if isinstance(keywords, str) else []
    assert coverage["keyword"].tolist() == expected


def test_missing_text_columns_are_tolerated() -> None:
    documents = pd.DataFrame({"doc_key": ["a.md"], "keywords": [["sleep"]], "body_markdown": ["Sleep well."]})
    coverage = keyword_coverage(documents)
    assert coverage["body_occurrences"].tolist() == [1]
    assert not coverage["in_title"].iloc[0]


# --- per-page summary -----------------------------------------------------------------------


def test_summary_of_a_well_covered_page() -> None:
    body = "Sleep apnea interrupts breathing.\n\n" + "filler " * 200 + "Sleep apnea is treatable."
    documents = frame(
        page(
            doc_key="good.md",
            title="Sleep apnea: causes and care",
            meta_description="What sleep apnea is and how it is treated.",
            url="/learn/health/sleep-apnea",
            keywords=["sleep apnea", "breathing", "insomnia"],
            body_text=body,
        )
    )
    summary = page_keyword_summary(documents, keyword_coverage(documents))
    assert list(summary.columns) == SUMMARY_COLUMNS
    row = summary.iloc[0]
    assert (row["keywords_declared"], row["keywords_in_body"]) == (3, 2)
    assert row["keyword_coverage_ratio"] == pytest.approx(2 / 3)
    assert row["keywords_missing"] == ["insomnia"]
    assert row["main_keyword"] == "sleep apnea"
    assert row["main_keyword_in_title"] and row["main_keyword_at_title_start"]
    assert row["main_keyword_in_first_paragraph"] and row["main_keyword_in_meta_description"]
    assert row["main_keyword_in_url"]
    assert not row["keyword_stuffing"]


def test_summary_flags_stuffing_and_missing_placements() -> None:
    body = "Buy cheap shoes. " * 10 + "word " * 90  # 120 words, 20 of them the keyword
    documents = frame(
        page(
            doc_key="stuffed.md",
            title="Our store",
            meta_description="Everything for your feet.",
            url="/store/index",
            keywords=["cheap shoes"],
            body_text="Welcome.\n\n" + body,
        )
    )
    row = page_keyword_summary(documents, keyword_coverage(documents)).iloc[0]
    assert row["main_keyword_density"] > 0.03
    assert row["keyword_stuffing"]
    assert not row["main_keyword_in_title"] and not row["main_keyword_at_title_start"]
    assert not row["main_keyword_in_first_paragraph"] and not row["main_keyword_in_url"]
    assert not row["main_keyword_in_meta_description"]


def test_short_pages_are_not_judged_for_stuffing() -> None:
    documents = frame(page(keywords=["cheap shoes"], body_text="Cheap shoes here. Cheap shoes there."))
    row = page_keyword_summary(documents, keyword_coverage(documents)).iloc[0]
    assert row["main_keyword_density"] > 0.03
    assert not row["keyword_stuffing"]
    lenient = KeywordSettings(density_min_words=1)
    assert page_keyword_summary(documents, keyword_coverage(documents), lenient).iloc[0]["keyword_stuffing"]


def test_keyword_in_title_but_not_at_its_start() -> None:
    documents = frame(page(title="Why we need sleep", keywords=["sleep"], body_text="Sleep."))
    row = page_keyword_summary(documents, keyword_coverage(documents)).iloc[0]
    assert row["main_keyword_in_title"] and not row["main_keyword_at_title_start"]


def test_summary_of_a_page_without_keywords() -> None:
    documents = frame(
        page(doc_key="bare.md", body_text="Some text."), page(doc_key="kw.md", keywords=["text"])
    )
    summary = page_keyword_summary(documents, keyword_coverage(documents)).set_index("doc_key")
    bare = summary.loc["bare.md"]
    assert bare["keywords_declared"] == 0 and math.isnan(bare["keyword_coverage_ratio"])
    assert bare["keywords_missing"] == [] and pd.isna(bare["main_keyword"])
    assert pd.isna(bare["main_keyword_in_title"]) and not bare["keyword_stuffing"]
    assert summary.loc["kw.md", "keywords_missing"] == ["text"]


# --- cannibalisation ------------------------------------------------------------------------


def cannibalisation_of(documents: pd.DataFrame) -> pd.DataFrame:
    """The site check's path: the main keywords as the page analysis stores them, grouped."""
    summary = page_keyword_summary(documents, keyword_coverage(documents))
    stored = documents[["doc_key", "subject_key"]].merge(summary[["doc_key", "main_keyword"]], on="doc_key")
    return shared_main_keywords(stored)


def cannibalisation_by_hand(documents: pd.DataFrame) -> list[tuple]:
    """The rule written out from each page's keyword list: pages whose first keyword with
    stems shares its stems with another page's, largest groups first, then key, doc_key."""
    stemmer = Stemmer()
    rows = []
    for doc_key, subject_key, keywords in zip(
        documents["doc_key"], documents["subject_key"], documents["keywords"], strict=True
    ):
        main = main_keyword(keywords, stemmer)
        if main:
            subject = subject_key if isinstance(subject_key, str) and subject_key.strip() else None
            rows.append((" ".join(main[1]), main[0], doc_key, subject))
    sizes = {key: sum(row[0] == key for row in rows) for key, *_ in rows}
    shared = [(*row, sizes[row[0]]) for row in rows if sizes[row[0]] >= 2]
    return sorted(shared, key=lambda row: (-row[4], row[0], row[2]))


def test_cannibalisation_groups_pages_by_stemmed_main_keyword() -> None:
    documents = frame(
        page(doc_key="a.md", subject_key="bio", keywords=["Neurotransmitters", "GABA"]),
        page(doc_key="b.md", subject_key="psy", keywords=["neurotransmitter"]),
        page(doc_key="c.md", subject_key="bio", keywords=["GABA", "neurotransmitters"]),
        page(doc_key="d.md", subject_key="bio", keywords=[]),
    )
    groups = cannibalisation_of(documents)
    assert list(groups.columns) == [
        "main_keyword_key",
        "main_keyword",
        "doc_key",
        "subject_key",
        "group_size",
    ]
    assert groups["doc_key"].tolist() == ["a.md", "b.md"]
    assert groups["main_keyword"].tolist() == ["Neurotransmitters", "neurotransmitter"]
    assert groups["subject_key"].tolist() == ["bio", "psy"]
    assert groups["group_size"].tolist() == [2, 2]
    assert groups["main_keyword_key"].nunique() == 1


def test_no_cannibalisation_when_main_keywords_differ() -> None:
    documents = frame(
        page(doc_key="a.md", keywords=["sleep"]), page(doc_key="b.md", keywords=["sleep apnea"])
    )
    assert cannibalisation_of(documents).empty


_KEYWORD_POOL = [
    "GABA",
    "gaba",
    "Sleep",
    "sleep apnea",
    "Sleeps",
    "  ",
    "!!",
    "neurotransmitters",
    "dopamine",
]


@given(
    st.lists(
        st.tuples(
            st.lists(st.sampled_from(_KEYWORD_POOL), max_size=3), st.sampled_from(["bio", "psy", " ", None])
        ),
        max_size=12,
    )
)
def test_cannibalisation_from_stored_main_keywords_equals_the_one_from_keyword_lists(pages) -> None:
    """The site check groups the main keywords the page analysis stored; the groups equal
    those found by parsing every page's keyword list."""
    documents = frame(
        page(doc_key="placeholder.md"),
        *(
            page(doc_key=f"p{n:02d}.md", subject_key=subject, keywords=keywords)
            for n, (keywords, subject) in enumerate(pages)
        ),
    )
    got = cannibalisation_of(documents)
    rows = got.astype(object).where(got.notna(), None).values.tolist()  # a missing subject: None
    assert [tuple(row) for row in rows] == cannibalisation_by_hand(documents)
    assert list(got.columns) == CANNIBALISATION_COLUMNS


# --- the sample page ------------------------------------------------------------------------


def test_sample_page_keywords() -> None:
    documents = frame(sample_document())
    coverage = keyword_coverage(documents).set_index("keyword")
    assert len(coverage) == 15
    assert coverage.loc["glutamate", "body_occurrences"] >= 1
    assert coverage.loc["GABA", "body_occurrences"] >= 1
    # "neurotransmitter systems" and "This balance" are in the text, never the phrase.
    assert coverage.loc["neurotransmitter balance", "body_occurrences"] == 0
    # "neurological and psychiatric disorders": only the second keyword is a phrase there.
    assert coverage.loc["neurological disorders", "body_occurrences"] == 0
    assert coverage.loc["psychiatric disorders", "body_occurrences"] == 1
    assert coverage.loc["sodium ions", "body_occurrences"] == 1
    summary = page_keyword_summary(documents, keyword_coverage(documents)).iloc[0]
    assert summary["keywords_declared"] == 15
    assert "neurotransmitter balance" in summary["keywords_missing"]
    assert summary["main_keyword"] == "excitatory neurotransmitters"


@given(
    st.one_of(
        st.lists(st.text(alphabet=" ,.+'-aAbBéÉ1\t", max_size=12), max_size=6),
        st.text(alphabet=" ,.+'-aAbBéÉ1\t", max_size=40),
        st.none(),
    )
)
def test_main_keyword_is_the_first_clean_keyword(value) -> None:
    stemmer = Stemmer("english")
    cleaned = clean_keywords(value, stemmer)
    assert main_keyword(value, stemmer) == (cleaned[0] if cleaned else None)


def test_stemmer_runs_compiled_snowball_with_the_pure_python_stems() -> None:
    """PyStemmer (C) does the stemming; it must agree with snowballstemmer's own Python
    implementation of English Snowball on a real vocabulary, or keyword matches would move."""
    import snowballstemmer
    from snowballstemmer.english_stemmer import EnglishStemmer

    from transforms.textstat_offline import syllable_counts

    compiled = snowballstemmer.stemmer("english")
    assert type(compiled).__module__ == "Stemmer"  # PyStemmer, not the Python fallback
    words = sorted(w for w in syllable_counts() if w.isalpha())[::5]
    words += ["neuron's", "café", "naïve", "résumés", "ﬁnancial", "überprüfung", "generously"]
    python = EnglishStemmer()
    assert len(words) > 20_000
    assert compiled.stemWords(words) == [python.stemWord(w) for w in words]
