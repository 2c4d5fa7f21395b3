"""What proof and abuse limits cost a request: the access check per route kind, the JSON depth
pre-check on hostile bodies, and the draft-versus-sent comparison at its cap.

- access check: ``GET /api/v1/health`` (public, no check) against ``GET /api/v1/tenants/acme/tickets``
  with an API token and with a signed-in session, 2,000 requests each through the app in-process
  (SQLite), median and p99;
- JSON depth: one 1 MiB body of each hostile shape (deep brackets, quotes, escaped quotes, a flat
  array), milliseconds per body;
- draft-versus-sent similarity of two unrelated 20,000-character texts (the cap), seconds.

    .venv/bin/python bench/access_overhead.py
"""

from __future__ import annotations

import random
import statistics
import string
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

REQUESTS = 2000


def _timed(call, count: int) -> tuple[float, float]:
    """Median and p99 of ``count`` calls, in milliseconds."""
    took = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        took.append((time.perf_counter() - started) * 1000)
    took.sort()
    return statistics.median(took), took[int(0.99 * len(took)) - 1]


def access_check() -> None:
    from core.app import create_app
    from core.config import Settings
    from core.store.tickets import upsert_tickets
    from tests.access_support import signed_in_client, token_for
    from tests.factories import small_inbox

    home = Path(tempfile.mkdtemp(prefix="deskloop-bench-"))
    settings = replace(Settings(home=home, database_url=f"sqlite:///{home / 'deskloop.db'}"), encoder="none",
                       secure_cookies=False, rate_suggest="1000000/minute")
    app = create_app(settings)
    db = app.extensions["deskloop"].db
    tenant_id = db.ensure_tenant("acme")
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, small_inbox())
    anyone = app.test_client()
    by_token = app.test_client()
    by_token.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token_for(app)}"
    by_session, _ = signed_in_client(app, "admin")
    path = "/api/v1/tenants/acme/tickets?limit=5"
    for label, call in (("public (no check), GET /api/v1/health", lambda: anyone.get("/api/v1/health")),
                        ("API token, GET .../tickets", lambda: by_token.get(path)),
                        ("session, GET .../tickets", lambda: by_session.get(path)),
                        ("no proof, GET .../tickets (401)", lambda: anyone.get(path))):
        assert call().status_code in (200, 401)
        median, p99 = _timed(call, REQUESTS)
        print(f"  {label:42} median {median:6.2f} ms   p99 {p99:6.2f} ms")
    app.extensions["deskloop"].close()


def json_depth() -> None:
    from core.web.limits import json_depth as measure

    size = 1024 * 1024
    bodies = {"100,000-deep [": b"[" * 100_000 + b"]" * 100_000, "1 MiB of [": b"[" * size,
              "1 MiB of quotes": b'"' * size, "1 MiB of escaped quotes": b'"' + b'\\"' * (size // 2),
              "flat array of 1 MiB": b"[" + b"1," * (size // 2 - 1) + b"1]"}
    for label, body in bodies.items():
        started = time.perf_counter()
        depth = measure(body)
        print(f"  {label:28} depth {depth:>9,}   {1000 * (time.perf_counter() - started):7.1f} ms")


def similarity() -> None:
    from core.learning.feedback import MAX_COMPARED_CHARS, text_similarity

    rnd = random.Random(3)
    words = ["".join(rnd.choices(string.ascii_lowercase, k=rnd.randint(2, 9))) for _ in range(3000)]

    def text() -> str:
        out = ""
        while len(out) < MAX_COMPARED_CHARS:
            out += rnd.choice(words) + " "
        return out[:MAX_COMPARED_CHARS]

    a, b = text(), text()
    started = time.perf_counter()
    score = text_similarity(a, b)
    print(f"  two unrelated texts of {MAX_COMPARED_CHARS:,} characters: similarity {score:.3f} "
          f"in {time.perf_counter() - started:.3f} s")


def main() -> None:
    print(f"access check, {REQUESTS:,} requests each (in-process, SQLite):")
    access_check()
    print("JSON depth pre-check, one body each:")
    json_depth()
    print("draft-versus-sent comparison at the cap:")
    similarity()


if __name__ == "__main__":
    main()
