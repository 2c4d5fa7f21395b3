"""Jobs for tests of the queue itself, importable by a worker process by their dotted path."""

from __future__ import annotations

from pathlib import Path


def fails_twice(counter: str) -> str:
    """Fails on its first two runs (as a call to a helpdesk in an outage would), counting runs in
    the file ``counter``."""
    path = Path(counter)
    runs = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(runs))
    if runs < 3:
        raise RuntimeError("the helpdesk is unavailable")
    return "written"


def slow_write(started: str, seconds: float, done: str) -> str:
    """Marks ``started``, waits ``seconds`` (long enough for a test to kill Redis under it), then
    writes ``done``."""
    import time

    Path(started).write_text("started")
    time.sleep(seconds)
    Path(done).write_text("done")
    return "written"
