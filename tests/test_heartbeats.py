"""A flow run ends without waiting on its heartbeat thread, and still sends its heartbeats
(content_audit.heartbeats)."""

from __future__ import annotations

import threading
import types

import pytest


def test_the_flow_module_sets_the_engine_not_to_join_heartbeats() -> None:
    import flows.pipeline  # noqa: F401  (sets it when imported, as every run imports it)
    from content_audit.heartbeats import end_flow_runs_without_joining_heartbeats, heartbeats_joined_on_exit

    assert not heartbeats_joined_on_exit()
    assert end_flow_runs_without_joining_heartbeats()  # idempotent
    assert not heartbeats_joined_on_exit()


def test_a_flow_run_ends_without_joining_its_heartbeat_thread(
    prefect_harness: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect import flow, flow_engine
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    import flows.pipeline  # noqa: F401

    started: list[threading.Thread] = []
    joined: list[threading.Thread] = []

    class RecordedThread(threading.Thread):
        def start(self) -> None:
            started.append(self)
            super().start()

        def join(self, timeout: float | None = None) -> None:
            joined.append(self)
            super().join(timeout)

    # flow_engine's `threading`, for this test: the same module but for the Thread class.
    recorded = types.ModuleType("threading")
    recorded.__dict__.update(vars(threading))
    recorded.Thread = RecordedThread  # type: ignore[attr-defined]
    monkeypatch.setattr(flow_engine, "threading", recorded)
    beats: list[object] = []
    monkeypatch.setattr(
        flow_engine.BaseFlowRunEngine,
        "_emit_flow_run_heartbeat",
        lambda engine, *args: beats.append(engine.flow_run.id),
    )

    @flow
    def small_flow() -> int:
        return 7

    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: 30}):
        assert small_flow() == 7

    assert len(started) == 1, "a heartbeat thread runs beside the flow run"
    assert len(beats) == 1, "its first heartbeat is sent when the run starts"
    assert joined == [], "the run ended without waiting on the heartbeat thread"
    started[0].join(5)  # it ends by itself at its next one-second step
    assert not started[0].is_alive()
    assert len(beats) == 1, "no heartbeat after the run ended"
