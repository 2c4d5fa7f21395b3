"""The weekly digest on the seeded tenant of ``tests/digest_support.py`` (90 simulated accounts
over 24 weeks with planted churners, feature requests, an abstaining intent, a spike after a
deploy, four weeks of drafts and signals): the time to compute it (p50 of three), each section's
time, what each section holds, the Slack message's size, and how many requesters' names and
addresses of the seed appear in the digest (should be 0).

    .venv/bin/python bench/digest.py
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    with tempfile.TemporaryDirectory() as home:
        from core.config import Settings
        from core.insights.digest import SECTIONS, weekly_digest
        from core.runtime import Runtime
        from integrations.slack.digest_message import build_digest_message
        from tests.digest_support import WEEK, personal_details, seed_digest

        runtime = Runtime(Settings(home=Path(home), database_url=f"sqlite:///{home}/deskloop.db"))
        seed_digest(runtime, "acme")
        timings, digest = [], None
        for _ in range(3):
            began = time.perf_counter()
            digest = weekly_digest(runtime, "acme", WEEK)
            timings.append(time.perf_counter() - began)
        assert digest is not None
        print(f"digest of {digest.week}: {statistics.median(timings):.2f} s (p50 of 3); "
              f"notes: {digest.notes or 'none'}")
        for name, compute in SECTIONS.items():
            began = time.perf_counter()
            compute(runtime, "acme", WEEK)
            print(f"  {name}: {time.perf_counter() - began:.2f} s")
        print(f"churn risks {len(digest.churn_risks or [])}, "
              f"rising capabilities {len(digest.rising_capabilities or [])}, "
              f"knowledge gaps {len(digest.knowledge_gaps or [])}, incidents {len(digest.incidents or [])}, "
              f"acceptance trend {[w.acceptance for w in digest.learning.trend] if digest.learning else None}")
        message = build_digest_message(digest)
        print(f"slack message: {len(message['blocks'])} blocks, {len(json.dumps(message))} bytes of JSON")
        text = digest.model_dump_json().lower()
        details = personal_details()
        print(f"requesters' names and addresses in the seed: {len(details)}; found in the digest: "
              f"{sum(d.lower() in text for d in details)}")
        runtime.close()


if __name__ == "__main__":
    main()
