"""The widget script in a real browser: Debian's Chromium (never a downloaded one) loads the sample
host app (``tests/widget_host``) from one local port and the widget from Deskloop's app on another,
so every call crosses origins as it does for a customer.

The server's rules run on SQLite and PostgreSQL in ``test_widget_api``; here the script is under
test, so these run on SQLite only. The screenshot goes to ``docs/screenshots/widget.png``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from core.app import create_app
from core.learning.training import train_tenant
from core.store.tables import TicketRow, WidgetSessionRow
from core.store.tickets import upsert_tickets
from core.widget.config import setup_widget
from tests.browser_support import DESKTOP, expect
from tests.factories import small_inbox
from tests.fake_api import serve
from tests.widget_host_support import host_app

pytestmark = pytest.mark.browser

SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "screenshots" / "widget.png"
CARD_QUESTION = "my new card has still not arrived, when will it come?"
CARD_REPLY = "cards arrive within 5 working days"
#: What the dashboard holds that must never leave the page: field values and private parts.
NEVER_SENT = ("secret-search-term", "private note text", "DE89370400440532013000", "Ada Lovelace", "IBAN")
#: Host content whose boxes the widget must not move.
HOST_PARTS = ("header", "nav", "main", "h1", "#track", "[data-testid=order-card]", "#search", "#note")


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def deskloop(settings, db) -> Iterator[dict]:
    """Deskloop on one port with tenant ``acme``'s resolved tickets, the sample host on another
    (its origin allowed), and a second copy of the host on a third port whose origin is not."""
    app = create_app(replace(settings, secure_cookies=False, rate_widget_key="100000/minute",
                             rate_widget_ip="100000/minute"))
    runtime = app.extensions["deskloop"]
    tenant_id = db.ensure_tenant("acme")
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, small_inbox())
    where: dict = {}
    with serve(app) as server, serve(host_app(where)) as host, serve(host_app(where)) as stranger:
        config, _ = setup_widget(runtime, "acme", [host])
        where.update(server=server, key=config.public_key, host=host, stranger=stranger, runtime=runtime)
        yield where
    runtime.close()


@pytest.fixture
def trained(deskloop) -> dict:
    train_tenant(deskloop["runtime"], "acme")
    return deskloop


@pytest.fixture
def tab(browser) -> Iterator:
    """A fresh page; what the page logged as an error and its uncaught errors are kept for the test."""
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.problems = []
    page.on("pageerror", lambda exc: page.problems.append(f"uncaught: {exc}"))
    page.on("console", lambda msg: page.problems.append(f"console: {msg.text}") if msg.type == "error" else None)
    yield page
    context.close()


def _boxes(page) -> dict:
    return {part: page.locator(part).first.bounding_box() for part in HOST_PARTS}


def _layout_shift(page) -> float:
    """The page's cumulative layout shift so far (Chromium's ``layout-shift`` entries)."""
    return page.evaluate("""() => new Promise(done => {
      let total = 0;
      new PerformanceObserver(list => { for (const e of list.getEntries()) total += e.value; })
        .observe({type: 'layout-shift', buffered: true});
      setTimeout(() => done(total), 200);
    })""")


def _launcher(page):
    return page.get_by_role("button", name="Help", exact=True)


def test_the_widget_answers_on_the_host_page_and_files_a_ticket_when_it_did_not_help(trained, tab, db):
    page, host = tab, trained["host"]
    page.goto(f"{host}/dashboard.html?widget=0")
    without = _boxes(page)
    page.goto(f"{host}/dashboard.html")
    launcher = _launcher(page)
    expect(launcher).to_be_visible()
    assert _boxes(page) == without and _layout_shift(page) == 0
    assert page.evaluate("getComputedStyle(document.querySelector('[data-deskloop-widget]')).position") == "fixed"

    page.evaluate("window.Deskloop.setContext({plan: 'pro', flags: ['beta-export']})")
    # An uncaught error of the host's own code, reported once its timer has run.
    page.evaluate("new Promise(done => setTimeout(() => {"
                  " setTimeout(done); throw new Error('boom in the host app') }))")

    # Open with the keyboard: the dialog takes focus, Escape gives it back to the launcher.
    launcher.focus()
    expect(launcher).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Help")
    expect(dialog).to_be_visible()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    assert dialog.get_attribute("id") == launcher.get_attribute("aria-controls")
    question = page.get_by_label("Your question")
    expect(question).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(launcher).to_be_focused()
    expect(launcher).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Enter")
    expect(question).to_be_focused()
    assert _boxes(page) == without  # the open panel moves nothing either

    page.keyboard.type(CARD_QUESTION)
    with page.expect_request(lambda r: r.url.endswith("/widget/v1/ask") and r.method == "POST") as asked:
        page.keyboard.press("Tab")  # to the Ask button
        page.keyboard.press("Enter")
    sent = asked.value.post_data
    body = json.loads(sent)
    answer = page.locator("[data-deskloop-widget] .answer")
    expect(answer).to_have_attribute("data-state", "answered")
    expect(answer).to_contain_text(CARD_REPLY, ignore_case=True)
    assert answer.get_attribute("aria-live") == "polite"

    context = body["context"]
    assert body["key"] == trained["key"] and body["question"] == CARD_QUESTION
    assert context["route"] == "/dashboard.html" and context["title"] == "Dashboard · Sample app"
    assert context["area"] == "dashboard" and context["url"] == f"{host}/dashboard.html"
    assert context["app_state"] == {"plan": "pro", "flags": ["beta-export"]}
    assert any("boom in the host app" in error for error in context["errors"])
    elements = context["elements"]
    assert {"role": "button", "text": "Track delivery", "selector": "#track"} in elements
    assert {"role": "button", "text": "Order a card", "selector": '[data-testid="order-card"]'} in elements
    assert {"role": "link", "text": "Billing", "label": "Billing settings",
            "selector": 'a[aria-label="Billing settings"]'} in elements
    assert {"role": "textbox", "label": "Search", "selector": "#search"} in elements
    assert "#reveal-iban" not in {e["selector"] for e in elements}  # inside the private card
    assert 0 < len(elements) <= 200
    for secret in NEVER_SENT:
        assert secret not in sent, secret

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))

    page.get_by_role("button", name="Not helpful").click()
    email = page.get_by_label("Your email")
    expect(email).to_be_focused()
    email.fill("ada@example.com")
    page.get_by_label("What went wrong?").fill("It has been three weeks.")
    page.get_by_role("button", name="Send to support").click()
    note = page.locator("[data-deskloop-widget] .note")
    expect(note).to_contain_text("Sent to the support team")
    with db.tenant_session(db.tenant_id("acme")) as s:
        ticket = s.scalar(select(TicketRow).where(TicketRow.source == "widget"))
        [row] = s.scalars(select(WidgetSessionRow)).all()
    assert ticket is not None and ticket.external_id in note.text_content()
    assert ticket.requester_email == "ada@example.com" and "three weeks" in ticket.text
    assert ticket.page_context["route"] == "/dashboard.html" and ticket.page_context["area"] == "dashboard"
    assert row.ticket_id == ticket.id and row.helpful is False
    assert [p for p in page.problems if "boom in the host app" not in p] == []


def test_an_unknown_answer_offers_a_person_with_the_hosts_area_and_user(deskloop, tab, db):
    page = tab
    page.goto(f"{deskloop['host']}/analytics.html")
    expect(_launcher(page)).to_be_visible()
    # The host's own mapping wins over the page's data-deskloop-area; the user id is sent unsigned
    # (this tenant has no identity secret), so it is kept but not verified.
    page.evaluate("window.Deskloop.setAreaMap({'/': 'app', '/analytics': 'reports'});"
                  "window.Deskloop.identify({user_id: 'u-123'})")
    _launcher(page).click()
    page.get_by_label("Your question").fill("Why was my export cut short?")
    page.get_by_role("button", name="Ask").click()
    answer = page.locator("[data-deskloop-widget] .answer")
    expect(answer).to_have_attribute("data-state", "abstained")
    expect(answer).to_have_text("I don’t know — talk to a person?")
    page.get_by_role("button", name="Talk to a person").click()
    expect(page.get_by_label("Your email")).to_be_focused()
    page.get_by_role("button", name="Send to support").click()
    expect(page.locator("[data-deskloop-widget] .note")).to_contain_text("Sent to the support team")
    with db.tenant_session(db.tenant_id("acme")) as s:
        ticket = s.scalar(select(TicketRow).where(TicketRow.source == "widget"))
        [row] = s.scalars(select(WidgetSessionRow)).all()
    assert ticket is not None and ticket.page_context["area"] == "reports"
    assert row.user_id == "u-123" and row.identity_verified is False and row.abstained is True
    assert page.problems == []


def test_a_page_on_an_origin_not_allowed_gets_no_answer(deskloop, tab, db):
    page = tab
    page.goto(f"{deskloop['stranger']}/settings.html")
    _launcher(page).click()
    page.get_by_label("Your question").fill(CARD_QUESTION)
    page.get_by_role("button", name="Ask").click()
    answer = page.locator("[data-deskloop-widget] .answer")
    expect(answer).to_have_attribute("data-state", "error")
    expect(answer).to_have_text("Help could not be reached from this page.")
    with db.tenant_session(db.tenant_id("acme")) as s:
        assert s.scalars(select(WidgetSessionRow)).all() == []
    # The browser itself refused to hand the answer over (no CORS header for this origin).
    assert any("CORS" in p or "Access-Control-Allow-Origin" in p for p in page.problems), page.problems


def test_not_helpful_in_the_browser_files_through_zenpy_to_the_local_zendesk_with_the_page(deskloop, tab, db):
    """The whole path a customer takes, with a helpdesk behind it: the answer did not help, the
    form sends it, and the ticket reaches the local Zendesk through zenpy with the page attached."""
    from core.helpdesk.connections import add_tenant, forget_connections
    from tests.integrations.zendesk.fake_zendesk import fake, make_app

    runtime, page, host = deskloop["runtime"], tab, deskloop["host"]
    train_tenant(runtime, "acme")
    zendesk = make_app(tickets=1)
    with serve(zendesk) as url:
        forget_connections()
        add_tenant(runtime, "acme", "zendesk", "acme.zendesk.com",
                   {"email": "deskloop@acme.example", "api_token": "zd-token", "webhook_secret": "s"},
                   {"api_url": url, "write_back_tags": False})
        try:
            page.goto(f"{host}/settings.html")
            _launcher(page).click()
            page.get_by_label("Your question").fill(CARD_QUESTION)
            page.get_by_role("button", name="Ask").click()
            expect(page.locator("[data-deskloop-widget] .answer")).to_have_attribute("data-state", "answered")
            page.get_by_role("button", name="Not helpful").click()
            page.get_by_label("Your email").fill("ada@example.com")
            page.get_by_label("What went wrong?").fill("Still nothing after three weeks.")
            page.get_by_role("button", name="Send to support").click()
            note = page.locator("[data-deskloop-widget] .note")
            expect(note).to_contain_text("Sent to the support team")
        finally:
            forget_connections()
    state = fake(zendesk)
    [ticket_id] = [t for t in state.created if str(t) in note.text_content()]
    created = state.created[ticket_id]
    assert created["requester"]["email"] == "ada@example.com"
    assert "Still nothing after three weeks." in created["comment"]["body"]
    [private] = [n for n in state.notes[ticket_id] if n["public"] is False]
    assert "Route: /settings.html" in private["body"] and "ada@example.com" not in private["body"]
    with db.tenant_session(db.tenant_id("acme")) as s:
        [row] = s.scalars(select(WidgetSessionRow)).all()
        assert s.scalar(select(TicketRow.id).where(TicketRow.source == "widget")) is None  # filed there, not here
    assert row.helpful is False and row.ticket_filed_in == "zendesk" and row.ticket_external_id == str(ticket_id)
