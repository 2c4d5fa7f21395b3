"""Widget deflection: how many questions asked in the in-app widget end without a ticket.

A simulated tenant is trained on a resolved history and its customers then ask held-out questions
in the widget, through the real HTTP API (``/widget/v1/ask|feedback|ticket|guide``, Flask's test
client) and the real store (a fresh embedded SQLite file, or the empty PostgreSQL database
``--database-url`` names). Each seed is a tenant of its own.

History and questions: :func:`bench.page_context.history` (Banking77 wording from
``core/demo/data/banking77.csv`` plus questions whose right answer depends on the page they are
asked on), split per seed into the tenant's resolved tickets (80%, with their page context, trained
with :func:`core.learning.training.train_tenant`) and widget sessions (20%): each held-out question
is asked once, by a customer of its own (a signed identity), on its page, with that page's element
list (:data:`ELEMENTS`: what the widget script would collect there, so a guide's steps can be found
on the page or not).

The simulated customer is fixed before any run. It knows the right resolution (the simulation
knows the question's intent and page); the answer is right when the resolved ticket the draft came
from (the stored suggestion's ``draft_source``) was answered with that resolution. Then:

- the widget does not know (abstains): the customer files a ticket in the widget with probability
  :data:`R_FILE_AFTER_UNKNOWN`;
- the answer is right: when the answer comes with a guide (``guide.steps``, ``docs/widget-api.md``)
  the customer follows it from the page asked on: a step is found on the page the customer is on
  (the element the guide's ``selector`` names while still on the page asked from, else an element
  whose text or label reads as one of the step's ``names``), else on the page the step's ``page``
  route names, which the customer then visits; a link or tab clicked takes the customer to its
  page (:data:`LEADS_TO`), a button or row shows what it opens (:data:`REVEALS`, a menu the widget
  did not see when the question was asked). A step not found is lost, and the customer abandons there with
  probability :data:`P_ABANDON_WHEN_LOST` (else finds the way and goes on). A guide followed to its
  last step is completed (reporting, as ``clicked``, the elements found under another name than
  the step's). The customer then says "helpful" with probability :data:`P_HELPFUL` (else says
  nothing), and, with probability :data:`S_WRITES_IN_ANYWAY`, still writes to support by email
  within a day (a ticket from the same customer stored 1 to 23 simulated hours after the question);
- the answer is wrong: a guide, when offered, is abandoned at its first step; the customer says
  "not helpful" and files a ticket in the widget with probability :data:`Q_FILE_AFTER_NOT_HELPFUL`.

A session files at most once. The figures are read back from the store (widget sessions, their
tickets and signals, the email tickets), not from the simulation's own tally; ``--json`` adds the
tally, and ``tests/test_widget_deflection_bench.py`` checks the two agree. Rate limits are set far
above what one run sends (:data:`GENEROUS_RATE`). Reported seeds are 0..N-1.

    nice .venv/bin/python bench/widget_deflection.py [--seeds 3] [--encoder minilm|none] [--json]
        [--database-url postgresql+psycopg://...] [--quick]

An answer without a ``guide`` field (an older server) is taken as one without a guide.
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from sqlalchemy import select  # noqa: E402 (after the sys.path line)

from bench.page_context import ENCODER_DIR, PAGES, QUESTIONS, Case, banking77, history, reply  # noqa: E402
from core.app import create_app  # noqa: E402
from core.clock import aware_utc, utcnow  # noqa: E402
from core.config import Settings  # noqa: E402
from core.learning.training import train_tenant  # noqa: E402
from core.ml.page_context import route_of  # noqa: E402
from core.store.tables import SignalRow, SuggestionRow, TicketRow, WidgetSessionRow  # noqa: E402
from core.store.tickets import upsert_tickets  # noqa: E402
from core.types import Message, PageContext, Person, Ticket  # noqa: E402
from core.widget.config import make_identity_secret, setup_widget  # noqa: E402
from core.widget.keys import identity_hash, token_hash  # noqa: E402

# The simulated customer. These probabilities are ASSUMPTIONS chosen before any run, not
# measurements of real customers: they set how often a customer reacts, never what the widget
# answers, so the figures compare answering and guiding methods under one fixed behaviour.
#: A right answer: the customer says "helpful" (else says nothing).
P_HELPFUL = 0.7
#: A wrong answer: the customer says "not helpful", then files a ticket with this probability.
Q_FILE_AFTER_NOT_HELPFUL = 0.6
#: "I don't know": the customer files a ticket with this probability.
R_FILE_AFTER_UNKNOWN = 0.8
#: A right answer still followed by an email to support within a day.
S_WRITES_IN_ANYWAY = 0.05
#: A guide step the customer cannot find (not on the page, no page named, or its element missing
#: from the page named): the customer abandons the guide there with this probability.
P_ABANDON_WHEN_LOST = 0.7

ORIGIN = "https://app.example.com"
#: Far above what one run sends: the bench measures answers, not the limiter.
GENEROUS_RATE = "1000000/minute"
DAY = timedelta(hours=24)
TITLES = {"analytics": "Report", "account": "Account settings", "project": "Project", "editor": "Editor",
          "billing": "Invoices", "subscription": "Subscription", "team": "Team members", "sso": "Single sign-on",
          "notifications": "Notification settings", "slack": "Slack integration", "dashboard": "Dashboard",
          "preferences": "Preferences"}


def _element(role: str, text: str, selector: str, label: str | None = None) -> dict[str, str]:
    return {"role": role, "text": text, "selector": selector, **({"label": label} if label else {})}


#: Every page's navigation: a link to each top-level page, as an app's sidebar has.
NAVIGATION = [_element("link", "Dashboard", "#nav-dashboard"), _element("link", "Reports", "#nav-analytics"),
              _element("link", "Projects", "#nav-projects"), _element("link", "Billing", "#nav-billing"),
              _element("link", "Team", "#nav-team"), _element("link", "Integrations", "#nav-integrations"),
              _element("link", "Settings", "#nav-settings", "Account settings")]
SETTINGS_TABS = [_element("tab", "Account", "#tab-account"), _element("tab", "Preferences", "#tab-preferences"),
                 _element("tab", "Notifications", "#tab-notifications"),
                 _element("tab", "Single sign-on", "#tab-sso")]
BILLING_TABS = [_element("tab", "Invoices", "#tab-invoices"), _element("tab", "Subscription", "#tab-subscription")]
#: What the widget script would collect on each simulated page besides the navigation. Some of what
#: the resolutions name is here (Export on a report), some sits behind a menu and is not (Delete
#: report, Download my data), some is on another page (Settings > Preferences from a report).
ELEMENTS: dict[str, list[dict[str, str]]] = {
    "analytics": [_element("button", "Export", "#export", "Export report"),
                  _element("button", "Share", "#share-report"),
                  _element("button", "Last 30 days", "#date-range", "Date range"),
                  _element("button", "", "#report-menu", "Report menu"),
                  _element("button", "", "#report-settings", "Report settings")],
    "account": [*SETTINGS_TABS, _element("link", "Privacy", "#section-privacy"),
                _element("button", "Save", "#save-account")],
    "project": [_element("button", "", "#project-menu", "Project menu"),
                _element("link", "Project settings", "#project-settings"),
                _element("link", "Open editor", "#open-editor"), _element("button", "Watch", "#watch-project")],
    "editor": [_element("button", "", "#undo", "Undo (Ctrl+Z)"), _element("button", "", "#editor-menu", "Editor menu"),
               _element("button", "Version history", "#version-history")],
    "billing": [*BILLING_TABS, _element("link", "", "[data-testid=invoice-pdf]", "Download invoice PDF")],
    "subscription": [*BILLING_TABS, _element("button", "Change plan", "#change-plan"),
                     _element("button", "Keep my subscription", "#keep-subscription"),
                     _element("button", "Cancel subscription", "#cancel-subscription")],
    "team": [_element("button", "Invite member", "#invite-member"), _element("row", "Ada Park", "#member-1"),
             _element("textbox", "", "#member-search", "Search members")],
    "sso": [*SETTINGS_TABS, _element("button", "Identity provider settings", "#idp-settings"),
            _element("switch", "", "#sso-enforce", "Require single sign-on")],
    "notifications": [*SETTINGS_TABS, _element("checkbox", "", "#email-notifications", "Email notifications"),
                      _element("radio", "Instant", "#notify-instant"),
                      _element("radio", "Daily digest", "#notify-digest")],
    "slack": [_element("button", "Add to Slack", "#add-to-slack"),
              _element("combobox", "", "#alert-channel", "Alerts channel")],
    "dashboard": [_element("button", "", "#share-dashboard", "Share dashboard"),
                  _element("button", "Add widget", "#add-widget")],
    "preferences": [*SETTINGS_TABS, _element("combobox", "", "#display-currency", "Display currency"),
                    _element("combobox", "", "#timezone", "Time zone")],
}
#: What clicking a button or row shows on the same page (a menu, a dialog): the customer sees it,
#: the widget, which collected the page before, does not.
REVEALS = {"#export": [_element("menuitem", "CSV", "#export-csv"), _element("menuitem", "Excel", "#export-xlsx")],
           "#report-menu": [_element("menuitem", "Delete report", "#delete-report")],
           "#report-settings": [_element("tab", "Formatting", "#report-formatting")],
           "#date-range": [_element("option", "Custom range", "#range-custom")],
           "#project-menu": [_element("menuitem", "Export project", "#export-project")],
           "#project-settings": [_element("tab", "Members", "#project-members"),
                                 _element("button", "Delete project", "#delete-project")],
           "#section-privacy": [_element("button", "Download my data", "#download-data")],
           "#member-1": [_element("button", "Remove from team", "#remove-member")],
           "#change-plan": [_element("radio", "Monthly", "#plan-monthly"), _element("radio", "Yearly", "#plan-yearly")]}
#: Where clicking a link or tab takes the customer.
LEADS_TO = {"#nav-dashboard": "dashboard", "#nav-analytics": "analytics", "#nav-projects": "project",
            "#nav-billing": "billing", "#nav-team": "team", "#nav-integrations": "slack", "#nav-settings": "account",
            "#tab-account": "account", "#tab-preferences": "preferences", "#tab-notifications": "notifications",
            "#tab-sso": "sso", "#tab-invoices": "billing", "#tab-subscription": "subscription",
            "#open-editor": "editor"}
#: A simulated page by its id-free route (what a guide step's ``page`` names).
PAGE_OF_ROUTE = {route_of(url.format(id=1)): page for page, url in PAGES.items()}


@dataclass
class Tally:
    """What the simulation did, counted as it went (the figures themselves are read from the store)."""

    asked: int = 0
    answered: int = 0
    right: int = 0
    helpful: int = 0
    not_helpful: int = 0
    guides_offered: int = 0
    guides_completed: int = 0
    guides_abandoned: int = 0
    tickets_after_not_helpful: int = 0
    tickets_after_unknown: int = 0
    tickets_after_right: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


@dataclass
class World:
    """One seed's tenant: its app, widget key, identity secret and what each resolved ticket resolves."""

    app: Any
    slug: str
    tenant_id: int
    key: str
    secret: str
    resolution_of: dict[str, str] = field(default_factory=dict)  # external id -> resolution


def page_of(case: Case) -> str:
    return PAGE_OF_ROUTE.get(route_of(case.url) or "", "")


def _context(case: Case) -> dict[str, Any]:
    page = page_of(case)
    return {"url": case.url, "route": case.url.split(ORIGIN, 1)[-1],  # location.pathname
            "title": TITLES.get(page, ""), "elements": NAVIGATION + ELEMENTS.get(page, [])}


def _history_ticket(index: int, case: Case, answers: dict[str, str], at) -> Ticket:
    path = case.url.split(ORIGIN, 1)[-1]
    return Ticket(
        source="email", external_id=f"H{index}", subject="", intent=case.label, status="solved",
        messages=[Message(author_role="customer", body=case.text, author_name=case.customer, created_at=at),
                  Message(author_role="agent", body=reply(case, answers), author_name="Sam",
                          created_at=at + timedelta(hours=2))],
        requester=Person(name=case.customer), created_at=at, updated_at=at + timedelta(hours=2),
        page_context=PageContext(url=case.url, route=path, title=TITLES.get(page_of(case)) or None))


def build_world(app, seed: int, train_cases: list[Case]) -> World:
    """A tenant trained on ``train_cases`` with a widget that signs its customers' identities."""
    runtime = app.extensions["deskloop"]
    slug = f"deflection-{seed}"
    tenant_id = runtime.db.ensure_tenant(slug)
    answers = {f"{q.key}/{page}": text for q in QUESTIONS for page, text in q.answers.items()}
    start = utcnow() - timedelta(days=200)
    tickets = [_history_ticket(i, c, answers, start + timedelta(minutes=10 * i)) for i, c in enumerate(train_cases)]
    with runtime.db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, tickets)
    train_tenant(runtime, slug, force=True)
    config, _ = setup_widget(runtime, slug, [ORIGIN])
    secret = make_identity_secret(runtime, slug)
    return World(app, slug, tenant_id, config.public_key, secret,
                 {f"H{i}": c.resolution for i, c in enumerate(train_cases)})


def _post(world: World, route: str, body: dict, customer: str) -> dict:
    identity = {"user_id": customer, "user_hash": identity_hash(world.secret, customer)}
    response = world.app.test_client().post(f"/widget/v1/{route}", json={"key": world.key, "identity": identity,
                                                                          **body}, headers={"Origin": ORIGIN})
    if response.status_code not in (200, 201):
        raise RuntimeError(f"/widget/v1/{route} answered {response.status_code}: {response.get_json()}")
    return response.get_json()


def answered_resolution(world: World, session_token: str) -> str | None:
    """The resolution of the resolved ticket the session's answer was drafted from (the store's record)."""
    runtime = world.app.extensions["deskloop"]
    with runtime.db.tenant_session(world.tenant_id) as session:
        suggestion_id = session.scalar(select(WidgetSessionRow.suggestion_id).where(
            WidgetSessionRow.token_hash == token_hash(session_token)))
        source = session.scalar(select(SuggestionRow.draft_source).where(SuggestionRow.id == suggestion_id))
        if not source or not source.startswith("ticket:"):
            return None
        external_id = session.scalar(select(TicketRow.external_id).where(TicketRow.id == int(source.split(":")[1])))
    return world.resolution_of.get(external_id or "")


def _words(text: str | None) -> list[str]:
    return "".join(c if c.isalnum() else " " for c in (text or "").casefold()).split()


def seen_on(page: str, names: list[str], revealed: Sequence[dict[str, str]] = ()) -> dict[str, str] | None:
    """The element of ``page`` (or of what a click there ``revealed``) a customer reads as one of
    ``names``: its text or label is the name, or holds the name's words in a row ("Display
    currency" for "currency")."""
    wanted = [w for w in (_words(n) for n in names) if w]
    for element in [*NAVIGATION, *ELEMENTS.get(page, []), *revealed]:
        for shown in (_words(element.get("text")), _words(element.get("label"))):
            if any(shown[i:i + len(w)] == w for w in wanted for i in range(len(shown) - len(w) + 1)):
                return element
    return None


def follow_guide(guide: dict | None, page: str, right: bool,
                 rnd: random.Random) -> tuple[str, int, list[dict[str, Any]]] | None:
    """(``completed`` or ``abandoned``, the step reached, the elements clicked under another name)
    as the simulated customer on ``page`` follows a guide; ``None`` without steps to follow.

    Each step is looked for on the page the customer is on (the one asked from, then wherever the
    last click led): the element the guide's ``selector`` names while still on that page, else an
    element shown under one of the step's ``names``; else the customer visits the step's ``page``
    (a route) and looks there. A step not found is lost."""
    steps = (guide or {}).get("steps") or []
    if not steps:
        return None
    if not right:
        return "abandoned", 0, []
    here, asked, clicked = page, page, []
    revealed: list[dict[str, str]] = []
    for position, step in enumerate(steps):
        names = step.get("names") or [step.get("text") or ""]
        element = None
        if step.get("on_page") and here == asked:
            element = next((e for e in NAVIGATION + ELEMENTS.get(here, []) if e["selector"] == step["selector"]), None)
        element = element or seen_on(here, names, revealed)
        visited = PAGE_OF_ROUTE.get(route_of(step.get("page")) or "")
        if element is None and visited is not None:
            here, revealed = visited, []
            element = seen_on(here, names)
        if element is None:
            if rnd.random() < P_ABANDON_WHEN_LOST:
                return "abandoned", position, clicked
            continue
        shown = element.get("text") or element.get("label") or ""
        if _words(shown) != _words(step.get("text")):
            clicked.append({"step": position, "text": shown})
        if element["selector"] in LEADS_TO:
            here, revealed = LEADS_TO[element["selector"]], []
        revealed = [*revealed, *REVEALS.get(element["selector"], [])]
    return "completed", len(steps) - 1, clicked


def _file_in_widget(world: World, token: str, customer: str) -> None:
    _post(world, "ticket", {"session": token, "email": f"{customer}@customers.example",
                            "message": "This did not answer my question."}, customer)


def _email_ticket(world: World, token: str, customer: str, case: Case, hours: float) -> None:
    """The customer writes to support anyway, ``hours`` (simulated) after asking."""
    runtime = world.app.extensions["deskloop"]
    with runtime.db.transaction(world.tenant_id) as session:
        asked = aware_utc(session.scalar(select(WidgetSessionRow.created_at).where(
            WidgetSessionRow.token_hash == token_hash(token))))
        at = asked + timedelta(hours=hours)
        upsert_tickets(session, world.tenant_id, [Ticket(
            source="email", external_id=f"mail-{customer}", subject=case.text[:80], status="new", channel="email",
            messages=[Message(author_role="customer", body=f"About my question in the app: {case.text}",
                              created_at=at)],
            requester=Person(email=f"{customer}@customers.example", external_id=customer),
            created_at=at, updated_at=at)])


@dataclass(frozen=True)
class Customer:
    """One simulated customer's dispositions, drawn before the question is asked: the same customer
    reacts the same way whatever the widget answers, so two runs differ only by the answers."""

    says_helpful: bool
    files_after_not_helpful: bool
    files_after_unknown: bool
    writes_in_anyway: bool
    hours_until_email: float
    guide_draws: random.Random

    @classmethod
    def drawn(cls, rnd: random.Random) -> Customer:
        return cls(rnd.random() < P_HELPFUL, rnd.random() < Q_FILE_AFTER_NOT_HELPFUL,
                   rnd.random() < R_FILE_AFTER_UNKNOWN, rnd.random() < S_WRITES_IN_ANYWAY, rnd.uniform(1, 23),
                   random.Random(rnd.random()))


def run_session(world: World, case: Case, customer: str, traits: Customer, tally: Tally) -> None:
    """One held-out question asked in the widget and the simulated customer's reaction."""
    asked = _post(world, "ask", {"question": case.text, "context": _context(case)}, customer)
    token = asked["session"]
    tally.asked += 1
    if asked["abstained"]:
        if traits.files_after_unknown:
            _file_in_widget(world, token, customer)
            tally.tickets_after_unknown += 1
        return
    tally.answered += 1
    right = answered_resolution(world, token) == case.resolution
    tally.right += right
    followed = follow_guide(asked.get("guide"), page_of(case), right, traits.guide_draws)
    if followed is not None:
        event, step, clicked = followed
        body = {"session": token, "event": event, "step": step,
                **({"clicked": clicked} if clicked and event == "completed" else {})}
        _post(world, "guide", body, customer)
        tally.guides_offered += 1
        tally.guides_completed += event == "completed"
        tally.guides_abandoned += event == "abandoned"
    if right:
        if traits.says_helpful:
            _post(world, "feedback", {"session": token, "helpful": True}, customer)
            tally.helpful += 1
        if traits.writes_in_anyway:
            _email_ticket(world, token, customer, case, traits.hours_until_email)
            tally.tickets_after_right += 1
        return
    _post(world, "feedback", {"session": token, "helpful": False}, customer)
    tally.not_helpful += 1
    if traits.files_after_not_helpful:
        _file_in_widget(world, token, customer)
        tally.tickets_after_not_helpful += 1


def measured(world: World, customers: set[str] | None = None) -> dict[str, Any]:
    """The figures as the store holds them: sessions, their signals and tickets, email tickets;
    only the sessions of ``customers`` when given."""
    runtime = world.app.extensions["deskloop"]
    with runtime.db.tenant_session(world.tenant_id) as session:
        sessions = [s for s in session.scalars(select(WidgetSessionRow))
                    if customers is None or s.user_id in customers]
        ids = {s.id for s in sessions}
        guides = Counter(s.payload.get("guide") for s in session.scalars(
            select(SignalRow).where(SignalRow.actor == "widget"))
            if s.payload.get("guide") and s.payload.get("widget_session") in ids)
        emails = session.execute(select(TicketRow.requester_external_id, TicketRow.created_at).where(
            TicketRow.source == "email", TicketRow.requester_external_id.is_not(None))).all()
    emailed: dict[str, list] = {}
    for user, at in emails:
        emailed.setdefault(user, []).append(aware_utc(at))

    def emailed_within_a_day(row: WidgetSessionRow) -> bool:
        asked = aware_utc(row.created_at)
        return any(asked <= at <= asked + DAY for at in emailed.get(row.user_id or "", []))

    answered = [s for s in sessions if not s.abstained]
    filed = [s for s in sessions if s.ticket_external_id is not None]
    within_day = [s for s in answered if s.ticket_external_id is not None or emailed_within_a_day(s)]
    return {
        "asked": len(sessions),
        "answered": len(answered),
        "helpful": sum(s.helpful is True for s in sessions),
        "not_helpful": sum(s.helpful is False for s in sessions),
        "guides_completed": guides["completed"],
        "guides_abandoned": guides["abandoned"],
        "tickets_after_not_helpful": sum(s.helpful is False for s in filed),
        "tickets_after_unknown": sum(s.abstained for s in filed),
        # the store does not know which answers were right: an email within a day after an answer
        # not filed in the widget (the simulated customer writes in so only after a right one)
        "tickets_after_right": sum(emailed_within_a_day(s) for s in answered if s.ticket_external_id is None),
        "filed_twice": sum(s.ticket_external_id is not None and emailed_within_a_day(s) for s in sessions),
        "answered_then_ticket_within_a_day": len(within_day),
    }


KINDS = ("page-dependent", "other")


def run_seed(app, seed: int, queries: dict[str, list[str]], args) -> dict[str, Any]:
    """One seed's tenant and sessions: the figures of every session and of each kind of question
    (page-dependent or other), and the simulation's own tally beside them."""
    cases = history(seed, queries, args.other_intents, args.per_intent, args.per_page)
    cut = int(len(cases) * 0.8)
    world = build_world(app, seed, cases[:cut])
    held = cases[cut:][:args.sessions] if args.sessions else cases[cut:]
    tallies = {kind: Tally() for kind in KINDS}
    customers: dict[str, set[str]] = {kind: set() for kind in KINDS}
    for number, case in enumerate(held):
        customer, kind = f"customer-{seed}-{number}", KINDS[0] if case.dependent else KINDS[1]
        customers[kind].add(customer)
        run_session(world, case, customer, Customer.drawn(random.Random(f"{seed}:{number}")), tallies[kind])
    out: dict[str, Any] = {"seed": seed}
    for kind, who in (("all", None), *((k, customers[k]) for k in KINDS)):
        tally = [tallies[k] for k in KINDS if who is None or k == kind]
        figures = measured(world, who)
        figures["right"] = sum(t.right for t in tally)
        figures["guides_offered"] = sum(t.guides_offered for t in tally)
        out[kind] = {"figures": figures,
                     "tally": {name: sum(getattr(t, name) for t in tally) for name in Tally().as_dict()}}
    return out


def bench_settings(settings: Settings, encoder: str) -> Settings:
    """``settings`` with the bench's encoder, an identity-secret key and generous widget rate limits."""
    return replace(settings, encoder=encoder, encoder_dir=settings.encoder_dir or ENCODER_DIR,
                   secret_key=settings.secret_key or secrets.token_urlsafe(32), rate_widget_key=GENEROUS_RATE,
                   rate_widget_ip=GENEROUS_RATE, rate_auth_failures=GENEROUS_RATE)


def simulate(app, args) -> list[dict[str, Any]]:
    """Every seed's tenant and sessions on ``app`` (its database already migrated)."""
    queries = banking77()
    return [run_seed(app, seed, queries, args) for seed in range(args.seeds)]


def run(args) -> list[dict[str, Any]]:
    home = Path(tempfile.mkdtemp(prefix="deskloop-deflection-"))
    settings = Settings(home=home, database_url=args.database_url or f"sqlite:///{home / 'deskloop.db'}")
    app = create_app(bench_settings(settings, args.encoder))
    runtime = app.extensions["deskloop"]
    try:
        runtime.db.migrate()
        return simulate(app, args)
    finally:
        runtime.close()


#: The printed rows: (label, figure, what it is a share of).
ROWS = (
    ("questions asked", "asked", None),
    ("answered in the widget", "answered", "asked"),
    ("  answered right", "right", "answered"),
    ("  said helpful", "helpful", "answered"),
    ("  said not helpful", "not_helpful", "answered"),
    ("guides offered", "guides_offered", "answered"),
    ("  completed", "guides_completed", "guides_offered"),
    ("  abandoned", "guides_abandoned", "guides_offered"),
    ("tickets filed", "tickets", "asked"),
    ("  after not helpful", "tickets_after_not_helpful", "not_helpful"),
    ("  after I don't know", "tickets_after_unknown", "unknown"),
    ("  after a right answer (email)", "tickets_after_right", "right"),
    ("answered, then a ticket within a day", "answered_then_ticket_within_a_day", "answered"),
    ("questions deflected (no ticket)", "deflected", "asked"),
)


def derived(figures: dict[str, Any]) -> dict[str, Any]:
    out = dict(figures)
    out["unknown"] = out["asked"] - out["answered"]
    out["tickets"] = out["tickets_after_not_helpful"] + out["tickets_after_unknown"] + out["tickets_after_right"]
    out["deflected"] = out["asked"] - out["tickets"]
    return out


def _share(rows: list[dict[str, Any]], name: str, of: str | None) -> str:
    ratios = [r[name] / r[of] for r in rows if of is not None and r[of]]
    return f"{np.mean(ratios):.3f} ± {np.std(ratios):.3f}" if ratios else "-"


def table(results: list[dict[str, Any]], args) -> str:
    """Every figure as a count per seed (all questions) and as a share of what it is part of, for
    all questions and for each kind (mean ± sd over seeds)."""
    rows = {kind: [derived(r[kind]["figures"]) for r in results] for kind in ("all", *KINDS)}
    lines = [f"widget deflection: {len(results)} seeds, encoder {args.encoder}, "
             f"{'PostgreSQL' if args.database_url else 'SQLite'}; customer p={P_HELPFUL} q={Q_FILE_AFTER_NOT_HELPFUL} "
             f"r={R_FILE_AFTER_UNKNOWN} s={S_WRITES_IN_ANYWAY} lost-abandon={P_ABANDON_WHEN_LOST} (assumed)",
             f"  {'':<38}{'count/seed':>14}  {'share: all':>15}  {'page-dependent':>15}  {'other':>15}  of"]
    for label, name, of in ROWS:
        counts = [r[name] for r in rows["all"]]
        shares = "  ".join(f"{_share(rows[kind], name, of):>15}" for kind in ("all", *KINDS))
        lines.append(f"  {label:<38}{np.mean(counts):>7.1f} ± {np.std(counts):<4.1f}  {shares}  "
                     f"{(of or '').replace('_', ' ')}")
    return "\n".join(lines)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3, help="reported seeds 0..N-1")
    parser.add_argument("--encoder", choices=("minilm", "none"), default="minilm")
    parser.add_argument("--database-url", default=None, help="an empty database (default: a fresh SQLite file)")
    parser.add_argument("--other-intents", type=int, default=20)
    parser.add_argument("--per-intent", type=int, default=50, help="Banking77 tickets per other intent")
    parser.add_argument("--per-page", type=int, default=24, help="tickets per page-dependent question and page")
    parser.add_argument("--sessions", type=int, default=0, help="sessions per seed at most (0: every held-out)")
    parser.add_argument("--quick", action="store_true",
                        help="one seed, a small history, no encoder (seconds: what the test runs)")
    parser.add_argument("--json", action="store_true", help="print the per-seed figures and tallies as JSON")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.other_intents < 1 or args.per_intent < 1 or args.per_page < 0 or args.sessions < 0:
        parser.error("--seeds, --other-intents and --per-intent must be at least 1; --per-page, --sessions at least 0")
    if args.quick:
        args.seeds, args.encoder, args.other_intents, args.per_intent, args.per_page = 1, "none", 6, 20, 6
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    results = run(args)
    if args.json:
        print(json.dumps({"args": vars(args), "customer": {
            "p_helpful": P_HELPFUL, "q_file_after_not_helpful": Q_FILE_AFTER_NOT_HELPFUL,
            "r_file_after_unknown": R_FILE_AFTER_UNKNOWN, "s_writes_in_anyway": S_WRITES_IN_ANYWAY,
            "p_abandon_when_lost": P_ABANDON_WHEN_LOST},
            "seeds": [{"seed": r["seed"], **{kind: {**r[kind], "figures": derived(r[kind]["figures"])}
                                             for kind in ("all", *KINDS)}} for r in results]}, indent=2))
    else:
        print(table(results, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
