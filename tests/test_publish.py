"""The publish step's helpers that need no warehouse."""

from __future__ import annotations

import contextvars
import threading

import pytest

from flows.publish import in_background

_CALLER = contextvars.ContextVar("caller", default="unset")


def test_background_work_sees_the_callers_context_and_fails_where_awaited() -> None:
    _CALLER.set("flow run")
    seen: list[tuple[str, str]] = []
    in_background(lambda: seen.append((_CALLER.get(), threading.current_thread().name))).result()
    assert seen == [("flow run", seen[0][1])]
    assert seen[0][1] != threading.current_thread().name  # ran in a thread of its own

    def post() -> None:
        raise ConnectionError("server went away")

    posting = in_background(post)
    with pytest.raises(ConnectionError, match="server went away"):
        posting.result()
