"""Import throughput: 100,000 generated tickets, CSV and JSONL, into a fresh SQLite DESKLOOP_HOME.

Targets: >= 5,000 tickets/s and < 500 MB peak resident memory, through the same code path as
``deskloop import`` (Runtime -> migrated database -> ``core.ingest.import_file``). Each format runs
in its own process so ``ru_maxrss`` (the process's peak) belongs to that import alone.

    .venv/bin/python bench/import_throughput.py [--tickets 100000]

The generator is deliberately simple and self-contained (no dependency on ``deskloop simulate``):
realistic short customer texts, and for JSONL about three messages per ticket, some with HTML,
quoted replies and signatures, so the cleaning paths are exercised in realistic proportions.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOPICS = {
    "card_arrival": ["My new card still hasn't arrived, it's been {n} days.", "When will my card be delivered?",
                     "I ordered a card {n} days ago and nothing came in the post."],
    "request_refund": ["Where is the refund for order {n}?", "I returned the item {n} days ago, no refund yet.",
                       "Please refund the duplicate charge of {n} EUR."],
    "password_reset": ["I forgot my password and the reset email never arrives.",
                       "The password reset link says it expired after {n} minutes.",
                       "Locked out of my account after the update, please help."],
    "billing": ["I was charged twice for my subscription this month ({n} EUR).",
                "Why is my invoice {n} higher than last month?", "Please send me the invoice for order {n}."],
    "app_crash": ["The app crashes every time I open the cards screen.",
                  "After updating to version {n} the app won't start.", "The app freezes when I try to pay."],
}
NAMES = ["Ada Lovelace", "Grace Hopper", "Alan Turing", "Edsger Dijkstra", "Barbara Liskov", "Katherine Johnson"]
REPLIES = ["Hi {first}, thanks for reaching out. I've looked into this and fixed it on our side.",
           "Hi {first}, sorry about that! It should be sorted within {n} working days.",
           "Hi {first}, could you send us a screenshot of the error so we can investigate?"]


def customer_body(rng: random.Random, text: str, name: str) -> str:
    """Mostly plain text; about one in five with a signature, one in six quoting a reply, one in eight HTML."""
    roll = rng.random()
    if roll < 0.125:
        return f"<div dir='ltr'><p>Hello,</p><p>{text}</p><p>Thanks,<br>{name}</p></div>"
    if roll < 0.29:
        return (f"{text}\n\nOn Mon, Jan 5, 2026 at 10:02 AM Support <support@example.com> wrote:\n"
                f"> Hi {name.split()[0]}, thanks for your message.\n> We are looking into it.")
    if roll < 0.49:
        return f"{text}\n\nThanks,\n{name}\n\nSent from my iPhone"
    return text


def generate(directory: Path, count: int, seed: int = 7) -> tuple[Path, Path]:
    rng = random.Random(seed)
    csv_path, jsonl_path = directory / "tickets.csv", directory / "tickets.jsonl"
    topics = list(TOPICS)
    with csv_path.open("w", newline="", encoding="utf-8") as csv_file, jsonl_path.open("w", encoding="utf-8") as out:
        writer = csv.writer(csv_file)
        writer.writerow(["id", "text", "category", "created", "reply"])
        for i in range(count):
            topic = rng.choice(topics)
            name = rng.choice(NAMES)
            text = rng.choice(TOPICS[topic]).format(n=rng.randint(2, 999))
            reply = rng.choice(REPLIES).format(first=name.split()[0], n=rng.randint(2, 5))
            created = 1_767_600_000 + i * 37
            writer.writerow([f"c-{i}", text, topic, str(created), reply])
            ticket = {
                "source": "bench", "external_id": f"t-{i}", "subject": f"Re: {topic.replace('_', ' ')}",
                "messages": [
                    {"author_role": "customer", "body": customer_body(rng, text, name), "author_name": name},
                    {"author_role": "agent", "body": reply, "author_name": "Sam"},
                    {"author_role": "customer", "body": rng.choice(["Thanks, that worked!", "Still not fixed.",
                                                                    "Any update on this?"])},
                ],
                "requester": {"name": name, "email": name.lower().replace(" ", ".") + "@example.com"},
                "tags": [topic.split("_")[0]], "intent": topic, "status": "solved",
                "created_at": created, "csat": {"score": rng.randint(1, 5)},
            }
            out.write(json.dumps(ticket) + "\n")
    return csv_path, jsonl_path


def run_one(path: str, fmt: str) -> None:
    """Child process: import one file into a fresh DESKLOOP_HOME and print a JSON line of figures."""
    from core.ingest import FieldMap, import_file
    from core.runtime import Runtime

    runtime = Runtime()
    _ = runtime.db  # migrate before timing, as `deskloop migrate` would have
    mapping = FieldMap(text="text", label="category", id="id", created="created", reply="reply")
    started = time.perf_counter()
    result = import_file(runtime.db, path, "bench", fmt=fmt, mapping=mapping, show_progress=False)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    runtime.close()
    print(json.dumps({"format": fmt, "tickets": result.rows, "seconds": seconds,
                      "per_second": result.rows / seconds, "peak_mb": peak_mb}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--child", nargs=2, metavar=("PATH", "FORMAT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_one(*args.child)
        return 0
    ok = True
    with tempfile.TemporaryDirectory(prefix="deskloop-bench-") as tmp:
        directory = Path(tmp)
        started = time.perf_counter()
        csv_path, jsonl_path = generate(directory, args.tickets)
        print(f"generated {args.tickets} tickets in {time.perf_counter() - started:.1f} s "
              f"(CSV {csv_path.stat().st_size / 1e6:.1f} MB, JSONL {jsonl_path.stat().st_size / 1e6:.1f} MB)")
        for path, fmt in ((csv_path, "csv"), (jsonl_path, "jsonl")):
            home = directory / f"home-{fmt}"
            env = {**os.environ, "DESKLOOP_HOME": str(home), "DESKLOOP_DATABASE_URL": f"sqlite:///{home}/deskloop.db"}
            done = subprocess.run([sys.executable, __file__, "--child", str(path), fmt], env=env,
                                  capture_output=True, text=True, check=True)
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            passed = figures["per_second"] >= 5000 and figures["peak_mb"] < 500
            ok &= passed
            print(f"{fmt:5}  {figures['tickets']} tickets in {figures['seconds']:.1f} s = "
                  f"{figures['per_second']:,.0f} tickets/s, peak memory {figures['peak_mb']:.0f} MB "
                  f"[{'ok' if passed else 'BELOW TARGET'}]")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
