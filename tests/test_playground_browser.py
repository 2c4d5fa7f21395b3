"""The playground in a real browser: headless Chromium against the app served over HTTP.

Chromium is Debian's (``apt-get install chromium``), driven by Playwright's client only; the tests
never download a browser. Screenshots of the desktop and 320px layouts go to ``artifacts/``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from core.app import create_app
from core.ml.training import train_tenant
from core.runtime import Runtime
from core.store.tables import SignalRow
from core.store.tickets import upsert_tickets
from tests.factories import make_ticket, small_inbox

#: The newest ticket: a frustrated customer with an urgent problem, flagged in the list.
URGENT = make_ticket("urgent-1", "Someone stole my card and nobody answers, this is the third time I write!",
                     created=datetime(2026, 2, 1, 9, tzinfo=UTC))

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("DESKLOOP_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
DESKTOP = {"width": 1280, "height": 900}
NARROW = {"width": 320, "height": 720}


@pytest.fixture(scope="session")
def browser() -> Iterator:
    if not Path(CHROMIUM).exists():
        message = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message)
        pytest.skip(message)
    with playwright_sync.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield launched
        launched.close()


@pytest.fixture
def base_url(settings, db) -> Iterator[str]:
    """The real app on a free local port, served by werkzeug in a background thread."""
    app = create_app(settings)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="playground-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()
    app.extensions["deskloop"].close()


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


def _new_page(browser, viewport: dict) -> Iterator:
    """A fresh page; an uncaught script error or a console.error from the page fails the test."""
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"uncaught: {exc}"))
    # A 4xx answer is logged by Chromium as "Failed to load resource"; the page shows those itself.
    page.on("console", lambda msg: problems.append(f"console: {msg.text}")
            if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
    yield page
    context.close()
    assert not problems, problems


@pytest.fixture
def page(browser) -> Iterator:
    yield from _new_page(browser, DESKTOP)


@pytest.fixture
def narrow_page(browser) -> Iterator:
    yield from _new_page(browser, NARROW)


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


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
