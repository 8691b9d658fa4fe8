"""`content-audit` ends its process without the interpreter's teardown
(content_audit.cli.end_process), with the exit status and output a normal exit gives."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("code", "status", "stderr"),
    [("None", 0, ""), ("0", 0, ""), ("2", 2, ""), ("'no warehouse'", 1, "no warehouse\n")],
)
def test_exit_status_and_message_as_a_normal_exit(code: str, status: int, stderr: str) -> None:
    # Buffered output, an atexit function and a thread that is not a daemon: all complete.
    result = _python(
        "import atexit, sys, threading, time\n"
        "from content_audit.cli import end_process\n"
        "sys.stdout.write('buffered')\n"
        "atexit.register(lambda: print(' atexit', end=''))\n"
        "threading.Thread(target=lambda: (time.sleep(0.3), print(' thread', end=''))).start()\n"
        f"end_process({code})\n"
    )
    assert result.returncode == status
    assert result.stdout == "buffered thread atexit"
    assert result.stderr == stderr


def test_output_that_cannot_be_written_fails_the_exit_status() -> None:
    result = _python(
        "import sys\nfrom content_audit.cli import end_process\nsys.stdout.close()\nend_process(0)\n"
    )
    assert result.returncode == 120


def test_a_command_exits_with_its_status(tmp_path) -> None:
    # Longer than a terminal line, with brackets Rich would read as markup.
    missing = tmp_path / "[draft] a folder name that takes the path past eighty columns" / "missing.duckdb"
    result = subprocess.run(
        [sys.executable, "-m", "content_audit.cli", "report", "--warehouse", str(missing)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    assert f"{missing} does not exist" in result.stderr.splitlines()[0]


def test_the_run_summary_prints_the_runs_warnings(capsys) -> None:
    from content_audit.cli import _print_summary

    _print_summary(
        {"run_id": 4, "status": "completed", "files_seen": 2, "warnings": ["map it in [ingest.fields]"]}
    )
    out = capsys.readouterr().out
    assert "Run 4: completed" in out and "warning: map it in [ingest.fields]" in out  # markup not eaten
