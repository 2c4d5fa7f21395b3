"""No draft for one customer ever carries another customer's personal details.

The history below is full of personal data, in the places real agents put it: greetings, delivery
addresses, refunds to a card, an IBAN, a phone number to call back, a colleague named in passing.
Drafts for a new customer, through the API, must contain none of it.
"""

from __future__ import annotations

import random
import re
from dataclasses import replace

import pytest
from sqlalchemy import update

from core.app import create_app
from core.learning.training import train_tenant
from core.store.tables import TenantRow
from core.store.tickets import upsert_tickets
from core.suggesting.suggest import current_model
from core.text.entities import iban_valid, luhn_valid
from tests.access_support import authorized_client
from tests.factories import make_ticket

FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Katherine", "Donald", "Frances", "Leslie", "Radia",
         "Tim", "Margaret", "Dennis", "Hedy", "Claude"]
LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Johnson", "Knuth", "Allen", "Lamport", "Perlman",
        "Berners", "Hamilton", "Ritchie", "Lamarr", "Shannon"]
STREETS = ["Baker Street", "Elm Avenue", "Harbour Road", "Mill Lane", "Station Road"]
INTENTS = {
    "card_delivery": ["Where is my new card?", "My card has not arrived yet", "When will the card be delivered?"],
    "refund": ["Where is my refund?", "The refund has not shown up", "I am still waiting for the refund"],
    "callback": ["Please call me back about my account", "Can someone phone me?", "I need a call about my account"],
}


def _luhn_card(rng: random.Random) -> str:
    digits = [4] + [rng.randint(0, 9) for _ in range(14)]
    for check in range(10):
        if luhn_valid("".join(map(str, digits + [check]))):
            number = "".join(map(str, digits + [check]))
            return " ".join(number[i:i + 4] for i in range(0, 16, 4))
    raise AssertionError("unreachable")


def _iban(rng: random.Random) -> str:
    bban = "WEST" + "".join(str(rng.randint(0, 9)) for _ in range(14))
    for check in range(2, 99):
        candidate = f"GB{check:02d}{bban}"
        if iban_valid(candidate):
            return " ".join(candidate[i:i + 4] for i in range(0, len(candidate), 4))
    raise AssertionError("unreachable")


def _history(rng: random.Random):
    tickets, secrets = [], []
    for i in range(45):
        first, last = FIRST[i % len(FIRST)], LAST[(i * 7) % len(LAST)]
        colleague = f"{FIRST[(i + 3) % len(FIRST)]} {LAST[(i + 5) % len(LAST)]}"
        details = {
            "email": f"{first.lower()}.{last.lower()}{i}@mail.example",
            "phone": f"+44 20 79{rng.randint(10, 99)} {rng.randint(1000, 9999)}",
            "card": _luhn_card(rng),
            "iban": _iban(rng),
            "address": f"{rng.randint(2, 400)} {rng.choice(STREETS)}",
            "order": f"NW{rng.randint(100000, 999999)}",
            "amount": f"${rng.randint(10, 900)}.{rng.randint(10, 99)}",
        }
        intent = list(INTENTS)[i % 3]
        text = rng.choice(INTENTS[intent]) + f" Order {details['order']}, call {details['phone']}."
        reply = (f"Hi {first}, thanks for writing. The card was sent to {details['address']} and the refund of "
                 f"{details['amount']} goes to card {details['card']} or IBAN {details['iban']}. We will call "
                 f"{details['phone']} or write to {details['email']} about order {details['order']}. "
                 f"I also copied your colleague {colleague}. Best, Sam")
        tickets.append(make_ticket(f"pii-{i}", text, intent, reply, f"{first} {last}"))
        secrets.extend([first, last, *colleague.split(), *details.values()])
        secrets.append(details["phone"].replace(" ", "")[-8:])
    return tickets, set(secrets)


@pytest.fixture
def client(settings, db):
    tickets, secrets = _history(random.Random(11))
    tenant_id = db.ensure_tenant("pii")
    with db.transaction() as session:  # answer freely: this test is about what a draft contains
        session.execute(update(TenantRow).where(TenantRow.id == tenant_id).values(settings={"target_precision": 0.5}))
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, tickets)
    app = create_app(settings)
    train_tenant(app.extensions["deskloop"], "pii")
    model, _ = current_model(app.extensions["deskloop"], "pii")
    # ... and with no novelty check: these probes add an order sentence no history ticket has.
    model.abstention = replace(model.abstention, novelty_threshold=None)
    yield authorized_client(app), secrets
    app.extensions["deskloop"].close()


def _leaks(draft: str, secrets: set[str]) -> list[str]:
    compact = draft.replace(" ", "")
    return [s for s in secrets if re.search(rf"\b{re.escape(s)}\b", draft) or (s.isdigit() and s in compact)]


def test_no_draft_carries_another_customers_details(client):
    client, secrets = client
    drafts = 0
    for texts in INTENTS.values():
        for text in texts:
            body = {"text": text + " My order is ZQ55501.", "customer_name": "Zelda Quinn"}
            suggestion = client.post("/api/v1/tenants/pii/suggest", json=body).json
            if suggestion["draft"] is None:
                continue
            drafts += 1
            assert _leaks(suggestion["draft"], secrets) == [], suggestion["draft"]
            assert suggestion["draft"].startswith("Hi Zelda,")
            assert "ZQ55501" in suggestion["draft"]  # this customer's own order id is filled in
    assert drafts >= 6


def test_stored_tickets_drafts_do_not_leak_between_customers_either(client):
    client, secrets = client
    page = client.get("/api/v1/tenants/pii/tickets?limit=45").json["tickets"]
    for ticket in page[:15]:
        suggestion = client.post(f"/api/v1/tenants/pii/tickets/{ticket['id']}/suggestion").json
        if suggestion["draft"] is None:
            continue
        own = set(ticket["requester"]["name"].split())
        own_text = client.get(f"/api/v1/tenants/pii/tickets/{ticket['id']}").json["text"]
        own_compact = own_text.replace(" ", "")
        leaked = [s for s in _leaks(suggestion["draft"], secrets) if s not in own and s not in own_compact]
        assert leaked == [], suggestion["draft"]
