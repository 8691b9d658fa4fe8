"""One Prefect API for every process of a run.

Prefect starts a temporary ("ephemeral") server when no API is configured, but it does so
per process: with a process pool or a local Dask cluster each worker would start its own
server and the run would not show its task runs in one place. So when no API is set we
start one temporary server ourselves and export its URL, which worker processes inherit.
A configured API (`prefect server start`, Prefect Cloud, the test harness) is used as is.

The server is launched the way Prefect launches its own temporary server (uvicorn with
Prefect's app factory, UI off), but without importing Prefect's server package into this
process (9 s of imports on a 2-core machine) and before the flow's own imports, so that
the two start-ups overlap.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

# Offline, telemetry only produces error lines; a run shows none.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# A first start creates the server's database; on a busy 2-core machine that takes a while.
SERVER_START_TIMEOUT_S = 120


class TemporaryPrefectServer:
    """A local Prefect API server for the duration of one run."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self._process: subprocess.Popen | None = None

    def start(self) -> None:
        import prefect  # the package folder only; the server modules load in the subprocess
        from prefect.settings import get_current_settings

        env = {**os.environ, **get_current_settings().to_environment_variables(exclude_unset=True)}
        env.update(PREFECT_UI_ENABLED="0", PREFECT__SERVER_EPHEMERAL="1", PREFECT__SERVER_FINAL="1")
        env.pop("PREFECT_API_URL", None)
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--app-dir",
                str(Path(prefect.__file__).parent.parent),
                "--factory",
                "prefect.server.api.server:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "error",
                "--lifespan",
                "on",
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def wait_until_ready(self, timeout_s: float = SERVER_START_TIMEOUT_S) -> None:
        assert self._process is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                error = (
                    self._process.stderr.read().decode(errors="replace")[-2000:]
                    if self._process.stderr
                    else ""
                )
                raise RuntimeError(
                    f"the temporary Prefect server exited ({self._process.returncode}): {error}"
                )
            with suppress(OSError), urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as response:
                if response.status == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"the temporary Prefect server did not answer within {timeout_s:.0f} s")

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None


class PrefectApi:
    """The API a run talks to; `ready()` blocks until it answers."""

    def __init__(self, url: str, server: TemporaryPrefectServer | None) -> None:
        self.url = url
        self._server = server

    def ready(self) -> None:
        if self._server is not None:
            self._server.wait_until_ready()


_active: PrefectApi | None = None


@contextmanager
def prefect_api() -> Iterator[PrefectApi]:
    """The API every process of this run uses, starting a local server if none is set.

    Call `.ready()` before the first Prefect call: the server boots while the caller imports.
    """
    global _active
    if _active is not None:  # nested: the command line started the server early
        yield _active
        return
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    configured = get_current_settings().api.url
    if configured:
        yield PrefectApi(configured, None)
        return
    from prefect.context import refresh_global_settings_context

    server = TemporaryPrefectServer()
    server.start()
    # Threads Prefect starts (task runner helpers, log and event workers) do not inherit the
    # settings context; without the global settings seeing the URL, one of them would start
    # a second ephemeral server in this process.
    os.environ["PREFECT_API_URL"] = server.api_url
    refresh_global_settings_context()
    _active = PrefectApi(server.api_url, server)
    try:
        with temporary_settings({PREFECT_API_URL: server.api_url}):
            yield _active
            _drain_prefect_workers()
    finally:
        _active = None
        os.environ.pop("PREFECT_API_URL", None)
        refresh_global_settings_context()
        _quiet_shutdown()
        server.stop()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
