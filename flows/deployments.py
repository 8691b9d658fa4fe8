"""Serve the content-audit flow as a Prefect deployment: a cron schedule, fixed parameters,
and at most one run at a time.

`flow.serve` registers the deployment with the Prefect API and polls it for due runs, which
it starts in subprocesses of this process. Prefect 3.9 runs the served flow object itself
(not a fresh import), so the task runner chosen from the settings here holds for every
run. The `prefect.yaml` at the repository root defines the same deployment for a process
work pool and `prefect worker start`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

DEPLOYMENT_NAME = "scheduled"
COLLISION_STRATEGIES = ("enqueue", "cancel-new")


class NoPrefectServer(RuntimeError):
    """Schedules need a real Prefect API; the ephemeral one cannot run them."""


def require_prefect_server() -> str:
    """The configured Prefect API URL, or a clear error saying how to start one."""
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    if not url:
        raise NoPrefectServer(
            "serving needs a Prefect server (the temporary one Prefect starts by itself cannot "
            "run schedules): start one with `prefect server start --host 127.0.0.1` and set "
            "PREFECT_API_URL=http://127.0.0.1:4200/api, or log in to Prefect Cloud"
        )
    return url


def concurrency_limit(collision_strategy: str) -> Any:
    """One run at a time: a run due while another runs waits (enqueue) or is cancelled
    (cancel-new). One deployment per warehouse; the warehouse lock is the backstop for
    anything else that writes it."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy

    if collision_strategy not in COLLISION_STRATEGIES:
        raise ValueError(
            f"collision strategy must be one of {COLLISION_STRATEGIES}, not {collision_strategy!r}"
        )
    strategy = ConcurrencyLimitStrategy[collision_strategy.upper().replace("-", "_")]
    return ConcurrencyLimitConfig(limit=1, collision_strategy=strategy)


def serve_pipeline(
    content: Path | None = None,
    warehouse: Path | None = None,
    out: Path | None = None,
    config: Path | None = None,
    cron: str | None = None,
    name: str = DEPLOYMENT_NAME,
    full_refresh: bool = False,
    collision_strategy: str = "enqueue",
    task_runner: str | None = None,
    workers: int | None = None,
    dask_address: str | None = None,
    profile: str | None = None,
) -> None:
    """Register the deployment and serve its runs until interrupted (Ctrl-C, SIGTERM)."""
    from content_audit.runner import flow_parameters, make_task_runner
    from content_audit.settings import load_settings
    from flows.pipeline import content_audit

    require_prefect_server()
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
    if not settings.content_dir.is_dir():
        raise FileNotFoundError(f"content folder {settings.content_dir} does not exist or is not a folder")
    # Absolute paths: the deployment's parameters are read by runs started later, from the UI
    # or `prefect deployment run`, whatever their working folder.
    parameters = flow_parameters(settings, config.resolve() if config else None, full_refresh, profile) | {
        "content": str(settings.content_dir.resolve()),
        "warehouse": str(settings.warehouse.resolve()),
        "out": str(settings.out_dir.resolve()),
    }
    flow = content_audit.with_options(task_runner=make_task_runner(settings.runner))
    flow.serve(
        name=name,
        cron=cron,
        parameters=parameters,
        global_limit=concurrency_limit(collision_strategy),
        description=f"Audit {parameters['content']} into {parameters['warehouse']}",
        tags=["content-audit"],
    )
