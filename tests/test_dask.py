"""The pipeline under prefect-dask's DaskTaskRunner (a 2-worker local cluster) writes the
same warehouse as the default process pool, and its workers report to the same Prefect API."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import duckdb
import pytest

pytest.importorskip("prefect_dask")

COMPARED_TABLES = ("documents", "readability", "keyword_coverage", "seo_findings", "duplicate_pairs")


def _volatile(column: str) -> bool:
    """Run ids and timestamps differ between two runs by design."""
    return column == "run_id" or column.endswith(("_run", "_at"))


def warehouse_rows(warehouse: Path) -> dict[str, list[tuple]]:
    """Every compared table as sorted rows, without run ids and timestamps."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = {}
        for table in COMPARED_TABLES:
            columns = [
                name for name, *_ in con.execute(f"DESCRIBE {table}").fetchall() if not _volatile(name)
            ]
            select = ", ".join(f'"{c}"' for c in columns)
            tables[table] = sorted(con.execute(f"SELECT {select} FROM {table}").fetchall(), key=repr)
        return tables


def _prefect_flow_run_id(warehouse: Path) -> str:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (flow_run_id,) = con.execute("SELECT prefect_flow_run_id FROM runs").fetchone()
    return flow_run_id


def _task_runs(flow_run_id: str) -> list:
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        return client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))


def _logged(flow_run_id: str, message: str) -> bool:
    """Whether the run logged `message` to the Prefect API (logs arrive in the background)."""
    from prefect import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    deadline = time.monotonic() + 60
    while True:
        with get_client(sync_client=True) as client:
            logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
        found = any(log.message == message for log in logs)
        if found or time.monotonic() > deadline:
            return found
        time.sleep(1)


@pytest.mark.slow
def test_dask_run_equals_default_run(run_audit, corpus_factory, tmp_path: Path) -> None:
    content = corpus_factory(400, fresh=False)  # both runs read the same files (same mtimes)
    config = tmp_path / "workers.toml"  # batches go to the workers however small the corpus
    config.write_text("[runner]\ninline_below = 0\n[ingest]\nmin_batch_size = 100\n")
    default = run_audit(content, tmp_path / "process.duckdb", workers=2, config=config)
    # The run logs which runner it used. The tests log at WARNING; Prefect configures its
    # loggers at the first run (replacing pytest's handlers), so raise the level only now.
    flow_runs_logger = logging.getLogger("prefect.flow_runs")
    flow_runs_logger.setLevel(logging.INFO)
    try:
        dask = run_audit(content, tmp_path / "dask.duckdb", task_runner="dask", workers=2, config=config)
    finally:
        flow_runs_logger.setLevel(logging.NOTSET)
    assert default["status"] == dask["status"] == "completed"
    assert dask["docs_new"] == default["docs_new"] > 0

    expected = warehouse_rows(tmp_path / "process.duckdb")
    actual = warehouse_rows(tmp_path / "dask.duckdb")
    for table in COMPARED_TABLES:
        assert expected[table], f"{table} is empty: the comparison would prove nothing"
        assert actual[table] == expected[table], f"{table} differs between the Dask and the default runner"

    flow_run_id = _prefect_flow_run_id(tmp_path / "dask.duckdb")
    assert _logged(flow_run_id, "Task runner: dask")
    # The Dask workers' task runs are recorded by the test's Prefect API: a worker that had
    # started a Prefect server of its own would have recorded them there instead.
    task_runs = _task_runs(flow_run_id)
    batch_runs = [t for t in task_runs if t.name.startswith(("ingest-batch-", "analyse-batch-"))]
    # a first run scores every page in its ingest batches: no page is left for analyse-batch
    assert {t.name.rsplit("-", 1)[0] for t in batch_runs} == {"ingest-batch"}
    assert all(t.state and t.state.is_completed() for t in batch_runs)


def test_task_runner_from_environment() -> None:
    """A worker-started run picks its runner from CONTENT_AUDIT_* variables (prefect.yaml)."""
    from content_audit.runner import make_task_runner, runner_settings_from_environment, task_runner_kind

    assert task_runner_kind(make_task_runner(runner_settings_from_environment({}))) == "process"
    settings = runner_settings_from_environment(
        {"CONTENT_AUDIT_TASK_RUNNER": "dask", "CONTENT_AUDIT_DASK_ADDRESS": "tcp://10.0.0.5:8786"}
    )
    runner = make_task_runner(settings)
    assert task_runner_kind(runner) == "dask"
    assert runner.address == "tcp://10.0.0.5:8786"
    assert task_runner_kind(runner.duplicate()) == "dask"  # Prefect duplicates it per run
    threads = runner_settings_from_environment(
        {"CONTENT_AUDIT_TASK_RUNNER": "thread", "CONTENT_AUDIT_WORKERS": "3"}
    )
    assert (task_runner_kind(make_task_runner(threads)), threads.worker_count) == ("thread", 3)
    with pytest.raises(ValueError, match="CONTENT_AUDIT_TASK_RUNNER"):
        runner_settings_from_environment({"CONTENT_AUDIT_TASK_RUNNER": "ray"})
