"""Tone per customer message: frustrated / neutral / pleased, and urgency, kept on the ticket."""

from __future__ import annotations

import pytest

from core.store.tickets import get_ticket, upsert_tickets
from core.text.sentiment import analyze
from tests.factories import make_ticket


@pytest.mark.parametrize(("text", "sentiment"), [
    ("This is the third time I'm asking. Still no card. Unacceptable!", "frustrated"),
    ("I've been waiting for weeks and nobody answers, this is ridiculous", "frustrated"),
    ("YOUR APP CHARGED ME TWICE AND NOBODY CARES", "frustrated"),
    ("Thanks, that worked!", "pleased"),
    ("Brilliant, thank you so much for the quick help", "pleased"),
    ("How do I change the PIN on my card?", "neutral"),
    ("Where can I see my exchange rate?", "neutral"),
])
def test_sentiment(text, sentiment):
    assert analyze(text).sentiment == sentiment


@pytest.mark.parametrize(("text", "sentiment"), [
    # Manners, discourse markers and the ticket's subject are not feelings.
    ("Honestly this is terrible service", "frustrated"),
    ("Hi, could you please help me reset my password? Thanks in advance", "neutral"),
    ("Is the transfer free?", "neutral"),
    ("I would like to close my account", "neutral"),
    ("My payment failed, what should I do?", "neutral"),
    ("Sorry to bother you, where is my invoice?", "neutral"),
    # "not" in one sentence does not turn the next one's feeling around.
    ("I don't know if the money went or not. Stressful and ridiculous.", "frustrated"),
    # One complaint cue is enough.
    ("Third email about this and no reply.", "frustrated"),
    ("Thanks for nothing", "frustrated"),
    ("Brilliant support, sorted in minutes. Thank you!", "pleased"),
])
def test_support_register(text, sentiment):
    assert analyze(text).sentiment == sentiment


@pytest.mark.parametrize(("text", "urgent"), [
    ("Someone stole my card, please block it now", True),
    ("There are payments I don't recognise on my account", True),
    ("I'm locked out and need to pay rent today", True),
    ("Politely asking: how long does a transfer take?", False),
    ("I'm annoyed that the fee is so high", False),
])
def test_urgency_is_separate_from_mood(text, urgent):
    assert analyze(text).urgent is urgent


def test_tone_is_kept_per_message_and_on_the_ticket(db):
    tenant_id = db.ensure_tenant("acme")
    ticket = make_ticket("t-1", "Someone stole my card, please block it now!", "lost_card",
                         "Hi Ada, I have frozen the card.")
    ticket.messages.append(ticket.messages[0].model_copy(update={"body": "Still waiting, this is the third time!"}))
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, [ticket])
    with db.tenant_session(tenant_id) as session:
        stored = get_ticket(session, 1)
    assert stored.message_tones[0][1] is True  # urgent
    assert stored.message_tones[1] == (None, None)  # the agent's reply is not scored
    assert stored.message_tones[2][0] == "frustrated"
    assert stored.sentiment == "frustrated" and stored.urgent is True
