"""One Prefect API for every process of a run.

Prefect starts a temporary ("ephemeral") server when no API is configured, but it does so
per process: with a process pool or a local Dask cluster each worker would start its own
server and the run would not show its task runs in one place. So when no API is set we
start one temporary server ourselves and export its URL, which worker processes inherit.
A configured API (`prefect server start`, Prefect Cloud, the test harness) is used as is.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

# Offline, telemetry only produces error lines; a run shows none.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# A first start creates the server's database; on a busy 2-core machine that takes a while.
SERVER_START_TIMEOUT_S = 120


@contextmanager
def prefect_api() -> Iterator[str]:
    """Yield the API URL every process of this run uses, starting a local server if none."""
    configured = get_current_settings().api.url
    if configured:
        yield configured
        return
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    server.start(timeout=SERVER_START_TIMEOUT_S)
    os.environ["PREFECT_API_URL"] = server.api_url
    try:
        with temporary_settings({PREFECT_API_URL: server.api_url}):
            yield server.api_url
            _drain_prefect_workers()
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        _quiet_shutdown()
        server.stop()


def _drain_prefect_workers() -> None:
    """Send queued logs and events before the server goes away (no 'Error logging to API')."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        with suppress(Exception):
            worker.drain_all(timeout=10)


def _quiet_shutdown() -> None:
    """Once the run is over, late background errors must not reach the user's terminal."""
    for name in ("prefect.logging.handlers", "prefect._internal.concurrency", "prefect.events.clients"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
