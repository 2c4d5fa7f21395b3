"""Do drafts carry another customer's personal data? Leaks and usefulness on two histories.

Trains, through ``train_tenant`` on SQLite in a throwaway home, (1) the demo history
(:mod:`core.demo.simulate`: Banking77 wording, one macro per intent with the customer's first name
and the agent's), and (2) a history full of personal data (``tests/personal_data.py``: addresses of
nine countries, many without a street suffix, card digits, cities, dates of birth, account numbers
without a keyword, relatives named mid-sentence), once with intents and once without (the day-one
draft rule, opened to every distance: replies this full of personal data never agree enough for it
to draft on its own). Then builds suggestions for customers the history has never seen and for stored
tickets (their own suggestion, excluding themselves), and prints per history:

- drafts checked, and the drafts carrying any other customer's value (a leak);
- the share still useful: at most two placeholders left for the agent;
- the time to build one suggestion (p50/p99, sentence encoding included).

    .venv/bin/python bench/draft_privacy.py [--demo-tickets 3000] [--encoder minilm|none]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PLACEHOLDER = re.compile(r"\[[a-z][a-z ]*\]")


def _tenant(runtime, slug: str, tickets, target_precision: float = 0.5) -> None:
    from sqlalchemy import update

    from core.learning.training import train_tenant
    from core.store.tables import TenantRow
    from core.store.tickets import upsert_tickets

    tenant_id = runtime.db.ensure_tenant(slug)
    with runtime.db.transaction() as session:  # answer freely: this measures what a draft contains
        session.execute(update(TenantRow).where(TenantRow.id == tenant_id)
                        .values(settings={"target_precision": target_precision}))
    with runtime.db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, tickets)
    started = time.perf_counter()
    train_tenant(runtime, slug, force=True)
    print(f"  {slug}: {len(tickets):,} tickets trained in {time.perf_counter() - started:.1f} s", flush=True)


class Tally:
    def __init__(self, name: str) -> None:
        self.name, self.drafts, self.leaky, self.useful, self.times = name, 0, 0, 0, []
        self.examples: list[str] = []

    def add(self, draft: str | None, leaked: list[str], seconds: float) -> None:
        self.times.append(seconds * 1000)
        if draft is None:
            return
        self.drafts += 1
        self.leaky += bool(leaked)
        self.useful += len(PLACEHOLDER.findall(draft)) <= 2
        if leaked and len(self.examples) < 3:
            self.examples.append(f"{leaked}: {draft!r}")

    def line(self) -> str:
        p50, p99 = np.percentile(self.times, 50), np.percentile(self.times, 99)
        useful = self.useful / self.drafts if self.drafts else 0.0
        return (f"{self.name}: {len(self.times)} probes, {self.drafts} drafts checked, {self.leaky} with another "
                f"customer's data, {useful:.0%} useful (at most two placeholders); suggestion p50 {p50:.1f} ms, "
                f"p99 {p99:.1f} ms")


def _suggest(runtime, model, stored, text: str, name: str | None, exclude: int | None = None):
    from core.suggesting.suggest import build_suggestion, sentence_vector

    started = time.perf_counter()
    suggestion = build_suggestion(model, stored, text, name, exclude_ticket_id=exclude,
                                  vector=sentence_vector(runtime, model, text))
    return suggestion, time.perf_counter() - started


def demo(runtime, count: int) -> Tally:
    """The demo history: probes are stored resolved tickets (each excluded from its own evidence)."""
    from datetime import date

    from sqlalchemy import select

    from core.demo.simulate import HistorySimulator
    from core.store.tables import TicketRow
    from core.suggesting.suggest import current_model
    from core.types import Ticket

    tickets = [Ticket.model_validate(t) for t in HistorySimulator(seed=7, end=date(2026, 11, 20)).tickets(count)]
    _tenant(runtime, "demo", tickets)
    model, stored = current_model(runtime, "demo")
    tenant_id = runtime.db.tenant_id("demo")
    with runtime.db.tenant_session(tenant_id) as session:
        rows = session.execute(select(TicketRow.id, TicketRow.text, TicketRow.requester_name)
                               .where(TicketRow.status == "solved")).all()
    names = {part for t in tickets if t.requester and t.requester.name for part in t.requester.name.split()}
    tally = Tally("demo history (names are the personal data)")
    for row in random.Random(3).sample(rows, min(400, len(rows))):
        suggestion, seconds = _suggest(runtime, model, stored, row.text, row.requester_name, exclude=row.id)
        draft = suggestion.draft
        own = set((row.requester_name or "").split())
        leaked = sorted({n for n in names - own if draft and re.search(rf"\b{re.escape(n)}\b", draft)
                         and n not in row.text}) if draft else []
        tally.add(draft, leaked, seconds)
    return tally


def personal(runtime, slug: str, intents: bool) -> Tally:
    """The personal-data history: new customers' messages, then stored tickets' own suggestions."""
    from sqlalchemy import select

    from core.store.tables import TicketRow
    from core.suggesting.suggest import current_model
    from tests.personal_data import leaks, personal_history, probes

    tickets, customers = personal_history(seed=5, intents=intents)
    _tenant(runtime, slug, tickets)
    model, stored = current_model(runtime, slug)
    if not intents:
        from core.ml.retrieval import DraftRule

        # Replies this full of personal data never agree enough for the day-one rule to draft on
        # its own; open it (in this process only): this measures what a draft contains, not when.
        print(f"  {slug}: the day-one rule drafts from cosine {model.draft_rule.min_similarity:.2f}; opened to 0")
        model.draft_rule = DraftRule(0.0, 1.0, 0, 0.5)
    tally = Tally(f"personal-data history, {'with intents' if intents else 'without intents (day-one rule)'}")
    for customer, _, text in probes(seed=99, count=300):
        suggestion, seconds = _suggest(runtime, model, stored, text, customer.name)
        tally.add(suggestion.draft, leaks(suggestion.draft or "", customers, customer, text), seconds)
    by_key = {c.key: c for c in customers}
    tenant_id = runtime.db.tenant_id(slug)
    with runtime.db.tenant_session(tenant_id) as session:
        rows = session.execute(select(TicketRow.id, TicketRow.text, TicketRow.requester_name,
                                      TicketRow.requester_external_id)).all()
    for row in random.Random(4).sample(rows, min(200, len(rows))):
        own = by_key[row.requester_external_id]
        suggestion, seconds = _suggest(runtime, model, stored, row.text, row.requester_name, exclude=row.id)
        others = [c for c in customers if c is not own]
        tally.add(suggestion.draft, leaks(suggestion.draft or "", others, own, row.text), seconds)
    return tally


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--demo-tickets", type=int, default=3000)
    parser.add_argument("--encoder", default="minilm", choices=("minilm", "none"))
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="deskloop-draft-privacy-") as home:
        os.environ["DESKLOOP_HOME"] = home
        os.environ["DESKLOOP_ENCODER"] = args.encoder
        os.environ.pop("DESKLOOP_DATABASE_URL", None)
        os.environ.pop("DESKLOOP_REDIS_URL", None)
        os.environ.pop("DESKLOOP_LLM_URL", None)
        from core.runtime import Runtime

        runtime = Runtime()
        print("training", flush=True)
        tallies = [demo(runtime, args.demo_tickets), personal(runtime, "personal", True),
                   personal(runtime, "personal-day-one", False)]
        runtime.close()
    print()
    for tally in tallies:
        print(tally.line())
        for example in tally.examples:
            print("   leak:", example)
    leaky = sum(t.leaky for t in tallies)
    print(f"\n{sum(t.drafts for t in tallies)} drafts checked, {leaky} leaks, in {time.perf_counter() - started:.0f} s")
    return 1 if leaky else 0


if __name__ == "__main__":
    sys.exit(main())
