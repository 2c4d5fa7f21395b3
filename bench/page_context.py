"""Suggestions conditioned on the page: accuracy of the chosen resolution with and without context.

A seeded simulated history mixes two kinds of question:

- *other* questions: Banking77 wording (``core/demo/data/banking77.csv``), a sample of its intents,
  one resolution per intent. Each is asked on a page, mostly its intent's usual page (a page drawn
  per intent and seed), sometimes any page: context that helps a little or not at all;
- *page-dependent* questions (:data:`QUESTIONS`): ten questions written here, each asked on two
  or three pages with the *same* words and a different right resolution per page ("how do I export
  my data?" on the Analytics dashboard, in Account Settings, in a project). Half of them are
  labelled with one intent per page (agents who tag ``export-analytics`` and ``export-account``),
  half with one intent for every page (agents who tag ``export``, and answer by page).

The history is split per seed into training tickets (80%) and held-out tickets (20%). The model
is trained as the product trains (:meth:`core.ml.model.TicketModel.fit` with the served encoder)
and every held-out ticket is suggested for as the product suggests
(:func:`core.suggesting.suggest.build_suggestion`). The chosen resolution is the one the draft
came from; it is right when that resolved ticket was answered with the held-out ticket's
resolution. No draft (the suggestion abstained) counts as not right. Three ways are compared:

- ``without``: today's product, a history and questions without page context;
- ``with``: the history's page contexts and the question's;
- ``model only``: the context-trained model asked without a context (free text from elsewhere).

Target (issue 21): ``with`` at least 25 points above ``without`` on page-dependent questions, and
not below it on the others. Mixed into one history, the page-dependent questions also lower
today's answers to the others (the same words under several intents make the abstention rule
stricter for every question); ``--per-page 0`` measures the others in a history of their own,
where the page is only a weak hint. Reported seeds are 0..N-1; ``--tune`` chooses the context bonus
(:data:`core.ml.page_context.CONTEXT_BONUS`) on the tuning seeds 100..102 only.

    .venv/bin/python bench/page_context.py [--seeds 5] [--encoder minilm|none] [--per-page 0]
    .venv/bin/python bench/page_context.py --tune

A history without intent labels (a tenant's first day) is not measured here: on this history the
day-one draft rule (:mod:`core.ml.retrieval`) offers no draft with or without context.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from core.ml import page_context  # noqa: E402 (after the sys.path line)
from core.ml.encoder import encode_for_training, encoder_named  # noqa: E402
from core.ml.model import TicketModel, TrainingTicket  # noqa: E402
from core.ml.page_context import ContextKey, context_key  # noqa: E402
from core.ml.registry import StoredModel  # noqa: E402
from core.suggesting.suggest import build_suggestion  # noqa: E402

DATA = ROOT / "core" / "demo" / "data" / "banking77.csv"
ENCODER_DIR = Path(tempfile.gettempdir()) / "deskloop-bench-encoders"
TUNING_SEEDS = (100, 101, 102)
BONUSES = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3)

#: Pages of the simulated app (URLs as the widget would send them: ids in them).
PAGES = {
    "analytics": "https://app.example.com/analytics/reports/{id}",
    "account": "https://app.example.com/settings/account",
    "project": "https://app.example.com/projects/{id}",
    "editor": "https://app.example.com/projects/{id}/editor",
    "billing": "https://app.example.com/billing/invoices",
    "subscription": "https://app.example.com/billing/subscription",
    "team": "https://app.example.com/team/members",
    "sso": "https://app.example.com/settings/sso",
    "notifications": "https://app.example.com/settings/notifications",
    "slack": "https://app.example.com/integrations/slack",
    "dashboard": "https://app.example.com/dashboard",
    "preferences": "https://app.example.com/settings/preferences",
}


@dataclass(frozen=True)
class Question:
    key: str
    phrasings: tuple[str, ...]
    answers: dict[str, str]  # page -> the right resolution there
    per_page_intent: bool  # labelled with one intent per page (else one intent for all pages)


QUESTIONS = (
    Question("export", (
        "How do I export my data?", "how can i export all my data", "Is there a way to export my data?",
        "I need to export my data, where do I do that?", "Where is the export option for my data?",
        "Can I get an export of my data?"), {
        "analytics": "Open the report, click Export in the top right and choose CSV or Excel; the file includes "
                     "every row of the current date range.",
        "account": "Go to Settings > Account > Privacy and click Download my data; we email you a ZIP archive "
                   "within an hour.",
        "project": "Open the project menu (the three dots next to the project name) and choose Export project; "
                   "you get a ZIP with every file and comment.",
    }, True),
    Question("delete", (
        "How do I delete this?", "how can I delete this", "I want to delete this, how?",
        "Where is the delete button?", "Can I delete this myself?", "Please tell me how to delete this"), {
        "project": "Open Project settings, scroll to Danger zone and click Delete project; it stays in the trash "
                   "for 30 days.",
        "team": "Click the member's row, then Remove from team; their work stays and is reassigned to you.",
        "analytics": "Open the report menu and choose Delete report; dashboards that use it will show a "
                     "placeholder.",
    }, False),
    Question("share", (
        "How do I share this with my team?", "how can my colleagues see this", "Can I share this with coworkers?",
        "I want to share this with my team", "Is there a way to share this with others?",
        "How do I give my team access to this?"), {
        "analytics": "Click Share on the report and add your colleagues' emails; they get view access to "
                     "that report only.",
        "project": "Open Project settings > Members and invite your colleagues; choose Editor or Viewer "
                   "for each.",
        "dashboard": "Click the share icon on the dashboard to copy a link; anyone in your workspace can "
                     "open it.",
    }, True),
    Question("currency", (
        "How do I change the currency?", "can i change the currency", "The currency is wrong, how do I change it?",
        "I need to switch currency", "Where do I set the currency?", "How to change currency please"), {
        "billing": "The billing currency is fixed per subscription; reply here and we will switch it from "
                   "your next invoice.",
        "preferences": "Go to Settings > Preferences and pick your display currency; it changes how amounts "
                       "are shown, not what you are billed.",
        "analytics": "Open the report's settings and choose the currency under Formatting; each report can "
                     "have its own.",
    }, False),
    Question("download", (
        "I can't find the download button", "where do I download it", "How do I download this?",
        "There is no download button", "Can't download, where is the button?", "How can I download it?"), {
        "billing": "Each invoice row has a PDF icon on the right; click it to download the invoice.",
        "slack": "Click Add to Slack at the top of the page; there is nothing to download, the app installs "
                 "in your workspace.",
    }, True),
    Question("add_user", (
        "How do I add a new user?", "how can I add someone new", "I need to add a new user",
        "Where do I add users?", "Can I add another user?", "How to add a person to our account?"), {
        "team": "Click Invite member, enter their email and role; they get an invitation valid for 7 days.",
        "sso": "With single sign-on, users are added by your identity provider: assign them the app in Okta "
               "or Azure AD and they appear at first sign-in.",
    }, False),
    Question("date_range", (
        "Where do I change the date range?", "how do I pick different dates", "Can I change the period shown?",
        "The dates are wrong, how do I change them?", "How to select another date range?",
        "I want to see a different period"), {
        "analytics": "Use the date picker in the top right of the report; choose a preset or Custom range.",
        "subscription": "Billing periods follow your subscription's renewal date; switch between monthly and "
                        "yearly under Change plan.",
    }, True),
    Question("notifications", (
        "How do I set up notifications?", "how can I get notified", "I want notifications",
        "Where are the notification settings?", "How to turn on alerts?", "Can I get alerts for this?"), {
        "notifications": "Tick the events you want under Email notifications and choose instant or daily "
                         "digest.",
        "slack": "Connect Slack, then choose a channel under Alerts; each alert rule posts there.",
        "project": "Click Watch at the top of the project; you are notified of every new comment and change.",
    }, False),
    Question("undo", (
        "How do I undo this?", "can i undo that", "I made a mistake, how do I undo it?", "Is there an undo?",
        "How to revert what I just did?", "I need to undo my last change"), {
        "editor": "Press Ctrl+Z, or open Version history in the editor's menu and restore an earlier version.",
        "account": "You can reactivate a closed account within 30 days: sign in and click Reactivate.",
        "subscription": "Click Keep my subscription on the Subscription page; the cancellation is withdrawn "
                        "and nothing changes.",
    }, True),
    Question("wrong_number", (
        "Why is this number wrong?", "the numbers don't look right", "This total seems wrong",
        "Why doesn't this number match?", "The figure here is incorrect", "Why is the amount different?"), {
        "analytics": "Reports use your workspace time zone; check it under Settings > Preferences, and the "
                     "totals will match your other tools.",
        "billing": "A plan change mid-month is prorated: the invoice shows the unused days as a credit.",
    }, False),
)

_PREFIXES = ("", "", "Hi, ", "Hello! ", "Quick question: ", "Hey team, ")
_SUFFIXES = ("", "", " Thanks.", " Thank you!", " Please help.", " Cheers")
_NAMES = ("Mia Novak", "Liam Chen", "Ava Patel", "Noah Kim", "Emma Rossi", "Lucas Silva", "Zoe Martin",
          "Omar Haddad", "Ines Garcia", "Theo Becker")


@dataclass(frozen=True)
class Case:
    text: str
    label: str  # intent as agents labelled it
    resolution: str  # which answer is right
    url: str
    dependent: bool  # a page-dependent question
    customer: str


def banking77() -> dict[str, list[str]]:
    by_intent: dict[str, list[str]] = {}
    with DATA.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            by_intent.setdefault(row["category"], []).append(row["text"])
    return by_intent


def history(seed: int, queries: dict[str, list[str]], other_intents: int, per_intent: int,
            per_page: int) -> list[Case]:
    """The simulated tickets of one seed, shuffled."""
    rnd = random.Random(seed)
    pages = list(PAGES)
    cases = []
    for intent in rnd.sample(sorted(queries), other_intents):
        home = rnd.choice(pages)
        for text in rnd.sample(queries[intent], min(per_intent, len(queries[intent]))):
            page = home if rnd.random() < 0.6 else rnd.choice(pages)
            cases.append(Case(text, intent, intent, _url(page, rnd), False, rnd.choice(_NAMES)))
    for question in QUESTIONS:
        for page in question.answers:
            label = f"{question.key}_{page}" if question.per_page_intent else question.key
            for _ in range(per_page):
                text = rnd.choice(_PREFIXES) + rnd.choice(question.phrasings) + rnd.choice(_SUFFIXES)
                cases.append(Case(text.strip(), label, f"{question.key}/{page}", _url(page, rnd), True,
                                  rnd.choice(_NAMES)))
    rnd.shuffle(cases)
    return cases


def _url(page: str, rnd: random.Random) -> str:
    return PAGES[page].format(id=rnd.randint(1, 99_999))


def reply(case: Case, answers: dict[str, str]) -> str:
    first = case.customer.split()[0]
    if case.dependent:
        return f"Hi {first},\n\n{answers[case.resolution]}\n\nBest,\nSam"
    words = case.resolution.replace("_", " ")
    return (f"Hi {first},\n\nThanks for asking about {words}. We looked into {words} for you: follow the steps in "
            f"the app under Help > {words.title()}, and reply if anything is unclear.\n\nBest,\nSam")


def train(cases: list[Case], with_context: bool, encoder, vectors: np.ndarray | None,
          answers: dict[str, str]) -> TicketModel:
    tickets = [TrainingTicket(ticket_id=i + 1, external_id=f"T{i + 1}", text=c.text, intent=c.label, tags=[],
                              reply=reply(c, answers), requester_name=c.customer, agent_name="Sam",
                              context=str(context_key({"url": c.url})) if with_context else None)
               for i, c in enumerate(cases)]
    return TicketModel.fit(tickets, encoder=encoder, vectors=vectors)


def chosen_right(model: TicketModel, stored: StoredModel, case: Case, resolution_of: dict[int, str],
                 with_context: bool, encoder) -> tuple[bool, bool]:
    """(a draft was chosen, it came from a ticket answered with this case's resolution)."""
    vector = sentence_vector_of(model, case.text, encoder)
    key: ContextKey | None = context_key({"url": case.url}) if with_context else None
    made = build_suggestion(model, stored, case.text, case.customer, vector=vector, context=key)
    if not made.draft_source or not made.draft_source.startswith("ticket:"):
        return False, False
    return True, resolution_of[int(made.draft_source.split(":")[1])] == case.resolution


_vectors: dict[str, np.ndarray] = {}


def sentence_vector_of(model: TicketModel, text: str, encoder) -> np.ndarray | None:
    if encoder is None:
        return None
    if text not in _vectors:
        _vectors[text] = encoder.encode([text])[0]
    return _vectors[text]


def run_seed(seed: int, queries, encoder, args, bonuses=(None,)) -> dict:
    answers = {f"{q.key}/{page}": text for q in QUESTIONS for page, text in q.answers.items()}
    cases = history(seed, queries, args.other_intents, args.per_intent, args.per_page)
    cut = int(len(cases) * 0.8)
    train_cases, held = cases[:cut], cases[cut:]
    vectors = encode_for_training(encoder, [c.text for c in train_cases]) if encoder is not None else None
    resolution_of = {i + 1: c.resolution for i, c in enumerate(train_cases)}
    stored = StoredModel("bench", Path("."), {})
    plain = train(train_cases, False, encoder, vectors, answers)
    contextual = train(train_cases, True, encoder, vectors, answers)
    out: dict = {}
    for bonus in bonuses:
        if bonus is not None:
            page_context.CONTEXT_BONUS = bonus
        runs = {"without": (plain, False), "with": (contextual, True), "model only": (contextual, False)}
        for name, (model, with_context) in runs.items():
            if bonus is not None and name != "with":
                continue
            for dependent in (True, False):
                part = [c for c in held if c.dependent == dependent]
                if not part:
                    continue
                results = [chosen_right(model, stored, c, resolution_of, with_context, encoder) for c in part]
                out[(bonus, name, dependent)] = (float(np.mean([r for _, r in results])),
                                                 float(np.mean([d for d, _ in results])), len(part))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="reported seeds 0..N-1")
    parser.add_argument("--encoder", choices=("minilm", "none"), default="minilm")
    parser.add_argument("--other-intents", type=int, default=20)
    parser.add_argument("--per-intent", type=int, default=50, help="Banking77 tickets per other intent")
    parser.add_argument("--per-page", type=int, default=24, help="tickets per page-dependent question and page")
    parser.add_argument("--tune", action="store_true", help="choose the context bonus on the tuning seeds")
    args = parser.parse_args()
    queries = banking77()
    encoder = encoder_named(args.encoder, ENCODER_DIR, batch=True)
    if args.tune:
        return tune(queries, encoder, args)
    rows = [run_seed(seed, queries, encoder, args) for seed in range(args.seeds)]
    print(f"page context: {args.seeds} seeds, encoder {args.encoder}, context bonus {page_context.CONTEXT_BONUS}; "
          "accuracy of the chosen resolution on held-out tickets (mean ± sd over seeds; answered share)")
    for dependent, title in ((True, "page-dependent"), (False, "other")):
        if (None, "without", dependent) not in rows[0]:
            continue
        n = rows[0][(None, "without", dependent)][2]
        print(f"  {title} questions (~{n} held-out per seed):")
        for name in ("without", "with", "model only"):
            accuracy = [r[(None, name, dependent)][0] for r in rows]
            answered = [r[(None, name, dependent)][1] for r in rows]
            print(f"    {name:<11} {np.mean(accuracy):.3f} ± {np.std(accuracy):.3f}   answered {np.mean(answered):.3f}")
        gain = [r[(None, "with", dependent)][0] - r[(None, "without", dependent)][0] for r in rows]
        print(f"    with - without: {100 * np.mean(gain):+.1f} ± {100 * np.std(gain):.1f} points")
    return 0


def tune(queries, encoder, args) -> int:
    rows = [run_seed(seed, queries, encoder, args, bonuses=BONUSES) for seed in TUNING_SEEDS]
    print(f"tuning seeds {TUNING_SEEDS}: accuracy of the chosen resolution with context, by context bonus")
    for bonus in BONUSES:
        dependent = np.mean([r[(bonus, "with", True)][0] for r in rows])
        other = np.mean([r[(bonus, "with", False)][0] for r in rows])
        print(f"  bonus {bonus:<5} page-dependent {dependent:.3f}   other {other:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
