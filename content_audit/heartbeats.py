"""Flow runs that end without waiting on their heartbeat thread.

Prefect (3.9, where heartbeats are on by default, every 180 s) sends a flow run's
heartbeats from a daemon thread that sleeps in one-second steps and looks at a stop flag
between them. Its synchronous flow engine sets the flag when the run's body returns and
then joins the thread, so every run ended 0 to 1 s after its work (0.5 s on average): on a
100,000-page warehouse, 0.62-0.85 s of four 5.3 s nothing-changed reruns passed between the
flow's body returning and Prefect's "Finished in state Completed()"; 16-29 ms of four such
reruns (4.1-4.9 s) without the join.

Prefect's asynchronous engine does not join that thread (`join_on_exit=False`); the thread
ends at its next step, and sends nothing after the run is final (it checks the run's state
before each heartbeat). `end_flow_runs_without_joining_heartbeats` makes the synchronous
engine do the same. Heartbeats themselves are unchanged: the first when the run starts, then
one every PREFECT_FLOWS_HEARTBEAT_FREQUENCY seconds; the Prefect server's zombie-run
detection sees the same events.

This replaces a private function of Prefect's (`prefect.flow_engine._send_heartbeats`), by
name and only when it has the `join_on_exit` parameter; otherwise nothing is changed and
`heartbeats_joined_on_exit()` says so (tests/test_heartbeats.py fails on such a Prefect, so an
upgrade that moves the function shows in CI rather than as slower runs).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

_HOOK_MARK = "content_audit_unjoined"


def end_flow_runs_without_joining_heartbeats() -> bool:
    """Make the synchronous flow engine leave its heartbeat thread to end by itself, as the
    asynchronous one does. Idempotent; returns whether the engine is now set so."""
    from prefect import flow_engine

    original: Callable[..., Any] | None = getattr(flow_engine, "_send_heartbeats", None)
    if original is None or getattr(original, _HOOK_MARK, False):
        return original is not None
    if "join_on_exit" not in inspect.signature(original).parameters:
        return False

    def send_heartbeats(engine: Any, join_on_exit: bool = True) -> Any:
        return original(engine, join_on_exit=False)

    setattr(send_heartbeats, _HOOK_MARK, True)
    send_heartbeats.__wrapped__ = original  # type: ignore[attr-defined]
    flow_engine._send_heartbeats = send_heartbeats
    return True


def heartbeats_joined_on_exit() -> bool:
    """Whether a flow run in this process still waits on its heartbeat thread at its end."""
    from prefect import flow_engine

    return not getattr(getattr(flow_engine, "_send_heartbeats", None), _HOOK_MARK, False)
