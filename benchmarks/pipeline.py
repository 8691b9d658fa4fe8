"""Benchmark: the whole pipeline against the naive analyst script, on the same corpus.

    python -m benchmarks.pipeline --docs 20000 [--repeat 1] [--content DIR] [--json FILE]
                                  [--server running|temporary]

Generates a corpus with ../shared/corpora/make_corpus.py (or takes --content), then runs,
alternating, the naive script (../shared/bench/naive_baseline.py) and `content-audit run`
cold (fresh warehouse, reports included). Then it mutates 1% of the pages and times the
incremental rerun, and times a rerun with nothing changed. Prints a table and writes the
figures as JSON. Wall time and peak RSS cover each command's whole process tree (workers
included). A benchmark, not a test.

Prefect server: `--server running` (the default) starts `prefect server start` on a free
loopback port before the timed runs and points every run at it, as scheduled runs are
(docs/scheduling.md); its start-up and memory are outside the runs' figures. One more cold
run is then timed with no server configured, where `content-audit run` starts its own
temporary server (start-up and memory inside its figures), and shown as its own row.
`--server temporary` times every run that way.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from benchmarks.measure import Measurement, measure

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
TARGETS = {"wall_ratio": 1 / 6, "rss_ratio": 0.4, "changed_ratio": 0.15, "unchanged_ratio": 0.1}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--content", type=Path, help="use this folder instead of generating one (copied)")
    parser.add_argument("--repeat", type=int, default=1, help="alternating naive/pipeline pairs")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument(
        "--server",
        choices=("running", "temporary"),
        default="running",
        help="a Prefect server started once, or each run's own temporary one",
    )
    parser.add_argument(
        "--json", type=Path, default=None, help="[default: benchmarks/results/pipeline-N.json]"
    )
    args = parser.parse_args()

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="content-audit-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    content = workdir / "content"
    if args.content:
        shutil.copytree(args.content, content, dirs_exist_ok=True)
    elif not content.exists():
        subprocess.run(
            [
                sys.executable,
                str(SHARED / "corpora" / "make_corpus.py"),
                "generate",
                "--out",
                str(content),
                "--docs",
                str(args.docs),
            ],
            check=True,
            capture_output=True,
        )
    pages = sum(1 for _ in content.rglob("*.md"))
    print(f"corpus: {pages:,} files in {content}", flush=True)

    prefect_home = workdir / "prefect-home"
    with contextlib.ExitStack() as stack:
        api_url = None
        if args.server == "running":
            api_url = stack.enter_context(_running_server(prefect_home, workdir / "prefect-server.log"))
        runs = _timed_runs(args.repeat, content, workdir, prefect_home, api_url)
    naive_runs, cold_runs, changed, unchanged, cold_own_server = runs

    naive = min(naive_runs, key=lambda m: m.wall_s)
    cold = min(cold_runs, key=lambda m: m.wall_s)
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "command": " ".join(["python -m benchmarks.pipeline", *sys.argv[1:]]),
        "code": _code_version(),
        "c_passes": _c_passes(),
        "pages": pages,
        "prefect_server": args.server,
        "naive": _figures(naive, pages),
        "pipeline_cold": _figures(cold, pages),
        "pipeline_1pct_changed": _figures(changed, pages),
        "pipeline_unchanged": _figures(unchanged, pages),
        "pipeline_cold_own_temporary_server": _figures(cold_own_server, pages) if cold_own_server else None,
        "ratios": {
            "wall_ratio": cold.wall_s / naive.wall_s,
            "rss_ratio": cold.peak_rss_mb / naive.peak_rss_mb,
            "changed_ratio": changed.wall_s / cold.wall_s,
            "unchanged_ratio": unchanged.wall_s / cold.wall_s,
        },
        "targets": TARGETS,
    }
    print(markdown_table(result))
    out = args.json or REPO / "benchmarks" / "results" / f"pipeline-{pages}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"figures written to {out}")


def _timed_runs(
    repeat: int, content: Path, workdir: Path, prefect_home: Path, api_url: str | None
) -> tuple[list[Measurement], list[Measurement], Measurement, Measurement, Measurement | None]:
    """Naive and cold runs alternating, then 1% changed, nothing changed, and (with a
    running server) one cold run on the pipeline's own temporary server."""
    # Prefect creates its database on first use; a user pays that once, not per run.
    _run_pipeline(
        REPO / "content_audit" / "example_content", workdir / "warm-up", True, prefect_home, api_url
    )
    naive_runs: list[Measurement] = []
    cold_runs: list[Measurement] = []
    for attempt in range(repeat):
        naive_runs.append(_run_naive(content, workdir / f"naive-{attempt}.duckdb"))
        print(f"naive    {naive_runs[-1].wall_s:8.1f} s {naive_runs[-1].peak_rss_mb:8.0f} MB", flush=True)
        cold_runs.append(_run_pipeline(content, workdir, True, prefect_home, api_url))
        print(f"pipeline {cold_runs[-1].wall_s:8.1f} s {cold_runs[-1].peak_rss_mb:8.0f} MB", flush=True)
    subprocess.run(
        [sys.executable, str(SHARED / "corpora" / "make_corpus.py"), "mutate", "--dir", str(content)],
        check=True,
        capture_output=True,
    )
    changed = _run_pipeline(content, workdir, False, prefect_home, api_url)
    print(f"1% changed {changed.wall_s:6.1f} s", flush=True)
    unchanged = _run_pipeline(content, workdir, False, prefect_home, api_url)
    print(f"unchanged  {unchanged.wall_s:6.1f} s", flush=True)
    own_server = None
    if api_url:
        own_server = _run_pipeline(content, workdir / "own-server", True, prefect_home, None)
        print(
            f"cold, own temporary server {own_server.wall_s:6.1f} s {own_server.peak_rss_mb:8.0f} MB",
            flush=True,
        )
    return naive_runs, cold_runs, changed, unchanged, own_server


@contextlib.contextmanager
def _running_server(prefect_home: Path, log: Path) -> Iterator[str]:
    """`prefect server start` on a free loopback port, as for scheduled runs; its API URL."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(PREFECT_HOME=str(prefect_home), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    prefect = shutil.which("prefect") or str(Path(sys.executable).with_name("prefect"))
    api_url = f"http://127.0.0.1:{port}/api"
    with log.open("w") as output:
        server = subprocess.Popen(
            [prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 120
            while True:
                if server.poll() is not None:
                    raise SystemExit(f"prefect server start exited ({server.returncode}); see {log}")
                with contextlib.suppress(OSError):
                    if urllib.request.urlopen(f"{api_url}/health", timeout=5).status == 200:
                        break
                if time.monotonic() > deadline:
                    raise SystemExit(f"prefect server did not answer in 120 s; see {log}")
                time.sleep(0.5)
            print(f"prefect server: {api_url}", flush=True)
            yield api_url
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()


def _run_naive(content: Path, warehouse: Path) -> Measurement:
    warehouse.unlink(missing_ok=True)
    result = measure(
        [sys.executable, str(SHARED / "bench" / "naive_baseline.py"), str(content), str(warehouse)]
    )
    _check(result, "naive baseline")
    return result


def _run_pipeline(
    content: Path, workdir: Path, fresh: bool, prefect_home: Path, api_url: str | None
) -> Measurement:
    warehouse, out = workdir / "pipeline.duckdb", workdir / "report"
    if fresh:
        for path in (warehouse, Path(str(warehouse) + ".wal"), out):
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(PREFECT_HOME=str(prefect_home), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    if api_url:
        env["PREFECT_API_URL"] = api_url
    command = [
        sys.executable,
        "-m",
        "content_audit.cli",
        "run",
        "--content",
        str(content),
        "--warehouse",
        str(warehouse),
        "--out",
        str(out),
    ]
    result = measure(command, env=env, cwd=str(REPO))
    _check(result, "content-audit run")
    return result


def _check(result: Measurement, what: str) -> None:
    if result.returncode != 0:
        raise SystemExit(f"{what} failed ({result.returncode}):\n{result.output_tail}")


def _figures(m: Measurement, pages: int) -> dict:
    return {
        "wall_s": round(m.wall_s, 2),
        "peak_rss_mb": round(m.peak_rss_mb, 1),
        "pages_per_s": round(pages / m.wall_s, 1),
    }


def _code_version() -> str | None:
    """The commit measured, marked when the working tree had changes to tracked files; None
    outside a git checkout."""
    try:
        commit = _git("rev-parse", "--short", "HEAD")
        changes = _git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return None
    return f"{commit} with uncommitted changes" if changes else commit


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(REPO), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def _c_passes() -> str:
    """Which of the optional C passes the pipeline ran with (transforms.c_passes)."""
    from transforms.c_passes import describe_c_passes

    return describe_c_passes()


def markdown_table(result: dict) -> str:
    r, t = result["ratios"], result["targets"]

    # What each ratio divides by: a missed target says the time that would have met it.
    base = {"wall_ratio": "naive", "changed_ratio": "pipeline_cold", "unchanged_ratio": "pipeline_cold"}

    def verdict(name: str) -> str:
        if r[name] <= t[name]:
            return "met"
        if name not in base:
            return "**missed**"
        return f"**missed** ({t[name] * result[base[name]]['wall_s']:.1f} s would meet it)"

    rows = [
        "| run | wall s | peak RSS MB | pages/s |",
        "|---|---:|---:|---:|",
    ]
    for label, key in (
        ("naive script", "naive"),
        ("pipeline, cold", "pipeline_cold"),
        ("pipeline, 1% changed", "pipeline_1pct_changed"),
        ("pipeline, nothing changed", "pipeline_unchanged"),
        ("pipeline, cold, own temporary Prefect server", "pipeline_cold_own_temporary_server"),
    ):
        f = result.get(key)
        if not f:
            continue
        rows.append(f"| {label} | {f['wall_s']:.1f} | {f['peak_rss_mb']:.0f} | {f['pages_per_s']:,.0f} |")
    rows += [
        "",
        "| ratio | value | target | verdict |",
        "|---|---:|---:|---|",
        f"| pipeline / naive wall | {r['wall_ratio']:.3f} | <= {t['wall_ratio']:.3f} | {verdict('wall_ratio')} |",
        f"| pipeline / naive peak RSS | {r['rss_ratio']:.3f} | <= {t['rss_ratio']:.2f} | {verdict('rss_ratio')} |",
        f"| 1% changed / cold | {r['changed_ratio']:.3f} | <= {t['changed_ratio']:.2f} | {verdict('changed_ratio')} |",
        f"| nothing changed / cold | {r['unchanged_ratio']:.3f} | <= {t['unchanged_ratio']:.2f} | "
        f"{verdict('unchanged_ratio')} |",
    ]
    server = {"running": "a running Prefect server", "temporary": "each run's own temporary Prefect server"}
    heading = f"{result['pages']:,} pages, {result['machine']}, {result['date']}"
    if result.get("code"):
        heading += f", code {result['code']}"
    if result.get("c_passes"):
        heading += f", C passes: {result['c_passes']}"
    if result.get("prefect_server"):
        heading += f"; ratios on {server[result['prefect_server']]}"
    return "\n".join([heading, "", *rows])


if __name__ == "__main__":
    main()
