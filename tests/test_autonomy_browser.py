"""The autonomy page in a real browser, on the history of ``tests/autonomy_support.py`` with modes,
shadow evidence and a kept backtest: the kill switch's state and its button (which pauses every
process's policy, and resumes it), the intents' modes, thresholds and shadow precision, the
measures as the API gives them (the weekly chart among them), the backtest's chart, an intent
named with markup shown as text, a viewer without the button, another tenant refused; at 1280 and
at 320 pixels wide."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.autonomy.backtest_runs import keep_backtest
from core.autonomy.judging import wilson_lower
from core.autonomy.policy import Mode, forget_policies, policy_of
from core.autonomy.settings import set_mode, set_sensitive
from core.runtime import Runtime
from core.store.tables import AutonomyShadowRow
from tests.autonomy_support import CARD, REFUND, seed_autonomy_history
from tests.browser_support import (
    BROWSER_ADMIN,
    assert_fits_narrow,
    assert_kept_to_its_tenant,
    chart_data,
    expect,
    screenshot,
)

pytestmark = pytest.mark.browser

PAGE = "/tenants/acme/autonomy"
API = "/api/v1/tenants/acme/autonomy"
HOSTILE = '<img src=x onerror="document.body.dataset.pwned=1">lost_card'
BACKTEST = {
    "tenant": "acme", "since": None, "target_precision": 0.95, "close_enough": 0.6, "tickets": 120, "sent": 50,
    "right": 48, "auto_resolution_rate": 0.4, "wrong_reply_share": 0.04,
    "intents": [
        {"intent": CARD, "tickets": 60, "drafts": 50, "threshold": 0.82, "sent": 40, "right": 39,
         "precision_lower_bound": 0.9, "auto_resolution_rate": 0.65, "wrong_reply_share": 0.025},
        {"intent": HOSTILE, "tickets": 30, "drafts": 20, "threshold": 0.9, "sent": 10, "right": 9,
         "precision_lower_bound": 0.6, "auto_resolution_rate": 0.3, "wrong_reply_share": 0.1},
        {"intent": REFUND, "tickets": 30, "drafts": 10, "threshold": None, "sent": 0, "right": 0,
         "precision_lower_bound": None, "auto_resolution_rate": 0.0, "wrong_reply_share": None,
         "rate_at_default_threshold": 0.4},
    ],
}


@pytest.fixture
def acme(settings, db):
    forget_policies()
    runtime = Runtime(settings)
    try:
        ids = seed_autonomy_history(db, "acme", datetime.now(UTC))
        set_mode(runtime, "acme", CARD, Mode.AUTONOMOUS, "cli:tester", threshold=0.9)
        set_mode(runtime, "acme", REFUND, Mode.SHADOW, "cli:tester")
        set_sensitive(runtime, "acme", "intent", "fraud", "cli:tester")
        tenant_id = db.tenant_id("acme")
        with db.transaction(tenant_id) as session:
            for name, right in (("R1", True), ("R3", True), ("R4", False)):
                session.add(AutonomyShadowRow(tenant_id=tenant_id, ticket_id=ids[name], intent=REFUND, mode="shadow",
                                              confidence=0.8, abstained=False, draft="Your refund is on its way.",
                                              similarity=0.7 if right else 0.2, intent_right=True, right=right))
        keep_backtest(runtime, "acme", BACKTEST, "cli:tester")
        db.ensure_tenant("beta")
    finally:
        runtime.close()
    yield
    forget_policies()


def loaded(page) -> None:
    expect(page.locator("body")).to_have_attribute("data-loaded", "true")


def paused_in_policy(settings) -> dict | None:
    runtime = Runtime(settings)
    try:
        return policy_of(runtime, "acme").paused
    finally:
        runtime.close()


def test_the_page_shows_the_policy_the_evidence_and_the_measures_as_the_api_gives_them(page, base_url, acme):
    page.goto(base_url + PAGE)
    loaded(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Autonomy")
    expect(page.get_by_role("link", name="Autonomy")).to_have_attribute("aria-current", "page")
    expect(page.get_by_test_id("kill-switch-state")).to_contain_text("Running")
    expect(page.get_by_test_id("kill-switch")).to_have_text("Pause autonomy")

    rows = {row.get_by_test_id("intent-name").inner_text(): row for row in page.get_by_test_id("intent-row").all()}
    assert sorted(rows) == [CARD, "fraud", REFUND]
    expect(rows[CARD].get_by_test_id("intent-mode")).to_have_text("autonomous")
    expect(rows[CARD].get_by_test_id("intent-threshold")).to_have_text("0.90")
    expect(rows["fraud"].get_by_test_id("intent-applies")).to_have_text("off (sensitive)")
    expect(rows[REFUND].get_by_test_id("intent-applies")).to_have_text("shadow")
    expect(rows[REFUND].get_by_test_id("intent-compared")).to_have_text("3")
    expect(rows[REFUND].get_by_test_id("intent-precision")).to_have_text("66.7%")
    expect(rows[REFUND].get_by_test_id("intent-lower-bound")).to_have_text(f"{100 * round(wilson_lower(2, 3), 4):.1f}%")
    expect(rows[REFUND].get_by_test_id("intent-recommendation")).to_have_text("Not yet")

    measures = page.request.get(f"{base_url}{API}/measures?days=28").json()
    assert measures["overall"]["auto_resolved"] == 3 and measures["overall"]["new_tickets"] == 12
    expect(page.get_by_test_id("auto-resolution")).to_have_text("25.0% 3 of 12 new tickets")
    expect(page.get_by_test_id("wrong-replies")).to_have_text("37.5% 3 of 8 answers")
    expect(page.get_by_test_id("frt-autonomous")).to_have_text("48 s p90 2 min, 8 tickets")
    expect(page.get_by_test_id("frt-human")).to_have_text("60 min p90 2.0 h, 3 tickets")
    expect(page.get_by_test_id("csat-autonomous")).to_have_text("4.50 of 2 rated")
    expect(page.get_by_test_id("csat-human")).to_have_text("3.33 of 6 rated")
    weekly = chart_data(page, "weekly-chart")
    assert weekly["drawn"] and weekly["type"] == "bar"
    assert weekly["labels"] == [w["start"][:10] for w in measures["weeks"]]
    assert weekly["datasets"]["Auto-resolution rate (%)"] == [
        None if w["auto_resolution_rate"] is None else round(w["auto_resolution_rate"] * 1000) / 10
        for w in measures["weeks"]]
    assert weekly["datasets"]["Auto-resolution rate (%)"][1:] == [33.3, 0, 33.3]
    expect(page.get_by_test_id("measure-row")).to_have_count(3)
    expect(page.get_by_test_id("handoff-row")).to_have_count(5)

    drawn = chart_data(page, "backtest-chart")
    assert drawn["axis"] == "y" and drawn["labels"] == [CARD, HOSTILE, REFUND]
    assert drawn["datasets"] == {"Estimated auto-resolution (%)": [65, 30, 0], "Wrong replies (%)": [2.5, 10, None]}
    expect(page.get_by_test_id("backtest-row")).to_have_count(3)
    expect(page.get_by_test_id("backtest-row").nth(1).locator("th")).to_have_text(HOSTILE)
    # Offered no threshold, yet estimated at the default one; a report without the figure shows a dash.
    expect(page.get_by_test_id("backtest-row").nth(2).locator("td").last).to_have_text("40.0%")
    expect(page.get_by_test_id("backtest-row").nth(0).locator("td").last).to_have_text("–")
    expect(page.get_by_test_id("backtest-summary")).to_contain_text("by cli:tester on 120 resolved tickets")
    assert page.locator("main img").count() == 0 and page.evaluate("document.body.dataset.pwned") is None
    screenshot(page, "autonomy.png")


def test_the_pause_button_pauses_every_process_and_resume_lifts_it(page, base_url, acme, settings):
    page.goto(base_url + PAGE)
    loaded(page)
    assert paused_in_policy(settings) is None
    page.get_by_role("button", name="Pause autonomy").click()
    expect(page.get_by_test_id("kill-switch-state")).to_contain_text(f"Paused by user:{BROWSER_ADMIN}")
    expect(page.get_by_test_id("kill-switch")).to_have_text("Resume autonomy")
    paused = paused_in_policy(settings)
    assert paused is not None and paused["by"] == f"user:{BROWSER_ADMIN}"
    card = page.get_by_test_id("intent-row").filter(has_text=CARD)
    expect(card.get_by_test_id("intent-applies")).to_have_text("shadow")  # autonomous, lowered by the pause
    page.reload()
    loaded(page)
    expect(page.get_by_test_id("kill-switch-state")).to_contain_text("Paused")
    page.get_by_role("button", name="Resume autonomy").click()
    expect(page.get_by_test_id("kill-switch-state")).to_contain_text("Running")
    assert paused_in_policy(settings) is None
    expect(card.get_by_test_id("intent-applies")).to_have_text("autonomous")


def test_the_page_fits_320_pixels(narrow_page, base_url, acme):
    page = narrow_page
    page.goto(base_url + PAGE)
    loaded(page)
    chart_data(page, "weekly-chart")
    chart_data(page, "backtest-chart")
    assert_fits_narrow(page, ("weekly-chart", "backtest-chart"))
    screenshot(page, "autonomy-narrow.png")


def test_a_viewer_gets_no_button_and_another_tenant_is_refused(browser, base_url, acme, settings):
    page = assert_kept_to_its_tenant(
        browser, base_url, settings, PAGE,
        [f"{API}/status", f"{API}/measures", f"{API}/backtest", f"{API}/shadow"], "/tenants/beta/autonomy")
    loaded(page)
    expect(page.get_by_test_id("kill-switch")).to_have_count(0)
    expect(page.get_by_test_id("kill-switch-readonly")).to_contain_text("deskloop autonomy pause --tenant beta")
    expect(page.get_by_test_id("backtest-empty")).to_be_visible()
    expect(page.get_by_test_id("backtest-chart")).to_be_hidden()
    assert page.request.post(f"{base_url}/api/v1/tenants/beta/autonomy/pause").status in (400, 403)
    page.context.close()


def test_an_unknown_tenant_has_no_autonomy_page(page, base_url, db):
    assert page.request.get(f"{base_url}/tenants/nobody/autonomy").status == 404
