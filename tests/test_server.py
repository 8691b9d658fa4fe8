"""Scheduled runs the real way: `prefect server start` on a free loopback port, the flow
served by `content-audit serve` (and deployed from prefect.yaml to a process worker), runs
triggered through the API, checked in the API and in the warehouse.

Every process runs with its own PREFECT_HOME in a temp folder and an explicit environment,
in its own process group, so that stopping it also stops the flow runs it started.
"""

from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow

SERVER_START_TIMEOUT_S = 240  # first start creates the server's database; CI machines are slow
RUN_TIMEOUT_S = 600
PREFECT = str(Path(sys.executable).with_name("prefect"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM to the process group (the process and the runs it started), then SIGKILL."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    except ProcessLookupError:
        pass


@contextmanager
def _process(args: list[str], env: dict[str, str], log: Path, cwd: Path) -> Iterator[subprocess.Popen]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            args, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield process
        finally:
            _stop(process)


def _wait_for(condition: Callable[[], Any], timeout: float, what: str, process: subprocess.Popen, log: Path):
    """Poll `condition` until it returns something true; fail if the process dies first."""
    deadline = time.monotonic() + timeout
    while True:
        exited = process.poll() is not None
        try:
            value = condition()
        except Exception:
            value = None
        if value:
            return value
        if exited:
            pytest.fail(f"{what}: process exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}:\n{log.read_text()[-4000:]}")
        time.sleep(1)


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A real Prefect server on a free loopback port; yields the environment for its clients."""
    home = tmp_path_factory.mktemp("prefect-home")
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_API_URL": api_url,
        "PREFECT_LOGGING_LEVEL": "INFO",
        "PREFECT_RUNNER_POLL_FREQUENCY": "2",  # served deployments look for due runs every 2 s
        "PREFECT_WORKER_QUERY_SECONDS": "2",
        "PYTHONPATH": str(REPO),
    }
    log = home / "server.log"
    args = [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    server_env = {k: v for k, v in env.items() if k != "PREFECT_API_URL"}
    with _process(args, server_env, log, home) as server:
        _wait_for(
            lambda: urllib.request.urlopen(f"{api_url}/health", timeout=5).status == 200,
            SERVER_START_TIMEOUT_S,
            "the Prefect server's /api/health",
            server,
            log,
        )
        yield env


@contextmanager
def _client(env: dict[str, str]) -> Iterator[Any]:
    from prefect import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with (
        temporary_settings({PREFECT_API_URL: env["PREFECT_API_URL"]}),
        get_client(sync_client=True) as client,
    ):
        yield client


def _final_flow_run(env: dict[str, str], flow_run_id: Any, process: subprocess.Popen, log: Path) -> Any:
    def final() -> Any:
        with _client(env) as client:
            flow_run = client.read_flow_run(flow_run_id)
        return flow_run if flow_run.state and flow_run.state.is_final() else None

    return _wait_for(final, RUN_TIMEOUT_S, f"flow run {flow_run_id} to finish", process, log)


def _artifact_keys(env: dict[str, str], flow_run_id: Any) -> set[str]:
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with _client(env) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return {a.key for a in artifacts if a.key}


def _log_messages(env: dict[str, str], flow_run_id: Any, awaited: str) -> list[str]:
    """The run's log messages, once `awaited` is among them or a minute has passed (logs reach
    the API shortly after the run's state does)."""
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    deadline = time.monotonic() + 60
    while True:
        with _client(env) as client:
            logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
        messages = [log.message for log in logs]
        if awaited in messages or time.monotonic() > deadline:
            return messages
        time.sleep(1)


def _rows(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def _expected_doc_keys(content: Path) -> set[str]:
    """Every page the generator wrote, less those its ground truth says must be quarantined."""
    with open(str(content) + ".truth/bad.csv", newline="") as handle:
        rejected = {row["path"] for row in csv.DictReader(handle) if row["expected"] == "reject"}
    return {p.relative_to(content).as_posix() for p in content.rglob("*.md")} - rejected


def _check_run_results(env: dict[str, str], flow_run: Any, warehouse: Path, content: Path) -> None:
    """The warehouse holds the documents, its run row points at the Prefect flow run, and
    the run posted its summary, subject table and one artifact per subject."""
    from reports.paths import artifact_key

    live = {k for (k,) in _rows(warehouse, "SELECT doc_key FROM documents WHERE deleted_run IS NULL")}
    assert live == _expected_doc_keys(content)
    runs = _rows(warehouse, "SELECT status, prefect_flow_run_id FROM runs ORDER BY run_id")
    assert ("completed", str(flow_run.id)) in runs
    subjects = {k for (k,) in _rows(warehouse, "SELECT DISTINCT subject_key FROM documents")}
    expected = {"content-quality-summary", "content-quality-subjects"} | {
        artifact_key("subject", s) for s in subjects
    }
    assert _artifact_keys(env, flow_run.id) == expected


def test_served_deployment_runs_one_at_a_time(prefect_server: dict[str, str], corpus_factory, tmp_path: Path):
    env = prefect_server
    content = corpus_factory(120, seed=3)
    warehouse = tmp_path / "warehouse.duckdb"
    parameters = {
        "content": str(content),
        "warehouse": str(warehouse),
        "out": str(tmp_path / "report"),
        "config": None,
        "full_refresh": False,
        "profile": None,
    }
    log = tmp_path / "serve.log"
    # The deployment's own defaults point elsewhere: the runs must use the parameters we pass.
    defaults = tmp_path / "defaults"
    defaults.mkdir()
    serve = [sys.executable, "-m", "content_audit.cli", "serve", "--content", str(defaults)]
    serve += ["--warehouse", str(defaults / "w.duckdb"), "--cron", "0 3 * * *", "--workers", "2"]
    with _process(serve, env, log, tmp_path) as server:

        def deployment() -> Any:
            with _client(env) as client:
                return client.read_deployment_by_name("content-audit/scheduled")

        found = _wait_for(deployment, 180, "the served deployment", server, log)
        assert [s.schedule.cron for s in found.schedules] == ["0 3 * * *"]
        assert found.global_concurrency_limit.limit == 1
        assert found.concurrency_options.collision_strategy.value == "ENQUEUE"
        assert found.parameters["warehouse"] == str((defaults / "w.duckdb").resolve())

        # Two runs asked for at once against one warehouse: the second waits for the first.
        with _client(env) as client:
            first, second = (
                client.create_flow_run_from_deployment(found.id, parameters=parameters) for _ in range(2)
            )
        done = [_final_flow_run(env, run.id, server, log) for run in (first, second)]

        for flow_run in done:
            assert flow_run.state.is_completed(), f"{flow_run.state}: {log.read_text()[-4000:]}"
            assert flow_run.parameters == parameters
        earlier, later = sorted(done, key=lambda r: r.start_time)
        assert earlier.end_time <= later.start_time, "two runs of the deployment overlapped"
        _check_run_results(env, earlier, warehouse, content)
        assert "Task runner: process" in _log_messages(env, earlier.id, "Task runner: process")
        first_run, second_run = _rows(warehouse, "SELECT docs_new, docs_unchanged FROM runs ORDER BY run_id")
        assert second_run == (0, first_run[0])  # the second run found nothing new


def test_prefect_yaml_deployment_runs_on_a_process_worker(
    prefect_server: dict[str, str], corpus_factory, tmp_path: Path
) -> None:
    env = prefect_server
    for args in (
        [PREFECT, "work-pool", "create", "content-audit", "--type", "process", "--overwrite"],
        [PREFECT, "--no-prompt", "deploy", "--all", "--prefect-file", str(REPO / "prefect.yaml")],
    ):
        # prefect.yaml's pull step resolves {{ $PWD }} at deploy time, as a shell would set it
        deploy_env = env | {"PWD": str(REPO)}
        result = subprocess.run(args, env=deploy_env, cwd=REPO, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr

    content = corpus_factory(60, seed=4)
    warehouse = tmp_path / "warehouse.duckdb"
    parameters = {"content": str(content), "warehouse": str(warehouse), "out": str(tmp_path / "report")}
    with _client(env) as client:
        deployment = client.read_deployment_by_name("content-audit/work-pool")
        assert deployment.entrypoint == "flows/pipeline.py:content_audit"
        assert deployment.global_concurrency_limit.limit == 1
        assert [s.schedule.cron for s in deployment.schedules] == ["0 3 * * *"]
        # The worker imports the flow afresh: its task runner comes from the job's environment.
        flow_run = client.create_flow_run_from_deployment(
            deployment.id,
            parameters=parameters,
            job_variables={"env": {"CONTENT_AUDIT_TASK_RUNNER": "thread", "CONTENT_AUDIT_WORKERS": "2"}},
        )

    log = tmp_path / "worker.log"
    worker = [PREFECT, "worker", "start", "--pool", "content-audit", "--run-once"]
    with _process(worker, env, log, tmp_path) as process:
        finished = _final_flow_run(env, flow_run.id, process, log)
        # The run's state reaches the API before its process has sent its last logs: stopping
        # the worker now would interrupt that process, so let a --run-once worker end itself.
        process.wait(timeout=RUN_TIMEOUT_S)
    assert finished.state.is_completed(), f"{finished.state}: {log.read_text()[-4000:]}"
    assert {k: finished.parameters[k] for k in parameters} == parameters
    _check_run_results(env, finished, warehouse, content)
    assert "Task runner: thread" in _log_messages(env, finished.id, "Task runner: thread")


def test_a_command_line_run_sends_its_last_logs_before_its_process_ends(
    prefect_server: dict[str, str], corpus_factory, tmp_path: Path
) -> None:
    """`content-audit run` ends its process without the interpreter's teardown
    (content_audit.cli.end_process): its summary must still reach the terminal, and its
    flow run's last log line, sent as the process ends, the Prefect API."""
    env = prefect_server
    content = corpus_factory(40, seed=5)
    warehouse = tmp_path / "warehouse.duckdb"
    run = [sys.executable, "-m", "content_audit.cli", "run", "--content", str(content)]
    run += ["--warehouse", str(warehouse), "--out", str(tmp_path / "report")]
    result = subprocess.run(run, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert "Run 1: completed" in result.stdout + result.stderr
    ((status, flow_run_id),) = _rows(warehouse, "SELECT status, prefect_flow_run_id FROM runs")
    assert status == "completed"
    finished = "Finished in state Completed()"
    assert finished in _log_messages(env, flow_run_id, finished)
