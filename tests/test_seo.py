"""SEO checks: one page that passes every rule, one failing page per rule, site-wide duplicates,
per-subject thresholds, pixel widths, and the sample page."""

import dataclasses

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.test_keywords import frame, page, sample_document
from transforms.keywords import KeywordSettings, keyword_coverage, page_keyword_summary
from transforms.pixel_width import text_width_px
from transforms.seo import (
    FINDING_COLUMNS,
    SEO_RULES,
    SEVERITY,
    SITE_RULES,
    SeoThresholds,
    metadata_keys,
    page_seo_findings,
    resolve_thresholds,
    site_rule_findings,
    site_seo_findings,
)

FILLER = "the body needs regular rest every night to recover well "  # 10 words


def body_with(keyword_mentions: int, words: int = 320) -> str:
    """A body of about ``words`` words mentioning "sleep apnea" ``keyword_mentions`` times."""
    mentions = "Sleep apnea matters. " * keyword_mentions
    filler_words = words - 3 * keyword_mentions
    return "Introduction to sleep apnea.\n\n" + mentions + (FILLER * (filler_words // 10 + 1))


def good_page(**overrides: object) -> dict[str, object]:
    """A page that passes every page-level rule."""
    fields: dict[str, object] = {
        "doc_key": "sleep/sleep-apnea.md",
        "title": "Sleep apnea: causes and treatment",
        "seo_title": "Sleep apnea: causes, signs and treatment",
        "meta_description": "Learn what sleep apnea is, why it happens, the signs to watch for, "
        "and which treatments help.",
        "keywords": ["sleep apnea", "snoring"],
        "body_text": body_with(3),
        "url": "/learn/sleep/questions/sleep-apnea",
        "file_name": "sleep-apnea.md",
    }
    fields.update(overrides)
    return page(**fields)


def rules_of(row: dict[str, object]) -> list[str]:
    return page_seo_findings(frame(row), lambda subject_key: SeoThresholds())["rule"].tolist()


def test_good_page_has_no_findings() -> None:
    assert rules_of(good_page()) == []


@pytest.mark.parametrize(
    ("rule", "overrides"),
    [
        ("title_missing", {"title": "  "}),
        ("seo_title_missing", {"seo_title": None}),
        ("seo_title_too_long", {"seo_title": "Sleep apnea " + "i" * 60}),
        ("seo_title_too_wide", {"seo_title": "Sleep apnea " + "W" * 40}),
        ("seo_title_too_short", {"seo_title": "Sleep apnea"}),
        ("meta_description_missing", {"meta_description": None}),
        ("meta_description_too_short", {"meta_description": "Sleep apnea explained."}),
        ("meta_description_too_long", {"meta_description": "About sleep apnea " + "ill " * 37}),
        ("meta_description_too_wide", {"meta_description": "About sleep apnea " + "W" * 70}),
        ("keywords_missing", {"keywords": []}),
        ("thin_content", {"body_text": body_with(3, words=150)}),
        ("url_file_name_mismatch", {"url": "/learn/sleep/questions/sleep-apnoea"}),
        ("keyword_stuffing", {"body_text": body_with(20)}),
        ("main_keyword_density_low", {"body_text": body_with(0, words=600)}),
        (
            "main_keyword_not_in_title",
            {"title": "Breathing at night", "seo_title": "Why breathing stops at night"},
        ),
        (
            "main_keyword_not_in_meta_description",
            {
                "meta_description": "Learn why breathing stops at night, the signs to watch for, "
                "and what helps."
            },
        ),
    ],
)
def test_each_rule_fails_on_its_bad_page(rule: str, overrides: dict[str, object]) -> None:
    assert rule in rules_of(good_page(**overrides))
    assert rule in SEO_RULES


def test_keywords_are_checked_where_expected_and_where_declared() -> None:
    """Where keywords are not expected (the docs profile), a page without them has no
    keyword finding; a page that declares some is checked as anywhere else."""
    optional = KeywordSettings(expected=False)

    def rules(row: dict[str, object]) -> list[str]:
        return page_seo_findings(frame(row), lambda s: SeoThresholds(), keyword_settings=optional)[
            "rule"
        ].tolist()

    assert rules(good_page(keywords=[])) == []
    assert rules_of(good_page(keywords=[])) == ["keywords_missing"]
    not_in_title = {
        "title": "Breathing at night",
        "seo_title": "Why breathing stops at night, and what helps",
    }
    assert (
        rules(good_page(**not_in_title))
        == rules_of(good_page(**not_in_title))
        == ["main_keyword_not_in_title"]
    )


def test_a_title_suffix_completes_the_seo_titles_that_are_the_page_titles() -> None:
    """Docs pages whose SEO title is their title: search results show it with the site's
    suffix, and the SEO title checks measure that; an SEO title of its own is measured as it is."""
    suffix = SeoThresholds(title_suffix=" - PowerShell | Microsoft Learn")

    def details(row: dict[str, object], bounds: SeoThresholds) -> dict[str, str]:
        found = page_seo_findings(frame(row), lambda s: bounds)
        return dict(zip(found["rule"], found["detail"], strict=True))

    short = good_page(title="Sleep apnea", seo_title="sleep  apnea")
    assert "seo_title_too_short" in details(short, SeoThresholds())
    assert "seo_title_too_short" not in details(short, suffix)
    long = good_page(
        title="Sleep apnea: causes, signs and treatments",
        seo_title="Sleep apnea: causes, signs and treatments",
    )
    assert details(long, suffix)["seo_title_too_long"] == (
        "SEO title (the title + ' - PowerShell | Microsoft Learn') is 72 characters; keep it under 60."
    )
    own = good_page(title="Sleep apnea", seo_title="Sleep apnea: what it is")
    assert details(own, suffix) == details(own, SeoThresholds())
    assert "seo_title_too_short" in details(own, suffix)
    # Per subject too, as a string only.
    assert (
        resolve_thresholds(SeoThresholds(), {"ps": {"title_suffix": " | PS"}}, "ps").title_suffix == " | PS"
    )
    with pytest.raises(ValueError, match="must be a string"):
        resolve_thresholds(SeoThresholds(), {"ps": {"title_suffix": 3}}, "ps")


def test_the_main_keyword_is_not_looked_for_in_metadata_the_page_lacks() -> None:
    """A missing meta description or title is one finding, not also "main keyword not in"."""
    no_description = rules_of(good_page(meta_description=None))
    assert "meta_description_missing" in no_description
    assert "main_keyword_not_in_meta_description" not in no_description
    no_titles = rules_of(good_page(title=None, seo_title=" "))
    assert {"title_missing", "seo_title_missing"} <= set(no_titles)
    assert "main_keyword_not_in_title" not in no_titles
    # Present but without the keyword: still found.
    assert "main_keyword_not_in_title" in rules_of(
        good_page(title=None, seo_title="Why breathing stops at night, and what helps")
    )


def test_width_and_length_are_separate_rules() -> None:
    narrow_but_long = rules_of(good_page(seo_title="Sleep apnea " + "i" * 60))
    assert "seo_title_too_wide" not in narrow_but_long
    wide_but_short = rules_of(good_page(seo_title="Sleep apnea " + "W" * 40))
    assert "seo_title_too_long" not in wide_but_short


def test_detail_names_the_measured_value_and_the_bound() -> None:
    findings = page_seo_findings(
        frame(good_page(seo_title="Sleep apnea " + "x" * 60)), lambda s: SeoThresholds()
    )
    detail = findings.set_index("rule").loc["seo_title_too_long", "detail"]
    assert detail == "SEO title is 72 characters; keep it under 60."


def test_url_file_name_agreement_ignores_md_suffix_and_trailing_slash() -> None:
    assert "url_file_name_mismatch" not in rules_of(good_page(url="https://x.org/learn/sleep-apnea/?a=1"))
    assert "url_file_name_mismatch" not in rules_of(good_page(url=None))


def test_findings_frame_shape_and_vocabulary() -> None:
    findings = page_seo_findings(
        frame(good_page(doc_key="a.md", title=None, keywords=[])), lambda s: SeoThresholds()
    )
    assert list(findings.columns) == FINDING_COLUMNS
    assert set(findings["severity"]) <= {"error", "warning", "notice"}
    assert findings.set_index("rule").loc["title_missing", "severity"] == "error"
    assert set(SEVERITY) == set(SEO_RULES)
    assert (
        page_seo_findings(frame(good_page()), lambda s: SeoThresholds()).columns.tolist() == FINDING_COLUMNS
    )


def test_given_summary_is_used_for_keyword_rules() -> None:
    documents = frame(good_page(body_text=body_with(20)))
    summary = page_keyword_summary(documents, keyword_coverage(documents))
    summary["main_keyword_density"] = 0.01  # pretend the density is fine
    findings = page_seo_findings(documents, lambda s: SeoThresholds(), summary=summary)
    assert "keyword_stuffing" not in findings["rule"].tolist()


# --- thresholds per subject -----------------------------------------------------------------


def test_resolve_thresholds_applies_only_the_subjects_overrides() -> None:
    base = SeoThresholds()
    overrides = {"maths": {"thin_content_words": 150, "seo_title_max_px": 600}}
    maths = resolve_thresholds(base, overrides, "maths")
    assert maths.thin_content_words == 150 and maths.seo_title_max_px == 600.0
    assert maths.meta_description_max_chars == base.meta_description_max_chars
    assert resolve_thresholds(base, overrides, "biology") == base


def test_resolve_thresholds_rejects_unknown_fields_and_bad_values() -> None:
    with pytest.raises(ValueError, match="thin_words"):
        resolve_thresholds(SeoThresholds(), {"maths": {"thin_words": 100}}, "maths")
    with pytest.raises(ValueError, match="must be a number"):
        resolve_thresholds(SeoThresholds(), {"maths": {"thin_content_words": "many"}}, "maths")
    with pytest.raises(ValueError, match="whole number"):
        resolve_thresholds(SeoThresholds(), {"maths": {"thin_content_words": 1.5}}, "maths")


def test_page_findings_use_each_subjects_thresholds() -> None:
    short_body = body_with(2, words=200)
    documents = frame(
        good_page(doc_key="maths.md", subject_key="maths", body_text=short_body),
        good_page(doc_key="bio.md", subject_key="biology", body_text=short_body),
    )
    overrides = {"maths": {"thin_content_words": 150}}
    asked: list[str] = []

    def thresholds_for(subject_key: str) -> SeoThresholds:
        asked.append(subject_key)
        return resolve_thresholds(SeoThresholds(), overrides, subject_key)

    findings = page_seo_findings(documents, thresholds_for)
    thin = findings.loc[findings["rule"] == "thin_content", "doc_key"].tolist()
    assert thin == ["bio.md"]
    assert sorted(asked) == ["biology", "maths"]


def test_thresholds_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        SeoThresholds().thin_content_words = 1  # type: ignore[misc]


# --- site-wide duplicates -------------------------------------------------------------------


def test_duplicates_ignore_case_and_whitespace_and_name_an_example() -> None:
    documents = frame(
        good_page(doc_key="a.md", seo_title="Sleep apnea: causes"),
        good_page(doc_key="b.md", seo_title="  sleep  APNEA: causes "),
        good_page(doc_key="c.md", seo_title="Sleep apnea: causes"),
        good_page(doc_key="d.md", seo_title="Something else entirely here"),
    )
    findings = site_seo_findings(documents)
    assert list(findings.columns) == FINDING_COLUMNS
    titles = findings.loc[findings["rule"] == "duplicate_seo_title"].set_index("doc_key")
    assert sorted(titles.index) == ["a.md", "b.md", "c.md"]
    assert "shared with 2 other pages (e.g. b.md)" in titles.loc["a.md", "detail"]
    assert "(e.g. a.md)" in titles.loc["c.md", "detail"]
    # All four share title and meta description: every page is flagged for both.
    assert (findings["rule"] == "duplicate_meta_description").sum() == 4
    assert (findings["rule"] == "duplicate_title").sum() == 4
    # One column at a time, from frames of doc_key and that column (and the title, which an
    # SEO title equal to it leaves the findings to).
    for column, (rule, _) in SITE_RULES.items():
        alone = site_rule_findings(documents[list(dict.fromkeys(["doc_key", column, "title"]))], column)
        expected = findings.loc[findings["rule"] == rule].reset_index(drop=True)
        pd.testing.assert_frame_equal(alone, expected)


def _duplicate_findings_by_hand(documents, column: str, label: str) -> list[tuple[str, str]]:
    """The duplicate rule written out plainly: (doc_key, detail) in the reported order."""
    groups: dict[str, list[str]] = {}
    for doc_key, value in zip(documents["doc_key"], documents[column], strict=True):
        if isinstance(value, str) and value.strip():
            groups.setdefault(" ".join(value.casefold().split()), []).append(doc_key)
    raw = dict(zip(documents["doc_key"], documents[column], strict=True))
    rows = []
    for members in sorted(sorted(m) for m in groups.values() if len(m) >= 2):
        for position, doc_key in enumerate(members):
            value = raw[doc_key].strip()
            quoted = repr(value if len(value) <= 80 else value[:79].rstrip() + "…")
            others = len(members) - 1
            example = members[1] if position == 0 else members[0]
            detail = f"{label} {quoted} is shared with {others} other page{'s' if others > 1 else ''} (e.g. {example})."
            rows.append((doc_key, detail))
    return rows


@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                ["Sleep", " sleep ", "SLEEP", "Sleep  apnea", "sleep apnea", "", "  ", None, "x" * 90]
            ),
            st.sampled_from(["A", "a", "B", None]),
        ),
        max_size=15,
    ),
    st.randoms(use_true_random=False),
)
def test_duplicate_findings_follow_the_rule_in_any_page_order(values, rng) -> None:
    pages = [
        good_page(doc_key=f"p{n:02d}.md", seo_title=seo, title=title) for n, (seo, title) in enumerate(values)
    ]
    rng.shuffle(pages)
    documents = frame(good_page(doc_key="z.md", seo_title="Unique", title="Unique"), *pages)
    findings = site_seo_findings(documents)
    for rule, column, label in (
        ("duplicate_seo_title", "seo_title", "SEO title"),
        ("duplicate_title", "title", "Title"),
    ):
        got = findings.loc[findings["rule"] == rule, ["doc_key", "detail"]]
        assert list(got.itertuples(index=False, name=None)) == _duplicate_findings_by_hand(
            documents, column, label
        )


def test_unique_and_missing_values_are_not_duplicates() -> None:
    documents = frame(
        good_page(doc_key="a.md", seo_title="First title", meta_description=None, title="One"),
        good_page(doc_key="b.md", seo_title="Second title", meta_description=None, title="Two"),
    )
    assert site_seo_findings(documents).empty


def test_sample_generic_seo_title_is_a_duplicate_once_the_subject_has_two_pages() -> None:
    sample = sample_document()
    assert site_seo_findings(frame(sample)).empty
    second = sample_document(
        doc_key="why-do-we-sleep.md",
        title="Why do we sleep?",
        meta_description="Why the body and brain need sleep, and what happens without it.",
        url="/learn/health-studies/questions/why-do-we-sleep",
        file_name="why-do-we-sleep.md",
    )
    findings = site_seo_findings(frame(sample, second))
    duplicate = findings.loc[findings["rule"] == "duplicate_seo_title"]
    assert sorted(duplicate["doc_key"]) == sorted([sample["doc_key"], "why-do-we-sleep.md"])
    assert "QuickTakes | Health studies" in duplicate["detail"].iloc[0]
    assert set(findings["rule"]) == {"duplicate_seo_title"}


def test_sample_page_findings() -> None:
    rules = set(rules_of(sample_document()))
    # 27-character generic SEO title; 212-character description; 227-word body.
    assert {"seo_title_too_short", "meta_description_too_long", "meta_description_too_wide"} <= rules
    assert {"thin_content", "main_keyword_not_in_title"} <= rules
    assert not rules & {"title_missing", "seo_title_missing", "keywords_missing", "url_file_name_mismatch"}


# --- pixel widths ---------------------------------------------------------------------------


def test_pixel_width_from_arial_advance_widths() -> None:
    # Arial advances (units per em 2048): H 1479, e 1139, l 455, o 1139.
    assert text_width_px("Hello", 20) == pytest.approx((1479 + 1139 + 455 + 455 + 1139) / 2048 * 20)
    assert text_width_px("W", 2048) == pytest.approx(1933)
    assert text_width_px("", 20) == 0


def test_pixel_width_fallbacks() -> None:
    assert text_width_px("漢字", 2048) == pytest.approx(2 * 2048)
    assert text_width_px("é", 20) == pytest.approx(text_width_px("e\u0301", 20))
    lowercase_average = sum(text_width_px(chr(c), 2048) for c in range(ord("a"), ord("z") + 1)) / 26
    assert text_width_px("ж", 2048) == pytest.approx(lowercase_average)


def test_metadata_keys_are_equal_exactly_when_the_site_rules_compare_values_equal() -> None:
    values = ["Straße", "STRASSE", " strasse ", "Sleep  apnea", "sleep APNEA", "Sleep", "", "  ", None]
    doc_keys = [f"p{n}" for n in range(len(values))]
    others = [f"Page {n}" for n in range(len(values))]
    keys = metadata_keys(pd.DataFrame({"doc_key": doc_keys, "seo_title": values, "title": others}))
    assert list(keys.columns) == ["doc_key", "seo_title_key", "meta_description_key", "title_key"]
    seo = keys["seo_title_key"]
    assert seo.iloc[0] == seo.iloc[1] == seo.iloc[2] and seo.iloc[3] == seo.iloc[4]
    assert len({seo.iloc[0], seo.iloc[3], seo.iloc[5]}) == 3
    assert seo.iloc[6:].isna().all() and keys["meta_description_key"].isna().all()
    swapped = metadata_keys(pd.DataFrame({"doc_key": doc_keys, "seo_title": others, "title": values}))
    assert swapped["title_key"].equals(seo.rename("title_key"))


def test_an_seo_title_that_is_the_page_title_is_left_to_the_title_rule() -> None:
    """Docs pages whose SEO title falls back to the title: a duplicated title is one
    finding, duplicate_title, not two. An SEO title of its own is compared as before, also
    with another page's fallback."""
    documents = frame(
        good_page(doc_key="a.md", title="Install", seo_title="Install"),
        good_page(doc_key="b.md", title="install ", seo_title="install "),
        good_page(doc_key="c.md", title="Setup", seo_title="Install and set up the tool"),
        good_page(doc_key="d.md", title="Configure", seo_title="Install and set up the tool"),
    )
    findings = site_seo_findings(documents)
    by_rule = findings.groupby("rule")["doc_key"].apply(sorted).to_dict()
    assert by_rule["duplicate_title"] == ["a.md", "b.md"]
    assert by_rule["duplicate_seo_title"] == ["c.md", "d.md"]
    keys = metadata_keys(documents).set_index("doc_key")
    assert keys.loc[["a.md", "b.md"], "seo_title_key"].isna().all()
    assert keys.loc["c.md", "seo_title_key"] == keys.loc["d.md", "seo_title_key"]
