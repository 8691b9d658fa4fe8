"""Submit batch tasks with a bounded number in flight and hand each result on in order.

Bounded so that memory stays flat however large the site: at most `in_flight` batch
results exist at once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prefect.utilities.annotations import quote


def stream_results(
    submit: Callable[..., Any], argument_sets: Iterable[tuple], in_flight: int
) -> Iterator[Any]:
    """Yield the results of submit(*args) for each args, keeping `in_flight` submitted ahead.

    Arguments are wrapped in `quote` so Prefect does not walk big frames looking for futures.
    """
    pending: deque = deque()
    for args in argument_sets:
        pending.append(submit(*(_quoted(a) for a in args)))
        if len(pending) >= in_flight:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def submitter(task: Any, inline: bool) -> Callable[..., Any]:
    """`task.submit`, or, for work too small to pay for starting worker processes, a call that
    runs the task in the flow's own thread and hands back its result the same way."""
    if not inline:
        return task.submit
    return lambda *args: _Finished(task(*args))


class _Finished:
    def __init__(self, value: Any) -> None:
        self._value = value

    def result(self) -> Any:
        return self._value


def _quoted(value: Any) -> Any:
    return quote(value) if hasattr(value, "__len__") and not isinstance(value, str) else value
