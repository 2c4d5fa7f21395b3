"""Knowledge gaps on a history full of personal data: time to build the report, where the troubled
intent ranks, and whether any proposed article carries a customer's details.

A fresh SQLite tenant in a throwaway home holds N resolved tickets of six intents from
``tests/personal_data.py`` (addresses of nine countries, card digits, cities, dates of birth,
account numbers without a keyword, relatives named mid-sentence). One intent (``refund``) is
made troubled: Deskloop abstained on three suggestions in four, every draft sent was edited, a
third of its tickets were reopened and rated 1 (answered with a reply that did not work), the rest
rated 5; the other intents are untouched. Prints the report's time (p50 of three runs), the gaps
found and the troubled intent's rank, and over every group's article (``min_score=0``): the
articles built, their answers and questions, and the customers' values found in them (a leak).
Last, what the knowledge-gaps page waits for when a row opens: one gap's Markdown as
``GET .../knowledge-gaps/<key>.md`` serves it (the report again, then the article rendered).

    .venv/bin/python bench/knowledge_gaps.py [--tickets 3000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

WRONG_ANSWER = ("Hi {first}, please wait another month for the refund, sometimes these get stuck in processing "
                "and there is nothing we can do before then.")


def seed(runtime, slug: str, count: int):
    from sqlalchemy import select

    from core.learning.feedback import record_signal
    from core.store.tables import SuggestionRow, TicketRow
    from core.store.tickets import upsert_tickets
    from core.types import Csat, Signal
    from tests.personal_data import personal_history

    tickets, customers = personal_history(seed=7, customers=max(60, count // 5), tickets=count)
    start = datetime.now(UTC) - timedelta(days=80)
    refunds = 0
    for i, ticket in enumerate(tickets):
        ticket.created_at = start + timedelta(minutes=i * (80 * 24 * 60 // count))
        if ticket.intent == "refund":
            refunds += 1
            if refunds % 3 == 0:
                first = ticket.requester.name.split()[0]
                ticket.messages[1].body = WRONG_ANSWER.format(first=first)
                ticket.reopen_count, ticket.csat = 1, Csat(score=1)
            else:
                ticket.csat = Csat(score=5)
    tenant_id = runtime.db.ensure_tenant(slug)
    with runtime.db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, tickets)
    sent = []
    with runtime.db.transaction(tenant_id) as session:
        n = 0
        for row in session.execute(select(TicketRow.id, TicketRow.reopen_count)
                                   .where(TicketRow.intent == "refund").order_by(TicketRow.id)):
            n += 1
            abstained = n % 4 != 1
            suggestion = SuggestionRow(tenant_id=tenant_id, ticket_id=row.id, text="?", confidence=0.3,
                                       abstained=abstained, abstain_reason="low_confidence" if abstained else None,
                                       draft=None if abstained else "Your refund is on its way.")
            session.add(suggestion)
            session.flush()
            if not abstained:
                sent.append(suggestion.id)
            if row.reopen_count:
                sent.append(-row.id)
    for ref in sent:
        signal = (Signal(kind="reopened", ticket_id=-ref) if ref < 0 else
                  Signal(kind="draft_sent", suggestion_id=ref,
                         payload={"sent": "Refunds go back to the card you paid with within 10 working days."}))
        record_signal(runtime, slug, signal)
    return customers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        from core.config import Settings
        from core.insights.knowledge_gaps import knowledge_gap_report
        from core.runtime import Runtime
        from tests.personal_data import INTENTS, leaks

        runtime = Runtime(Settings(home=Path(home), database_url=f"sqlite:///{home}/deskloop.db"))
        customers = seed(runtime, "bench", args.tickets)
        timings, report = [], None
        for _ in range(3):
            began = time.perf_counter()
            report = knowledge_gap_report(runtime, "bench", min_score=0)
            timings.append(time.perf_counter() - began)
        assert report is not None
        questions = " ".join(q for asked, _ in INTENTS.values() for q in asked)
        ranked = [g.key for g in report.gaps]
        found = [g for g in report.gaps if g.score >= 5]
        texts = {g.key: "\n".join([g.label, g.article.answer, *g.article.alternatives, *g.article.questions])
                 for g in report.gaps}
        leaked = {k: leaks(t, customers, None, questions) for k, t in texts.items()}
        print(f"{report.tickets_read} tickets, {report.groups_measured} groups: report in "
              f"{statistics.median(timings):.2f} s (p50 of 3)")
        print(f"gaps scoring 5 or more: {len(found)}; intent:refund ranks {ranked.index('intent:refund') + 1} "
              f"(score {report.gaps[ranked.index('intent:refund')].score})")
        print(f"articles: {sum(bool(g.article.answer) for g in report.gaps)} with an answer, "
              f"{sum(len(g.article.alternatives) for g in report.gaps)} alternatives, "
              f"{sum(len(g.article.questions) for g in report.gaps)} questions; customers' values found in them: "
              f"{sum(len(v) for v in leaked.values())}")
        refund = report.gaps[ranked.index("intent:refund")].article
        from core.insights.gap_export import markdown

        began = time.perf_counter()
        again = knowledge_gap_report(runtime, "bench")  # the page's arguments: 90 days, score 5 or more
        text = markdown(next(g for g in again.gaps if g.key == "intent:refund"), again.generated_at.date().isoformat())
        print(f"one gap's Markdown as the page's row asks for it: {time.perf_counter() - began:.2f} s "
              f"({len(text)} characters)")
        print(f"refund article from tickets rated well: {refund.basis}; answer: {refund.answer}")
        runtime.close()


if __name__ == "__main__":
    main()
