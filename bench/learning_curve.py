"""The learning loop's curve on Banking77: a replay of the shared training file in a seeded shuffled order.

Writes the 10,003 queries (the copy shipped in ``core/demo/data``) as tickets in a seeded random
order, one minute apart, each with a customer name and the reply an agent sends for its intent
(``core/demo/replies.json``), and runs ``deskloop replay --json`` on them into a fresh embedded
home. Prints the curve per block of 500 beside the frozen model's, and checks the targets: the
curve rises; the last block is within 3 points of the offline 5-fold cross-validated accuracy;
the learning model beats the frozen one on the last block by at least 8 points.

    .venv/bin/python bench/learning_curve.py [--seed 11] [--limit N] [--json]
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


def write_replay_file(path: Path, seed: int, limit: int | None) -> int:
    from core.demo.simulate import FIRST_NAMES, LAST_NAMES, load_queries, load_replies

    queries, replies = load_queries(), load_replies()
    rnd = random.Random(seed)
    rnd.shuffle(queries)
    queries = queries[:limit] if limit else queries
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with path.open("w", encoding="utf-8") as out:
        for n, query in enumerate(queries):
            first, last = rnd.choice(FIRST_NAMES), rnd.choice(LAST_NAMES)
            reply = replies[query.intent]["reply"].format(first_name=first, agent_name="Sam")
            out.write(json.dumps({
                "external_id": f"B77-{n:05d}", "intent": query.intent,
                "created_at": (start + timedelta(minutes=n)).isoformat(),
                "requester": {"name": f"{first} {last}"},
                "messages": [{"author_role": "customer", "body": query.text},
                             {"author_role": "agent", "body": reply, "author_name": "Sam"}],
            }) + "\n")
    return len(queries)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--limit", type=int, default=None, help="Replay only the first N shuffled queries.")
    parser.add_argument("--json", action="store_true", help="Print the replay's JSON object only.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="deskloop-replay-") as home:
        path = Path(home) / "banking77-shuffled.jsonl"
        n = write_replay_file(path, args.seed, args.limit)
        env = {**os.environ, "DESKLOOP_HOME": home}
        env.pop("DESKLOOP_DATABASE_URL", None)
        env.pop("DESKLOOP_REDIS_URL", None)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "core.cli", "replay", str(path), "--tenant", "b77-replay",
                               "--json"],
                              cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return done.returncode
        result = json.loads(done.stdout)
        if args.json:
            print(json.dumps(result))
            return 0
        print(f"replayed {n:,} Banking77 queries (seed {args.seed}) in {time.perf_counter() - started:.0f} s")
        print(f"{'block':>5} {'accuracy':>9} {'frozen':>7} {'accepted':>9} {'similarity':>10} {'abstain':>8}")
        for i, (live, frozen) in enumerate(zip(result["blocks"], result["frozen_blocks"], strict=True), start=1):
            sim = "-" if live["similarity"] is None else f"{live['similarity']:.3f}"
            print(f"{i:>5} {live['accuracy']:>9.3f} {frozen['accuracy']:>7.3f} {live['acceptance']:>9.3f} "
                  f"{sim:>10} {live['abstain_rate']:>8.3f}")
        # The targets read the last full block: 10,003 tickets end with a block of 3.
        full = [i for i, b in enumerate(result["blocks"]) if b["n"] == result["block_size"]]
        blocks = [result["blocks"][i] for i in full]
        frozen = [result["frozen_blocks"][i] for i in full]
        cv = result["offline_cv_accuracy"]
        last, gap = blocks[-1]["accuracy"], blocks[-1]["accuracy"] - frozen[-1]["accuracy"]
        rises = blocks[-1]["accuracy"] > blocks[0]["accuracy"] and blocks[-1]["accuracy"] > blocks[1]["accuracy"]
        checks = {
            "the curve rises": rises,
            f"last block {last:.3f} within 3 points of offline CV {cv:.3f}": last >= cv - 0.03,
            f"beats the frozen model on the last block by {gap * 100:.1f} points (target 8)": gap >= 0.08,
        }
        for name, ok in checks.items():
            print(f"[{'ok' if ok else 'MISSED'}] {name}")
        return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
