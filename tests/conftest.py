"""Shared fixtures: an isolated Prefect (test harness, PREFECT_HOME in a temp folder), the
shared corpora, and generated corpora built by ../shared/corpora/make_corpus.py."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

# Before anything imports prefect: its home (database, logs) lives in a temp folder.
_PREFECT_HOME = tempfile.mkdtemp(prefix="content-audit-prefect-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
atexit.register(shutil.rmtree, _PREFECT_HOME, ignore_errors=True)  # after the harness has stopped
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
MAKE_CORPUS = SHARED / "corpora" / "make_corpus.py"


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"tests need the shared folder at {SHARED} (sample page, corpora, make_corpus.py)")
    return SHARED


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One Prefect test server for the whole session (entering it costs several seconds)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(autouse=True)
def no_prefect_events_connection_under_hypothesis(request: pytest.FixtureRequest) -> None:
    """Before a Hypothesis test, stop Prefect's events worker if a flow run earlier in this
    process started one: its websocket is pinged from Prefect's event-loop thread (keepalive,
    and the events client's checkpoints), each ping's payload drawn from the global `random`,
    and Hypothesis takes any change of that state while it generates an example for a
    strategy that uses `random` (a HypothesisDeprecationWarning now, an error in a later
    Hypothesis). The next flow run starts a new worker. (Autouse fixtures are exempt from
    Hypothesis' check on function-scoped fixtures.)"""
    from hypothesis import is_hypothesis_test

    events = sys.modules.get("prefect.events.worker")  # not imported: no worker is running
    if events is not None and is_hypothesis_test(request.function):
        events.EventsWorker.drain_all(timeout=30, at_exit=False)


def generate_corpus(out: Path, docs: int, seed: int = 0, **rates: float) -> Path:
    """Run make_corpus.py generate; truth lands in OUT.truth/."""
    args = [
        sys.executable,
        str(MAKE_CORPUS),
        "generate",
        "--out",
        str(out),
        "--docs",
        str(docs),
        "--seed",
        str(seed),
    ]
    for name, value in rates.items():
        args += [f"--{name}", str(value)]
    subprocess.run(args, check=True, capture_output=True)
    return out


def mutate_corpus(folder: Path, seed: int = 1) -> Path:
    subprocess.run(
        [sys.executable, str(MAKE_CORPUS), "mutate", "--dir", str(folder), "--seed", str(seed)],
        check=True,
        capture_output=True,
    )
    return Path(str(folder) + ".truth") / "mutations.csv"


@pytest.fixture(scope="session")
def corpus_factory(tmp_path_factory: pytest.TempPathFactory, shared: Path) -> Callable[..., Path]:
    """make(docs, seed=0) -> a fresh copy of a generated corpus (cached per size and seed)."""
    cache: dict[tuple, Path] = {}

    def make(docs: int, seed: int = 0, fresh: bool = True) -> Path:
        key = (docs, seed)
        if key not in cache:
            cache[key] = generate_corpus(tmp_path_factory.mktemp("corpus") / f"qt{docs}", docs, seed)
        if not fresh:
            return cache[key]
        copy = tmp_path_factory.mktemp("corpus-copy") / cache[key].name
        shutil.copytree(cache[key], copy)
        shutil.copytree(Path(str(cache[key]) + ".truth"), Path(str(copy) + ".truth"))
        return copy

    return make


@pytest.fixture
def run_audit(prefect_harness: None, tmp_path: Path) -> Callable[..., dict]:
    """Run the real flow: run_audit(content, warehouse=None, out=None, **options) -> runs row."""
    from content_audit.runner import run_pipeline

    def run(content: Path, warehouse: Path | None = None, out: Path | None = None, **options) -> dict:
        return run_pipeline(
            content=content,
            warehouse=warehouse or tmp_path / "warehouse.duckdb",
            out=out or tmp_path / "report",
            **options,
        )

    return run


def duckdb_size_bytes(size: str) -> float:
    """A size as DuckDB reports a setting ("286.1 MiB"), in bytes."""
    number, unit = size.split()
    return float(number) * {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30}[unit]
