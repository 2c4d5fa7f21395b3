"""A seeded generator of helpdesk history in the common JSONL shape.

Real customer wording comes from Banking77 (PolyAI, CC BY 4.0, shipped in ``core/demo/data``); the
rest is made up but shaped like a real inbox: tickets over several weeks with a weekday and office-hours
rhythm, requesters who write more than once, organizations of very different sizes, email signatures
and greetings to clean, a written agent reply per intent, some reopens, CSAT and the customer's page.
The same seed and end date always give the same file, so tests and benchmarks can rely on it.
"""

from __future__ import annotations

import csv
import json
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from typing import Any

FIRST_NAMES = (
    "Ava Liam Noah Mia Ethan Zoe Lucas Isla Mateo Aria Leo Nora Omar Lena Ravi Yuki Sofia Jonas Amara Felix "
    "Chloe Tariq Ines Hugo Priya Marek Elif Diego Hana Kofi Lars Maya Theo Nadia Arjun Clara Emeka Sara Ivan Luz"
).split()
LAST_NAMES = (
    "Okafor Lindqvist Moreau Tanaka Novak Haddad Costa Fischer Ramirez Kowalski Nguyen Brennan Sato Petrov "
    "Adeyemi Jensen Romero Weber Khan Silva Dubois Ozturk Mensah Larsen Rossi Byrne Park Ivanova Mwangi Ortega"
).split()
ORG_WORDS = (
    "Harbor Juniper Copper Atlas Willow Summit Beacon Cedar Lumen Orbit Maple Granite Meridian Falcon Aurora "
    "Pioneer Riverbend Solstice Keystone Tidewater"
).split()
ORG_KINDS = ("Labs", "Studio", "Logistics", "Foods", "Health", "Partners", "Retail", "Robotics", "Travel", "Media")
AGENTS = ("Sam", "Alex", "Jordan", "Robin", "Casey", "Morgan")
SIGNATURES = ("Sent from my iPhone", "Sent from Mail for Windows", None, None, None)
URGENT_INTENTS = {"compromised_card", "lost_or_stolen_card", "lost_or_stolen_phone", "card_swallowed",
                  "cash_withdrawal_not_recognised", "card_payment_not_recognised"}
FOLLOW_UPS = ("This didn't help, the problem is still there.", "I tried that but it still doesn't work.",
              "Sorry, that did not solve it. Can someone look again?")


@dataclass(frozen=True)
class Query:
    text: str
    intent: str


def load_queries() -> list[Query]:
    path = resources.files("core.demo") / "data" / "banking77.csv"
    # Traversable.open hands newline on to the file it opens; typeshed's protocol leaves it out.
    with path.open(encoding="utf-8", newline="") as handle:  # type: ignore[call-overload]
        return [Query(row["text"].strip(), row["category"].strip()) for row in csv.DictReader(handle)]


def load_replies() -> dict[str, dict[str, Any]]:
    return json.loads((resources.files("core.demo") / "replies.json").read_text(encoding="utf-8"))


def _hour_weights() -> list[float]:
    """Support volume by hour of day: quiet nights, a morning peak and a softer afternoon."""
    return [0.15 + 1.6 * math.exp(-((h - 10.5) ** 2) / 8) + 1.1 * math.exp(-((h - 15) ** 2) / 6) for h in range(24)]


class HistorySimulator:
    """Builds ``count`` tickets ending on ``end`` (a date), reproducibly from ``seed``."""

    def __init__(self, seed: int = 7, weeks: int = 8, end: date | None = None) -> None:
        self.random = random.Random(seed)
        self.weeks = weeks
        self.end = end or datetime.now(UTC).date()
        self.queries = load_queries()
        self.replies = load_replies()
        self.organizations = self._organizations()
        self.requesters = self._requesters(600)
        self._days = [self.end - timedelta(days=d) for d in range(weeks * 7, 0, -1)]
        self._day_weights = [0.35 if d.weekday() >= 5 else 1.0 + 0.1 * (d.weekday() == 0) for d in self._days]
        self._hour_weights = _hour_weights()

    def _organizations(self) -> list[tuple[str, str, float]]:
        names = sorted({f"{w} {k}" for w in ORG_WORDS for k in ORG_KINDS})
        chosen = self.random.sample(names, 60)
        # Zipf-like sizes: a few big accounts, a long tail of small ones.
        return [(name, name.lower().replace(" ", "") + ".example", 1 / (rank + 1)) for rank, name in enumerate(chosen)]

    def _requesters(self, n: int) -> list[dict[str, str]]:
        people = []
        org_weights = [w for _, _, w in self.organizations]
        for i in range(n):
            first, last = self.random.choice(FIRST_NAMES), self.random.choice(LAST_NAMES)
            org, domain, _ = self.random.choices(self.organizations, org_weights)[0]
            people.append({"name": f"{first} {last}", "email": f"{first}.{last}{i}@{domain}".lower(),
                           "external_id": f"u{i + 1000}", "organization": org})
        return people

    def _timestamp(self) -> datetime:
        day = self.random.choices(self._days, self._day_weights)[0]
        hour = self.random.choices(range(24), self._hour_weights)[0]
        return datetime.combine(day, time(hour, self.random.randrange(60), self.random.randrange(60)), UTC)

    def _customer_body(self, text: str, person: dict[str, str], channel: str) -> str:
        first = person["name"].split()[0]
        if channel != "email":
            return text
        greeting = self.random.choice(("Hi,", "Hello,", "Hi there,", ""))
        closing = self.random.choice((f"Thanks,\n{first}", f"Best regards,\n{person['name']}", f"Thanks\n{first}"))
        signature = self.random.choice(SIGNATURES)
        parts = [p for p in (greeting, text, closing) if p]
        body = "\n\n".join(parts)
        if signature:
            body += f"\n\n{signature}"
        elif self.random.random() < 0.3:
            body += f"\n\n-- \n{person['name']}\n{person['organization']}"
        return body

    def _page_context(self, intent: str) -> dict[str, Any]:
        section = intent.split("_")[0]
        return {"url": f"https://app.northwind.example/{section}", "title": section.replace("-", " ").title(),
                "app_state": {"screen": section, "app_version": self.random.choice(("5.2.0", "5.3.1", "5.4.0"))}}

    def ticket(self, number: int, query: Query, created: datetime, newest: datetime) -> dict[str, Any]:
        rnd = self.random
        person = rnd.choice(self.requesters)
        first = person["name"].split()[0]
        reply = self.replies[query.intent]
        channel = rnd.choices(("email", "chat", "web"), (0.5, 0.3, 0.2))[0]
        agent = rnd.choice(AGENTS)
        answered = created + timedelta(minutes=rnd.lognormvariate(3.5, 1.0))
        messages = [{"author_role": "customer", "body": self._customer_body(query.text, person, channel),
                     "public": True, "author_name": person["name"], "created_at": created.isoformat()}]
        open_ticket = (newest - created) < timedelta(days=2) and rnd.random() < 0.6
        status = rnd.choice(("open", "pending", "new")) if open_ticket else "solved"
        ticket: dict[str, Any] = {
            "source": "demo",
            "external_id": f"NW-{number:06d}",
            "subject": "" if channel == "chat" else " ".join(query.text.split()[:7]).rstrip("?.!,"),
            "requester": {k: person[k] for k in ("name", "email", "external_id")},
            "organization": person["organization"],
            "tags": list(reply["tags"]),
            "intent": query.intent,
            "priority": "urgent" if query.intent in URGENT_INTENTS and rnd.random() < 0.5 else
                        rnd.choices(("low", "normal", "high"), (0.2, 0.7, 0.1))[0],
            "status": status,
            "channel": channel,
            "created_at": created.isoformat(),
            "messages": messages,
        }
        if channel == "web":
            ticket["page_context"] = self._page_context(query.intent)
        if status == "new":
            return ticket
        if rnd.random() < 0.15:
            messages.append({"author_role": "agent", "public": False, "author_name": agent,
                             "body": f"Checked the account history for {first}; nothing unusual.",
                             "created_at": (answered - timedelta(minutes=2)).isoformat()})
        messages.append({"author_role": "agent", "public": True, "author_name": agent,
                         "body": reply["reply"].format(first_name=first, agent_name=agent),
                         "created_at": answered.isoformat()})
        ticket["first_response_at"] = answered.isoformat()
        if status != "solved":
            return ticket
        solved = answered + timedelta(minutes=rnd.lognormvariate(2.5, 1.2))
        reopened = rnd.random() < 0.05
        if reopened:
            again = solved + timedelta(hours=rnd.uniform(2, 40))
            messages.append({"author_role": "customer", "public": True, "author_name": person["name"],
                             "body": rnd.choice(FOLLOW_UPS), "created_at": again.isoformat()})
            solved = again + timedelta(hours=rnd.uniform(1, 8))
            messages.append({"author_role": "agent", "public": True, "author_name": agent,
                             "body": f"Thanks {first}, I've escalated this to our specialist team and they fixed it "
                                     f"on our side. Please try again now. — {agent}",
                             "created_at": solved.isoformat()})
            ticket["reopen_count"] = 1
        ticket["solved_at"] = solved.isoformat()
        ticket["updated_at"] = solved.isoformat()
        if rnd.random() < 0.4:
            score = (rnd.choice((1, 2, 2, 3)) if reopened
                     else rnd.choices((5, 4, 3, 2, 1), (0.62, 0.22, 0.08, 0.05, 0.03))[0])
            ticket["csat"] = {"score": score}
            if score <= 2:
                ticket["csat"]["comment"] = rnd.choice(("Took too long.", "Still not fixed.", "Not helpful."))
        return ticket

    def tickets(self, count: int | None = None) -> Iterator[dict[str, Any]]:
        """``count`` tickets (default: one per Banking77 query) in creation order."""
        for number, query, created, newest in self.planned(count):
            yield self.ticket(number, query, created, newest)

    def planned(self, count: int | None = None) -> Iterator[tuple[int, Query, datetime, datetime]]:
        """What each ticket will be: its number, query, creation time and the newest creation time.

        A generator, so each plan step draws from ``random`` just before its ticket is built: the
        draw order, hence every seeded history, stays what it was before this was split out.
        """
        queries = list(self.queries)
        self.random.shuffle(queries)
        count = len(queries) if count is None else count
        chosen = [queries[i % len(queries)] for i in range(count)]
        stamps = sorted(self._timestamp() for _ in range(count))
        newest = stamps[-1] if stamps else datetime.now(UTC)
        for number, (query, created) in enumerate(zip(chosen, stamps, strict=True), start=1):
            if number > len(queries):  # a repeat of a query: vary the wording slightly
                greeting = self.random.choice(("", "Hi, ", "Hello! ", "Quick question: "))
                query = Query(greeting + query.text, query.intent)
            yield number, query, created, newest


def write_history(path, count: int | None = None, seed: int = 7, weeks: int = 8, end: date | None = None) -> int:
    """Write simulated tickets to ``path`` as JSONL; returns how many."""
    written = 0
    with open(path, "w", encoding="utf-8") as out:
        for ticket in HistorySimulator(seed=seed, weeks=weeks, end=end).tickets(count):
            out.write(json.dumps(ticket, ensure_ascii=False) + "\n")
            written += 1
    return written
