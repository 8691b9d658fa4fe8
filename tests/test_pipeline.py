"""The real flow on the sample page and on generated corpora: every file accounted for,
reruns incremental, mutations counted exactly."""

from __future__ import annotations

import csv
import os
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from tests.conftest import duckdb_size_bytes, mutate_corpus


def _rows(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def _csv(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_sample_page_is_ingested(run_audit, shared: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "sample.duckdb"
    summary = run_audit(shared / "sample", warehouse)
    assert summary["status"] == "completed"
    assert (summary["files_seen"], summary["docs_new"], summary["files_quarantined"]) == (1, 1, 0)
    ((doc_key, subject, subject_key, seo_title, keywords, body_text, body_markdown, published),) = _rows(
        warehouse,
        "SELECT doc_key, subject, subject_key, seo_title, keywords, body_text, body_markdown, "
        "published_date FROM documents",
    )
    assert doc_key.endswith("neurotransmitters.md") and "/" not in doc_key
    assert (subject, subject_key, seo_title) == (
        "Health studies",
        "health-studies",
        "QuickTakes | Health studies",
    )
    assert len(keywords) == 15 and keywords[3] == "GABA"
    assert "\\n" not in body_markdown and "\n\n1. **Excitatory" in body_markdown
    assert "**" not in body_text and "&nbsp;" not in body_text
    assert str(published) == "2025-02-06"


def test_generated_corpus_runs_are_incremental(run_audit, corpus_factory, tmp_path: Path) -> None:
    content = corpus_factory(2000)
    warehouse = tmp_path / "w.duckdb"
    bad = {row["path"]: row for row in _csv(Path(str(content) + ".truth/bad.csv"))}
    files = sorted(p.relative_to(content).as_posix() for p in content.rglob("*.md"))

    first = run_audit(content, warehouse)
    assert first["status"] == "completed"
    assert first["files_seen"] == len(files)
    assert first["docs_new"] + first["files_quarantined"] == len(files)
    quarantined = {p for (p,) in _rows(warehouse, "SELECT path FROM ingest_errors WHERE run_id = 1")}
    rejected = {p for p, row in bad.items() if row["expected"] == "reject"}
    accepted = {p for p, row in bad.items() if row["expected"] == "accept"}
    assert quarantined == rejected
    live = {k for (k,) in _rows(warehouse, "SELECT doc_key FROM documents WHERE deleted_run IS NULL")}
    assert accepted <= live and not (rejected & live)
    assert _rows(warehouse, "SELECT count(*), count(DISTINCT doc_key) FROM documents")[0] == (
        len(live),
        len(live),
    )

    site_tables = {
        table: _rows(warehouse, f"SELECT * FROM {table} ORDER BY ALL")
        for table in ("seo_findings", "duplicate_pairs", "duplicate_clusters")
    }
    assert all(site_tables.values())
    # Nothing changes before the second run: it keeps the site-wide results instead of
    # recomputing them. Emptying one table shows which: a recomputation would refill it.
    with duckdb.connect(str(warehouse)) as con:
        assert con.execute("SELECT count(*) FROM keyword_cannibalisation").fetchone()[0] > 0
        con.execute("DELETE FROM keyword_cannibalisation")

    second = run_audit(content, warehouse)
    assert (second["docs_new"], second["docs_changed"], second["docs_deleted"]) == (0, 0, 0)
    assert second["docs_unchanged"] == first["docs_new"]
    assert second["files_seen"] == first["files_seen"]
    assert _rows(warehouse, "SELECT count(*) FROM keyword_cannibalisation") == [(0,)]
    for table, rows in site_tables.items():
        assert _rows(warehouse, f"SELECT * FROM {table} ORDER BY ALL") == rows, table

    mutations = mutate_corpus(content)
    expected = {"changed": 0, "deleted": 0, "added": 0}
    for row in _csv(mutations):
        expected[row["change"]] += 1
    third = run_audit(content, warehouse)
    assert (third["docs_changed"], third["docs_deleted"], third["docs_new"]) == (
        expected["changed"],
        expected["deleted"],
        expected["added"],
    )
    assert third["files_seen"] == (
        third["docs_new"] + third["docs_changed"] + third["docs_unchanged"] + third["files_quarantined"]
    )
    assert _rows(warehouse, "SELECT count(*) FROM keyword_cannibalisation")[0][0] > 0  # recomputed
    # The incremental site pass (the site checks beside the duplicate pass) comes out as a
    # full refresh of the same pages does.
    site_sql = {
        "seo_findings": "SELECT * FROM seo_findings",
        "keyword_cannibalisation": "SELECT * FROM keyword_cannibalisation",
        "duplicate_pairs": "SELECT * EXCLUDE (found_run) FROM duplicate_pairs",
        "duplicate_clusters": "SELECT * FROM duplicate_clusters",
    }
    incremental = {table: _rows(warehouse, f"{sql} ORDER BY ALL") for table, sql in site_sql.items()}
    refreshed = tmp_path / "refreshed.duckdb"
    shutil.copy(warehouse, refreshed)
    run_audit(content, refreshed, tmp_path / "refreshed-report", full_refresh=True)
    for table, sql in site_sql.items():
        assert _rows(refreshed, f"{sql} ORDER BY ALL") == incremental[table], table
    deleted = {p for (p,) in _rows(warehouse, "SELECT doc_key FROM documents WHERE deleted_run = 3")}
    assert deleted == {row["path"] for row in _csv(mutations) if row["change"] == "deleted"}
    # analysis follows the documents: every live page scored once, deleted ones gone
    assert (
        _rows(warehouse, "SELECT count(*) FROM readability")[0][0]
        == len(live) - expected["deleted"] + expected["added"]
    )
    assert (
        _rows(
            warehouse,
            "SELECT count(*) FROM readability r JOIN documents d USING (doc_key) "
            "WHERE r.content_hash <> d.content_hash",
        )[0][0]
        == 0
    )


@pytest.mark.parametrize("bad_value", ["answer: [1, 2]", "answer:\n  nested: mapping"])
def test_good_document_turning_bad_keeps_last_version(
    run_audit, shared: Path, tmp_path: Path, bad_value: str
) -> None:
    content = tmp_path / "content"
    content.mkdir()
    page = next((shared / "sample").glob("*.md"))
    target = content / page.name
    target.write_text(page.read_text("utf-8"), "utf-8")
    warehouse = tmp_path / "w.duckdb"
    run_audit(content, warehouse)
    text = page.read_text("utf-8")
    start = text.index("answer: >-")
    end = text.index("subject:")
    target.write_text(text[:start] + bad_value + "\n" + text[end:], "utf-8")
    summary = run_audit(content, warehouse)
    assert (summary["files_quarantined"], summary["docs_changed"], summary["docs_deleted"]) == (1, 0, 0)
    ((kind, kept),) = _rows(warehouse, "SELECT error_kind, kept_previous_version FROM ingest_errors")
    assert (kind, kept) == ("wrong_type", True)
    assert _rows(warehouse, "SELECT count(*) FROM documents WHERE deleted_run IS NULL")[0][0] == 1


def test_quarantined_file_is_not_read_again_until_it_changes(run_audit, shared: Path, tmp_path: Path) -> None:
    content = tmp_path / "content"
    content.mkdir()
    page = next((shared / "sample").glob("*.md")).read_bytes()
    (content / "good.md").write_bytes(page)
    bad = content / "bad.md"
    broken = page.replace(b"\ntitle: ", b"\ntitle: [", 1)  # an unclosed flow sequence
    bad.write_bytes(broken)
    warehouse = tmp_path / "w.duckdb"
    first = run_audit(content, warehouse)
    assert (first["files_quarantined"], first["docs_new"]) == (1, 1)
    stat = bad.stat()
    # Same size and mtime, valid bytes: trusted as unchanged, like a document, so not read.
    fixed = page.replace(b"\ntitle: ", b"\ntitle: A", 1)
    assert len(fixed) == len(broken)
    bad.write_bytes(fixed)
    os.utime(bad, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    second = run_audit(content, warehouse)
    assert (second["files_quarantined"], second["docs_new"], second["docs_unchanged"]) == (1, 0, 1)
    errors = _rows(
        warehouse,
        "SELECT run_id, path, error_kind, message, content_hash, file_size, file_mtime_ns "
        "FROM ingest_errors ORDER BY run_id",
    )
    assert [row[0] for row in errors] == [first["run_id"], second["run_id"]]
    assert errors[0][1:] == errors[1][1:] and errors[0][5:] == (stat.st_size, stat.st_mtime_ns)
    # --full-refresh reads every file again: the fixed bytes become a document.
    third = run_audit(content, warehouse, full_refresh=True)
    assert (third["files_quarantined"], third["docs_new"]) == (0, 1)
    ((title,),) = _rows(warehouse, "SELECT title FROM documents WHERE doc_key = 'bad.md'")
    assert title.startswith("A") and errors[0][2] == "invalid_yaml"


def test_run_with_nothing_changed_keeps_marts_and_posts_only_the_summary(
    run_audit, corpus_factory, tmp_path: Path
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    content = corpus_factory(80, seed=11)
    warehouse = tmp_path / "w.duckdb"
    first = run_audit(content, warehouse)
    findings = sorted(_rows(warehouse, "SELECT * FROM page_findings"))
    scores = sorted(_rows(warehouse, "SELECT doc_key, quality_score FROM page_quality"))
    second = run_audit(content, warehouse)
    assert second["docs_unchanged"] == first["docs_new"] and second["docs_new"] == 0
    assert sorted(_rows(warehouse, "SELECT * FROM page_findings")) == findings
    assert sorted(_rows(warehouse, "SELECT doc_key, quality_score FROM page_quality")) == scores
    assert _rows(warehouse, "SELECT DISTINCT run_id FROM page_quality") == [(second["run_id"],)]
    subjects = _rows(warehouse, "SELECT count(*) FROM subject_quality WHERE run_id = ?", [second["run_id"]])
    assert subjects[0][0] > 0  # the trend still gets this run's point

    def artifacts(flow_run_id: str) -> dict[str, str]:
        with get_client(sync_client=True) as client:
            found = client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])),
                limit=200,
            )
        return {a.key: a.data for a in found}

    posted_first = artifacts(first["prefect_flow_run_id"])
    assert len(posted_first) == 2 + subjects[0][0]
    posted_second = artifacts(second["prefect_flow_run_id"])
    assert set(posted_second) == {"content-quality-summary", "content-quality-subjects"}
    assert "Nothing changed since the last completed run" in posted_second["content-quality-summary"]


def test_artifacts_that_cannot_be_posted_fail_the_flow_after_the_run_completed(
    run_audit, shared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Artifacts are posted while the run is finished and checkpointed: their failure
    surfaces as the flow's error, and the warehouse run and its reports stand."""
    import flows.publish

    def refuse(**_: object) -> None:
        raise ConnectionError("Prefect server went away")

    monkeypatch.setattr(flows.publish, "create_markdown_artifact", refuse)
    warehouse = tmp_path / "w.duckdb"
    with pytest.raises(RuntimeError, match=r"artifacts could not be posted.*Prefect server went away"):
        run_audit(shared / "sample", warehouse, tmp_path / "out")
    assert _rows(warehouse, "SELECT status FROM runs") == [("completed",)]
    assert _rows(warehouse, "SELECT count(*) FROM page_quality") == [(1,)]
    assert (tmp_path / "out" / "index.html").is_file()


def test_each_phase_runs_at_its_duckdb_memory_limit(
    run_audit, shared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches at batch_memory_limit, site checks and duplicates at site_memory_limit, the
    marts and reports at memory_limit (the limits seen by the run's own connection)."""
    import flows.pipeline
    import flows.site

    seen: dict[str, float] = {}

    def recording(phase: str, step):
        def step_with_limit(run, *args, **kwargs):
            setting = run.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
            seen[phase] = duckdb_size_bytes(setting)
            return step(run, *args, **kwargs)

        return step_with_limit

    monkeypatch.setattr(flows.pipeline, "ingest", recording("ingest", flows.pipeline.ingest))
    monkeypatch.setattr(flows.site, "check_site_metadata", recording("site", flows.site.check_site_metadata))
    monkeypatch.setattr(
        flows.site, "detect_duplicates", recording("duplicates", flows.site.detect_duplicates)
    )
    monkeypatch.setattr(flows.pipeline, "publish", recording("publish", flows.pipeline.publish))
    config = tmp_path / "limits.toml"
    config.write_text(
        "[duckdb]\nmemory_limit = '300MB'\nbatch_memory_limit = '100MB'\nsite_memory_limit = '200MB'\n",
        "utf-8",
    )
    assert run_audit(shared / "sample", config=config)["status"] == "completed"
    # DuckDB reports sizes in its own units (300MB -> "286.1 MiB"): compare in bytes.
    assert seen == {
        "ingest": pytest.approx(100e6, rel=0.01),
        "site": pytest.approx(200e6, rel=0.01),
        "duplicates": pytest.approx(200e6, rel=0.01),
        "publish": pytest.approx(300e6, rel=0.01),
    }


def test_a_warehouse_from_before_metadata_keys_gets_them_and_the_same_site_findings(
    run_audit, corpus_factory, tmp_path: Path
) -> None:
    """Pages scored before metadata_keys existed have no rows there: the next run's site
    checks add them and find what a fresh warehouse finds."""
    content = corpus_factory(2000)
    warehouse = tmp_path / "w.duckdb"
    run_audit(content, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("DELETE FROM metadata_keys")
    page = sorted(content.rglob("*.md"))[0]
    page.write_text(page.read_text("utf-8") + "\nOne more sentence for the rerun.\n", "utf-8")
    assert run_audit(content, warehouse)["status"] == "completed"
    fresh = tmp_path / "fresh.duckdb"
    run_audit(content, fresh, tmp_path / "fresh-report")
    site = "SELECT doc_key, rule, detail FROM seo_findings WHERE scope = 'site' ORDER BY ALL"
    assert _rows(warehouse, site) == _rows(fresh, site) and len(_rows(fresh, site)) > 100
    live_without_keys = (
        "SELECT count(*) FROM documents WHERE deleted_run IS NULL "
        "AND doc_key NOT IN (SELECT doc_key FROM metadata_keys)"
    )
    assert _rows(warehouse, live_without_keys) == [(0,)]
    assert _rows(warehouse, "SELECT count(*) FROM metadata_keys") == _rows(
        fresh, "SELECT count(*) FROM metadata_keys"
    )


def _docs_page(title: str, body: str) -> str:
    return f"---\ntitle: {title}\ndescription: What {title} does, in a sentence or two.\n---\n\n{body}\n"


def _docs_site(folder: Path, pages: dict[str, tuple[str, str]]) -> Path:
    """A content folder of docs pages: file name -> (title, markdown body)."""
    folder.mkdir()
    for name, (title, body) in pages.items():
        (folder / name).write_text(_docs_page(title, body), "utf-8")
    return folder


def _run_as_an_older_release(
    run_audit,
    monkeypatch: pytest.MonkeyPatch,
    older_code: list[tuple[object, str, object]],
    migration: int,
    content: Path,
    warehouse: Path,
    **options,
) -> dict:
    """A run with the older code (`older_code`: (module, name, value) to set while it runs),
    then `migration` taken off the warehouse's record, as the release before it left it."""
    with monkeypatch.context() as older_release:
        for module, name, value in older_code:
            older_release.setattr(module, name, value)
        run = run_audit(content, warehouse, **options)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("DELETE FROM schema_version WHERE version = ?", [migration])
    return run


def test_code_only_pages_an_older_release_grouped_as_exact_duplicates_are_regrouped(
    run_audit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages whose text has no words (here code blocks only) are no exact duplicates of each
    other. Releases before migration 0012 hashed every such text alike (xxhash64 of ""), so
    they made one exact group; on such a warehouse the next run scores those pages again
    (no other page) and their exact pairs, clusters and findings go."""
    import xxhash

    import transforms.duplicates
    from transforms.shingles import exact_hashes

    content = tmp_path / "content" / "functions"
    content.mkdir(parents=True)
    for name in ("hasPrefix", "hasSuffix", "trim"):
        (content / f"{name}.md").write_text(
            _docs_page(name, f'```go\n{{{{ {name} "Hugo" "Hu" }}}}\n```'), "utf-8"
        )
    prose = "Trim returns the text with leading and trailing characters removed, as a reader expects."
    (content / "about.md").write_text(_docs_page("About", prose), "utf-8")
    (content / "about-copy.md").write_text(_docs_page("About again", prose), "utf-8")
    warehouse = tmp_path / "w.duckdb"
    exact_pairs = "SELECT doc_key_a, doc_key_b FROM duplicate_pairs WHERE kind = 'exact' ORDER BY ALL"
    copies = [("functions/about-copy.md", "functions/about.md")]

    def older_exact_hashes(words):
        return [h or xxhash.xxh64_hexdigest(b"") for h in exact_hashes(words)]

    older_code = [(transforms.duplicates, "exact_hashes", older_exact_hashes)]
    _run_as_an_older_release(
        run_audit, monkeypatch, older_code, 12, tmp_path / "content", warehouse, profile="docs"
    )
    with duckdb.connect(str(warehouse)) as con:  # its column too
        con.execute("ALTER TABLE minhash_signatures ALTER COLUMN exact_hash SET NOT NULL")
    assert len(_rows(warehouse, exact_pairs)) == 1 + 3  # the copy, and the three code pages

    second = run_audit(tmp_path / "content", warehouse, profile="docs")
    assert second["status"] == "completed" and second["docs_unchanged"] == 5
    assert _rows(warehouse, exact_pairs) == copies
    rescored = "SELECT doc_key FROM readability WHERE scored_run = ? ORDER BY doc_key"
    assert [key for (key,) in _rows(warehouse, rescored, [second["run_id"]])] == [
        f"functions/{name}.md" for name in ("hasPrefix", "hasSuffix", "trim")
    ]
    assert _rows(warehouse, "SELECT count(*) FROM minhash_signatures WHERE exact_hash IS NULL") == [(3,)]
    clustered = "SELECT doc_key FROM duplicate_clusters ORDER BY ALL"
    assert _rows(warehouse, clustered) == [("functions/about-copy.md",), ("functions/about.md",)]
    findings = "SELECT DISTINCT doc_key FROM page_findings WHERE rule = 'exact_duplicate' ORDER BY ALL"
    assert _rows(warehouse, findings) == [("functions/about-copy.md",)]


@pytest.mark.parametrize("profile", ["docs", "quicktakes"])
def test_files_an_older_release_read_without_their_front_matter_are_parsed_again(
    run_audit, shared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, profile: str
) -> None:
    """A blank line before the front matter: an older release read no front matter there (a
    page without its title under the docs profile, a quarantined file under quicktakes).
    Migration 0013 has the next run read and parse those files again, and no other file."""
    import transforms.ingest
    from transforms.front_matter import SplitFile, split_front_matter

    def older_split(text: str) -> SplitFile:
        if text[:1].isspace() and text.strip():
            return SplitFile(None, text.replace("\r\n", "\n"), "none")
        return split_front_matter(text)

    page = next((shared / "sample").glob("*.md")).read_text("utf-8")
    content = tmp_path / "content"
    content.mkdir()
    (content / "plain.md").write_text(page, "utf-8")
    (content / "blank-first.md").write_text("\n" + page, "utf-8")
    warehouse = tmp_path / "w.duckdb"
    older_code = [(transforms.ingest, "split_front_matter", older_split)]
    first = _run_as_an_older_release(
        run_audit, monkeypatch, older_code, 13, content, warehouse, profile=profile
    )
    titles = "SELECT doc_key, title FROM documents WHERE deleted_run IS NULL ORDER BY doc_key"
    if profile == "docs":
        assert (first["docs_new"], first["files_quarantined"]) == (2, 0)
        assert _rows(warehouse, titles)[0][1] is None
    else:
        assert (first["docs_new"], first["files_quarantined"]) == (1, 1)

    second = run_audit(content, warehouse, profile=profile)
    read_again = (0, 1) if profile == "docs" else (1, 0)
    assert (second["docs_new"], second["docs_changed"]) == read_again
    assert (second["docs_unchanged"], second["files_quarantined"]) == (1, 0)
    (_, title_blank_first), (_, title_plain) = _rows(warehouse, titles)
    assert title_blank_first == title_plain and title_plain.startswith("What is the difference")
    third = run_audit(content, warehouse, profile=profile)
    assert (third["docs_unchanged"], third["docs_changed"], third["docs_new"]) == (2, 0, 0)


def test_pages_an_older_release_gave_a_mangled_subject_key_are_keyed_again(
    run_audit, shared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 0014: pages whose subject holds a letter other than an ASCII one, accented or
    not, are read again and keyed anew; the others are left alone."""
    import transforms.ingest
    from tests.test_ingest_transforms import _subject_key_before

    def older_subject_key(subject: str | None) -> str:
        return _subject_key_before(subject) if subject else "unassigned"

    page = next((shared / "sample").glob("*.md")).read_text("utf-8")
    content = tmp_path / "content"
    content.mkdir()
    subjects = {"bengali.md": "ধারণা", "spanish.md": "Tecnología", "hindi.md": "हिन्दी विषय"}
    for name, subject in subjects.items():
        (content / name).write_text(page.replace("subject: Health studies", f"subject: {subject}"), "utf-8")
    warehouse = tmp_path / "w.duckdb"
    older_code = [(transforms.ingest, "subject_key", older_subject_key)]
    _run_as_an_older_release(run_audit, monkeypatch, older_code, 14, content, warehouse)
    keys = "SELECT doc_key, subject_key FROM documents WHERE deleted_run IS NULL ORDER BY doc_key"
    assert _rows(warehouse, keys) == [
        ("bengali.md", "ধ-রণ"),
        ("hindi.md", "unassigned"),
        ("spanish.md", "tecnologia"),
    ]

    second = run_audit(content, warehouse)
    assert (second["docs_changed"], second["docs_unchanged"]) == (2, 1)
    assert _rows(warehouse, keys) == [
        ("bengali.md", "ধারণা"),
        ("hindi.md", "हिन्दी-विषय"),
        ("spanish.md", "tecnologia"),
    ]
    subjects_now = "SELECT subject_key FROM subject_quality WHERE run_id = ? ORDER BY ALL"
    assert [key for (key,) in _rows(warehouse, subjects_now, [second["run_id"]])] == sorted(
        ["ধারণা", "हिन्दी-विषय", "tecnologia"]
    )


def test_pages_an_older_release_read_with_shortcodes_as_prose_are_read_again(
    run_audit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 0015: the pages whose markdown holds a Hugo shortcode are parsed again, and
    their plain text loses the tags and the code; the other pages are left alone."""
    import transforms.plaintext

    shortcode = 'Settings go here.\n\n{{< code-toggle file="hugo" >}}\ntitle = "x"\n{{< /code-toggle >}}'
    content = _docs_site(
        tmp_path / "content",
        {"config.md": ("Configure", shortcode), "plain.md": ("Plain", "Nothing but prose in this one.")},
    )
    warehouse = tmp_path / "w.duckdb"
    older_code = [(transforms.plaintext, "without_shortcodes", lambda markdown: markdown)]
    _run_as_an_older_release(run_audit, monkeypatch, older_code, 15, content, warehouse, profile="docs")
    texts = "SELECT doc_key, body_text FROM documents WHERE deleted_run IS NULL ORDER BY doc_key"
    assert "code-toggle" in _rows(warehouse, texts)[0][1]

    second = run_audit(content, warehouse, profile="docs")
    assert (second["docs_changed"], second["docs_unchanged"]) == (1, 1)
    assert _rows(warehouse, texts) == [
        ("config.md", "Settings go here."),
        ("plain.md", "Nothing but prose in this one."),
    ]


def test_pages_an_older_release_read_with_liquid_tags_as_prose_are_read_again(
    run_audit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 0020: the pages whose markdown holds a Liquid tag are parsed again, and their
    plain text loses the tags and the highlighted code; a page with Hugo's {{% %}} tags only,
    read right before, is left alone."""
    import transforms.plaintext

    liquid_page = (
        "{% include note.html %}\nGems first.\n\n{% highlight sh %}\ngem install x\n{% endhighlight %}"
    )
    content = _docs_site(
        tmp_path / "content",
        {"jekyll.md": ("Install", liquid_page), "hugo.md": ("Note", "{{% note %}}\nA note.\n{{% /note %}}")},
    )
    warehouse = tmp_path / "w.duckdb"
    hugo_only = transforms.plaintext.without_shortcodes
    liquid = re.compile(r"(^|[^{]){%")
    older_code = [
        (transforms.plaintext, "without_shortcodes", lambda md: md if liquid.search(md) else hugo_only(md))
    ]
    _run_as_an_older_release(run_audit, monkeypatch, older_code, 20, content, warehouse, profile="docs")
    texts = "SELECT doc_key, body_text FROM documents WHERE deleted_run IS NULL ORDER BY doc_key"
    assert "include" in _rows(warehouse, texts)[1][1]

    second = run_audit(content, warehouse, profile="docs")  # parsed again, not changed
    assert (second["docs_changed"], second["docs_unchanged"]) == (0, 2)
    assert _rows(warehouse, texts) == [("hugo.md", "A note."), ("jekyll.md", "Gems first.")]
    assert _rows(warehouse, "SELECT DISTINCT last_changed_run FROM documents") == [(1,)]
    assert _rows(warehouse, "SELECT doc_key, scored_run FROM readability ORDER BY 1") == [
        ("hugo.md", 1),
        ("jekyll.md", 2),
    ]


def test_docs_pages_an_older_release_flagged_twice_for_one_duplicated_title_are_scored_again(
    run_audit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 0021: docs pages whose SEO title is their title (the profile's fallback)
    had duplicate_title and duplicate_seo_title for one duplicated title; the next run scores
    them again and keeps duplicate_title only."""
    import transforms.seo

    content = _docs_site(
        tmp_path / "content", {f"{name}.md": ("Install", f"Page {name} says how.") for name in ("a", "b")}
    )
    warehouse = tmp_path / "w.duckdb"
    older_code = [(transforms.seo, "compared_values", lambda documents, column: documents[column])]
    _run_as_an_older_release(run_audit, monkeypatch, older_code, 21, content, warehouse, profile="docs")
    rules = "SELECT rule, count(*) FROM seo_findings WHERE rule LIKE 'duplicate_%' GROUP BY 1 ORDER BY 1"
    assert _rows(warehouse, rules) == [
        ("duplicate_meta_description", 2),
        ("duplicate_seo_title", 2),
        ("duplicate_title", 2),
    ]

    second = run_audit(content, warehouse, profile="docs")
    assert (second["docs_changed"], second["docs_unchanged"]) == (0, 2)
    assert _rows(warehouse, rules) == [("duplicate_meta_description", 2), ("duplicate_title", 2)]
    assert _rows(warehouse, "SELECT DISTINCT scored_run FROM readability") == [(2,)]


def test_pages_an_older_release_flagged_for_a_keyword_missing_from_absent_metadata_are_scored_again(
    run_audit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 0023: a page with keywords and no meta description had both
    meta_description_missing and main_keyword_not_in_meta_description; scored again, the
    first only. A page with a description is left alone."""
    import transforms.seo

    content = tmp_path / "content"
    content.mkdir()
    (content / "bare.md").write_text(
        "---\ntitle: Caching\nkeywords: [caching]\n---\n\nCaching helps.\n", "utf-8"
    )
    (content / "described.md").write_text(_docs_page("Install", "Download it."), "utf-8")
    warehouse = tmp_path / "w.duckdb"
    current = transforms.seo._check_keywords

    def older(row, *rest):  # the older release looked for the keyword in any description
        return current(row._replace(meta_description="(looked for anyway)"), *rest)

    _run_as_an_older_release(
        run_audit,
        monkeypatch,
        [(transforms.seo, "_check_keywords", older)],
        23,
        content,
        warehouse,
        profile="docs",
    )
    rules = "SELECT rule FROM seo_findings WHERE doc_key = 'bare.md' AND rule LIKE '%meta_description%' ORDER BY 1"
    assert _rows(warehouse, rules) == [
        ("main_keyword_not_in_meta_description",),
        ("meta_description_missing",),
    ]

    run_audit(content, warehouse, profile="docs")
    assert _rows(warehouse, rules) == [("meta_description_missing",)]
    assert _rows(warehouse, "SELECT doc_key, scored_run FROM readability ORDER BY 1") == [
        ("bare.md", 2),
        ("described.md", 1),
    ]


def test_pages_an_older_release_fingerprinted_without_marks_are_scored_again(
    run_audit, shared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 0016: pages whose text holds marks (Bengali vowel signs) were fingerprinted
    with words cut at them; the next run scores those pages again, and no other."""
    import re

    import transforms.shingles
    from transforms.shingles import exact_hash

    page = next((shared / "sample").glob("*.md")).read_text("utf-8")
    bengali = "ধারণা হল একটি বিমূর্ত ভাবনা। প্রযুক্তি আমাদের কাজকে সহজ করে তোলে।"
    content = tmp_path / "content"
    content.mkdir()
    (content / "english.md").write_text(page, "utf-8")
    (content / "bengali.md").write_text(
        re.sub(r"answer: >-\n    .*\n", f"answer: >-\n    {bengali}\n", page), "utf-8"
    )
    warehouse = tmp_path / "w.duckdb"
    older_code = [(transforms.shingles, "_WORD", re.compile(r"[^\W_]+"))]
    _run_as_an_older_release(run_audit, monkeypatch, older_code, 16, content, warehouse)
    hashes = "SELECT doc_key, exact_hash FROM minhash_signatures ORDER BY doc_key"
    assert _rows(warehouse, hashes)[0][1] != exact_hash(bengali)

    second = run_audit(content, warehouse)
    assert (second["docs_changed"], second["docs_unchanged"]) == (0, 2)
    rescored = "SELECT doc_key FROM readability WHERE scored_run = ?"
    assert _rows(warehouse, rescored, [second["run_id"]]) == [("bengali.md",)]
    assert _rows(warehouse, hashes)[0] == ("bengali.md", exact_hash(bengali))


def test_pages_an_older_release_read_with_alert_markers_as_prose_are_read_again(
    run_audit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 0017: the pages whose markdown holds a GitHub alert are parsed again, and their
    plain text loses the marker; the other pages are left alone."""
    import pyromark

    import transforms.plaintext

    content = tmp_path / "content"
    content.mkdir()
    (content / "alert.md").write_text(
        _docs_page("Alert", "Intro.\n\n> [!IMPORTANT]\n> Run it as admin."), "utf-8"
    )
    (content / "plain.md").write_text(_docs_page("Plain", "Nothing but prose.\n\n> A quote."), "utf-8")
    warehouse = tmp_path / "w.duckdb"
    older_code = [(transforms.plaintext, "_OPTIONS", pyromark.Options.ENABLE_TABLES)]
    _run_as_an_older_release(run_audit, monkeypatch, older_code, 17, content, warehouse, profile="docs")
    texts = "SELECT doc_key, body_text FROM documents WHERE deleted_run IS NULL ORDER BY doc_key"
    assert _rows(warehouse, texts)[0] == ("alert.md", "Intro.\n\n[!IMPORTANT] Run it as admin.")

    second = run_audit(content, warehouse, profile="docs")
    assert (second["docs_changed"], second["docs_unchanged"]) == (1, 1)
    assert _rows(warehouse, texts) == [
        ("alert.md", "Intro.\n\nRun it as admin."),
        ("plain.md", "Nothing but prose.\n\nA quote."),
    ]


def test_the_profile_option_reaches_the_flow(run_audit, tmp_path: Path) -> None:
    """`--profile docs` without a config file: a docs page (no `answer`) is a document, where
    the default profile quarantines it; the flow run records the profile among its parameters."""
    from prefect import get_client
    from prefect.utilities.asyncutils import run_coro_as_sync

    content = tmp_path / "content"
    content.mkdir()
    (content / "page.md").write_text(_docs_page("Install", "Download the binary and run it."), "utf-8")
    default = run_audit(content, tmp_path / "default.duckdb", tmp_path / "default-report")
    assert (default["docs_new"], default["files_quarantined"]) == (0, 1)
    assert len(default["warnings"]) == 1 and "try --profile docs" in default["warnings"][0]
    kept = _rows(tmp_path / "default.duckdb", "SELECT warnings FROM runs")  # kept with the run
    assert kept == [(default["warnings"],)]
    index = (tmp_path / "default-report" / "index.html").read_text("utf-8")
    assert "data-run-warning" in index and "try --profile docs" in index
    # `content-audit report` rebuilds it from the warehouse: no subject, the run's warning.
    from reports.build import build_reports

    with duckdb.connect(str(tmp_path / "default.duckdb"), read_only=True) as con:
        rebuilt = build_reports(con, tmp_path / "rebuilt").index.read_text("utf-8")
    assert "try --profile docs" in rebuilt
    docs = run_audit(content, tmp_path / "docs.duckdb", tmp_path / "docs-report", profile="docs")
    assert (docs["docs_new"], docs["files_quarantined"], docs["warnings"]) == (1, 0, [])
    assert _rows(tmp_path / "docs.duckdb", "SELECT title FROM documents") == [("Install",)]

    async def parameters() -> dict:
        async with get_client() as client:
            return (await client.read_flow_run(docs["prefect_flow_run_id"])).parameters

    assert run_coro_as_sync(parameters())["profile"] == "docs"


def test_pages_are_parsed_again_when_the_field_mapping_changes(run_audit, tmp_path: Path) -> None:
    """Stored documents depend on the field mapping as much as on their bytes: a run with
    another profile (or --full-refresh) parses every file again, where it kept what the
    last mapping made of unchanged files. Content that did not change keeps the run it
    last changed in, and counts as unchanged; a file the old mapping quarantined is tried."""
    content, warehouse = tmp_path / "content", tmp_path / "w.duckdb"
    content.mkdir()
    (content / "both.md").write_text(
        "---\ntitle: Caching in web servers\n"
        "description: The docs description of caching in web servers.\n"
        "seo:\n  page_description: The QuickTakes description of caching in web servers.\n"
        "answer: The answer says that caching keeps copies of responses close to readers.\n"
        "---\nThe markdown body says that web servers cache pages for the next reader.\n",
        "utf-8",
    )
    (content / "docs-only.md").write_text(_docs_page("Install", "Download the binary and run it."), "utf-8")
    columns = "SELECT doc_key, meta_description, body_markdown, last_changed_run FROM documents ORDER BY 1"

    first = run_audit(content, warehouse)
    assert (first["docs_new"], first["files_quarantined"]) == (1, 1)
    assert _rows(warehouse, columns) == [
        (
            "both.md",
            "The QuickTakes description of caching in web servers.",
            "The answer says that caching keeps copies of responses close to readers.",
            1,
        )
    ]
    docs = run_audit(content, warehouse, profile="docs")
    assert (docs["docs_new"], docs["docs_changed"], docs["docs_unchanged"], docs["files_quarantined"]) == (
        1,
        0,
        1,
        0,
    )
    assert _rows(warehouse, columns) == [
        (
            "both.md",
            "The docs description of caching in web servers.",
            "The markdown body says that web servers cache pages for the next reader.\n",
            1,
        ),
        (
            "docs-only.md",
            "What Install does, in a sentence or two.",
            "\nDownload the binary and run it.\n",
            2,
        ),
    ]
    scored = "SELECT doc_key, scored_run, word_count FROM readability ORDER BY 1"
    assert [(key, run) for key, run, _ in _rows(warehouse, scored)] == [("both.md", 2), ("docs-only.md", 2)]

    same = run_audit(content, warehouse, profile="docs")  # nothing to parse again
    assert (same["docs_new"], same["docs_changed"], same["docs_unchanged"]) == (0, 0, 2)
    assert _rows(warehouse, "SELECT count(*) FROM runs r JOIN run_batches b USING (run_id) "
                            "WHERE run_id = 3 AND b.batch_no > 0")[0][0] == 0  # fmt: skip
    refreshed = run_audit(content, warehouse, profile="docs", full_refresh=True)
    assert (refreshed["docs_changed"], refreshed["docs_unchanged"]) == (0, 2)
    assert [row[3] for row in _rows(warehouse, columns)] == [1, 2]
    assert [(key, run) for key, run, _ in _rows(warehouse, scored)] == [("both.md", 4), ("docs-only.md", 4)]


def test_docs_pages_without_keywords_are_scored_on_the_other_parts(run_audit, tmp_path: Path) -> None:
    """The docs profile: tags are a taxonomy, not target keywords, and a page that declares
    no keywords gets no keywords_missing finding and a quality score of the other three
    parts; a page that declares keywords is checked and scored on all four."""
    content = tmp_path / "content"
    content.mkdir()
    body = "Download the binary, put it on your path and run it once to check the version. " * 5
    (content / "tagged.md").write_text(
        "---\ntitle: Install the command line tool\ntags: [setup, cli]\n---\n\n" + body, "utf-8"
    )
    (content / "keyworded.md").write_text(
        "---\ntitle: Configure the command line tool\nkeywords: [configuration file]\n---\n\n" + body,
        "utf-8",
    )
    warehouse = tmp_path / "w.duckdb"
    run_audit(content, warehouse, profile="docs")
    assert _rows(warehouse, "SELECT doc_key, keywords FROM documents ORDER BY 1") == [
        ("keyworded.md", ["configuration file"]),
        ("tagged.md", []),
    ]
    keyword_rules = (
        "SELECT DISTINCT doc_key, rule FROM page_findings WHERE rule LIKE '%keyword%' ORDER BY 1, 2"
    )
    assert _rows(warehouse, keyword_rules) == [
        ("keyworded.md", "keywords_not_in_body"),
        ("keyworded.md", "main_keyword_not_in_title"),  # no description: meta_description_missing says it
    ]
    parts = (
        "SELECT doc_key, readability_component, keyword_component, seo_component, uniqueness_component, "
        "quality_score FROM page_quality ORDER BY 1"
    )
    (keyworded, tagged) = _rows(warehouse, parts)
    assert keyworded[2] == 0.0 and tagged[2] is None  # "configuration file" is not in the body
    assert keyworded[5] == round(100 * (keyworded[1] + 0.0 + keyworded[3] + keyworded[4]) / 4, 1)
    assert tagged[5] == round(100 * (tagged[1] + tagged[3] + tagged[4]) / 3, 1)


def test_docs_pages_an_older_release_read_tags_of_as_keywords_are_parsed_again(
    run_audit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Releases before migration 0018 kept no record of the mapping pages were parsed with,
    and their docs profile read `tags` as keywords. A docs warehouse they built is parsed
    again once: the tags leave the keywords, and with them the keyword findings."""
    import dataclasses

    from transforms import fields

    content, warehouse = tmp_path / "content", tmp_path / "w.duckdb"
    content.mkdir()
    (content / "tagged.md").write_text(
        "---\ntitle: Install the command line tool\ntags: [setup, cli]\n---\n\nDownload it and run it.\n",
        "utf-8",
    )
    old_docs = dataclasses.replace(
        fields.DOCS, fields={**fields.DOCS.fields, "keywords": ("keywords", "Keywords", "tags", "Tags")}
    )
    _run_as_an_older_release(
        run_audit,
        monkeypatch,
        [(fields, "PROFILES", {**fields.PROFILES, "docs": old_docs})],
        18,
        content,
        warehouse,
        profile="docs",
    )
    with duckdb.connect(str(warehouse)) as con:
        con.execute("DELETE FROM pipeline_state WHERE key = 'parsing_settings'")
    assert _rows(warehouse, "SELECT keywords FROM documents") == [(["setup", "cli"],)]

    upgraded = run_audit(content, warehouse, profile="docs")
    assert (upgraded["docs_changed"], upgraded["docs_unchanged"]) == (0, 1)
    assert _rows(warehouse, "SELECT keywords, last_changed_run FROM documents") == [([], 1)]
    assert _rows(warehouse, "SELECT rule, detail FROM page_findings WHERE rule LIKE '%keyword%'") == []
    assert _rows(warehouse, "SELECT keyword_component FROM page_quality") == [(None,)]
    again = run_audit(content, warehouse, profile="docs")  # recorded now: not parsed again
    assert _rows(warehouse, "SELECT scored_run FROM readability") == [(2,)] and again["docs_unchanged"] == 1


def test_reports_say_when_the_scoring_changed_since_the_previous_run(
    run_audit, shared: Path, tmp_path: Path
) -> None:
    """New [quality] weights move every score with no page changed: the run's subject rows
    and report pages say the scoring changed, so that the step is not read as the pages'.
    The run after, scored the same way, says nothing of it."""
    warehouse, out = tmp_path / "w.duckdb", tmp_path / "report"
    weighted = tmp_path / "weighted.toml"
    weighted.write_text("[quality]\nseo_weight = 3.0\n", "utf-8")
    flagged = "SELECT DISTINCT scoring_changed FROM subject_quality WHERE run_id = ?"

    def notices() -> list[bool]:
        pages = [out / "index.html", *sorted((out / "subjects").glob("*.html"))]
        return ["data-scoring-changed" in page.read_text("utf-8") for page in pages]

    run_audit(shared / "sample", warehouse, out)
    assert _rows(warehouse, flagged, [1]) == [(None,)] and notices() == [False, False]
    run_audit(shared / "sample", warehouse, out, config=weighted)
    assert _rows(warehouse, flagged, [2]) == [(True,)] and notices() == [True, True]
    assert _rows(warehouse, "SELECT quality_score_delta <> 0 FROM subject_quality WHERE run_id = 2") == [
        (True,)
    ]
    run_audit(shared / "sample", warehouse, out, config=weighted)
    assert _rows(warehouse, flagged, [3]) == [(False,)] and notices() == [False, False]
