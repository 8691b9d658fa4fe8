"""Duplicate detection: transforms against datasketch and exact sets, the DuckDB index, and
the issue's figures on a generated corpus with planted duplicates."""

from __future__ import annotations

import importlib.util
import random
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import xxhash
from datasketch import MinHash

from benchmarks.duplicates import (
    duplicate_step,
    generate_corpus,
    new_warehouse,
    read_generated_corpus,
    stored_pairs_after_step,
    title_groups_found,
)
from transforms import minhash
from transforms import shingles as shingles_module
from transforms.duplicates import (
    PRESETS,
    DuplicateSettings,
    band_hashes,
    cluster_duplicates,
    confirm_pairs,
    connected_components,
    estimated_jaccard,
    exact_duplicate_pairs,
    exact_hash,
    fingerprint_documents,
    merge_duplicate_pairs,
    minhash_signatures,
    normalise_text,
    normalise_texts,
    promising_pairs,
    shingle_hashes,
    text_keys,
    title_duplicate_pairs,
    tokenise,
    verify_pairs,
)
from transforms.minhash import exact_jaccard
from transforms.shingles import unique_shingle_sets
from warehouse import duplicate_index

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SENTENCES = (SHARED / "corpora" / "sentences.txt").read_text("utf-8").splitlines()


def make_corpus_module():
    spec = importlib.util.spec_from_file_location("make_corpus", SHARED / "corpora" / "make_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def warehouse() -> duckdb.DuckDBPyConnection:
    return new_warehouse()


def word_shingles(text: str, k: int) -> set[tuple[str, ...]]:
    words = re.findall(r"[^\W_]+", text.lower())
    return {tuple(words[i : i + k]) for i in range(max(1, len(words) - k + 1))} if words else set()


def set_jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b)


def edited(words: list[str], rate: float, rng: random.Random) -> list[str]:
    out = []
    for word in words:
        x = rng.random()
        if x < rate / 2:
            out.append(rng.choice(["alpha", "beta", "gamma", "delta"]) + str(rng.randrange(1000)))
        elif x >= rate:
            out.append(word)
    return out


@pytest.fixture(scope="module")
def text_pairs() -> list[tuple[str, str]]:
    """300 pairs spanning Jaccard 0..1: a text and a copy with 0-40% of its words edited."""
    rng = random.Random(7)
    pairs = []
    for number in range(300):
        words = " ".join(rng.sample(SENTENCES, 8)).split()
        pairs.append((" ".join(words), " ".join(edited(words, 0.4 * number / 300, rng))))
    return pairs


# --- text folding and exact hashes -------------------------------------------------------


def test_normalise_text_folds_case_whitespace_punctuation_and_markdown() -> None:
    assert normalise_text("## The **Cell**,\n\n1. _Membrane_:  lipids!") == "the cell 1 membrane lipids"
    assert normalise_text("Café  NAÏVE") == "café naïve"
    titles = pd.Series(
        ["## The **Cell**,\n\n1. _Membrane_:  lipids!", None, "What is a  CELL?", "Café  NAÏVE"]
    )
    assert normalise_texts(titles).tolist() == [normalise_text(t) for t in titles.fillna("")]


def test_shingles_never_cross_texts_and_short_texts_keep_one() -> None:
    rng = random.Random(4)
    texts = [" ".join(rng.choice("abcdef") for _ in range(rng.randrange(9))) for _ in range(200)]
    hashes, offsets = shingle_hashes(texts, 5)
    for number, text in enumerate(texts):
        alone, _ = shingle_hashes([text], 5)
        np.testing.assert_array_equal(hashes[offsets[number] : offsets[number + 1]], alone)
        assert len(alone) == (max(1, len(text.split()) - 4) if text else 0)
    one, _ = shingle_hashes(["a b", "b a", "a b c"], 5)
    assert len(set(one.tolist())) == 3


def test_ascii_fast_path_splits_like_the_unicode_regex() -> None:
    rng = random.Random(3)
    alphabet = "".join(map(chr, range(128)))
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(60)))
        assert tokenise(text) == re.findall(r"[^\W_]+", text.lower())


def test_exact_hash_ignores_formatting_but_not_words() -> None:
    answer = "Neurons **signal** with neurotransmitters.\n\n- Excitatory ones depolarise."
    reposted = "neurons signal with neurotransmitters  excitatory ones depolarise"
    assert exact_hash(answer) == exact_hash(reposted)
    assert exact_hash(answer) != exact_hash(reposted.replace("excitatory", "inhibitory"))
    assert re.fullmatch(r"[0-9a-f]{16}", exact_hash(answer))


def test_vowel_signs_and_other_marks_are_parts_of_words() -> None:
    """Bengali and Devanagari write vowels and viramas as marks: a word is not cut at them,
    and words that differ only in them (কাজ "work", কজ) are different words."""
    assert tokenise("ধারণা প্রযুক্তি, हिन्दी विषय") == ["ধারণা", "প্রযুক্তি", "हिन्दी", "विषय"]
    assert exact_hash("কাজ করা") != exact_hash("কজ কর")
    titles = pd.Series(["কাজ করা", "কজ কর", "কাজ  করা!"])
    keys = text_keys(titles)
    assert keys[0] == keys[2] != keys[1]
    documents = pd.DataFrame(
        {"doc_key": ["a.md", "b.md", "c.md"], "title": titles, "exact_hash": ["1", "2", "3"]}
    )
    pairs = title_duplicate_pairs(documents)
    assert pairs[["doc_key_a", "doc_key_b"]].values.tolist() == [["a.md", "c.md"]]


def test_pages_without_words_are_no_exact_duplicates_of_each_other() -> None:
    """Pages whose text has no words (code blocks or images only: their plain text is empty)
    share no text: no exact hash, no exact pair; an equal title still pairs them."""
    assert exact_hash("") is None and exact_hash(" -- *** \n\n") is None
    documents = pd.DataFrame(
        {
            "doc_key": ["code/a.md", "code/b.md", "code/c.md", "prose/d.md", "prose/e.md"],
            "title": ["strings.HasPrefix", "strings.HasSuffix", "strings.HasSuffix", "One", "Two"],
            "text": ["", "  ", "", "Same words here.", "same words, here"],
        }
    )
    frame, _, bands = fingerprint_documents(documents, DuplicateSettings())
    assert frame["exact_hash"].isna().tolist() == [True, True, True, False, False]
    assert (bands[:3] == 0).all()  # no band either: never a near-duplicate candidate
    exact = exact_duplicate_pairs(frame)
    assert exact[["doc_key_a", "doc_key_b"]].values.tolist() == [["prose/d.md", "prose/e.md"]]
    title = title_duplicate_pairs(frame)
    assert title[["doc_key_a", "doc_key_b"]].values.tolist() == [["code/b.md", "code/c.md"]]


# --- MinHash against datasketch -----------------------------------------------------------


def test_signatures_equal_datasketch_given_the_same_shingle_hashes(text_pairs) -> None:
    settings = DuplicateSettings()
    texts = [text for pair in text_pairs[:40] for text in pair] + ["", "two words"]
    signatures = minhash_signatures(texts, settings)
    hashes, offsets = shingle_hashes(texts, settings.shingle_size)
    assert signatures.shape == (len(texts), settings.num_perm) and signatures.dtype == np.uint32
    for row in range(len(texts)):
        reference = MinHash(num_perm=settings.num_perm, seed=settings.seed, hashfunc=int)
        reference.update_batch(hashes[offsets[row] : offsets[row + 1]].tolist())
        np.testing.assert_array_equal(signatures[row], reference.hashvalues)


def test_estimated_jaccard_agrees_with_datasketch_and_exact_sets(text_pairs) -> None:
    settings = DuplicateSettings()
    k = settings.shingle_size
    exact, theirs = [], []
    for a, b in text_pairs:
        sets = word_shingles(a, k), word_shingles(b, k)
        exact.append(set_jaccard(*sets))
        sketches = [MinHash(num_perm=settings.num_perm) for _ in sets]
        for sketch, shingles in zip(sketches, sets, strict=True):
            sketch.update_batch([" ".join(s).encode() for s in shingles])
        theirs.append(sketches[0].jaccard(sketches[1]))
    signatures = minhash_signatures([text for pair in text_pairs for text in pair], settings)
    ours = estimated_jaccard(signatures[0::2], signatures[1::2])
    exact, theirs = np.array(exact), np.array(theirs)
    assert exact.min() < 0.2 and exact.max() > 0.95  # the pairs span the range
    # Within sampling error: a 128-value estimate of J has standard error sqrt(J(1-J)/128), so
    # E|estimate - J| ~ sqrt(2/pi) * that, and two independent estimates differ by sqrt(2) more.
    expected_error = np.sqrt(2 / np.pi) * np.sqrt(exact * (1 - exact) / settings.num_perm)
    assert np.abs(ours - exact).mean() <= 1.25 * expected_error.mean()
    assert np.abs(theirs - exact).mean() <= 1.25 * expected_error.mean()
    assert np.abs(ours - theirs).mean() <= 1.25 * np.sqrt(2) * expected_error.mean()
    assert abs((ours - exact).mean()) < 0.01  # no bias


def test_estimates_of_row_pairs_in_chunks_equal_one_comparison(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(7)
    signatures = rng.integers(0, 4, size=(30, 16)).astype(np.uint32)
    signatures[5] = minhash.EMPTY_SIGNATURE_VALUE  # a page without shingles estimates 0
    rows_a, rows_b = rng.integers(0, 30, 50), rng.integers(0, 30, 50)
    whole = estimated_jaccard(signatures[rows_a], signatures[rows_b])
    monkeypatch.setattr(minhash, "_ESTIMATE_CHUNK", 7)
    np.testing.assert_array_equal(minhash.estimated_jaccard_of_rows(signatures, rows_a, rows_b), whole)
    assert whole.min() == 0.0 < whole.max()


def test_shingles_and_their_sets_in_blocks_of_texts_equal_one_block(
    text_pairs, monkeypatch: pytest.MonkeyPatch
) -> None:
    repeated = " ".join(["one two three four five"] * 3)  # shingles that repeat within a text
    texts = ["", "one", *[text for pair in text_pairs[:6] for text in pair], repeated, "two words", ""]
    whole_hashes, whole_offsets = shingle_hashes(texts, 5)
    whole_sets = unique_shingle_sets(whole_hashes, whole_offsets)
    monkeypatch.setattr(shingles_module, "_TEXTS_PER_BLOCK", 3)
    hashes, offsets = shingle_hashes(texts, 5)
    np.testing.assert_array_equal(hashes, whole_hashes)
    np.testing.assert_array_equal(offsets, whole_offsets)
    for blocked, whole in zip(unique_shingle_sets(hashes, offsets), whole_sets, strict=True):
        np.testing.assert_array_equal(blocked, whole)
    assert len(whole_offsets) == len(texts) + 1 and len(whole_sets[0]) < len(whole_hashes)


def test_exact_jaccard_of_hashed_sets_matches_python_sets(text_pairs) -> None:
    texts = [text for pair in text_pairs for text in pair]
    set_hashes, set_offsets = unique_shingle_sets(*shingle_hashes(texts, 5))
    rows = np.arange(0, len(texts), 2)
    ours = exact_jaccard(set_hashes, set_offsets, rows, rows + 1)
    expected = [set_jaccard(word_shingles(a, 5), word_shingles(b, 5)) for a, b in text_pairs]
    np.testing.assert_allclose(ours, expected, atol=1e-3)  # 32-bit shingle hashes may collide


def test_band_hashes_are_stable_across_processes() -> None:
    settings = DuplicateSettings()
    texts = [" ".join(SENTENCES[i : i + 5]) for i in range(0, 50, 5)] + [""]
    bands = band_hashes(minhash_signatures(texts, settings), settings)
    assert bands.shape == (len(texts), settings.bands) and bands.dtype == np.uint64
    assert (bands[-1] == 0).all() and (bands[:-1] != 0).all()
    code = (
        "import sys, json; from transforms.duplicates import *; s = DuplicateSettings(); "
        "t = json.load(sys.stdin); print(band_hashes(minhash_signatures(t, s), s).tolist())"
    )
    import json

    other = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    assert eval(other.stdout) == bands.tolist()


def test_bands_equal_for_equal_signatures_and_differ_between_bands() -> None:
    settings = DuplicateSettings()
    signatures = np.tile(np.arange(settings.num_perm, dtype=np.uint32), (2, 1))
    bands = band_hashes(signatures, settings)
    assert (bands[0] == bands[1]).all()
    assert len(set(bands[0].tolist())) == settings.bands


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_catch_pairs_at_their_threshold(name: str) -> None:
    settings = DuplicateSettings.preset(name)
    assert settings.bands * settings.rows <= settings.num_perm
    assert settings.catch_probability(settings.threshold) >= 0.99


def test_unknown_preset_is_refused() -> None:
    with pytest.raises(ValueError, match="loose"):
        DuplicateSettings.preset("medium")


# --- pairs and clusters -------------------------------------------------------------------


def test_verify_pairs_orders_keys_and_drops_pairs_under_the_threshold(text_pairs) -> None:
    settings = DuplicateSettings()
    near_copy, far_copy = text_pairs[10], text_pairs[290]
    texts = pd.Series([*near_copy, far_copy[1]], index=["z.md", "a.md", "m.md"])
    signatures = minhash_signatures(texts.tolist(), settings)
    candidates = pd.DataFrame({"doc_key_a": ["z.md", "z.md"], "doc_key_b": ["a.md", "m.md"]})
    with_texts = verify_pairs(candidates, texts.index, signatures, settings, texts)
    assert with_texts[["doc_key_a", "doc_key_b", "kind"]].values.tolist() == [["a.md", "z.md", "near"]]
    expected = set_jaccard(word_shingles(near_copy[0], 5), word_shingles(near_copy[1], 5))
    assert with_texts["similarity"].iloc[0] == pytest.approx(expected, abs=1e-3)
    estimated_only = verify_pairs(candidates, texts.index, signatures, settings)
    assert estimated_only["similarity"].iloc[0] == pytest.approx(expected, abs=0.1)
    # Only the near copy's pair is worth its texts; scoring it alone gives the same pairs.
    promising = promising_pairs(candidates, texts.index, signatures, settings)
    assert promising.values.tolist() == [["a.md", "z.md"]]
    assert verify_pairs(promising, texts.index, signatures, settings, texts[["a.md", "z.md"]]).equals(
        with_texts
    )
    confirmed = confirm_pairs(promising, texts.index, signatures, settings, texts[["a.md", "z.md"]])
    assert confirmed.equals(with_texts)


def test_exact_and_title_pairs() -> None:
    documents = pd.DataFrame(
        {
            "doc_key": ["b/q.md", "a/q.md", "c/q.md", "d.md", "e.md"],
            "title": ["What is a cell?", "What is a cell?", "what is a CELL", "Other", ""],
            "question": ["What is a cell?", "What is a cell?", "what is a cell", "Other?", ""],
            "exact_hash": ["h1", "h1", "h2", "h3", "h4"],
        }
    )
    exact = exact_duplicate_pairs(documents)
    assert exact.values.tolist() == [["a/q.md", "b/q.md", "exact", 1.0]]
    title = title_duplicate_pairs(documents)
    assert sorted(map(tuple, title[["doc_key_a", "doc_key_b"]].values)) == [
        ("a/q.md", "c/q.md"),
        ("b/q.md", "c/q.md"),
    ]
    assert set(title["kind"]) == {"title"} and title["similarity"].isna().all()
    merged = merge_duplicate_pairs(
        exact, title, pd.DataFrame([["a/q.md", "b/q.md", "near", 1.0]], columns=exact.columns)
    )
    assert merged.set_index(["doc_key_a", "doc_key_b"])["kind"].to_dict() == {
        ("a/q.md", "b/q.md"): "exact",
        ("a/q.md", "c/q.md"): "title",
        ("b/q.md", "c/q.md"): "title",
    }


def test_large_groups_become_stars_with_the_same_members() -> None:
    settings = DuplicateSettings(group_pair_limit=5)
    documents = pd.DataFrame({"doc_key": [f"p{i:02d}.md" for i in range(12)], "exact_hash": "same"})
    pairs = exact_duplicate_pairs(documents, settings)
    assert len(pairs) == 11 and (pairs["doc_key_a"] == "p00.md").all()
    assert len(exact_duplicate_pairs(documents.head(5), settings)) == 10


def test_connected_components_match_networkx() -> None:
    rng = np.random.default_rng(5)
    edges = rng.integers(0, 400, size=(300, 2))
    labels = connected_components(edges[:, 0], edges[:, 1], 400)
    graph = nx.Graph()
    graph.add_nodes_from(range(400))
    graph.add_edges_from(edges.tolist())
    for component in nx.connected_components(graph):
        assert {labels[node] for node in component} == {min(component)}


def test_clusters_pick_the_canonical_page_by_the_documented_rule() -> None:
    pairs = pd.DataFrame(
        [
            ["a.md", "bb.md", "near", 0.9],
            ["bb.md", "c.md", "exact", 1.0],
            ["x.md", "yy.md", "exact", 1.0],
            ["yy.md", "zzz.md", "exact", 1.0],
            ["a.md", "x.md", "title", None],
        ],
        columns=["doc_key_a", "doc_key_b", "kind", "similarity"],
    )
    documents = pd.DataFrame(
        {
            "doc_key": ["a.md", "bb.md", "c.md", "x.md", "yy.md", "zzz.md"],
            "published_date": pd.to_datetime(["2025-03-01", "2025-01-01", "2025-01-01", None, None, None]),
            "first_seen_run": [1, 2, 1, 3, 3, 3],
        }
    )
    clusters = cluster_duplicates(pairs, documents).set_index("doc_key")
    # oldest date, then earliest first run; without dates or run differences, the shortest key.
    assert clusters["cluster_id"].to_dict() == {
        "a.md": "c.md",
        "bb.md": "c.md",
        "c.md": "c.md",
        "x.md": "x.md",
        "yy.md": "x.md",
        "zzz.md": "x.md",
    }
    assert clusters["is_canonical"].sum() == 2 and clusters.loc["c.md", "is_canonical"]
    assert clusters.loc["a.md", "kind"] == "near" and clusters.loc["x.md", "kind"] == "exact"
    assert (clusters["cluster_size"] == 3).all()


# --- the DuckDB index ---------------------------------------------------------------------


def stored_index(texts: dict[str, str], settings: DuplicateSettings) -> duckdb.DuckDBPyConnection:
    con = warehouse()
    frame = pd.DataFrame({"doc_key": list(texts), "exact_hash": [exact_hash(t) for t in texts.values()]})
    signatures = minhash_signatures(list(texts.values()), settings)
    duplicate_index.store_signatures(con, frame, signatures, band_hashes(signatures, settings))
    return con


@pytest.fixture(scope="module")
def small_index_texts(text_pairs) -> dict[str, str]:
    texts = {}
    for number, (a, b) in enumerate(text_pairs[::10]):
        texts[f"p{number:02d}/a.md"] = a
        texts[f"p{number:02d}/b.md"] = b
    texts["empty-1.md"] = texts["empty-2.md"] = ""
    return texts


def reference_candidates(texts: dict[str, str], settings: DuplicateSettings, changed=None) -> set:
    """Pairs sharing a band, by brute force; pages with equal exact hashes are exact duplicates,
    never candidates."""
    keys = list(texts)
    bands = band_hashes(minhash_signatures(list(texts.values()), settings), settings)
    hashes = [exact_hash(text) for text in texts.values()]
    found = set()
    for i in range(len(keys)):
        for j in range(i + 1, len(keys)):
            shared = (bands[i] == bands[j]) & (bands[i] != 0) & (hashes[i] != hashes[j])
            if shared.any() and (changed is None or keys[i] in changed or keys[j] in changed):
                found.add((keys[i], keys[j]))
    return found


@pytest.mark.parametrize("band_rows_per_join", [8_000_000, 50, 1])  # all bands at once, some, one
def test_band_join_finds_exactly_the_pairs_sharing_a_band(
    small_index_texts, band_rows_per_join: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = DuplicateSettings()
    con = stored_index(small_index_texts, settings)
    monkeypatch.setattr(duplicate_index, "_BAND_ROWS_PER_JOIN", band_rows_per_join)
    candidates = duplicate_index.candidate_pairs(con, None)
    found = set(map(tuple, candidates.values))
    assert found == reference_candidates(small_index_texts, settings)
    assert all(a < b for a, b in found) and len(found) == len(candidates)
    assert ("empty-1.md", "empty-2.md") not in found
    identical = [(f"p{n:02d}/a.md", f"p{n:02d}/b.md") for n in range(len(small_index_texts) // 2 - 1)]
    identical = [pair for pair in identical if small_index_texts[pair[0]] == small_index_texts[pair[1]]]
    assert identical and not set(identical) & found


def test_a_warehouse_indexed_with_doc_keys_in_its_band_rows_keeps_its_candidates(small_index_texts) -> None:
    """Migration 0008 (band rows by signature_id) on an index stored the way 0004 stored it."""
    from warehouse.migrate import migration_files

    settings = DuplicateSettings()
    con = duckdb.connect()
    for version, _, sql in migration_files():
        if version in (4, 6):
            con.execute(sql)
    signatures = minhash_signatures(list(small_index_texts.values()), settings)
    bands = band_hashes(signatures, settings)
    for key, signature, page_bands in zip(small_index_texts, signatures, bands, strict=True):
        text = small_index_texts[key]
        con.execute(  # a text without words stored with the empty text's hash, as before 0012
            "INSERT INTO minhash_signatures (doc_key, exact_hash, signature) VALUES (?, ?, ?)",
            [key, exact_hash(text) or xxhash.xxh64_hexdigest(b""), signature.tolist()],
        )
        for band, band_hash in enumerate(page_bands.tolist()):
            if band_hash:
                con.execute("INSERT INTO minhash_bands VALUES (?, ?, ?)", [key, band, band_hash])
    con.execute(next(sql for version, _, sql in migration_files() if version == 8))
    found = set(map(tuple, duplicate_index.candidate_pairs(con, None).values))
    assert found == reference_candidates(small_index_texts, settings)
    changed = ["p03/b.md", "p20/a.md"]
    found = set(map(tuple, duplicate_index.candidate_pairs(con, changed).values))
    assert found == reference_candidates(small_index_texts, settings, set(changed))
    duplicate_index.store_signatures(  # a page stored after the migration gets a fresh id
        con, pd.DataFrame({"doc_key": ["p03/b.md"], "exact_hash": ["x"]}), signatures[:1], bands[:1]
    )
    ids = [row[0] for row in con.execute("SELECT signature_id FROM minhash_signatures").fetchall()]
    assert len(set(ids)) == len(ids) == len(small_index_texts)


def test_incremental_band_join_only_touches_changed_pages(small_index_texts) -> None:
    settings = DuplicateSettings()
    con = stored_index(small_index_texts, settings)
    changed = ["p03/b.md", "p20/a.md"]
    found = set(map(tuple, duplicate_index.candidate_pairs(con, changed).values))
    assert found == reference_candidates(small_index_texts, settings, set(changed))
    assert found and all(a in changed or b in changed for a, b in found)


def test_store_replaces_rows_and_load_round_trips(small_index_texts) -> None:
    settings = DuplicateSettings()
    con = stored_index(small_index_texts, settings)
    documents = pd.DataFrame(
        {
            "doc_key": ["p01/a.md", "p02/b.md"],
            "text": ["a page rewritten from scratch with other words", small_index_texts["p02/b.md"]],
            "content_hash": ["c1", "c2"],
            "title": ["What is a Cell?", None],
            "question": ["", "Why?"],
        }
    )
    frame, signatures, bands = fingerprint_documents(documents, settings)
    duplicate_index.store_signatures(con, frame.assign(signature=list(signatures), band_hashes=list(bands)))
    assert con.execute("SELECT count(*) FROM minhash_signatures").fetchall()[0][0] == len(small_index_texts)
    per_page = con.execute(
        "SELECT count(*) FROM minhash_bands JOIN minhash_signatures USING (signature_id) WHERE doc_key = 'p01/a.md'"
    ).fetchall()[0][0]
    assert per_page == settings.bands
    ids = [row[0] for row in con.execute("SELECT signature_id FROM minhash_signatures").fetchall()]
    assert len(set(ids)) == len(ids) and None not in ids
    loaded_keys, loaded = duplicate_index.load_signatures(con, [*documents["doc_key"], "missing.md"])
    assert sorted(loaded_keys) == documents["doc_key"].tolist()
    np.testing.assert_array_equal(loaded[list(loaded_keys).index("p01/a.md")], signatures[0])
    stored = duplicate_index.load_fingerprints(con).set_index("doc_key")
    assert stored.loc["p01/a.md", "exact_hash"] == exact_hash(documents["text"][0])
    assert stored.loc["p01/a.md", "title_key"] == text_keys(pd.Series(["what is a cell"]))[0]
    assert pd.isna(stored.loc["p01/a.md", "question_key"]) and pd.isna(stored.loc["p02/b.md", "title_key"])
    assert pd.isna(stored.loc["p00/a.md", "title_key"])


def test_removing_a_page_drops_its_index_rows_and_the_next_pass_its_pairs(small_index_texts) -> None:
    settings = DuplicateSettings()
    con = stored_index(small_index_texts, settings)
    pairs = pd.DataFrame(
        [["p00/a.md", "p00/b.md", "near", 0.9], ["p01/a.md", "p01/b.md", "near", 0.95]],
        columns=["doc_key_a", "doc_key_b", "kind", "similarity"],
    )
    duplicate_index.replace_pairs(con, pairs, run_id=1, touched_doc_keys=None)
    duplicate_index.store_clusters(con, cluster_duplicates(pairs, pd.DataFrame({"doc_key": []})))
    bands_before = con.execute("SELECT count(*) FROM minhash_bands").fetchall()[0][0]
    duplicate_index.remove_documents(con, ["p00/b.md"])
    for table in ("minhash_signatures", "duplicate_clusters"):
        assert con.execute(f"SELECT count(*) FROM {table} WHERE doc_key = 'p00/b.md'").fetchall()[0][0] == 0
    orphans = "SELECT count(*) FROM minhash_bands ANTI JOIN minhash_signatures USING (signature_id)"
    assert con.execute(orphans).fetchall()[0][0] == 0  # its band rows left with its signature
    assert con.execute("SELECT count(*) FROM minhash_bands").fetchall()[0][0] == bands_before - settings.bands
    assert not duplicate_index.candidate_pairs(con, None).isin(["p00/b.md"]).any().any()
    # Its pairs wait for the duplicate pass, which finds the page through them and drops them.
    gone = duplicate_index.unindexed_pair_members(con)
    assert gone == ["p00/b.md"]
    regrouped, _ = duplicate_index.group_neighbourhood(con, gone)
    assert set(regrouped) >= {"p00/a.md", "p00/b.md"}
    duplicate_index.replace_pairs(con, pairs.iloc[:0], 2, gone, regrouped)
    assert duplicate_index.load_pairs(con)["doc_key_a"].tolist() == ["p01/a.md"]
    assert duplicate_index.unindexed_pair_members(con) == []


def random_site_change(
    documents: pd.DataFrame, rng: random.Random, number: int
) -> tuple[pd.DataFrame, list[str]]:
    """documents with a few pages edited (answer, title or question moved into or out of a
    group), deleted (hubs of star groups among them: the smallest keys) or added."""
    documents = documents.copy()
    changed: list[str] = []
    keys = documents["doc_key"].tolist()
    for doc_key in rng.sample(keys, 4):
        row = documents.index[documents["doc_key"] == doc_key][0]
        column = rng.choice(["answer", "title", "question"])
        if rng.random() < 0.6:
            documents.loc[row, column] = documents[column].iloc[rng.randrange(len(documents))]
        else:
            documents.loc[row, column] = f"{rng.choice(SENTENCES)} {number} {rng.random()}"
        changed.append(doc_key)
    deleted = {min(keys), *rng.sample(keys, 2)} - set(changed)
    documents = documents[~documents["doc_key"].isin(deleted)]
    donor = documents.iloc[rng.randrange(len(documents))]
    added = pd.DataFrame([{**donor.to_dict(), "doc_key": f"a{number:02d}.md"}])
    return pd.concat([documents, added], ignore_index=True), [*changed, *added["doc_key"]]


def test_incremental_groups_equal_a_full_run_through_random_changes() -> None:
    """Runs that change, delete and add pages, over exact, title and question groups small and
    large (stars): the stored pairs and clusters equal a first run's on the same pages."""
    rng = random.Random(3)
    settings = DuplicateSettings(group_pair_limit=3)
    answers = [" ".join(rng.sample(SENTENCES, 6)) for _ in range(6)]
    titles = [f"Title {n}" for n in range(5)]
    documents = pd.DataFrame(
        {
            "doc_key": [f"p{n:02d}.md" for n in range(40)],
            "answer": [rng.choice(answers) + rng.choice(["", " More."]) for _ in range(40)],
            "title": [rng.choice(titles) for _ in range(40)],
            "question": [rng.choice(["Why?", "How?", "", "When?"]) for _ in range(40)],
            "published_date": pd.NaT,
        }
    )
    con = warehouse()
    duplicate_step(con, documents, settings, run_id=1)
    columns = ["doc_key_a", "doc_key_b", "kind"]
    clusters = "SELECT * FROM duplicate_clusters ORDER BY doc_key"
    for run_id in range(2, 10):
        before = set(documents["doc_key"])
        documents, changed = random_site_change(documents, rng, run_id)
        deleted = sorted(before - set(documents["doc_key"]))
        duplicate_step(con, documents, settings, run_id, changed_doc_keys=changed, deleted_doc_keys=deleted)
        full_con = warehouse()
        duplicate_step(full_con, documents, settings, run_id=1)
        incremental, full = duplicate_index.load_pairs(con), duplicate_index.load_pairs(full_con)
        assert incremental[columns].values.tolist() == full[columns].values.tolist(), f"run {run_id}"
        np.testing.assert_allclose(incremental["similarity"], full["similarity"])
        assert con.sql(clusters).fetchall() == full_con.sql(clusters).fetchall()
        assert set(full["kind"]) == {"exact", "near", "title"}


@pytest.mark.parametrize("questions_as_titles", [False, True])
@pytest.mark.parametrize("chunk_pages", [1, 2, 5, 13])
def test_a_first_run_in_chunks_of_groups_and_pairs_equals_one_chunk(
    chunk_pages: int, questions_as_titles: bool
) -> None:
    """A first run reads the pages sharing an exact hash, title or question a chunk of
    groups at a time, and verifies near pairs a chunk at a time: whatever the chunk size,
    the stored pairs and clusters are those of a run in one chunk (groups large enough to
    be stars among them). Question groups of the very pages of a title group are not read
    (questions_as_titles: most pages ask their title)."""
    rng = random.Random(chunk_pages)
    settings = DuplicateSettings(group_pair_limit=3)
    answers = [" ".join(rng.sample(SENTENCES, 6)) for _ in range(6)]
    documents = pd.DataFrame(
        {
            "doc_key": [f"p{n:02d}.md" for n in range(40)],
            "answer": [rng.choice(answers) + rng.choice(["", " More.", " Less."]) for _ in range(40)],
            "title": [rng.choice([f"Title {n}" for n in range(6)] + [""]) for _ in range(40)],
            "question": [rng.choice(["Why?", "How?", "", "When?", "Who?"]) for _ in range(40)],
            "published_date": pd.NaT,
        }
    )
    if questions_as_titles:  # but for a few pages, which split some title groups' questions
        asks_title = [rng.random() < 0.85 for _ in range(40)]
        documents["question"] = documents["title"].where(asks_title, documents["question"])
    whole, chunked = warehouse(), warehouse()
    duplicate_step(whole, documents, settings, run_id=1)
    duplicate_step(chunked, documents, settings, run_id=1, chunk_pages=chunk_pages)
    for query in (
        "SELECT * FROM duplicate_pairs ORDER BY ALL",
        "SELECT * FROM duplicate_clusters ORDER BY ALL",
    ):
        assert chunked.sql(query).fetchall() == whole.sql(query).fetchall()
    kinds = {kind for (kind,) in whole.sql("SELECT DISTINCT kind FROM duplicate_pairs").fetchall()}
    assert kinds == {"exact", "near", "title"}
    # The same as the pair transforms over every page's keys at once (near pairs as stored).
    fingerprints = duplicate_index.load_fingerprints(chunked)
    expected = merge_duplicate_pairs(
        exact_duplicate_pairs(fingerprints, settings),
        duplicate_index.load_pairs(chunked, ["near"]),
        title_duplicate_pairs(fingerprints, settings),
    )
    columns = ["doc_key_a", "doc_key_b", "kind"]
    stored = duplicate_index.load_pairs(chunked)[columns]
    assert sorted(map(tuple, expected[columns].values)) == sorted(map(tuple, stored.values))
    # Only pages sharing a value are read, each group whole in one frame.
    for column in duplicate_index.GROUP_COLUMNS:
        frames = list(duplicate_index.pages_sharing_groups(chunked, column, chunk_pages))
        sizes = whole.sql(
            f"SELECT {column}, count(*) FROM minhash_signatures WHERE {column} IS NOT NULL "
            f"GROUP BY ALL HAVING count(*) >= 2"
        ).fetchall()
        values = [value for frame in frames for value in frame[column].tolist()]
        assert sorted(map(str, values)) == sorted(str(v) for v, n in sizes for _ in range(n))
        assert all(len(frame) < chunk_pages + max(n for _, n in sizes) for frame in frames)
        groups_per_frame = [set(frame[column]) for frame in frames]
        assert sum(map(len, groups_per_frame)) == len(set().union(*groups_per_frame)) == len(sizes)
    # Question groups read unless they are a title group's very pages.
    members = whole.sql(
        "SELECT title_key, question_key, list(doc_key ORDER BY doc_key) FROM minhash_signatures GROUP BY ALL"
    ).fetchall()
    by_title: dict = {}
    by_question: dict = {}
    for title_key, question_key, keys in members:
        if title_key is not None:
            by_title.setdefault(title_key, set()).update(keys)
        if question_key is not None:
            by_question.setdefault(question_key, set()).update(keys)
    kept = {q for q, pages in by_question.items() if len(pages) >= 2 and pages not in by_title.values()}
    frames = duplicate_index.pages_sharing_groups(chunked, "question_key", chunk_pages, "title_key")
    assert {value for frame in frames for value in frame["question_key"].tolist()} == kept
    if questions_as_titles:
        assert len(kept) < sum(len(pages) >= 2 for pages in by_question.values())


def test_replace_pairs_keeps_untouched_near_pairs_and_first_found_run() -> None:
    con = warehouse()
    columns = ["doc_key_a", "doc_key_b", "kind", "similarity"]
    first = pd.DataFrame(
        [["a", "b", "near", 0.9], ["c", "d", "near", 0.8], ["e", "f", "exact", 1.0]], columns=columns
    )
    duplicate_index.replace_pairs(con, first, run_id=1, touched_doc_keys=None)
    second = pd.DataFrame([["c", "d", "near", 0.85], ["g", "h", "exact", 1.0]], columns=columns)
    duplicate_index.replace_pairs(con, second, run_id=2, touched_doc_keys=["c"])
    stored = duplicate_index.load_pairs(con).set_index(["doc_key_a", "doc_key_b"])
    # a-b untouched near pair kept; c-d refound keeps run 1; e-f no longer exact; g-h new.
    assert stored["found_run"].to_dict() == {("a", "b"): 1, ("c", "d"): 1, ("g", "h"): 2}
    assert stored.loc[("c", "d"), "similarity"] == 0.85


@pytest.mark.parametrize("seed", range(5))
def test_replace_pairs_takes_unmerged_frames_as_their_merge(seed: int) -> None:
    """Pairs handed over in several frames, repeats within and across them, are stored as
    `merge_duplicate_pairs` of those frames would be: the strongest kind of each pair."""
    rng = np.random.default_rng(seed)
    keys = [f"p{i}" for i in range(8)]
    frames = []
    for kind in ("title", "near", "exact"):
        a, b = rng.integers(0, 8, 12), rng.integers(0, 8, 12)
        rows = [(keys[min(x, y)], keys[max(x, y)]) for x, y in zip(a, b, strict=True) if x != y]
        similarity = 1.0 if kind == "exact" else (np.nan if kind == "title" else 0.9)
        frames.append(
            pd.DataFrame(rows, columns=["doc_key_a", "doc_key_b"]).assign(kind=kind, similarity=similarity)
        )
    merged, split = warehouse(), warehouse()
    duplicate_index.replace_pairs(merged, merge_duplicate_pairs(*frames), run_id=1, touched_doc_keys=None)
    duplicate_index.replace_pairs(split, frames, run_id=1, touched_doc_keys=None)
    generated = warehouse()  # frames taken one at a time, as a first run hands them over
    duplicate_index.replace_pairs(generated, (frame for frame in frames), run_id=1, touched_doc_keys=None)
    stored = "SELECT * FROM duplicate_pairs ORDER BY ALL"
    assert split.sql(stored).fetchall() == merged.sql(stored).fetchall() == generated.sql(stored).fetchall()
    assert {kind for (kind,) in split.sql("SELECT DISTINCT kind FROM duplicate_pairs").fetchall()} <= {
        "exact",
        "near",
        "title",
    }
    assert split.sql("SELECT count(*) FROM duplicate_pairs").fetchall()[0][0] > 5


# --- the figures on a generated corpus ----------------------------------------------


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> tuple[pd.DataFrame, pd.DataFrame]:
    content = tmp_path_factory.mktemp("duplicates") / "corpus"
    # 10% near copies (200 pairs, 40 per edit rate) so that recall figures rest on enough pairs.
    generate_corpus(content, 2000, seed=11, near=0.10)
    truth = pd.read_csv(Path(f"{content}.truth") / "pairs.csv")
    truth[["path_a", "path_b"]] = np.sort(truth[["path_a", "path_b"]].to_numpy(), axis=1)
    return read_generated_corpus(content), truth


@pytest.fixture(scope="session")
def default_pairs(corpus) -> pd.DataFrame:
    return stored_pairs_after_step(corpus[0], DuplicateSettings.preset("default"))


@pytest.fixture(scope="session")
def loose_pairs(corpus) -> pd.DataFrame:
    return stored_pairs_after_step(corpus[0], DuplicateSettings.preset("loose"))


def found_kinds(pairs: pd.DataFrame, truth: pd.DataFrame) -> pd.Series:
    kinds = pairs.set_index(["doc_key_a", "doc_key_b"])["kind"]
    index = pd.MultiIndex.from_arrays([truth["path_a"], truth["path_b"]])
    return pd.Series(kinds.reindex(index).to_numpy(), index=truth.index)


def test_every_planted_exact_pair_is_found(corpus, default_pairs) -> None:
    truth = corpus[1][corpus[1]["kind"] == "exact"]
    assert len(truth) >= 30
    assert (found_kinds(default_pairs, truth) == "exact").all()


@pytest.mark.parametrize(("preset", "max_edit_rate"), [("default", 0.02), ("loose", 0.05)])
def test_near_pairs_recall(corpus, default_pairs, loose_pairs, preset, max_edit_rate) -> None:
    pairs = {"default": default_pairs, "loose": loose_pairs}[preset]
    truth = corpus[1][(corpus[1]["kind"] == "near") & (corpus[1]["edit_rate"] <= max_edit_rate)]
    assert len(truth) >= 80
    assert found_kinds(pairs, truth).isin(["near", "exact"]).mean() >= 0.98


@pytest.mark.parametrize("preset", ["default", "loose"])
def test_no_reported_pair_under_jaccard5_one_half(corpus, default_pairs, loose_pairs, preset) -> None:
    pairs = {"default": default_pairs, "loose": loose_pairs}[preset]
    make_corpus = make_corpus_module()
    raw = corpus[0].set_index("doc_key")["answer"].str.replace("\n", "\\n")  # as make_corpus scored it
    reported = pairs[pairs["kind"].isin(["near", "exact"])]
    assert len(reported) >= 50
    scores = [make_corpus.jaccard5(raw[a], raw[b]) for a, b in reported[["doc_key_a", "doc_key_b"]].values]
    assert min(scores) >= 0.5
    # and the similarity reported is that Jaccard (up to the backslash-n tokens make_corpus keeps)
    assert np.abs(np.array(scores) - reported["similarity"].to_numpy()).max() < 0.05


def test_title_pairs_are_surfaced_as_title_groups(corpus, default_pairs) -> None:
    truth = corpus[1][corpus[1]["kind"] == "title"]
    assert len(truth) >= 10
    assert title_groups_found(default_pairs, truth) == 1.0
    # pages of a title group have different answers: none of the planted ones is near
    title = default_pairs[default_pairs["kind"] == "title"]
    truth_pairs = set(zip(truth["path_a"], truth["path_b"], strict=True))
    assert not truth_pairs & set(
        zip(
            default_pairs.loc[default_pairs["kind"] != "title", "doc_key_a"],
            default_pairs.loc[default_pairs["kind"] != "title", "doc_key_b"],
            strict=True,
        )
    )
    assert len(title) >= len(truth)


def test_clusters_hold_every_planted_exact_copy(corpus, default_pairs) -> None:
    clusters = cluster_duplicates(default_pairs, corpus[0]).set_index("doc_key")["cluster_id"]
    truth = corpus[1][corpus[1]["kind"] == "exact"]
    assert (clusters[truth["path_a"]].to_numpy() == clusters[truth["path_b"]].to_numpy()).all()


def test_incremental_run_equals_a_full_run(corpus) -> None:
    documents, truth = corpus
    settings = DuplicateSettings.preset("default")
    con = warehouse()
    duplicate_step(con, documents, settings, run_id=1)
    near = truth[(truth["kind"] == "near") & (truth["edit_rate"] <= 0.02)]
    deleted = [near["path_b"].iloc[0]]
    source, target = documents["doc_key"].iloc[5], documents["doc_key"].iloc[6]
    changed_documents = documents[~documents["doc_key"].isin(deleted)].copy()
    answers = changed_documents.set_index("doc_key")["answer"]
    changed_documents.loc[changed_documents["doc_key"] == target, "answer"] = answers[source] + " Updated."
    duplicate_step(con, changed_documents, settings, 2, changed_doc_keys=[target], deleted_doc_keys=deleted)
    incremental = duplicate_index.load_pairs(con)
    full_con = warehouse()
    duplicate_step(full_con, changed_documents, settings, run_id=1)
    full = duplicate_index.load_pairs(full_con)

    columns = ["doc_key_a", "doc_key_b", "kind"]
    assert incremental[columns].values.tolist() == full[columns].values.tolist()
    np.testing.assert_allclose(incremental["similarity"], full["similarity"])
    assert not incremental[columns[:2]].isin(deleted).any().any()
    new_pair = incremental.set_index(["doc_key_a", "doc_key_b"]).loc[
        (min(source, target), max(source, target))
    ]
    assert new_pair["kind"] == "near" and new_pair["found_run"] == 2
    assert (incremental["found_run"] == 1).sum() == len(incremental) - 1
    clusters = "SELECT * FROM duplicate_clusters ORDER BY doc_key"
    assert con.sql(clusters).fetchall() == full_con.sql(clusters).fetchall()


def test_powershell_help_pages_of_7_4_and_7_5_are_grouped() -> None:
    root = SHARED / "corpora" / "powershell-docs"
    rows = []
    for path in sorted(root.rglob("*.md")):
        text = path.read_text("utf-8", errors="replace")
        body = text.split("---", 2)[2] if text.startswith("---") and text.count("---") >= 2 else text
        rows.append(
            {"doc_key": path.relative_to(root).as_posix(), "title": "", "question": "", "answer": body}
        )
    documents = pd.DataFrame(rows)
    settings = DuplicateSettings.preset("default")
    con = warehouse()
    duplicate_step(con, documents, settings, run_id=1)
    clusters = (
        con.sql("SELECT doc_key, cluster_id FROM duplicate_clusters").df().set_index("doc_key")["cluster_id"]
    )
    keys = set(documents["doc_key"])
    both = sorted(key[4:] for key in keys if key.startswith("7.4/") and "7.5/" + key[4:] in keys)
    assert len(both) >= 400
    older, newer = ["7.4/" + key for key in both], ["7.5/" + key for key in both]
    grouped = clusters.reindex(older).to_numpy() == clusters.reindex(newer).to_numpy()
    assert grouped.mean() >= 0.99
    # a version pair left apart is one whose text really changed
    answers = documents.set_index("doc_key")["answer"]
    for old, new in zip(np.array(older)[~grouped], np.array(newer)[~grouped], strict=True):
        assert (
            set_jaccard(word_shingles(answers[old], 5), word_shingles(answers[new], 5)) < settings.threshold
        )


def test_buckets_over_the_size_cap_are_skipped() -> None:
    settings = DuplicateSettings()
    texts = [" ".join(SENTENCES[:6])] * 3 + [SENTENCES[40]]
    # Equal signatures, so every band bucket holds a, b and c; exact hashes told apart, so the
    # pairs stay candidates (equal exact hashes never are).
    con = warehouse()
    frame = pd.DataFrame({"doc_key": ["a.md", "b.md", "c.md", "d.md"], "exact_hash": ["1", "2", "3", "4"]})
    signatures = minhash_signatures(texts, settings)
    duplicate_index.store_signatures(con, frame, signatures, band_hashes(signatures, settings))
    for changed in (None, ["a.md"]):
        assert duplicate_index.candidate_pairs(con, changed, max_bucket_size=2).empty
        found = set(map(tuple, duplicate_index.candidate_pairs(con, changed, max_bucket_size=3).values))
        assert found == (
            {("a.md", "b.md"), ("a.md", "c.md"), ("b.md", "c.md")}
            if changed is None
            else {("a.md", "b.md"), ("a.md", "c.md")}
        )


def test_pair_members_lists_each_page_once() -> None:
    from transforms.duplicates import pair_members

    pairs = pd.DataFrame({"doc_key_a": ["a.md", "b.md", "a.md"], "doc_key_b": ["c.md", "c.md", "b.md"]})
    assert sorted(pair_members(pairs)) == ["a.md", "b.md", "c.md"]
    assert pair_members(pairs.iloc[:0]) == []
