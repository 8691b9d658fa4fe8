"""Front matter, field mapping and change planning: pure functions on small inputs."""

from __future__ import annotations

import datetime as dt
import functools
import re
import string
import unicodedata

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from transforms.changes import (
    batch_size_for,
    quarantine_warning,
    site_steps_side_by_side,
    split_batches,
    still_quarantined,
)
from transforms.fields import DOCS, QUICKTAKES, map_fields, mapping_from_config, parse_keywords, subject_key
from transforms.front_matter import DocumentError, decode_bytes, load_yaml, split_front_matter
from transforms.ingest import RawFile, content_hash, parse_documents

PAGE = """---
id: 7
date: 2025-02-06
title: What is GABA?
seo:
  title: QuickTakes | Health studies
  page_description: >-
    About GABA.
  page_keywords: >-
    GABA, inhibitory neurotransmitters, , gaba
question: >-
    What is GABA?
answer: >-
    GABA is a neurotransmitter.\\n\\n- It inhibits\\n- It calms
subject: Health studies
file_name: what-is-gaba.md
url: /learn/health-studies/questions/what-is-gaba
---

&nbsp;
"""


def _raw(text: str | bytes, key: str = "health/what-is-gaba.md") -> RawFile:
    data = text.encode() if isinstance(text, str) else text
    return RawFile(key, data, len(data), 1)


def test_quicktakes_page_maps_to_document_columns() -> None:
    batch = parse_documents([_raw(PAGE)], QUICKTAKES)
    assert batch.errors.empty
    doc = batch.documents.iloc[0]
    assert doc["doc_key"] == "health/what-is-gaba.md"
    assert doc["source_id"] == "7" and doc["published_date"] == dt.date(2025, 2, 6)
    assert doc["seo_title"] == "QuickTakes | Health studies" and doc["meta_description"] == "About GABA."
    assert list(doc["keywords"]) == ["GABA", "inhibitory neurotransmitters"]
    assert doc["body_markdown"] == "GABA is a neurotransmitter.\n\n- It inhibits\n- It calms"
    assert doc["subject_key"] == "health-studies"
    assert doc["content_hash"] == content_hash(PAGE.encode())


def test_unchanged_bytes_are_not_parsed_again() -> None:
    raw = _raw(PAGE)
    batch = parse_documents([raw], QUICKTAKES, {raw.doc_key: content_hash(raw.data)})
    assert (len(batch.documents), len(batch.unchanged), len(batch.errors)) == (0, 1, 0)
    assert batch.files_seen == 1


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("", "empty_file"),
        ("no front matter here", "no_front_matter"),
        ("---\ntitle: x\nanswer: y\n", "unclosed_front_matter"),
        ("---\ntitle: [unclosed\n---\n", "invalid_yaml"),
        ("---\ntitle: a\ntitle: b\nanswer: y\n---\n", "duplicate_key"),
        ("---\ntitle: x\n---\nbody", "missing_field"),
        ("---\ntitle: x\nanswer: [1, 2]\n---\n", "wrong_type"),
        ("---\n- a list\n---\n", "invalid_yaml"),
        ("---\nanswer: !!python/object/apply:os.system ['true']\n---\n", "unsafe_yaml_tag"),
    ],
)
def test_bad_files_become_errors_with_a_kind(text: str, kind: str) -> None:
    batch = parse_documents([_raw(text)], QUICKTAKES)
    assert batch.documents.empty
    assert batch.errors["error_kind"].tolist() == [kind]
    assert batch.errors["message"].iloc[0]


def test_yaml_scalars_stay_as_written() -> None:
    assert load_yaml("a: NO\nb: 1.10\nc: 2025-02-06\nd: ~") == {
        "a": "NO",
        "b": "1.10",
        "c": "2025-02-06",
        "d": None,
    }


def test_alias_bomb_is_rejected_without_expanding() -> None:
    bomb = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "\n".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]" for i in range(8)
    )
    with pytest.raises(DocumentError) as error:
        load_yaml(bomb)
    assert error.value.kind == "front_matter_too_large"


def test_a_plain_header_of_too_many_values_is_rejected_too() -> None:
    from transforms.front_matter import MAX_FRONT_MATTER_NODES
    from transforms.plain_yaml import read_plain_yaml

    lines = [f"k{n}: v" for n in range(MAX_FRONT_MATTER_NODES)]  # the mapping itself is a node
    assert read_plain_yaml("\n".join(lines)) is not None  # read without PyYAML
    with pytest.raises(DocumentError) as error:
        load_yaml("\n".join(lines))
    assert error.value.kind == "front_matter_too_large"
    assert len(load_yaml("\n".join(lines[:-1]))) == MAX_FRONT_MATTER_NODES - 1


def test_decoding_handles_bom_utf16_binary_and_latin1() -> None:
    assert decode_bytes(b"\xef\xbb\xbf---\n") == "---\n"
    assert decode_bytes("---\nt: é\n".encode("utf-16")) == "---\nt: é\n"
    for data, kind in ((b"abc\x00def", "binary"), ("café".encode("latin-1"), "encoding")):
        with pytest.raises(DocumentError) as error:
            decode_bytes(data)
        assert error.value.kind == kind


def test_crlf_and_toml_front_matter() -> None:
    assert split_front_matter("---\r\ntitle: x\r\n---\r\nbody").front_matter == {"title": "x"}
    split = split_front_matter('+++\ntitle = "x"\n+++\nbody')
    assert (split.front_matter, split.body, split.front_matter_format) == ({"title": "x"}, "body", "toml")


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        # PowerShell's ForEach-Object page: an alias `%` cannot start a plain YAML scalar.
        (
            "---\nLocale: en-US\naliases:\n  - %\n---\nbody",
            "invalid_yaml",
            "line 4, column 5: found character that cannot start any token "
            "(while scanning for the next token)",
        ),
        (
            "\n\n---\na: b\n  c: d: e\n---\n",
            "invalid_yaml",
            "line 5, column 4: mapping values are not allowed",
        ),
        ('\n+++\ntitle = "x"\nbad = ?\n+++\n', "invalid_toml", "Invalid value (at line 4, column 7)"),
    ],
)
def test_front_matter_errors_give_the_line_and_column_in_the_file(text: str, kind: str, message: str) -> None:
    """Not the line within the header, as the YAML and TOML parsers count it."""
    with pytest.raises(DocumentError) as error:
        split_front_matter(text)
    assert error.value.kind == kind and error.value.message.startswith(message)


@pytest.mark.parametrize("before", ["\n", "\r\n \t\r\n", "\n\n  "])
def test_blank_lines_before_the_front_matter_are_skipped(before: str) -> None:
    """As Hugo and python-frontmatter do (many of Hugo's release notes start with a blank line)."""
    split = split_front_matter(f'{before}---\ntitle: "Hugo 0.26"\n---\n\nThis release brings')
    assert (split.front_matter, split.body) == ({"title": "Hugo 0.26"}, "\nThis release brings")
    assert split_front_matter('\n+++\ntitle = "x"\n+++\nbody').front_matter == {"title": "x"}
    prose = "\nJust prose, then a rule:\n\n---\n"
    assert (split_front_matter(prose).front_matter, split_front_matter(prose).body) == (None, prose)
    with pytest.raises(DocumentError) as error:
        split_front_matter("\n---\ntitle: never closed\n")
    assert error.value.kind == "unclosed_front_matter"


def test_docs_profile_reads_hugo_style_front_matter() -> None:
    front = {
        "title": "Install",
        "description": "How to",
        "keywords": ["a", "b", "A"],
        "categories": ["Setup"],
    }
    record = map_fields(front, "Body *text*", "content/install.md", DOCS)
    assert (record["title"], record["seo_title"], record["meta_description"]) == (
        "Install",
        "Install",
        "How to",
    )
    assert record["keywords"] == ["a", "b"] and record["subject"] == "Setup"
    assert record["body_markdown"] == "Body *text*"
    folder_subject = map_fields({"title": "x"}, "b", "guides/x.md", DOCS)["subject"]
    assert folder_subject == "guides"


def test_mapping_overrides_from_config() -> None:
    mapping = mapping_from_config(
        "docs", {"fields": {"subject": ["section", "$folder"]}, "required": ["title"]}
    )
    assert mapping.fields["subject"] == ("section", "$folder") and mapping.required == ("title",)
    with pytest.raises(ValueError, match="unknown columns"):
        mapping_from_config("docs", {"fields": {"colour": "x"}})
    with pytest.raises(ValueError, match="unknown front-matter profile"):
        mapping_from_config("wordpress")


def test_keywords_and_subject_keys_are_cleaned() -> None:
    assert parse_keywords(" a ,b,, A ,  c  d ") == ["a", "b", "c d"]
    assert parse_keywords(["x", 2, "X"]) == ["x", "2"]
    with pytest.raises(DocumentError):
        parse_keywords({"nested": "map"})
    assert subject_key("Health Studies") == subject_key("health  studies") == subject_key("Health-Studies.")
    assert subject_key("Art & Design") == "art-and-design"
    assert subject_key(None) == subject_key("") == "unassigned"


@pytest.mark.parametrize(
    ("subjects", "key"),
    [
        (["ধারণা"], "ধারণা"),  # CNCF glossary, Bengali "concept": its vowel signs are marks
        (["प्रौद्योगिकी", " प्रौद्योगिकी. "], "प्रौद्योगिकी"),
        (["हिन्दी विषय", "हिन्दी-विषय"], "हिन्दी-विषय"),  # was "unassigned": the space alone was ASCII
        (["Концепция данных"], "концепция-данных"),
        (["altyapı", "Altyapı"], "altyapı"),  # the dotless i was dropped
        (["Straße", "STRASSE"], "strasse"),
        (["Tecnología", "tecnologia"], "tecnologia"),
        (["Ünïcödé 数学"], "unicode-数学"),
    ],
)
def test_subject_keys_keep_every_script(subjects: list[str], key: str) -> None:
    assert {subject_key(subject) for subject in subjects} == {key}


def _subject_key_before(subject: str) -> str:
    """subject_key as it was: right for Latin text, which folds to ASCII whole."""
    text = unicodedata.normalize("NFKD", subject).encode("ascii", "ignore").decode() or subject
    text = text.casefold().replace("&", " and ")
    return re.sub(r"[^\w]+", "-", text).strip("-_") or "unassigned"


@given(st.text(alphabet=string.printable + "éèêëàáâäçñöüÉÀÇÑÜ", max_size=30))
def test_subject_keys_of_latin_text_are_unchanged(subject: str) -> None:
    """Warehouses keep their keys for subjects in Latin letters, accented or not."""
    assert subject_key(subject) == _subject_key_before(subject)


def test_quarantined_files_with_the_same_stat_keep_their_error_unread() -> None:
    mtime = 1_795_749_947_414_529_148  # past float64's exact integers: must survive as is
    to_read = pd.DataFrame(
        {"doc_key": ["bad", "fixed", "new"], "file_size": [5, 6, 7], "file_mtime_ns": [mtime, 20, 30]}
    )
    quarantined = pd.DataFrame(
        {
            "path": ["bad", "fixed", "gone"],
            "error_kind": ["invalid_yaml"] * 3,
            "message": ["line 1", "line 2", "line 3"],
            "content_hash": ["h1", "h2", "h3"],
            "file_size": [5, 6, 8],
            "file_mtime_ns": [mtime, 21, 40],
        }
    )
    left, kept = still_quarantined(to_read, quarantined, trust_file_stat=True)
    assert left["doc_key"].tolist() == ["fixed", "new"]
    assert kept.to_dict("records") == [
        {
            "path": "bad",
            "error_kind": "invalid_yaml",
            "message": "line 1",
            "content_hash": "h1",
            "file_size": 5,
            "file_mtime_ns": mtime,
        }
    ]
    left, kept = still_quarantined(to_read, quarantined, trust_file_stat=False)
    assert len(left) == 3 and kept.empty


def test_site_steps_run_side_by_side_only_after_a_small_change_on_a_small_site() -> None:
    side_by_side = functools.partial(site_steps_side_by_side, largest_site=100_000)
    assert side_by_side(1_500, 100_000)  # a nightly 1% change
    assert side_by_side(5_000, 100_000)  # 5%: the largest
    assert not side_by_side(5_001, 100_000)
    assert not side_by_side(100_000, 100_000)  # a first run scores every page
    assert not side_by_side(1, 0)
    assert not side_by_side(10_000, 1_000_000)  # 1%, but the steps work in chunks there
    assert site_steps_side_by_side(10_000, 1_000_000, largest_site=1_000_000)


def test_batches_are_bounded_and_cover_everything() -> None:
    assert batch_size_for(100_000, workers=2, max_batch=2000, min_batch=200) == 2000
    assert batch_size_for(1_000, workers=2, max_batch=2000, min_batch=200) == 200
    # in the flow's own process there are no workers to keep busy: one batch when it fits
    assert batch_size_for(1_000, workers=2, max_batch=2000, min_batch=200, in_process=True) == 2000
    assert batch_size_for(600, workers=2, max_batch=100, min_batch=50, in_process=True) == 100
    frame = pd.DataFrame({"x": range(1050)})
    parts = split_batches(frame, 200)
    assert [len(p) for p in parts] == [200] * 5 + [50]
    assert pd.concat(parts)["x"].tolist() == list(range(1050))


def _reasons(*rows: tuple[str, str, int]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["error_kind", "message", "files"])


def test_a_run_that_quarantines_most_files_warns_and_names_the_other_profile() -> None:
    schema = _reasons(
        ("missing_field", "required field 'answer' is missing", 90), ("no_front_matter", "none", 5)
    )
    warning = quarantine_warning("quicktakes", 100, schema)
    assert warning is not None and warning.startswith("95 of 100 files were quarantined")
    assert "90 missing_field: required field 'answer' is missing" in warning and "--profile docs" in warning
    assert "--profile quicktakes" in (quarantine_warning("docs", 100, schema) or "")
    # Half or fewer quarantined: no warning; other reasons: no profile named.
    assert quarantine_warning("quicktakes", 190, schema) is None
    assert quarantine_warning("quicktakes", 0, _reasons()) is None
    too_large = quarantine_warning("quicktakes", 10, _reasons(("file_too_large", "over 5 MB", 6)))
    assert too_large is not None and "--profile" not in too_large
