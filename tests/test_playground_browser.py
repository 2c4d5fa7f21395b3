"""The playground in a real browser: headless Chromium against the app served over HTTP.

Chromium is Debian's (``apt-get install chromium``), driven by Playwright's client only; the tests
never download a browser. Screenshots of the desktop and 320px layouts go to ``artifacts/``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from core.learning.training import train_tenant
from core.runtime import Runtime
from core.store.tables import SignalRow
from core.store.tickets import upsert_tickets
from tests.browser_support import NARROW, expect, screenshot
from tests.factories import make_ticket, small_inbox

#: The newest ticket: a frustrated customer with an urgent problem, flagged in the list.
URGENT = make_ticket("urgent-1", "Someone stole my card and nobody answers, this is the third time I write!",
                     created=datetime(2026, 2, 1, 9, tzinfo=UTC))

pytestmark = pytest.mark.browser


def seed(db, settings, slug: str, train: bool) -> None:
    tenant_id = db.ensure_tenant(slug)
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, small_inbox() + [URGENT])
    if train:
        train_tenant(Runtime(settings), slug)


@pytest.fixture
def demo(db, settings) -> str:
    seed(db, settings, "demo", train=True)
    return "demo"


def test_pick_a_ticket_edit_the_draft_and_send_records_an_edit(page, base_url, demo, db):
    page.goto(f"{base_url}/playground")
    expect(page.get_by_test_id("tenant-select")).to_have_value("demo")
    expect(page.get_by_test_id("ticket-count")).to_have_text("Showing 10 of 16")
    page.get_by_role("button", name="Load more").click()  # card tickets are the oldest, on the second page
    expect(page.get_by_test_id("ticket-count")).to_have_text("Showing 16 of 16")
    expect(page.get_by_test_id("load-more")).to_be_hidden()

    page.locator('[data-testid="ticket-item"][data-intent="card_arrival"]').first.click()
    expect(page.get_by_test_id("suggestion-intent")).to_have_text("card_arrival")
    expect(page.get_by_test_id("suggestion-confidence")).to_have_text(re.compile(r"^\d{1,3}%$"))
    expect(page.get_by_test_id("suggestion-abstained")).to_be_hidden()
    expect(page.get_by_test_id("tag-chip").first).to_contain_text("card")
    expect(page.get_by_test_id("model-version")).not_to_be_empty()
    draft = page.get_by_test_id("draft-text")
    expect(draft).to_have_value(re.compile("cards arrive within 5 working days"))

    # Evidence opens the similar ticket in a dialog; Escape closes it.
    page.get_by_test_id("evidence-item").first.click()
    dialog = page.get_by_test_id("ticket-dialog")
    expect(dialog).to_be_visible()
    expect(page.get_by_test_id("ticket-dialog-messages")).to_contain_text("cards arrive within 5 working days")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    added = " If it has not arrived by Friday, reply here and we will send a new one."
    draft.click()
    draft.press("ControlOrMeta+End")
    draft.press_sequentially(added)
    sent = draft.input_value()
    assert sent.endswith(added)
    page.get_by_role("button", name="Send", exact=True).click()

    expect(page.get_by_test_id("signal-panel")).to_be_visible()
    expect(page.get_by_test_id("signal-kind")).to_have_text("draft_edited")
    similarity = float(page.get_by_test_id("signal-similarity").inner_text().split()[0])
    assert 0.5 < similarity < 1
    signal_id = int(page.get_by_test_id("signal-id").inner_text().lstrip("#"))
    expect(page.get_by_test_id("send-button")).to_be_disabled()
    first_listed = page.get_by_test_id("signal-item").first
    expect(first_listed).to_have_attribute("data-signal-id", str(signal_id))
    expect(first_listed).to_contain_text("draft_edited")
    screenshot(page, "playground-desktop.png")

    with db.tenant_session(db.tenant_id("demo")) as session:
        row = session.scalars(select(SignalRow)).one()
    assert (row.id, row.kind, row.actor) == (signal_id, "draft_edited", "playground")
    assert row.payload["sent"] == sent and row.payload["similarity"] == pytest.approx(similarity)
    assert row.suggestion_id is not None and row.ticket_id is not None


def test_pasted_text_gets_a_suggestion_and_a_discard_is_recorded(page, base_url, demo):
    page.goto(f"{base_url}/")  # the root redirects to the playground
    expect(page.get_by_test_id("tenant-select")).to_have_value("demo")
    page.get_by_label("Customer message").fill("where is my refund")
    page.get_by_label("Customer name").fill("Grace")
    page.get_by_role("button", name="Suggest", exact=True).click()

    expect(page.get_by_test_id("suggestion-intent")).to_have_text("refund_status")
    expect(page.get_by_test_id("suggestion-source")).to_have_text("Pasted message from Grace")
    expect(page.get_by_test_id("draft-text")).to_have_value(re.compile(r"^Hi Grace,"))
    expect(page.get_by_test_id("suggestion-status")).to_contain_text("refund_status")

    page.get_by_role("button", name="Discard").click()
    expect(page.get_by_test_id("signal-kind")).to_have_text("draft_discarded")
    expect(page.get_by_test_id("signal-item").first).to_contain_text("draft_discarded")


def test_a_question_nobody_asked_before_is_called_new_with_no_draft(page, base_url, demo):
    page.goto(f"{base_url}/playground")
    page.get_by_label("Customer message").fill("What are your opening hours in Paris?")
    page.get_by_role("button", name="Suggest", exact=True).click()

    abstained = page.get_by_test_id("suggestion-abstained")
    expect(abstained).to_be_visible()
    expect(abstained).to_have_attribute("data-reason", "unfamiliar")
    expect(abstained).to_contain_text("This question looks new")
    expect(page.get_by_test_id("no-draft")).to_contain_text("Deskloop abstained")


def test_a_tenant_without_a_model_shows_the_409_reason(page, base_url, demo, db, settings):
    seed(db, settings, "newdesk", train=False)
    page.goto(f"{base_url}/playground")
    expect(page.get_by_test_id("tenant-select")).to_have_value("demo")
    page.get_by_label("Tenant").select_option("newdesk")
    expect(page.get_by_test_id("tenant-no-model")).to_have_text("no model trained yet")

    page.get_by_test_id("ticket-item").first.click()
    error = page.get_by_test_id("suggestion-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("HTTP 409")
    expect(error).to_contain_text("has no trained suggestions model yet")
    expect(page.get_by_test_id("draft-text")).to_be_hidden()

    page.get_by_label("Customer message").fill("where is my refund")
    page.get_by_role("button", name="Suggest", exact=True).click()
    expect(error).to_contain_text("has no trained suggestions model yet")


def test_at_320px_there_is_no_horizontal_scroll(narrow_page, base_url, demo):
    page = narrow_page
    page.goto(f"{base_url}/playground")
    expect(page.get_by_test_id("ticket-item").first).to_be_visible()
    suggest = page.get_by_role("button", name="Suggest", exact=True)
    expect(suggest).to_be_visible()
    box = suggest.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= NARROW["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]

    page.get_by_test_id("ticket-item").first.click()
    expect(page.get_by_test_id("draft-text")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]
    screenshot(page, "playground-320.png")


def test_urgent_and_frustrated_tickets_are_flagged_in_the_list(page, base_url, demo):
    page.goto(f"{base_url}/playground")
    first = page.get_by_test_id("ticket-item").first
    expect(first).to_contain_text("Someone stole my card")
    expect(first.get_by_test_id("urgent-flag")).to_have_text("urgent")
    expect(first.get_by_test_id("sentiment-flag")).to_have_text("frustrated")
    calm = page.get_by_test_id("ticket-item").filter(has_text="How do I reset my password?")
    expect(calm.get_by_test_id("urgent-flag")).to_have_count(0)
    expect(calm.get_by_test_id("sentiment-flag")).to_have_count(0)


def test_signing_out_ends_the_session(page, base_url, demo):
    page.goto(f"{base_url}/playground")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{base_url}/login")
    page.goto(f"{base_url}/tenants/{demo}/signals")
    assert "/login" in page.url  # sent back to sign in
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
