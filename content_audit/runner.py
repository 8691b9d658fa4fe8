"""Run the flow from the command line: one Prefect API for all workers, chosen task runner.

Where CPU-heavy batches run is a property of how the flow is started, not a flow
parameter: `content-audit run` and `content-audit serve` build the task runner from the
settings ([runner] in the TOML, then command-line options) and attach it with
`with_options`. A run started by a Prefect worker from `prefect.yaml` imports the flow
afresh, so its default task runner comes from the environment (CONTENT_AUDIT_TASK_RUNNER,
CONTENT_AUDIT_WORKERS, CONTENT_AUDIT_DASK_ADDRESS), which `prefect.yaml` sets per deployment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from content_audit.prefect_api import prefect_api
from content_audit.settings import TASK_RUNNERS, RunnerSettings, load_settings
from content_audit.worker_pool import WorkerPool, offloading_to

RUNNER_ENVIRONMENT = {
    "task_runner": "CONTENT_AUDIT_TASK_RUNNER",
    "workers": "CONTENT_AUDIT_WORKERS",
    "dask_address": "CONTENT_AUDIT_DASK_ADDRESS",
}


def make_task_runner(runner: RunnerSettings) -> Any:
    """The Prefect task runner for CPU-heavy batches, from settings."""
    if runner.task_runner == "thread":
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner(max_workers=runner.worker_count)
    if runner.task_runner == "dask":
        return _dask_task_runner(runner)
    return _batch_process_task_runner(runner.worker_count)


def _batch_process_task_runner(workers: int) -> Any:
    """Task runs in threads of the flow process, their batches in worker processes without
    Prefect (content_audit.worker_pool explains why)."""
    from prefect.task_runners import ThreadPoolTaskRunner

    class BatchProcessTaskRunner(ThreadPoolTaskRunner):
        def __init__(self, max_workers: int) -> None:
            super().__init__(max_workers=max_workers)
            self.worker_pool: WorkerPool | None = None

        def duplicate(self) -> Any:
            return type(self)(self._max_workers)

        def __enter__(self) -> Any:
            super().__enter__()
            self.worker_pool = WorkerPool(self._max_workers)
            return self

        def __exit__(self, *exc_info: Any) -> None:
            try:
                super().__exit__(*exc_info)
            finally:
                if self.worker_pool is not None:
                    self.worker_pool.stop()

        def submit(self, *args: Any, **kwargs: Any) -> Any:
            with offloading_to(self.worker_pool):  # Prefect copies the context into the task's thread
                return super().submit(*args, **kwargs)

        def __getstate__(self) -> dict[str, Any]:
            return {**super().__getstate__(), "worker_pool": None}

    return BatchProcessTaskRunner(workers)


def _dask_task_runner(runner: RunnerSettings) -> Any:
    try:
        from prefect.utilities.annotations import BaseAnnotation
        from prefect_dask import DaskTaskRunner
    except ImportError:
        raise ValueError(
            "task runner 'dask' needs the dask extra: pip install 'content-audit[dask]'"
        ) from None

    class BatchDaskTaskRunner(DaskTaskRunner):
        """Dask turns Prefect's `quote()` wrapper (a namedtuple) into a bare tuple on the way
        to the worker (prefect-dask issue #43), so unwrap it here: by now Prefect has already
        skipped walking the quoted frames, which is all `quote` is for."""

        def submit(self, task: Any, parameters: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            plain = {k: v.unwrap() if isinstance(v, BaseAnnotation) else v for k, v in parameters.items()}
            return super().submit(task, plain, *args, **kwargs)

    if runner.dask_address:
        return BatchDaskTaskRunner(address=runner.dask_address)
    return BatchDaskTaskRunner(
        cluster_kwargs={
            "n_workers": runner.worker_count,
            "threads_per_worker": 1,  # textstat work holds the GIL: parallelism comes from processes
            "processes": True,
            "dashboard_address": ":0",  # any free port: two runs on one machine must not collide
        }
    )


def runner_settings_from_environment(environ: dict[str, str] | None = None) -> RunnerSettings:
    """Runner settings for a flow imported by a Prefect worker (see the module docstring)."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for name, variable in RUNNER_ENVIRONMENT.items():
        if environ.get(variable):
            values[name] = int(environ[variable]) if name == "workers" else environ[variable]
    if values.get("task_runner", "process") not in TASK_RUNNERS:
        raise ValueError(f"{RUNNER_ENVIRONMENT['task_runner']} must be one of {TASK_RUNNERS}")
    return RunnerSettings(**values)


def default_task_runner() -> Any:
    """The flow's own task runner: processes on every core unless the environment says otherwise."""
    return make_task_runner(runner_settings_from_environment())


def task_runner_kind(task_runner: Any) -> str:
    """'process', 'thread', 'dask' (or the class name) for a Prefect task runner."""
    names = {
        "BatchProcessTaskRunner": "process",
        "ProcessPoolTaskRunner": "process",
        "ThreadPoolTaskRunner": "thread",
        "DaskTaskRunner": "dask",
    }
    for cls in type(task_runner).__mro__:
        if cls.__name__ in names:
            return names[cls.__name__]
    return type(task_runner).__name__


def run_pipeline(
    content: Path | None = None,
    warehouse: Path | None = None,
    out: Path | None = None,
    config: Path | None = None,
    full_refresh: bool = False,
    task_runner: str | None = None,
    workers: int | None = None,
    dask_address: str | None = None,
    profile: str | None = None,
) -> dict[str, Any]:
    """Run the content-audit flow once and return its `runs` row."""
    settings = load_settings(
        config,
        content_dir=content,
        warehouse=warehouse,
        out_dir=out,
        task_runner=task_runner,
        workers=workers,
        dask_address=dask_address,
        profile=profile,
    )
    with prefect_api() as api:
        from flows.pipeline import content_audit  # imports while a temporary server boots

        flow = content_audit.with_options(task_runner=make_task_runner(settings.runner))
        api.ready()
        return flow(**flow_parameters(settings, config, full_refresh, profile))


def flow_parameters(
    settings: Any, config: Path | None, full_refresh: bool, profile: str | None = None
) -> dict[str, Any]:
    """The flow's parameters (JSON: they are stored with every run and shown in the UI).
    profile: the command line's `--profile`, or None to keep the config's, which every run
    reads again (a deployment's stored parameters would otherwise pin it)."""
    return {
        "content": str(settings.content_dir),
        "warehouse": str(settings.warehouse),
        "out": str(settings.out_dir),
        "config": str(config) if config else None,
        "full_refresh": full_refresh,
        "profile": profile,
    }


def log_migrations(applied: list[int]) -> None:
    """Name the schema migrations this run applied to an existing warehouse: one that rebuilds
    a table takes a while on a large one (migration 0011: 27 s at 1,000,000 pages). A new
    warehouse applies them all, from the first, and says nothing."""
    from prefect import get_run_logger

    if applied and applied[0] != 1:
        get_run_logger().info("Warehouse schema brought up to date: migrations %s applied", applied)


def log_task_runner(settings: Any) -> None:
    """Say where batches run, and warn when a deployment's run ignores the config's choice
    (a worker imports the flow with its environment's runner; see the module docstring)."""
    from prefect import get_run_logger
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    if context is None or context.task_runner is None:
        return
    logger = get_run_logger()
    active = task_runner_kind(context.task_runner)
    logger.info("Task runner: %s", active)
    wanted = settings.runner.task_runner
    if context.flow_run.deployment_id and wanted != active:
        logger.warning(
            "The config asks for task runner %r but this deployment runs %r: set %s=%s in the "
            "deployment's environment (prefect.yaml job_variables.env) or serve with --task-runner %s",
            wanted,
            active,
            RUNNER_ENVIRONMENT["task_runner"],
            wanted,
            wanted,
        )


def stop_worker_processes() -> None:
    """Stop the flow's worker processes once every batch has been scored: the site-wide
    steps after that run in the flow process, and idle workers would hold ~190 MB each
    through them. They exit on their own, beside the next steps: the flow does not wait
    for them (the task runner's exit does). Thread and Dask runners are left alone (no
    processes of ours to stop)."""
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    pool = getattr(context.task_runner, "worker_pool", None) if context is not None else None
    if pool is not None:
        pool.stop(wait=False)
