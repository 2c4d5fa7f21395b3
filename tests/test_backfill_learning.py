"""A helpdesk history with no intent field, from connecting the account to intents: `deskloop
backfill` through each helpdesk's real client library (against a local server that answers like
its API) trains by itself, the side panel answers at once with similar tickets and a draft, and
`labels suggest`, `labels use`, `train` then give it intents.

The history is :func:`core.demo.helpdesk_shaped.generate_helpdesk_history`, written into each
fake helpdesk where that helpdesk keeps things: the category dropdown as a Zendesk field id, a
Freshdesk ``cf_`` field or an Intercom custom attribute; what the tickets say as each vendor's
messages (:class:`tests.fake_api.Content`). The backfill runs as its own process, as an admin
runs it (without Redis it ranks the label sources and trains in that process); the commands after
it run through the CLI in this process, and the panel through the app's test client with an app
token, as the side-panel tests call it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from core.app import create_app
from core.cli import main
from core.demo.helpdesk_shaped import (
    CATEGORY_FIELD,
    CHANNEL_TAGS,
    PLAN_FIELD,
    REGION_FIELD,
    SLA_TAG,
    generate_helpdesk_history,
)
from core.helpdesk.connections import add_tenant, forget_connections
from core.panel.access import issue_app_token
from core.runtime import Runtime
from core.store.tables import TenantRow
from core.types import Ticket
from core.web.panel_api import NOT_TRAINED_MESSAGE
from tests.fake_api import Content, Sorting, serve
from tests.integrations.freshdesk import fake_freshdesk
from tests.integrations.intercom import fake_intercom
from tests.integrations.zendesk import fake_zendesk

DESKLOOP = str(Path(sys.executable).with_name("deskloop"))
TENANT = "acme"
#: Enough tickets for the category (57 values, set on about 60% of tickets) to out-rank the group
#: (5 values, on every ticket): about 11 tickets a value; fewer, and the ranking rightly doubts
#: values it has seen a handful of times. Few enough to encode in seconds.
COUNT = 1000
SEED = 3
END = date(2026, 11, 1)
AUTOMATION_TAGS = {*CHANNEL_TAGS.values(), SLA_TAG}
#: A new customer asking what stored, solved tickets ask ("How can I reset my passcode?"), in
#: words of their own: the intent those were written from, words of the reply that solved them
#: (core/demo/replies.json), and the category value agents file them under.
PARAPHRASE = "I forgot my passcode, how can I reset it?"
ASKED = "passcode_forgotten"
REPLY_WORDS = "tap Forgot passcode"
CATEGORY = "passcode_forgotten"
#: The stored ticket nobody has answered yet with this intent ("I am unable to prove my
#: identity...") asks what solved ones ask, and words of their reply.
WAITING = "unable_to_verify_identity"
WAITING_REPLY_WORDS = "take the photo in good light"


@dataclass(frozen=True)
class Helpdesk:
    """One vendor's fake account and how the history is written into it."""

    name: str
    domain: str
    credentials: dict[str, str]
    fake: ModuleType
    first_number: int  # the fake numbers tickets from here
    fields: dict[str, str]  # the simulator's field ids -> how this vendor keys custom fields
    external_id: Callable[[int], str]  # a fake ticket number -> the helpdesk's id
    sorting: Callable[[Ticket, dict[str, object]], Sorting]
    merged_channels: dict[str, str] = field(default_factory=dict)  # a channel it lacks -> where it goes

    def make_app(self, tickets: list[Ticket]):
        """The fake account holding ``tickets``, numbered from :attr:`first_number`."""
        received = {n: self.received(t) for n, t in enumerate(tickets, start=self.first_number)}
        sorting = {n: self.sorting(t, self.custom_fields(t)) for n, t in received.items()}
        content = {n: content_of(t) for n, t in received.items()}
        count = {"intercom": "conversations"}.get(self.name, "tickets")
        return self.fake.make_app(**{count: len(tickets)}, sorting=sorting, content=content)

    def received(self, ticket: Ticket) -> Ticket:
        """The ticket as this helpdesk would have received it: by a channel it has, tagged by that
        channel's trigger (Intercom's Messenger is one channel, chat or web page alike)."""
        channel = self.merged_channels.get(ticket.channel, ticket.channel)
        if channel == ticket.channel:
            return ticket
        tags = {CHANNEL_TAGS[channel] if t == CHANNEL_TAGS[ticket.channel] else t for t in ticket.tags}
        return ticket.model_copy(update={"channel": channel, "tags": sorted(tags)})

    def custom_fields(self, ticket: Ticket) -> dict[str, object]:
        """Every field of the account, as the vendor sends it: an unset one is null."""
        return {key: ticket.custom_fields.get(name) for name, key in self.fields.items()}

    def spec(self, name: str) -> str:
        return f"field:{self.fields[name]}"


def content_of(ticket: Ticket) -> Content:
    """What the ticket says: its first customer message and first public agent reply."""
    customer = next(m.body for m in ticket.messages if m.author_role == "customer")
    reply = next((m.body for m in ticket.messages if m.author_role == "agent" and m.public), None)
    resolved = ticket.status in ("solved", "closed")
    return Content(customer_message=customer, subject=ticket.subject, agent_reply=reply,
                   status=ticket.status if resolved else "open",
                   requester_name=ticket.requester.name if ticket.requester else None, channel=ticket.channel)


HELPDESKS = {
    "zendesk": Helpdesk(
        "zendesk", "larkspur.zendesk.com",
        {"email": "deskloop@larkspur-outdoor.example", "api_token": "zd-token-5ecret", "webhook_secret": "zd-hook"},
        fake_zendesk, 1, {CATEGORY_FIELD: CATEGORY_FIELD, PLAN_FIELD: PLAN_FIELD, REGION_FIELD: REGION_FIELD}, str,
        lambda t, fields: Sorting(ticket_type=t.ticket_type, group=t.group, form=t.form, tags=list(t.tags),
                                  custom_fields={k: v for k, v in fields.items() if v is not None})),
    "freshdesk": Helpdesk(
        "freshdesk", fake_freshdesk.DOMAIN, {"api_key": fake_freshdesk.API_KEY, "webhook_secret": "fd-hook"},
        fake_freshdesk, 1, {CATEGORY_FIELD: "cf_category", PLAN_FIELD: "cf_plan", REGION_FIELD: "cf_region"}, str,
        lambda t, fields: Sorting(ticket_type=t.ticket_type.title() if t.ticket_type else None, group=t.group,
                                  tags=list(t.tags), custom_fields=fields)),
    "intercom": Helpdesk(
        "intercom", "api.intercom.io", {"access_token": fake_intercom.ACCESS_TOKEN, "client_secret": "ic-secret"},
        fake_intercom, 0, {CATEGORY_FIELD: "Category", PLAN_FIELD: "Plan", REGION_FIELD: "Region"},
        fake_intercom.conversation_id,
        lambda t, fields: Sorting(group=t.group, tags=list(t.tags),
                                  custom_fields={k: v for k, v in fields.items() if v is not None}),
        merged_channels={"web": "chat"}),
}


@cache
def history() -> tuple[list[Ticket], list[str]]:
    return generate_helpdesk_history(COUNT, seed=SEED, end=END)


def deskloop(*args: str):
    """A command in this process (the backfill runs as its own: see the test)."""
    return CliRunner().invoke(main, list(args))


def label_source_setting(settings) -> str | None:
    runtime = Runtime(settings)
    with runtime.db.admin_session() as session:
        stored = session.scalar(select(TenantRow.settings).where(TenantRow.slug == TENANT)) or {}
    runtime.close()
    return stored.get("label_source")


@pytest.mark.parametrize("helpdesk", sorted(HELPDESKS))
def test_a_backfilled_history_without_intents_suggests_at_once_then_learns_intents_from_its_category(
        helpdesk, settings, db, request):
    desk = HELPDESKS[helpdesk]
    tickets, truth = history()
    true_intent = {desk.external_id(n): intent for n, intent in enumerate(truth, start=desk.first_number)}
    started = time.perf_counter()
    with serve(desk.make_app(tickets)) as url:
        forget_connections()
        runtime = Runtime(settings)
        request.addfinalizer(runtime.close)
        request.addfinalizer(forget_connections)
        add_tenant(runtime, TENANT, desk.name, desk.domain, desk.credentials,
                   {"api_url": url, "write_back_tags": False})
        backfilled = subprocess.run([DESKLOOP, "backfill", "--tenant", TENANT], env=os.environ.copy(),
                                    capture_output=True, text=True, timeout=600)
    assert backfilled.returncode == 0, backfilled.stderr
    assert f"{COUNT:,} tickets in" in backfilled.stdout
    trained = re.search(r"^model (\S+): ", backfilled.stdout, re.M)
    assert trained and trained.group(1) != "unchanged", backfilled.stdout  # trained by itself
    assert "where intents could come from" in backfilled.stdout
    assert desk.spec(CATEGORY_FIELD) in backfilled.stdout, backfilled.stdout

    app = create_app(settings)
    request.addfinalizer(app.extensions["deskloop"].close)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {issue_app_token(runtime, TENANT)}"}
    unseen = desk.external_id(desk.first_number + COUNT + 100)  # a ticket whose webhook has not arrived yet

    def panel(external_id: str, text: str | None = None) -> dict:
        answer = client.post(f"/apps/api/tickets/{external_id}/suggestion",
                             json={} if text is None else {"text": text}, headers=headers)
        assert answer.status_code == 200, answer.text
        return answer.json

    day_one = panel(unseen, PARAPHRASE)
    assert day_one["intent_model"] == "not_trained" and day_one["intent"] is None
    assert day_one["ticket_known"] is False and day_one["notice"] == NOT_TRAINED_MESSAGE
    assert day_one["similar"], "similar resolved tickets at once"
    assert true_intent[day_one["similar"][0]["external_id"]] == ASKED
    assert not day_one["abstained"] and REPLY_WORDS in day_one["draft"], day_one
    assert day_one["tags"] and not {t["tag"] for t in day_one["tags"]} & AUTOMATION_TAGS, day_one["tags"]

    # A stored ticket nobody has answered yet: the panel reads its text from the store.
    waiting = next(desk.external_id(n)
                   for n, (t, intent) in enumerate(zip(tickets, truth, strict=True), start=desk.first_number)
                   if intent == WAITING and t.status not in ("solved", "closed"))
    stored = panel(waiting)
    assert stored["ticket_known"] is True and stored["intent_model"] == "not_trained"
    assert stored["similar"] and waiting not in {s["external_id"] for s in stored["similar"]}
    assert true_intent[stored["similar"][0]["external_id"]] == WAITING, stored["similar"]
    assert WAITING_REPLY_WORDS in (stored["draft"] or ""), stored

    ranked = deskloop("labels", "suggest", "--tenant", TENANT, "--json")
    assert ranked.exit_code == 0, ranked.output
    ranking = json.loads(ranked.output)
    usable = [c["source"] for c in ranking["candidates"] if not c["rejected"]]
    assert ranking["current"] == "intent" and usable[0] == desk.spec(CATEGORY_FIELD), usable[:3]

    refused = deskloop("labels", "use", "--tenant", TENANT, desk.spec(REGION_FIELD))
    assert refused.exit_code == 2 and "has one value ('eu')" in refused.output, refused.output
    assert label_source_setting(settings) is None, "a refused source changes nothing"

    chosen = deskloop("labels", "use", "--tenant", TENANT, desk.spec(CATEGORY_FIELD))
    assert chosen.exit_code == 0, chosen.output
    retrained = deskloop("train", "--tenant", TENANT)
    assert retrained.exit_code == 0 and " intents, cross-validated accuracy" in retrained.output, retrained.output

    with_intents = panel(unseen, PARAPHRASE)
    assert with_intents["intent_model"] == "trained" and with_intents["intent"] == CATEGORY, with_intents
    assert with_intents["notice"] is None
    assert with_intents["tags"] and not {t["tag"] for t in with_intents["tags"]} & AUTOMATION_TAGS
    print(f"{helpdesk} on {db.dialect}: {COUNT} tickets backfilled, suggested, relabelled and retrained "
          f"in {time.perf_counter() - started:.0f} s")
