"""Run the flow from the command line: one Prefect API for all workers, chosen task runner."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from content_audit.prefect_api import prefect_api
from content_audit.settings import RunnerSettings, load_settings


def make_task_runner(runner: RunnerSettings) -> Any:
    """The Prefect task runner for CPU-heavy batches, from settings."""
    if runner.task_runner == "thread":
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner(max_workers=runner.worker_count)
    if runner.task_runner == "dask":
        try:
            from prefect_dask import DaskTaskRunner
        except ImportError:
            raise ValueError(
                "task runner 'dask' needs the dask extra: pip install 'content-audit[dask]'"
            ) from None
        if runner.dask_address:
            return DaskTaskRunner(address=runner.dask_address)
        return DaskTaskRunner(
            cluster_kwargs={
                "n_workers": runner.worker_count,
                "threads_per_worker": 1,
                "processes": True,
                "dashboard_address": None,
            }
        )
    from prefect.task_runners import ProcessPoolTaskRunner

    return ProcessPoolTaskRunner(max_workers=runner.worker_count)


def run_pipeline(
    content: Path | None = None,
    warehouse: Path | None = None,
    out: Path | None = None,
    config: Path | None = None,
    full_refresh: bool = False,
    task_runner: str | None = None,
    workers: int | None = None,
    dask_address: str | None = None,
) -> dict[str, Any]:
    """Run the content-audit flow once and return its `runs` row."""
    from flows.pipeline import content_audit

    settings = load_settings(
        config,
        content_dir=content,
        warehouse=warehouse,
        out_dir=out,
        task_runner=task_runner,
        workers=workers,
        dask_address=dask_address,
    )
    parameters = {
        "content": str(settings.content_dir),
        "warehouse": str(settings.warehouse),
        "out": str(settings.out_dir),
        "config": str(config) if config else None,
        "full_refresh": full_refresh,
    }
    with prefect_api():
        flow = content_audit.with_options(task_runner=make_task_runner(settings.runner))
        return flow(**parameters)
