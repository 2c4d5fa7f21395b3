"""The widget's answers and guides on the sample host (``tests/widget_host``) in Debian's Chromium:
the same question gets each page's answer; a guide is followed across pages and routes to its
end, which the database then holds as a ``confirmed`` signal; a step whose element is not on the
page names the page it is on, or shows the written steps. SQLite only (the script is under test;
``test_widget_guidance`` runs the server's side on both databases). The screenshot of a
highlighted step goes to ``docs/screenshots/widget-guide.png``."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from core.learning.training import train_tenant
from core.store.tables import SignalRow
from core.store.tickets import upsert_tickets
from tests.browser_support import expect
from tests.factories import NAMES, make_ticket
from tests.test_widget_browser import _launcher, backend, deskloop, tab  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "screenshots" / "widget-guide.png"
EXPORT = ["How do I export my data?", "How can I export all my data", "Is there a way to export my data?",
          "Where is the export option for my data?", "Can I get an export of my data?", "I need to export my data"]
PLAN = ["How do I change my plan?", "I want to switch to the annual plan", "How can I upgrade my plan",
        "Where do I change my subscription plan?", "Can I move to a yearly plan?"]
INVOICES = ["Where can I find my invoices?", "I need a PDF of my invoice", "How do I download an invoice?",
            "Can I get last month's invoice?", "Where are my billing invoices?"]
#: (intent, questions, the page they were asked on, the reply that resolved them).
HISTORY = [
    ("data_export", EXPORT, "analytics", "Hi {name}, click Export CSV at the top of the chart; it has every row."),
    ("data_export", EXPORT, "settings", "Hi {name}, click Download my data; we email you a link within the hour."),
    ("change_plan", PLAN, None, "Hi {name}, go to Settings > Change plan > Annual."),
    ("invoices", INVOICES, None, "Hi {name}, open Billing > Invoices and click Download PDF."),
]


@pytest.fixture
def guided(deskloop) -> dict:
    """Tenant ``acme`` (the small inbox) with the host's questions: export answered per page
    (the tickets' page context), plan and invoices on no page; trained."""
    runtime, start = deskloop["runtime"], datetime(2026, 2, 1, 9, tzinfo=UTC)
    tickets = []
    for intent, questions, page, reply in HISTORY:
        for i, text in enumerate(questions):
            name = NAMES[(i + len(tickets)) % len(NAMES)]
            context = {"url": f"https://app.example.com/{page}.html", "route": f"/{page}.html",
                       "area": page} if page else None
            tickets.append(make_ticket(f"{intent}-{page}-{i}", text, intent, reply.format(name=name.split()[0]),
                                       name, start + timedelta(hours=len(tickets)), page_context=context))
    tenant_id = runtime.db.tenant_id("acme")
    with runtime.db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, tickets)
    train_tenant(runtime, "acme")
    return deskloop


def _ask(page, text: str):
    if page.get_by_label("Your question").is_hidden():
        _launcher(page).click()
    page.get_by_label("Your question").fill(text)
    page.get_by_role("button", name="Ask").click()
    answer = page.locator("[data-deskloop-widget] .answer")
    expect(answer).to_have_attribute("data-state", "answered")
    return answer


def _spot_over(page, selector: str) -> bool:
    """The highlight is shown and drawn around ``selector``'s box."""
    return page.evaluate("""sel => {
      const spot = document.querySelector('[data-deskloop-widget]').shadowRoot.querySelector('.spot');
      if (spot.hidden) return false;
      const s = spot.getBoundingClientRect(), t = document.querySelector(sel).getBoundingClientRect();
      return s.left <= t.left && s.top <= t.top && s.right >= t.right && s.bottom >= t.bottom
        && s.width - t.width <= 12 && s.height - t.height <= 12;
    }""", selector)


def _poll(read, tries: int = 50):
    """``read()`` once it finds something (the page may still be laying out), else its last answer."""
    for _ in range(tries):
        found = read()
        if found:
            return found
        time.sleep(0.1)
    return read()


def _guide_signals(db) -> list:
    with db.tenant_session(db.tenant_id("acme")) as s:
        return s.scalars(select(SignalRow).where(SignalRow.actor == "widget")).all()


def test_the_same_question_on_two_pages_gets_each_pages_answer(guided, tab, db):
    page, host = tab, guided["host"]
    page.goto(f"{host}/analytics.html")
    expect(_ask(page, "How do I export my data?")).to_contain_text("click Export CSV")
    step = page.locator("[data-deskloop-widget] .guide .step")
    expect(step).to_have_text("Step 1 of 1: click Export CSV")
    assert _poll(lambda: _spot_over(page, "#export"))
    # A single-page host moves on by itself (its own code, not the highlighted click): the route
    # changes and the step's element is gone, so the step is done; it was the last one.
    page.evaluate("document.getElementById('export').remove(); history.pushState({}, '', 'analytics.html#exported')")
    expect(page.locator("[data-deskloop-widget] .note")).to_have_text("Done: that was the last step.")
    assert [s.payload["guide"] for s in _poll(lambda: _guide_signals(db))] == ["completed"]

    page.goto(f"{host}/settings.html")
    expect(_ask(page, "How do I export my data?")).to_contain_text("click Download my data")
    expect(step).to_have_text("Step 1 of 1: click Download my data")
    assert _poll(lambda: _spot_over(page, "#download-data"))
    assert page.problems == []


def test_a_guide_is_followed_across_pages_and_routes_to_its_end(guided, tab, db):
    page, host = tab, guided["host"]
    page.goto(f"{host}/dashboard.html")
    before = page.locator("main").bounding_box()
    expect(_ask(page, "How do I change my plan?")).to_contain_text("Settings > Change plan > Annual")
    step = page.locator("[data-deskloop-widget] .guide .step")
    note = page.locator("[data-deskloop-widget] .note")
    expect(step).to_have_text("Step 1 of 3: click Settings")
    expect(note).to_have_text("Step 1 of 3: click Settings")  # the panel's live region (role=status)
    expect(page.get_by_role("button", name="Stop guide")).to_be_visible()
    assert _poll(lambda: _spot_over(page, "#nav-settings"))
    assert page.locator("main").bounding_box() == before  # the highlight moves nothing
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))

    page.locator("#nav-settings").click()  # a new page load: the guide resumes there
    page.wait_for_url("**/settings.html")
    expect(step).to_have_text("Step 2 of 3: click Change plan")
    assert _poll(lambda: _spot_over(page, "#change-plan"))
    page.locator("#change-plan").click()  # opens the plans at their own route (pushState)
    page.wait_for_url("**/settings.html#plans")
    expect(step).to_have_text("Step 3 of 3: click Annual")
    assert _poll(lambda: _spot_over(page, "#annual"))
    with page.expect_request(lambda r: r.url.endswith("/widget/v1/guide")) as sent:
        page.locator("#annual").click()
    assert '"event":"completed"' in (sent.value.post_data or "")
    expect(note).to_have_text("Done: that was the last step.")
    expect(page.locator("[data-deskloop-widget] .guide")).to_be_hidden()
    [signal] = _poll(lambda: _guide_signals(db))
    assert signal.kind == "confirmed" and signal.payload["guide"] == "completed" and signal.payload["step"] == 2
    assert page.evaluate("sessionStorage.getItem('deskloop-guide')") is None
    assert page.problems == []


def test_a_step_not_on_the_page_names_its_page_or_shows_the_written_steps(guided, tab, browser, db):
    page, host = tab, guided["host"]
    page.goto(f"{host}/settings.html")
    _ask(page, "Where can I find my invoices?")
    step = page.locator("[data-deskloop-widget] .guide .step")
    expect(step).to_have_text("Step 1 of 3: Billing is not on this page. The steps:")
    written = page.locator("[data-deskloop-widget] .guide ol li")
    expect(written).to_have_text(["Billing", "Invoices", "Download PDF"])
    assert page.evaluate("document.querySelector('[data-deskloop-widget]').shadowRoot"
                         ".querySelector('.spot').hidden") is True
    page.get_by_role("button", name="Stop guide").focus()  # the keyboard stops it too
    page.keyboard.press("Enter")
    expect(page.locator("[data-deskloop-widget] .guide")).to_be_hidden()
    [stopped] = _poll(lambda: _guide_signals(db))
    assert stopped.kind == "not_helpful" and stopped.weight == -0.5

    # Another customer asks on the dashboard, where Billing is: Deskloop has now seen its page.
    other = browser.new_context()
    elsewhere = other.new_page()
    elsewhere.goto(f"{host}/dashboard.html")
    _ask(elsewhere, "Where can I find my invoices?")
    expect(elsewhere.locator("[data-deskloop-widget] .guide .step")).to_have_text("Step 1 of 3: click Billing")
    other.close()

    _ask(page, "Where can I find my invoices?")
    expect(step).to_have_text("Step 1 of 3: Billing is on the /dashboard.html page. Go there to continue.")
    expect(page.locator("[data-deskloop-widget] .guide ol")).to_be_hidden()
    # Going there by the page's own link resumes the guide at the step it waits for.
    page.locator("#nav-dashboard").click()
    page.wait_for_url("**/dashboard.html")
    expect(step).to_have_text("Step 1 of 3: click Billing")
    assert _poll(lambda: _spot_over(page, 'a[aria-label="Billing settings"]'))

    # A customer already past the first step: "under Cards > Track" asked where Track is starts at Track.
    _ask(page, "my new card has still not arrived, when will it come?")
    expect(step).to_have_text("Step 2 of 2: click Track")
    assert _poll(lambda: _spot_over(page, "#track"))
    assert page.problems == []
