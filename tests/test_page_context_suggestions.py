"""Suggestions conditioned on the page the question was asked on (issue 21, point 5).

The same words asked on two pages get the two pages' answers, both where agents labelled the
pages' questions as one intent (drafting prefers a resolved ticket from the same page) and where
they labelled one intent per page (the intent model reads the page); a question without a page
context is answered exactly as before; signals remember on which page a reply failed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from core.learning import live
from core.learning.feedback import record_signal
from core.learning.training import train_tenant
from core.ml.model import TicketModel, TrainingTicket
from core.ml.page_context import ContextKey, context_key, rerank, route_of, stored_key, with_context
from core.ml.registry import StoredModel
from core.store.tables import SuggestionRow, TicketRow
from core.store.tickets import upsert_tickets
from core.suggesting.suggest import build_suggestion, suggest, suggest_for_ticket
from core.types import PageContext, Signal
from tests.factories import NAMES, SMALL_INBOX, make_ticket

ANALYTICS = "https://app.example.com/analytics/reports/{id}"
ACCOUNT = "https://app.example.com/settings/account"
PROJECT = "https://app.example.com/projects/{id}/settings"
TEAM = "https://app.example.com/team/members"
EXPORT = ["How do I export my data?", "How can I export all my data", "Is there a way to export my data?",
          "Where is the export option for my data?", "Can I get an export of my data?",
          "I need to export my data"]
DELETE = ["How do I delete this?", "How can I delete this", "Where is the delete button?",
          "Can I delete this myself?", "Please tell me how to delete this"]
#: The right answer per page. Export is one intent on both pages; delete is labelled per page.
ANSWERS = {
    ("data_export", ANALYTICS): "Hi {name}, open the report and click Export in the top right, then choose CSV.",
    ("data_export", ACCOUNT): "Hi {name}, go to Settings > Account > Privacy and click Download my data.",
    ("delete_project", PROJECT): "Hi {name}, scroll to Danger zone in Project settings and click Delete project.",
    ("remove_member", TEAM): "Hi {name}, click the member's row, then Remove from team.",
}


@pytest.fixture(autouse=True)
def _fresh_memory():
    live.forget()
    yield
    live.forget()


def _history(with_pages: bool = True) -> list[dict]:
    """The small inbox's questions (asked on no page) and the page-dependent ones."""
    rows = []
    for intent, (texts, reply) in SMALL_INBOX.items():
        for i, text in enumerate(texts):
            rows.append({"text": text, "intent": intent, "reply": reply.format(name=NAMES[i % 5].split()[0]),
                         "name": NAMES[i % 5], "url": None})
    for (intent, url), reply in ANSWERS.items():
        for i, text in enumerate(EXPORT if intent == "data_export" else DELETE):
            name = NAMES[(i + len(url)) % 5]
            rows.append({"text": text, "intent": intent, "reply": reply.format(name=name.split()[0]), "name": name,
                         "url": url.format(id=100 + i) if with_pages else None})
    return rows


def _model(rows: list[dict]) -> TicketModel:
    return TicketModel.fit([
        TrainingTicket(ticket_id=i + 1, external_id=f"t{i + 1}", text=r["text"], intent=r["intent"], tags=[],
                       reply=r["reply"], requester_name=r["name"],
                       context=stored_key({"url": r["url"]}) if r["url"] else None)
        for i, r in enumerate(rows)])


STORED = StoredModel("test", None, {})  # type: ignore[arg-type]  # build_suggestion reads the version only


def _page(url: str) -> ContextKey:
    return context_key({"url": url.format(id=987)})  # type: ignore[return-value]  # a URL with a path has a key


def test_the_context_key_strips_ids_and_names_the_area():
    assert route_of("https://app.example.com/projects/123/export") == "/projects/:id/export"
    assert route_of("/projects/123/export?tab=csv#top") == "/projects/:id/export"
    assert route_of("https://app.example.com/#/reports/5f3a9c2e11/view") == "/reports/:id/view"
    assert route_of("https://app.example.com/users/550e8400-e29b-41d4-a716-446655440000/") == "/users/:id"
    assert route_of("https://app.example.com/api/oauth2/v2") == "/api/oauth2/v2"  # words with a digit stay
    assert route_of("") is None and route_of(None) is None
    key = context_key(PageContext(url="https://app.example.com/projects/77/export", title="Export"))
    assert key == ContextKey("projects", "/projects/:id/export")
    assert str(key) == "projects|/projects/:id/export" and ContextKey.parse(str(key)) == key
    assert key.tokens() == "__area_projects __route_projects_id_export"
    # The host's own area and route win over the URL's; ids are stripped from both.
    hosted = context_key({"url": "https://x.example/p/1", "app_state": {"area": "Analytics Hub", "route": "/r/9"}})
    assert hosted == ContextKey("analytics-hub", "/r/:id")
    assert context_key(None) is None and context_key(PageContext()) is None and stored_key({}) is None
    assert with_context("hello", None) == "hello"


def test_the_same_question_on_two_pages_gets_the_two_pages_answers():
    model = _model(_history())
    assert model.context_aware
    drafts = {}
    for url in (ANALYTICS, ACCOUNT):
        made = build_suggestion(model, STORED, "How do I export my data?", "Lin Wu", context=_page(url))
        assert made.intent == "data_export" and not made.abstained
        drafts[url] = made.draft
    assert "click Export in the top right" in drafts[ANALYTICS]
    assert "Download my data" in drafts[ACCOUNT]
    # Labelled one intent per page: the intent model itself tells them apart by the page.
    intents = {url: build_suggestion(model, STORED, "How do I delete this?", "Lin Wu", context=_page(url))
               for url in (PROJECT, TEAM)}
    assert intents[PROJECT].intent == "delete_project" and "Delete project" in (intents[PROJECT].draft or "")
    assert intents[TEAM].intent == "remove_member" and "Remove from team" in (intents[TEAM].draft or "")


def test_without_a_page_context_the_suggestion_is_as_before():
    model = _model(_history())
    text = "How do I export my data?"
    plain = build_suggestion(model, STORED, text, "Lin Wu")
    # Today's rule: the five nearest resolved tickets of the intent, in cosine order, and the draft from the first.
    query = model.similarity_query(text, None)
    nearest = [tid for tid, _ in model.index.nearest(query, k=6, intent=plain.intent)][:5]
    assert [e.ticket_id for e in plain.evidence] == nearest
    assert plain.draft_source == f"ticket:{nearest[0]}"
    # And the intent model reads the text alone, as a model that never saw a page does.
    assert plain.intent == model.intent_judgement(text, None).intent

    # A history without any page context trains exactly today's model: no context words, and a
    # context passed with a question changes nothing.
    unpaged = _model(_history(with_pages=False))
    assert not unpaged.context_aware
    assert not [w for w in unpaged.intents.ngrams.transformer_list[0][1].vocabulary_ if w.startswith("__")]
    for question in ("How do I export my data?", "How do I delete this?", "Where is my refund?"):
        without = build_suggestion(unpaged, STORED, question, "Lin Wu")
        assert build_suggestion(unpaged, STORED, question, "Lin Wu", context=_page(ANALYTICS)) == without


def test_rerank_prefers_the_same_page_then_the_same_area_and_keeps_the_order_without_a_key():
    contexts = {1: "billing|/billing/invoices", 2: "analytics|/analytics/overview",
                3: "analytics|/analytics/reports/:id"}
    neighbours = [(1, 0.90), (2, 0.86), (3, 0.85)]
    key = ContextKey("analytics", "/analytics/reports/:id")
    assert rerank(neighbours, key, contexts.get, bonus=0.1) == [(3, 0.85), (2, 0.86), (1, 0.90)]
    assert rerank(neighbours, None, contexts.get, bonus=0.1) == neighbours
    # A bonus is a tie-breaker, not an override: a much closer question from another page still wins.
    assert rerank([(1, 0.95), (3, 0.60)], key, contexts.get, bonus=0.1)[0] == (1, 0.95)


def _stored_history(db) -> int:
    tenant_id = db.ensure_tenant("acme")
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    tickets = [make_ticket(f"h{i}", r["text"], r["intent"], r["reply"], r["name"], start + timedelta(hours=i),
                           page_context={"url": r["url"], "title": "App"} if r["url"] else None)
               for i, r in enumerate(_history())]
    tickets.append(make_ticket("new-analytics", "How do I export my data?", requester="Lin Wu",
                               created=start + timedelta(days=9),
                               page_context={"url": ANALYTICS.format(id=555), "app_state": {"plan": "pro"}}))
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, tickets)
    return tenant_id


def test_stored_tickets_and_free_text_are_answered_for_their_page_and_signals_remember_the_page(app, db):
    runtime = app.extensions["deskloop"]
    tenant_id = _stored_history(db)
    train_tenant(runtime, "acme")
    with db.tenant_session(tenant_id) as session:
        ticket_id = session.scalar(select(TicketRow.id).where(TicketRow.external_id == "new-analytics"))

    on_analytics = suggest_for_ticket(runtime, "acme", ticket_id)
    assert on_analytics is not None and "click Export in the top right" in (on_analytics.draft or "")
    on_account = suggest(runtime, "acme", "How do I export my data?", customer_name="Lin Wu",
                         page_context=PageContext(url=ACCOUNT))
    assert "Download my data" in (on_account.draft or "")
    with db.tenant_session(tenant_id) as session:
        keys = dict(session.execute(select(SuggestionRow.id, SuggestionRow.context_key)).all())
    assert keys[on_analytics.id] == "analytics|/analytics/reports/:id"
    assert keys[on_account.id] == "settings|/settings/account"
    unpaged = suggest(runtime, "acme", "Where is my refund?")
    with db.tenant_session(tenant_id) as session:
        assert session.scalar(select(SuggestionRow.context_key).where(SuggestionRow.id == unpaged.id)) is None

    # The analytics reply did not help on the analytics page: that page's next answer comes from
    # another resolved ticket; the account page keeps its own answer.
    record_signal(runtime, "acme", Signal(kind="not_helpful", suggestion_id=on_analytics.id, ticket_id=ticket_id))
    again = suggest(runtime, "acme", "How do I export my data?", page_context={"url": ANALYTICS.format(id=9)})
    assert again.draft_source != on_analytics.draft_source
    assert suggest(runtime, "acme", "How do I export my data?",
                   page_context={"url": ACCOUNT}).draft_source == on_account.draft_source


def test_the_live_memory_keeps_what_worked_and_what_was_taught_per_page():
    from core.ml.memory import FeedbackMemory, Taught

    analytics, account = ContextKey("analytics", "/analytics/reports/:id"), ContextKey("settings", "/settings/account")
    memory = FeedbackMemory()
    memory.reinforce("ticket:1", -1.0, str(analytics))
    memory.reinforce("ticket:2", 1.0, str(analytics))
    memory.reinforce("ticket:3", -1.0)  # an outcome that came without a page
    assert memory.demoted("ticket:1", analytics) and not memory.demoted("ticket:1", account)
    assert memory.demoted("ticket:1")  # without a page: every outcome counts, as before
    assert memory.demoted("ticket:3", account) and memory.demoted("ticket:3")
    assert memory.worked_on("ticket:2", analytics) and not memory.worked_on("ticket:2", account)

    row = [1.0, 0.0, 0.0]
    memory.teach(Taught(7, "export_analytics", None, "Click Export.", "Ada", str(analytics)), row)
    memory.teach(Taught(8, "export_account", None, "Download my data.", "Bo", str(account)), row)
    assert memory.closest(row, analytics).taught.signal_id == 7
    assert memory.closest(row, account).taught.signal_id == 8
    assert memory.closest(row).taught.signal_id == 8  # without a page: the newest, as before
    memory.teach(Taught(9, "data_export", None, "Reply A.", "Ada", str(analytics)), row)
    memory.teach(Taught(10, "data_export", None, "Reply B.", "Bo", str(account)), row)
    assert memory.preferred("data_export", analytics).signal_id == 9
    assert memory.preferred("data_export", account).signal_id == 10
    assert memory.preferred("data_export").signal_id == 10
    assert memory.preferred("data_export", ContextKey("team", "/team/members")) is None
