"""One run at a time per warehouse: a second run exits at once with a clear message and
touches nothing; readers work while no run is going and get a clear message while one is.

The first run is held open with `open_run`, the very context the flow runs inside (lock,
write connection, a 'running' row), so the second run meets a run in progress every time.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from warehouse.lock import WarehouseLock, WarehouseLocked
from warehouse.session import open_read_only, open_run

REPO = Path(__file__).resolve().parents[1]


def _fingerprint(warehouse: Path) -> dict[str, tuple[str, int]]:
    """Bytes and mtime of the warehouse and its write-ahead log (the lock file aside)."""
    found = {}
    for path in (warehouse, Path(str(warehouse) + ".wal")):
        if path.exists():
            found[path.name] = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
    return found


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)  # fmt: skip


def test_second_run_exits_at_once_and_touches_nothing(tmp_path: Path, shared: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    with open_run(warehouse, "first") as first:
        first.con.execute("CHECKPOINT")  # settle the file so any later write would show
        before = _fingerprint(warehouse)
        env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
        second = subprocess.run(
            [sys.executable, "-m", "content_audit.cli", "run", "--content", str(shared / "sample"),
             "--warehouse", str(warehouse), "--out", str(tmp_path / "report")],
            cwd=tmp_path, env=dict(env, PYTHONPATH=str(REPO)), capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert second.returncode == 3, second.stderr[-2000:]
        message = " ".join(second.stderr.split())
        assert f"warehouse is locked by run {first.run_id} since " in message
        assert f"pid {os.getpid()}" in message and "Traceback" not in second.stderr
        assert _fingerprint(warehouse) == before
        assert not (tmp_path / "report").exists()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT run_id, status FROM runs").fetchall() == [(first.run_id, "completed")]


def test_second_open_run_in_the_flow_is_refused_too(tmp_path: Path) -> None:
    """The lock the flow itself takes (for a second run that slipped past the CLI's check)."""
    warehouse = tmp_path / "w.duckdb"
    with open_run(warehouse, "first") as first:
        first.con.execute("CHECKPOINT")
        before = _fingerprint(warehouse)
        locked = pytest.raises(WarehouseLocked, match=f"locked by run {first.run_id} since ")
        with locked, open_run(warehouse, "second"):
            pytest.fail("a second run got the warehouse")
        with pytest.raises(WarehouseLocked):
            WarehouseLock(warehouse).check_free()
        assert _fingerprint(warehouse) == before
    WarehouseLock(warehouse).check_free()  # free again once the first run ended
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 1


def test_lock_check_creates_nothing(tmp_path: Path) -> None:
    WarehouseLock(tmp_path / "never.duckdb").check_free()
    assert list(tmp_path.iterdir()) == []


def test_killed_holder_leaves_the_warehouse_free(tmp_path: Path) -> None:
    """The OS drops a flock when its holder dies, even on SIGKILL."""
    warehouse = tmp_path / "w.duckdb"
    code = (
        "import os, signal\nfrom warehouse.session import open_run\n"
        f"with open_run({str(warehouse)!r}, 'doomed'):\n    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    assert _python(code, tmp_path).returncode == -9
    WarehouseLock(warehouse).check_free()
    with open_run(warehouse, "next") as run:
        statuses = run.con.execute("SELECT run_id, status FROM runs ORDER BY 1").fetchall()
    assert statuses == [(1, "abandoned"), (2, "running")]


def test_analysts_read_while_no_run_is_going(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    with open_run(warehouse, "content"):
        pass
    code = (
        "import duckdb\n"
        f"con = duckdb.connect({str(warehouse)!r}, read_only=True)\n"
        "print(con.execute('SELECT status FROM runs').fetchone()[0])\n"
    )
    with duckdb.connect(str(warehouse), read_only=True) as con:  # two readers at once
        assert con.execute("SELECT status FROM runs").fetchone()[0] == "completed"
        other = _python(code, tmp_path)
        assert (other.returncode, other.stdout.strip()) == (0, "completed"), other.stderr
    with open_read_only(warehouse) as con:
        assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 1


def test_reading_while_a_run_holds_the_file_says_so(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    code = (
        "from warehouse.session import open_read_only\n"
        "try:\n"
        f"    with open_read_only({str(warehouse)!r}) as con:\n"
        "        print('opened')\n"
        "except RuntimeError as error:\n"
        "    print('refused:', error)\n"
    )
    with open_run(warehouse, "content"):
        other = _python(code, tmp_path)
        assert other.stdout.startswith("refused:"), (other.stdout, other.stderr[-2000:])
        assert "held by a running pipeline" in other.stdout and "Parquet exports" in other.stdout
        refused = pytest.raises(RuntimeError, match="held by a running pipeline")
        with refused, open_read_only(warehouse):  # in the run's own process too
            pass
    assert _python(code, tmp_path).stdout.strip() == "opened"
