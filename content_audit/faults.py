"""Test seam: make the run process die at a named point, to prove crash safety.

The kill-and-rerun tests (tests/test_crash_safety.py) start `content-audit run` with
CONTENT_AUDIT_TEST_KILL_AT=<point> and the process SIGKILLs itself when it reaches that
point, exactly as a power cut or the OOM killer would end it: no cleanup, no finally
blocks, no transaction rollback. Unset (always, outside those tests) it costs one
environment lookup. Points in use:

- `ingest-batch-N-uncommitted`: inside ingest batch N's transaction, rows written, not
  committed (warehouse/runs.py record_batch)
- `ingest-batch-N`: just after ingest batch N committed (flows/pipeline.py)
- `analyse-batch-N`: just after the page analysis of ingest batch N (or of analyse batch
  N, for documents ingest left unscored) committed (flows/pipeline.py)
- `forget-deleted`: while the pages deleted since the last run leave the warehouse, after
  the duplicate index, before the analysis tables (warehouse/loads.py forget_documents)
- `publish`: just before reports are published (flows/pipeline.py)
"""

from __future__ import annotations

import os
import signal

KILL_AT_VARIABLE = "CONTENT_AUDIT_TEST_KILL_AT"


def maybe_die(point: str) -> None:
    """SIGKILL this process if the test seam names `point`."""
    if os.environ.get(KILL_AT_VARIABLE) == point:
        os.kill(os.getpid(), signal.SIGKILL)
