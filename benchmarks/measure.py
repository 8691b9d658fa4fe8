"""Wall time and peak memory of a command and every process it starts."""

from __future__ import annotations

import contextlib
import subprocess
import time
from dataclasses import dataclass

import psutil


@dataclass
class Measurement:
    wall_s: float
    peak_rss_mb: float
    returncode: int
    output_tail: str


def measure(
    command: list[str], env: dict[str, str] | None = None, cwd: str | None = None, interval_s: float = 0.05
) -> Measurement:
    """Run `command`; sample the summed RSS of its whole process tree every `interval_s`."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    root = psutil.Process(process.pid)
    peak = 0
    lines: list[str] = []
    import threading

    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)  # type: ignore[arg-type]
    reader.start()
    while process.poll() is None:
        peak = max(peak, _tree_rss(root))
        time.sleep(interval_s)
    reader.join(timeout=5)
    wall = time.perf_counter() - start
    return Measurement(wall, peak / 2**20, process.returncode, "".join(lines[-15:]))


def _tree_rss(root: psutil.Process) -> int:
    total = 0
    try:
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    for proc in processes:
        with contextlib.suppress(psutil.Error):
            total += proc.memory_info().rss
    return total
