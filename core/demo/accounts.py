"""Simulated customer accounts with planted churners, to measure churn risk (``bench/churn.py``).

A tenant of ``accounts`` accounts (most organizations, some lone requesters), each writing
tickets at its own steady rate (Banking77 wording, as the demo history) over ``weeks`` weeks, and
each with one outcome dated in the last :data:`OUTCOME_WEEKS` weeks: churned or renewed. Three kinds:

- **healthy**: the ordinary background of any inbox: a few frustrated messages, reopens, bad
  ratings, slow tickets, now and then a lost seat, renewing at its date.
- **churner** (``churn_share``): from 4 to 10 weeks before its churn date its trajectory degrades,
  a degradation that ramps from 0 to ``strength`` at the churn date and scales every symptom: more
  tickets, the same issue again, reopens, slower resolutions and some left open, frustrated
  wording, bad ratings, cancellation and competitor language, fewer seats or a lower plan in the
  ``plan``/``seats`` custom fields. Each churner shows each symptom with probability
  :data:`SYMPTOM_CHANCE` only, and ``silent_share`` of them show none (they leave for reasons the
  inbox never hears). No tickets after the churn date.
- **busy** (``busy_share``): three times the usual volume and one bad week (frustration, reopens,
  bad ratings, sometimes a threat to cancel) in the five weeks before a renewal: loud, but loyal.

``strength`` runs from faint (0: churners look healthy) to strong (1). The same arguments give the
same history.
"""

from __future__ import annotations

import csv
import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from core.demo.simulate import FIRST_NAMES, LAST_NAMES, ORG_KINDS, ORG_WORDS, Query, load_queries
from core.types import Ticket

#: Outcomes fall in the last weeks of the history; the weeks before feed the features' windows.
OUTCOME_WEEKS = 16
#: How likely a churner shows each symptom (so no two churners look alike).
SYMPTOM_CHANCE = 0.65
#: A churner reaches its full degradation this much sooner than its churn date (1.5: two thirds of the way).
RAMP = 1.5
SYMPTOMS = ("volume", "repeat", "reopen", "slow", "sentiment", "csat", "words", "downgrade")
PLANS = ("Starter", "Team", "Business", "Enterprise")
FRUSTRATED = ("This is the third time I am asking. Unacceptable.", "Still broken. This is ridiculous.",
              "We have been waiting for days and nobody answers.", "Honestly this is terrible service.",
              "I'm fed up with this, it still doesn't work.", "Why does this keep happening? Useless.")
CANCELLING = ("We are thinking about cancelling our subscription.", "How do we end our contract at renewal?",
              "If this is not fixed we will not renew.", "How do we close our account and export our data?",
              "We may not be renewing next month.", "Our finance team asked us to review this spend.")
COMPETING = ("We're evaluating other tools at the moment.", "A competitor offered us a better deal.",
             "We are considering switching to another provider.", "Your rival already does this for less.")
DOWNGRADING = ("Can we downgrade to a cheaper plan?", "Please reduce our seats from next month.")
FOLLOW_UPS = ("This didn't help, the problem is still there.", "I tried that but it still doesn't work.",
              "Sorry, that did not solve it. Can someone look again?")


@dataclass
class SimulatedAccounts:
    tickets: list[Ticket]
    outcomes: list[tuple[str, str, date]]  # (account, "churned" or "renewed", date)
    kinds: dict[str, str] = field(default_factory=dict)  # account -> healthy, churner or busy


@dataclass
class _Account:
    name: str
    kind: str
    organization: str | None
    people: list[dict[str, str]]
    weekly: float
    outcome_on: date
    plan: int
    seats: int
    sore: Query
    symptoms: frozenset[str] = frozenset()
    onset: datetime | None = None  # a churner's degradation begins
    bad_week: datetime | None = None  # a busy account's one bad week begins
    downgrade_at: datetime | None = None


class AccountSimulator:
    def __init__(self, seed: int = 7, strength: float = 0.5, accounts: int = 240, weeks: int = 36,
                 end: date | None = None, churn_share: float = 0.15, busy_share: float = 0.15,
                 silent_share: float = 0.15) -> None:
        if not 0 <= strength <= 1:
            raise ValueError("strength runs from 0 (faint) to 1 (strong)")
        if weeks < OUTCOME_WEEKS + 4:
            raise ValueError(f"at least {OUTCOME_WEEKS + 4} weeks")
        self.random = random.Random(seed)
        self.strength, self.weeks = strength, weeks
        self.end = end or datetime.now(UTC).date()
        self.start = datetime.combine(self.end - timedelta(weeks=weeks), time(0), UTC)
        self.queries = load_queries()
        self.by_intent: dict[str, list[Query]] = {}
        for query in self.queries:
            self.by_intent.setdefault(query.intent, []).append(query)
        kinds = (["churner"] * round(accounts * churn_share) + ["busy"] * round(accounts * busy_share))
        kinds += ["healthy"] * (accounts - len(kinds))
        self.random.shuffle(kinds)
        self.silent_share = silent_share
        self.accounts = [self._account(i, kind) for i, kind in enumerate(kinds)]
        self._number = 0

    def _account(self, index: int, kind: str) -> _Account:
        rnd = self.random
        organization = None if rnd.random() < 0.2 else (
            f"{rnd.choice(ORG_WORDS)} {rnd.choice(ORG_KINDS)} {index + 1}")
        domain = (organization or f"mail{index}").lower().replace(" ", "") + ".example"
        people = []
        for p in range(1 if organization is None else rnd.randint(1, 4)):
            first, last = rnd.choice(FIRST_NAMES), rnd.choice(LAST_NAMES)
            people.append({"name": f"{first} {last}", "email": f"{first}.{last}.{index}.{p}@{domain}".lower(),
                           "external_id": f"u{index}-{p}"})
        weekly = rnd.lognormvariate(math.log(0.9), 0.5) * (3.0 if kind == "busy" else 1.0)
        outcome_on = self.end - timedelta(days=rnd.randint(1, OUTCOME_WEEKS * 7))
        account = _Account(organization or people[0]["email"], kind, organization, people, weekly, outcome_on,
                           rnd.randrange(len(PLANS)), rnd.randint(5, 200), rnd.choice(self.queries))
        moment = datetime.combine(outcome_on, time(0), UTC)
        if kind == "churner":
            silent = rnd.random() < self.silent_share
            account.symptoms = frozenset() if silent else frozenset(
                s for s in SYMPTOMS if rnd.random() < SYMPTOM_CHANCE)
            account.onset = moment - timedelta(days=rnd.randint(28, 70))
            if "downgrade" in account.symptoms and rnd.random() < self.strength:
                account.downgrade_at = account.onset + (moment - account.onset) * rnd.uniform(0.2, 0.9)
        elif kind == "busy":
            account.bad_week = moment - timedelta(days=rnd.randint(7, 35))
        elif rnd.random() < 0.05:  # healthy accounts lose seats too, now and then
            account.downgrade_at = self.start + timedelta(days=rnd.uniform(0, self.weeks * 7))
        return account

    def degradation(self, account: _Account, moment: datetime) -> float:
        """How far a churner has degraded at ``moment``: 0 before its onset, ``strength`` at its churn date."""
        if account.onset is None or moment < account.onset:
            return 0.0
        churn = datetime.combine(account.outcome_on, time(0), UTC)
        return self.strength * min(1.0, RAMP * (moment - account.onset) / (churn - account.onset))

    def _stamps(self, account: _Account) -> list[datetime]:
        """Ticket times: a Poisson stream per day at the account's rate, raised while degrading."""
        rnd, stamps = self.random, []
        last = (datetime.combine(account.outcome_on, time(0), UTC) if account.kind == "churner"
                else datetime.combine(self.end, time(0), UTC))
        day = self.start
        while day < last:
            rate = account.weekly / 7 * (1 + 2 * self._level(account, day, "volume"))
            for _ in range(_poisson(rnd, rate)):
                stamp = day + timedelta(hours=rnd.uniform(7, 19))
                if stamp < last:
                    stamps.append(stamp)
            day += timedelta(days=1)
        return sorted(stamps)

    def _level(self, account: _Account, moment: datetime, symptom: str) -> float:
        return self.degradation(account, moment) if symptom in account.symptoms else 0.0

    def _bad_week(self, account: _Account, moment: datetime) -> bool:
        return account.bad_week is not None and account.bad_week <= moment < account.bad_week + timedelta(weeks=1)

    def _ticket(self, account: _Account, created: datetime) -> Ticket:
        rnd = self.random
        self._number += 1
        person = rnd.choice(account.people)
        loud = self._bad_week(account, created)

        def chance(base: float, symptom: str, scale: float, bad_week: float = 0.0) -> bool:
            return rnd.random() < base + scale * self._level(account, created, symptom) + (bad_week if loud else 0)

        sore = chance(0.0, "repeat", 0.7)
        query = rnd.choice(self.by_intent[account.sore.intent]) if sore else rnd.choice(self.queries)
        words = [query.text]
        if chance(0.06, "sentiment", 0.7, 0.7):
            words.append(rnd.choice(FRUSTRATED))
        if chance(0.004, "words", 0.35, 0.08):
            words.append(rnd.choice(CANCELLING))
        if chance(0.003, "words", 0.2):
            words.append(rnd.choice(COMPETING))
        downgraded = account.downgrade_at is not None and created >= account.downgrade_at
        if downgraded and account.downgrade_at is not None and created - account.downgrade_at < timedelta(days=10):
            if rnd.random() < 0.5:
                words.append(rnd.choice(DOWNGRADING))
        seats = max(1, round(account.seats * 0.6)) if downgraded else account.seats
        plan = max(0, account.plan - 1) if downgraded and account.seats % 2 else account.plan
        messages: list[dict[str, Any]] = [{"author_role": "customer", "body": " ".join(words),
                                           "author_name": person["name"], "created_at": created.isoformat()}]
        hours = rnd.lognormvariate(math.log(6), 1.0) * (1 + 5 * self._level(account, created, "slow"))
        ticket: dict[str, Any] = {
            "source": "sim", "external_id": f"AC-{self._number:06d}", "subject": " ".join(query.text.split()[:6]),
            "requester": person, "organization": account.organization, "intent": query.intent,
            "created_at": created.isoformat(), "messages": messages, "channel": "email",
            "custom_fields": {"plan": PLANS[plan], "seats": seats},
        }
        still_open = chance(0.02, "slow", 0.3)
        solved = created + timedelta(hours=hours)
        horizon = datetime.combine(self.end, time(0), UTC)
        if still_open or solved >= horizon:
            ticket["status"] = "open"
            return Ticket.model_validate(ticket)
        messages.append({"author_role": "agent", "body": "Thanks for reaching out, this is sorted now.",
                         "author_name": "Sam", "created_at": (created + timedelta(hours=hours / 2)).isoformat()})
        if chance(0.05, "reopen", 0.45, 0.4):
            again = created + timedelta(hours=hours * 0.75)
            messages.insert(-1, {"author_role": "customer", "body": rnd.choice(FOLLOW_UPS),
                                 "author_name": person["name"], "created_at": again.isoformat()})
            ticket["reopen_count"] = 1
        ticket.update(status="solved", solved_at=solved.isoformat(), updated_at=solved.isoformat())
        if rnd.random() < 0.4:
            bad = chance(0.06, "csat", 0.6, 0.5)
            ticket["csat"] = {"score": rnd.choice((1, 2)) if bad else rnd.choice((3, 4, 5, 5, 5))}
        return Ticket.model_validate(ticket)

    def simulate(self) -> SimulatedAccounts:
        planned = sorted((stamp, i) for i, account in enumerate(self.accounts) for stamp in self._stamps(account))
        tickets = [self._ticket(self.accounts[i], stamp) for stamp, i in planned]
        outcomes = [(a.name, "churned" if a.kind == "churner" else "renewed", a.outcome_on) for a in self.accounts]
        return SimulatedAccounts(tickets, sorted(outcomes, key=lambda o: (o[2], o[0])),
                                 {a.name: a.kind for a in self.accounts})



def _poisson(rnd: random.Random, rate: float) -> int:
    """Knuth's method: rates here are a ticket a day or less."""
    limit, count, product = math.exp(-rate), 0, rnd.random()
    while product > limit:
        count += 1
        product *= rnd.random()
    return count


def simulate_accounts(seed: int = 7, strength: float = 0.5, **options: Any) -> SimulatedAccounts:
    return AccountSimulator(seed=seed, strength=strength, **options).simulate()


def write_outcomes(path, outcomes: list[tuple[str, str, date]]) -> int:
    """The outcomes as ``deskloop import-outcomes`` reads them (account, outcome, date)."""
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(("account", "outcome", "date"))
        writer.writerows((account, outcome, on.isoformat()) for account, outcome, on in outcomes)
    return len(outcomes)
