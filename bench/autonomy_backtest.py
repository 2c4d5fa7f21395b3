"""The autonomy backtest on a Banking77-worded history: what it would offer, and how long it takes.

Writes N of the Banking77 queries shipped in ``core/demo/data`` as resolved tickets in a seeded
random order, ten minutes apart, each answered with the reply an agent sends for its intent
(``core/demo/replies.json``); a seeded 3% are reopened and 3% rated 1 of 5. Imports them with
``deskloop import`` into a fresh embedded home, replays them once through the engine behind
``deskloop autonomy backtest`` (timed), and reports at several target precisions: the intents
given a threshold, the replies that would have been sent, the estimated auto-resolution rate and
the estimated share of wrong replies.

    .venv/bin/python bench/autonomy_backtest.py [--limit 3000] [--seed 11] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGETS = (0.98, 0.95, 0.9, 0.8)
REOPENED, BAD_RATING = 0.03, 0.03


def write_history(path: Path, seed: int, limit: int) -> int:
    from core.demo.simulate import FIRST_NAMES, LAST_NAMES, load_queries, load_replies

    queries, replies = load_queries(), load_replies()
    rnd = random.Random(seed)
    rnd.shuffle(queries)
    queries = queries[:limit]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with path.open("w", encoding="utf-8") as out:
        for n, query in enumerate(queries):
            first, last = rnd.choice(FIRST_NAMES), rnd.choice(LAST_NAMES)
            reply = replies[query.intent]["reply"].format(first_name=first, agent_name="Sam")
            ticket = {
                "external_id": f"B77-{n:05d}", "intent": query.intent, "status": "solved",
                "created_at": (start + timedelta(minutes=10 * n)).isoformat(),
                "requester": {"name": f"{first} {last}"},
                "messages": [{"author_role": "customer", "body": query.text},
                             {"author_role": "agent", "body": reply, "author_name": "Sam"}],
            }
            if rnd.random() < REOPENED:
                ticket["reopen_count"] = 1
            if rnd.random() < BAD_RATING:
                ticket["csat"] = {"score": 1}
            out.write(json.dumps(ticket) + "\n")
    return len(queries)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=3000, help="How many tickets (Banking77 has 10,003).")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json", action="store_true", help="Print one JSON object only.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="deskloop-backtest-bench-") as home:
        path = Path(home) / "banking77-history.jsonl"
        n = write_history(path, args.seed, args.limit)
        os.environ["DESKLOOP_HOME"] = home
        for name in ("DESKLOOP_DATABASE_URL", "DESKLOOP_REDIS_URL"):
            os.environ.pop(name, None)
        done = subprocess.run([sys.executable, "-m", "core.cli", "import", str(path), "--tenant", "b77"],
                              cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return done.returncode

        from core.autonomy.backtest import replay_history, report, resolved_history
        from core.runtime import Runtime

        runtime = Runtime()
        started = time.perf_counter()
        replayed = replay_history(runtime, "b77", resolved_history(runtime, "b77"))
        seconds = time.perf_counter() - started
        runtime.close()
        reports = {target: report(replayed, target) for target in TARGETS}
        summary = {
            "tickets": n, "seed": args.seed, "replay_seconds": round(seconds, 1),
            "targets": [{"target_precision": target, "intents_offered": sum(r["threshold"] is not None
                                                                            for r in found["intents"]),
                         "intents": len(found["intents"]), "sent": found["sent"], "right": found["right"],
                         "auto_resolution_rate": found["auto_resolution_rate"],
                         "wrong_reply_share": found["wrong_reply_share"]}
                        for target, found in reports.items()],
            "right_in_replay": sum(r.right for r in replayed),
            "abstained": sum(r.abstained for r in replayed),
            "right_intent_no_draft": sum(r.predicted == r.intent and not r.would_send for r in replayed),
            "right_intent_far_draft": sum(r.predicted == r.intent and r.would_send and (r.similarity or 0) < 0.8
                                          for r in replayed),
            "outcome_bad": sum(r.reopened or r.bad_csat for r in replayed),
            "intent_right_in_replay": sum(r.predicted == r.intent for r in replayed),
        }
        if args.json:
            print(json.dumps(summary))
            return 0
        print(f"replayed {n:,} Banking77 tickets (seed {args.seed}) in {seconds:.0f} s; "
              f"{summary['intent_right_in_replay'] / n:.1%} got the right intent, "
              f"{summary['right_in_replay'] / n:.1%} a right reply (right intent, draft close to the agent's, "
              "not reopened or badly rated)")
        print(f"abstained {summary['abstained'] / n:.1%}; right intent but no draft to send "
              f"{summary['right_intent_no_draft'] / n:.1%}, or a draft less than 0.8 similar "
              f"{summary['right_intent_far_draft'] / n:.1%}; reopened or rated badly {summary['outcome_bad'] / n:.1%}")
        print(f"{'target':>6} {'intents':>9} {'sent':>6} {'auto-resolution':>16} {'wrong replies':>14}")
        for row in summary["targets"]:
            wrong = "-" if row["wrong_reply_share"] is None else f"{row['wrong_reply_share']:.1%}"
            print(f"{row['target_precision']:>6} {row['intents_offered']:>4}/{row['intents']:<4} {row['sent']:>6} "
                  f"{row['auto_resolution_rate']:>16.1%} {wrong:>14}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
