"""What one customer message costs by its size, from 1 KB to 1 MB: cost per KB must stay flat,
and fall once a message passes the caps (``core/text/limits.py``).

For each size, a customer mail of that many characters (HTML paragraphs of Banking77 wording with
order numbers, amounts and an address, a quoted earlier reply and a signature) goes through:

- **text**: cleaning (``clean_message``), sentiment (``analyze``), the model text
  (``text_for_model``), entities (``find_entities``) and a whole suggestion (``build_suggestion``:
  intent, tags, similar tickets, draft) on a small trained model (2,000 simulated tickets,
  n-grams; the sentence encoder reads only its first 256 tokens whatever the size);
- **import**: one ticket with that message, through ``import_file`` (all or nothing, SQLite);
- **webhook**: one ``ticket_created`` event with that message, stored and applied
  (``store_events`` + ``process_events``, in-process).

Times are the best of ``--repeat`` runs (one run from 256 KB up); peak memory is what Python
allocated at most (``tracemalloc``) over one more pass of all three, minus what was allocated before.

    .venv/bin/python bench/text_size.py [--repeat 3] [--tickets 2000] [--sizes 1 4 16 64 256 1024]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SIZES_KB = (1, 4, 16, 64, 256, 1024)


def message_of(size: int, queries: list[str], seed: int) -> str:
    """An HTML customer mail of about ``size`` characters: the new words, then a quoted reply."""
    rng = random.Random(seed)
    head = "<div><p>Hi team,</p>"
    tail = ("<blockquote>On Monday, Sam wrote:<br>Thanks for reaching out, we are looking into it.</blockquote>"
            "<p>-- <br>Mia Novak<br>Harbor Labs</p></div>")
    parts, length = [head], len(head) + len(tail)
    while length < size:
        sentence = rng.choice(queries)
        extra = rng.choice(["", f" My order ORD-{rng.randint(10000, 99999)} is stuck.",
                            f" I paid ${rng.randint(5, 900)}.50 twice.", " Ship it to 12 Harbor Street, Leeds.",
                            " Please call +44 20 7946 0958.", ""])
        paragraph = f"<p>{sentence}{extra}</p>"
        parts.append(paragraph)
        length += len(paragraph)
    return ("".join(parts) + tail)[: max(size, len(head) + len(tail))]


def build_model(runtime, home: Path, tickets: int):
    from datetime import date

    from core.demo.simulate import write_history
    from core.ingest import import_file
    from core.learning.training import train_tenant
    from core.suggesting.suggest import current_model

    history = home / "history.jsonl"
    write_history(history, count=tickets, seed=7, end=date(2026, 11, 20))
    import_file(runtime.db, history, "small", show_progress=False)
    train_tenant(runtime, "small")
    return current_model(runtime, "small")


def text_steps(model, stored, raw: str) -> dict[str, float]:
    from core.suggesting.suggest import build_suggestion
    from core.text.entities import find_entities
    from core.text.normalize import clean_message, clean_subject, text_for_model
    from core.text.sentiment import analyze

    times = {}
    t0 = time.perf_counter()
    cleaned = clean_message(raw)
    t1 = time.perf_counter()
    analyze(cleaned)
    t2 = time.perf_counter()
    text = text_for_model(clean_subject("Card declined again"), [cleaned])
    t3 = time.perf_counter()
    find_entities(text, model.vocabulary.patterns)
    t4 = time.perf_counter()
    build_suggestion(model, stored, text, "Mia Novak")
    t5 = time.perf_counter()
    times.update(clean=t1 - t0, sentiment=t2 - t1, model_text=t3 - t2, entities=t4 - t3, suggestion=t5 - t4)
    return times


def import_one(runtime, home: Path, raw: str, key: str) -> float:
    from core.ingest import import_file

    path = home / f"{key}.jsonl"
    line = {"external_id": key, "subject": "Card declined again", "messages": [
        {"author_role": "customer", "body": raw},
        {"author_role": "agent", "public": True, "body": "Hi Mia, please retry the payment."}]}
    path.write_text(json.dumps(line) + "\n")
    started = time.perf_counter()
    import_file(runtime.db, path, "imports", show_progress=False)
    return time.perf_counter() - started


def apply_webhook(runtime, raw: str, key: str) -> float:
    from core.events import HelpdeskEvent
    from core.helpdesk.webhook_events import process_events, store_events
    from core.types import Message

    now = datetime.now(UTC)
    event = HelpdeskEvent(kind="ticket_created", event_id=f"ev-{key}", ticket_external_id=key, occurred_at=now,
                          subject="Card declined again", created_at=now,
                          message=Message(author_role="customer", body=raw, created_at=now),
                          message_external_id=f"m-{key}")
    tenant_id = runtime.db.tenant_id("hooks")
    started = time.perf_counter()
    store_events(runtime, tenant_id, "zendesk", [event])
    process_events("hooks")
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES_KB, help="message sizes in KB")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="deskloop-text-size-") as tmp:
        home = Path(tmp)
        os.environ.update(DESKLOOP_HOME=tmp, DESKLOOP_ENCODER="none",
                          DESKLOOP_SECRET_KEY=secrets.token_urlsafe(32))
        os.environ.pop("DESKLOOP_DATABASE_URL", None)
        os.environ.pop("DESKLOOP_REDIS_URL", None)
        from core.demo.simulate import load_queries
        from core.runtime import Runtime

        runtime = Runtime()
        started = time.perf_counter()
        model, stored = build_model(runtime, home, args.tickets)
        runtime.db.ensure_tenant("imports")
        from core.helpdesk.connections import add_tenant

        add_tenant(runtime, "hooks", "zendesk", "hooks.zendesk.com",  # a connected tenant, write-back off
                   {"email": "ops@hooks.example", "api_token": "zd-token", "webhook_secret": "whsec-hooks"},
                   {"write_back_tags": False, "private_note": False})
        print(f"trained a {args.tickets:,}-ticket tenant (n-grams) in {time.perf_counter() - started:.0f} s",
              flush=True)
        queries = [q.text for q in load_queries()]
        text_steps(model, stored, message_of(2048, queries, 0))  # warm caches and lazy imports

        header = (f"{'size':>7} | {'clean':>8} {'tone':>8} {'text':>8} {'entities':>8} {'suggest':>8} | "
                  f"{'text µs/KB':>10} | {'import':>8} {'µs/KB':>7} | {'webhook':>8} {'µs/KB':>7} | {'peak MB':>7}")
        print(header)
        print("-" * len(header))
        for kb in args.sizes:
            raw = message_of(kb * 1024, queries, kb)
            runs = args.repeat if kb < 256 else 1
            best: dict[str, float] = {}
            imports, hooks = [], []
            for run in range(runs):
                for name, seconds in text_steps(model, stored, raw).items():
                    best[name] = min(best.get(name, seconds), seconds)
                imports.append(import_one(runtime, home, raw, f"t{kb}-{run}"))
                hooks.append(apply_webhook(runtime, raw, f"t{kb}-{run}"))
            tracemalloc.start()
            base = tracemalloc.get_traced_memory()[0]
            text_steps(model, stored, raw)
            import_one(runtime, home, raw, f"m{kb}")
            apply_webhook(runtime, raw, f"m{kb}")
            peak = (tracemalloc.get_traced_memory()[1] - base) / 1e6
            tracemalloc.stop()
            total, size_kb = sum(best.values()), len(raw) / 1024
            ms = {name: f"{seconds * 1000:8.1f}" for name, seconds in best.items()}
            print(f"{kb:>5} KB | {ms['clean']} {ms['sentiment']} {ms['model_text']} {ms['entities']} "
                  f"{ms['suggestion']} | {total * 1e6 / size_kb:10.0f} | {min(imports) * 1000:8.1f} "
                  f"{min(imports) * 1e6 / size_kb:7.0f} | {min(hooks) * 1000:8.1f} {min(hooks) * 1e6 / size_kb:7.0f} | "
                  f"{peak:7.1f}", flush=True)
        print("times in ms (best of runs); µs/KB is per KB of the raw message")
        runtime.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
