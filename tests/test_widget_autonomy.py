"""The widget's answers under the autonomy safety rules: the kill switch and the sensitive intents
and accounts stop them (the widget offers a person instead), an intent the tenant turned
autonomous is answered only at its threshold, and a tenant that never configured autonomy keeps
the widget as it was. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from core.autonomy.handoff import REASONS, note_is_complete
from core.autonomy.measures import autonomy_measures
from core.autonomy.policy import Mode, Policy, forget_policies
from core.autonomy.settings import configure, set_mode, set_paused, set_sensitive
from core.autonomy.widget_gate import gate, held_back
from core.store.tables import MessageRow, SuggestionRow, TicketRow, WidgetSessionRow
from core.types import Suggestion
from tests.test_widget_api import CARD_QUESTION, post, trained, world  # noqa: F401 (fixtures)

INTENT = "card_arrival"
#: A card question that also asks for a refund: answered, at a confidence under 1.
PARAPHRASE = "my card never came and I want my money back"


@pytest.fixture(autouse=True)
def fresh_policies():
    forget_policies()
    yield
    forget_policies()


def _suggestion(intent: str | None = INTENT, confidence: float = 0.8, abstained: bool = False) -> Suggestion:
    return Suggestion(intent=intent, confidence=confidence, abstained=abstained, draft="Cards arrive in 5 days.")


def _policy(**changes) -> Policy:
    base = {"tenant": "acme", "stamp": 1, "modes": {}, "sensitive_intents": frozenset(),
            "sensitive_accounts": frozenset(), "paused": None, "target_precision": 0.9}
    return Policy(**{**base, **changes})


def test_the_rules_on_one_suggestion():
    assert gate(_policy(), _suggestion()).answers  # never configured: as before
    assert gate(_policy(paused={"by": "cli", "at": "now"}), _suggestion()).reason == "paused"
    assert gate(_policy(sensitive_intents=frozenset({INTENT})), _suggestion()).reason == "sensitive"
    sensitive_account = _policy(sensitive_accounts=frozenset({"bigbank ltd"}))
    assert gate(sensitive_account, _suggestion(), account="  BigBank  Ltd ").reason == "sensitive"
    assert gate(sensitive_account, _suggestion(), account="alice").answers
    autonomous = _policy(modes={INTENT: Mode.AUTONOMOUS}, thresholds={INTENT: 0.85})
    below = gate(autonomous, _suggestion(confidence=0.84))
    assert (below.answers, below.reason, below.threshold) == (False, "below_threshold", 0.85)
    assert gate(autonomous, _suggestion(confidence=0.85)).answers
    # Shadow or off: the widget's own abstention decides, as before.
    assert gate(_policy(modes={INTENT: Mode.SHADOW}, thresholds={INTENT: 0.99}), _suggestion(confidence=0.5)).answers
    held = held_back(_suggestion(), below)
    assert held.abstained and held.draft == "Cards arrive in 5 days." and not _suggestion().abstained


def _ask(app, key, **extra):
    response = post(app, "ask", {"key": key, "question": CARD_QUESTION, **extra})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_the_kill_switch_and_the_sensitive_lists_stop_widget_answers(trained):  # noqa: F811
    app, key = trained
    runtime = app.extensions["deskloop"]
    assert _ask(app, key)["answer"]  # a tenant that never configured autonomy is answered as before

    set_paused(runtime, "acme", True, "cli:test")
    paused = _ask(app, key)
    assert paused["answer"] is None and paused["abstained"] is True and paused["offer_human"] is True
    set_paused(runtime, "acme", False, "cli:test")
    assert _ask(app, key)["answer"]

    set_sensitive(runtime, "acme", "account", "Alice@Example.com", "cli:test")
    stopped = _ask(app, key, identity={"user_id": "alice@example.com"})
    assert stopped["answer"] is None and stopped["offer_human"] is True
    assert _ask(app, key, identity={"user_id": "bob@example.com"})["answer"]

    set_sensitive(runtime, "acme", "intent", INTENT, "cli:test")
    assert _ask(app, key)["answer"] is None


def _confidence(db) -> tuple[str | None, float]:
    """The intent and confidence of the latest widget answer's suggestion."""
    with db.tenant_session(db.tenant_id("acme")) as session:
        row = session.scalars(select(WidgetSessionRow).order_by(WidgetSessionRow.updated_at.desc())).first()
        suggestion = session.get(SuggestionRow, row.suggestion_id)
        return suggestion.intent, suggestion.confidence


def test_an_autonomous_intent_answers_at_its_threshold_only(trained, db):  # noqa: F811
    app, key = trained
    runtime = app.extensions["deskloop"]
    assert _ask(app, key, question=PARAPHRASE)["answer"]
    intent, confidence = _confidence(db)
    assert intent == INTENT and confidence < 1.0
    set_mode(runtime, "acme", INTENT, Mode.AUTONOMOUS, "cli:test", threshold=min(1.0, confidence + 0.001))
    assert _ask(app, key, question=PARAPHRASE)["answer"] is None
    set_mode(runtime, "acme", INTENT, Mode.AUTONOMOUS, "cli:test", threshold=confidence)
    assert _ask(app, key, question=PARAPHRASE)["answer"]


def test_a_ticket_sent_to_a_person_carries_the_handoff_note_and_the_intents_group(trained, db):  # noqa: F811
    app, key = trained
    runtime = app.extensions["deskloop"]
    configure(runtime, "acme", {"groups": {INTENT: "Cards team"}}, "cli:test")
    set_mode(runtime, "acme", INTENT, Mode.AUTONOMOUS, "cli:test", threshold=0.5)
    session = _ask(app, key)["session"]
    assert post(app, "feedback", {"key": key, "session": session, "helpful": False}).status_code == 201
    filed = post(app, "ticket", {"key": key, "session": session, "email": "ada@example.com"})
    assert filed.status_code == 201, filed.get_json()
    with db.tenant_session(db.tenant_id("acme")) as s:
        ticket = s.scalar(select(TicketRow).where(TicketRow.source == "widget"))
        messages = s.scalars(select(MessageRow).where(MessageRow.ticket_id == ticket.id)
                             .order_by(MessageRow.position)).all()
        assert ticket.assigned_group == "Cards team"
        [customer, note] = messages
        assert customer.public and customer.author_role == "customer"
        assert not note.public and note_is_complete(note.body)
        assert REASONS["negative_answer"] in note.body and "card_arrival" in note.body
        assert "cards arrive within 5 working days" in note.body.lower()  # what Deskloop answered


def test_a_tenant_without_autonomy_files_widget_tickets_as_before(trained, db):  # noqa: F811
    app, key = trained
    session = _ask(app, key)["session"]
    assert post(app, "ticket", {"key": key, "session": session}).status_code == 201
    with db.tenant_session(db.tenant_id("acme")) as s:
        ticket = s.scalar(select(TicketRow).where(TicketRow.source == "widget"))
        assert ticket.assigned_group is None
        assert s.scalar(select(func.count(MessageRow.id)).where(MessageRow.ticket_id == ticket.id)) == 1


def test_widget_answers_are_a_channel_of_the_autonomy_measures(trained):  # noqa: F811
    app, key = trained
    runtime = app.extensions["deskloop"]
    first = _ask(app, key)["session"]
    _ask(app, key, session=first, question="Does your API support quantum telescope calibration?")  # abstains
    post(app, "feedback", {"key": key, "session": first, "helpful": False})
    assert post(app, "ticket", {"key": key, "session": first}).status_code == 201
    resolved = _ask(app, key)["session"]
    assert post(app, "feedback", {"key": key, "session": resolved, "helpful": True}).status_code == 201
    _ask(app, key, question="my new card has still not arrived, when will it come?")  # no feedback: resolved too
    widget = autonomy_measures(runtime, "acme").widget
    assert widget is not None
    assert (widget.sessions, widget.questions, widget.answered) == (3, 4, 3)
    assert (widget.helpful, widget.not_helpful, widget.sent_to_person) == (1, 1, 1)
    assert widget.resolved_in_widget == 2 and widget.resolution_rate == pytest.approx(2 / 3, abs=1e-4)
    assert autonomy_measures(runtime, "acme", now=datetime.now(UTC) - timedelta(days=60)).widget.sessions == 0
