"""No draft carries another customer's personal data, whatever shape that data takes.

The history (``tests/personal_data.py``) is written the way customers and agents write: addresses
of nine countries, many with no street suffix, "the card ending 0004", "should reach Osaka by
Friday", dates of birth, account numbers with no keyword, relatives named mid-sentence. Drafts for
hundreds of customers the history has never seen, and for stored tickets, must contain no other
customer's value; property tests do the same over random values in shapes no detector knows. An
agent's edited reply and an LLM rewrite go through the same rule.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import replace
from datetime import date

import pytest
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from core.app import create_app
from core.learning import live
from core.learning.training import train_tenant
from core.ml.retrieval import DraftRule
from core.ml.templates import ReplySource, ReplyTemplates, mask_echoes, words_of
from core.store.tables import TenantRow, TicketRow
from core.store.tickets import upsert_tickets
from core.suggesting.drafting import draft_reply, fill, guard_rewrite
from core.suggesting.suggest import build_suggestion, current_model, sentence_vector
from tests.access_support import authorized_client
from tests.personal_data import leaks, make_customer, personal_history, probes
from tests.test_rewrite import ChatServer

PLACEHOLDER = re.compile(r"\[[a-z][a-z ]*\]")


@pytest.fixture(autouse=True)
def _fresh_memory():
    live.forget()
    yield
    live.forget()


def _trained(settings, db, slug: str, intents: bool):
    tickets, customers = personal_history(seed=5, intents=intents)
    tenant_id = db.ensure_tenant(slug)
    with db.transaction() as session:  # answer freely: these tests are about what a draft contains
        session.execute(update(TenantRow).where(TenantRow.id == tenant_id).values(settings={"target_precision": 0.5}))
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, tickets)
    app = create_app(settings)
    runtime = app.extensions["deskloop"]
    stored = train_tenant(runtime, slug)
    model, _ = current_model(runtime, slug)
    if intents:  # and no novelty check: a question mixing a card and an address may be called new
        model.abstention = replace(model.abstention, novelty_threshold=None)
    if not intents:
        # Replies this full of personal data never agree enough for the day-one rule to draft on its
        # own; open it to every distance, since this measures what a draft contains, not when.
        model.draft_rule = DraftRule(0.0, 1.0, 0, 0.5)
    return app, runtime, stored, customers


@pytest.fixture
def with_intents(settings, db):
    app, runtime, stored, customers = _trained(settings, db, "private", intents=True)
    yield app, runtime, stored, customers
    runtime.close()


@pytest.fixture
def without_intents(settings, db):
    app, runtime, stored, customers = _trained(settings, db, "dayone", intents=False)
    yield app, runtime, stored, customers
    runtime.close()


def _probe_all(runtime, slug: str, customers, count: int) -> tuple[int, list[str], int]:
    """Drafts for ``count`` new customers and 100 stored tickets: (drafts, leaks found, useful drafts)."""
    model, stored = current_model(runtime, slug)
    drafts, found, useful = 0, [], 0
    cases = [(c, text, None) for c, _, text in probes(seed=99, count=count)]
    with runtime.db.tenant_session(runtime.db.tenant_id(slug)) as session:
        rows = session.execute(select(TicketRow.id, TicketRow.text, TicketRow.requester_external_id)).all()
    by_key = {c.key: c for c in customers}
    cases += [(by_key[r.requester_external_id], r.text, r.id) for r in random.Random(4).sample(rows, 100)]
    for customer, text, own_ticket in cases:
        suggestion = build_suggestion(model, stored, text, customer.name, exclude_ticket_id=own_ticket,
                                      vector=sentence_vector(runtime, model, text))
        if suggestion.draft is None:
            continue
        drafts += 1
        others = [c for c in customers if c.key != customer.key]
        leaked = leaks(suggestion.draft, others, customer, text)
        if leaked:
            found.append(f"{leaked} in {suggestion.draft!r}")
        assert suggestion.draft.startswith(("Hi ", "Hello ", "Thanks ")) and customer.first in suggestion.draft
        useful += len(PLACEHOLDER.findall(suggestion.draft)) <= 2
    return drafts, found, useful


def test_hundreds_of_drafts_carry_no_other_customers_data(with_intents):
    _, runtime, stored, customers = with_intents
    drafts, found, _ = _probe_all(runtime, "private", customers, count=300)
    assert drafts >= 350 and found == []
    assert stored.metadata["reply_templates"]["groups"] == 6  # learned at training, stored with the model


def test_without_intents_drafts_from_neighbours_carry_no_other_customers_data(without_intents):
    _, runtime, _, customers = without_intents
    drafts, found, _ = _probe_all(runtime, "dayone", customers, count=200)
    assert drafts >= 250 and found == []


def test_a_draft_fills_slots_from_this_ticket_only(with_intents):
    app, _, _, customers = with_intents
    client = authorized_client(app)
    text = "Where is my new card? The card ends in 7311. My address is Rua Augusta 44, 1100-053 Lisboa."
    draft = client.post("/api/v1/tenants/private/suggest", json={"text": text, "customer_name": "Zelda Quinn"}).json
    assert draft["intent"] == "card_delivery" and draft["evidence"]  # the evidence is still shown
    assert draft["draft"].startswith(("Hi Zelda", "Hello Zelda", "Thanks Zelda"))
    assert "7311" in draft["draft"] and "Rua Augusta 44, 1100-053 Lisboa" in draft["draft"]
    assert "[city]" in draft["draft"]  # no city written: the agent fills it in
    assert leaks(draft["draft"], customers, None, text) == []


def test_an_edited_reply_loses_its_customers_details_before_it_answers_another(with_intents):
    app, _, _, customers = with_intents
    client = authorized_client(app)
    api = "/api/v1/tenants/private"
    first_text = "My replacement card has not arrived. I live at Kingsway 12, Flat 3. The card ends in 5521."
    first = client.post(f"{api}/suggest", json={"text": first_text, "customer_name": "Ines Carvalho"}).json
    assert first["intent"] == "card_delivery" and first["draft"]  # the edit becomes this intent's answer
    sent = ("Hi Ines, so sorry! Your card ending 5521 went to Kingsway 12, Flat 3 and should reach Coimbra by "
            "Thursday. Your husband Tomás can use it too. Track it under Cards > Track delivery.")
    signal = client.post(f"{api}/signals", json={"kind": "draft_edited", "suggestion_id": first["id"],
                                                 "payload": {"sent": sent}}).json
    assert "id" in signal, (signal, first)
    other = client.post(f"{api}/suggest", json={"text": "When will my new card get here?",
                                               "customer_name": "Zelda Quinn"}).json
    assert other["draft_source"] == f"signal:{signal['id']}"
    assert other["draft"].startswith("Hi Zelda, so sorry!")
    for value in ("Ines", "5521", "Kingsway", "Flat 3", "Coimbra", "Tomás"):
        assert value not in other["draft"], other["draft"]
    assert "Cards > Track delivery" in other["draft"]  # template in the intent: kept
    assert leaks(other["draft"], customers, None, "") == []


# Property tests: random personal values in shapes no detector lists.

_TEMPLATE = ("Hi {first}, your card ending {digits} was sent to {street} {number}, {city} and should reach "
             "{city} by Friday. I checked {account} and your date of birth {dob}. Your {relative} {other} "
             "asked us to call {first} back. Track it under Cards > Track delivery. Best, Sam")
_REWRITE_TEXT = "Where is my card? It should go to Rua Augusta 44."
#: Words a random value must not be: the template's, and those of the drafts' own customer and text.
_TEMPLATE_WORDS = words_of(_TEMPLATE) | words_of(_REWRITE_TEXT) | {"zelda", "quinn", "come", "when", "will"}
_capitalized = st.from_regex(r"[A-Z][a-zà-öø-ÿ]{2,9}", fullmatch=True)
_uncased = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x4FFF), min_size=2, max_size=5)
_customer = st.fixed_dictionaries({
    "first": _capitalized,
    "last": _capitalized,
    "digits": st.from_regex(r"\d{4}", fullmatch=True),
    "street": st.one_of(st.builds(lambda a, b: f"{a} {b}", _capitalized, _capitalized), _capitalized, _uncased,
                        st.builds(lambda a: f"rue de {a}", _capitalized)),
    "number": st.integers(1, 999).map(str),
    "city": st.one_of(_capitalized, st.builds(lambda a, b: f"{a} {b}", _capitalized, _capitalized), _uncased),
    "account": st.from_regex(r"[1-9]\d{7,9}", fullmatch=True),
    "dob": st.dates(date(1930, 1, 1), date(2010, 12, 31)).flatmap(
        lambda d: st.sampled_from([d.strftime("%d/%m/%Y"), f"{d.day} {d:%B %Y}", d.isoformat()])),
    "relative": st.sampled_from(["husband", "wife", "son", "daughter", "partner"]),
    "other": _capitalized,
})
_customers = st.lists(_customer, min_size=5, max_size=10,
                      unique_by=tuple(lambda c, k=k: c[k] for k in ("first", "last", "digits", "street", "city",
                                                                     "account", "dob", "other")))


def _telling(customer: dict) -> list[str]:
    return [customer[k] for k in ("first", "last", "digits", "street", "city", "account", "dob", "other")]


def _shown(value: str, draft: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(value)}(?!\w)", draft) is not None


def _sources(customers: list[dict]) -> list[ReplySource]:
    return [ReplySource(i, _TEMPLATE.format(**c), f"c{i}", f"{c['first']} {c['last']}")
            for i, c in enumerate(customers)]


def _plausible(customers: list[dict]) -> bool:
    """Values that are not template words, nor hidden inside another value of another customer."""
    values = [v for c in customers for v in _telling(c)]
    return all(v.lower() not in _TEMPLATE_WORDS for v in values) and len({v.lower() for v in values}) == len(values)


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_customers, st.booleans())
def test_random_values_of_one_customer_never_reach_another(customers, by_intent):
    assume(_plausible(customers))
    sources = _sources(customers)
    if by_intent:
        templates = ReplyTemplates.learn(sources, intents=["card_delivery"] * len(sources))
    else:
        templates = ReplyTemplates.learn(sources, neighbours=[[j for j in range(len(sources)) if j != i]
                                                              for i in range(len(sources))])
    for source in sources:
        draft = fill(templates.skeletons[source.ticket_id], "Zelda Quinn", "Where is my card?")
        assert not [v for c in customers for v in _telling(c) if _shown(v, draft)], draft
        assert draft.startswith("Hi Zelda,") and "Cards > Track delivery" in draft  # the template stays


@hypothesis_settings(max_examples=60, deadline=None)
@given(_customers, _customer)
def test_an_edited_reply_keeps_no_marked_detail_of_its_customer(customers, edited_for):
    """An edited reply is one reply: its ordinary words stay, and every capitalized word, number or
    word of an uncased script in it that is not template must go."""
    assume(_plausible([*customers, edited_for]))
    templates = ReplyTemplates.learn(_sources(customers), intents=["card_delivery"] * len(customers))
    name = f"{edited_for['first']} {edited_for['last']}"
    own_text = f"I live at {edited_for['street']} {edited_for['number']}, card ending {edited_for['digits']}."
    remembered = mask_echoes(_TEMPLATE.format(**edited_for), own_text, name)
    draft = draft_reply(remembered, name, "Zelda Quinn", "When will my card come?", templates=templates,
                        group="card_delivery")
    assert not [v for v in _telling(edited_for) if _shown(v, draft)], draft


@hypothesis_settings(max_examples=60, deadline=None)
@given(_customer, _customer)
def test_a_rewrite_keeps_no_marked_detail_the_draft_and_the_customer_did_not_give(evidence_customer, other):
    assume(_plausible([evidence_customer, other]))
    draft = "Hi Zelda, your card is on its way. Track it under Cards > Track delivery."
    invented = _TEMPLATE.format(**evidence_customer)
    out = guard_rewrite(f"{draft} {invented}", draft, _REWRITE_TEXT, "Zelda Quinn")
    assert out.startswith(draft)
    assert not [v for v in _telling(evidence_customer) if _shown(v, out)], out


def test_shapes_no_detector_lists_become_named_placeholders():
    customers = [make_customer(random.Random(i), f"c{i}") for i in range(8)]
    reply = ("Hi {first}, the card ending {last4} was posted to {address} and should reach {travel} by Friday. "
             "Best, Sam")
    sources = [ReplySource(i, reply.format(first=c.first, **c.values), c.key, c.name) for i, c in enumerate(customers)]
    templates = ReplyTemplates.learn(sources, intents=["card"] * len(sources))
    draft = fill(templates.skeletons[0], "Zelda Quinn", "Where is my card?")
    assert draft == ("Hi Zelda, the card ending [card digits] was posted to [delivery address] and should reach [city] "
                     "by Friday. Best, Sam")
    own = fill(templates.skeletons[0], "Zelda Quinn", "My card ending 8812 hasn't come. I live in Porto.")
    assert "ending 8812" in own and "should reach Porto by Friday" in own  # her own details fill the slots


def test_a_rewrite_sees_outlines_and_cannot_copy_an_evidence_detail(with_intents, settings):
    """The LLM sees the evidence replies as outlines, so it never learns another customer's street;
    and a detail it invents anyway (one no detector knows) comes back as a placeholder."""
    _, runtime, _, customers = with_intents
    chat = ChatServer()
    chat.answer = lambda draft: draft + " It went to Calle Mayor 12 in Madrid, as Tomás asked."
    try:
        app = create_app(replace(settings, llm_url=chat.url, llm_model="local-model"))
        body = {"text": "Where is my new card?", "customer_name": "Zelda Quinn"}
        suggestion = authorized_client(app).post("/api/v1/tenants/private/suggest", json=body).json
        app.extensions["deskloop"].close()
    finally:
        chat.close()
    assert suggestion["rewritten"] is True and suggestion["draft"].startswith(("Hi Zelda", "Hello Zelda", "Thanks"))
    for value in ("Calle Mayor", "Madrid", "Tomás"):
        assert value not in suggestion["draft"], suggestion["draft"]
    sent = json.dumps(chat.requests[-1]["body"], ensure_ascii=False)
    assert [v for c in customers for v in sorted(c.telling) if _shown(v, sent)] == []
