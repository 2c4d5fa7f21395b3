"""The weekly digest page in a real browser, on the tenant of :mod:`tests.digest_support`: the chart
holds the learning loop's last four weeks as the API answers them, each section lists what the
digest says, a malformed week is said as such, it fits 320 pixels, and an operator of another
tenant is refused."""

from __future__ import annotations

import pytest

from core.runtime import Runtime
from tests.browser_support import assert_fits_narrow, assert_kept_to_its_tenant, chart_data, expect, screenshot
from tests.digest_support import seed_digest

pytestmark = pytest.mark.browser

PAGE = "/tenants/acme/digest?week=2026-W18"


@pytest.fixture
def acme(settings, db):
    runtime = Runtime(settings)
    try:
        seed_digest(runtime)
        runtime.db.ensure_tenant("beta")
    finally:
        runtime.close()


def _loaded(page) -> None:
    expect(page.locator("body")).to_have_attribute("data-loaded", "2026-W18", timeout=120_000)


def test_the_page_charts_the_learning_trend_and_lists_each_section(page, base_url, acme):
    page.goto(base_url + PAGE)
    _loaded(page)
    digest = page.request.get(f"{base_url}/api/v1/tenants/acme/insights/digest?week=2026-W18", timeout=120_000).json()
    drawn = chart_data(page, "trend-chart")
    assert drawn["drawn"] and drawn["type"] == "line"
    assert drawn["labels"] == [w["week"] for w in digest["learning"]["trend"]]
    assert drawn["datasets"]["Drafts sent unchanged (%)"] == [round(w["acceptance"] * 100, 1)
                                                             for w in digest["learning"]["trend"]]
    assert page.get_by_test_id("churn-row").count() == len(digest["churn_risks"]) >= 1
    assert page.get_by_test_id("churn-row").first.locator("th").inner_text() == digest["churn_risks"][0]["account"]
    assert page.get_by_test_id("rising-row").count() == len(digest["rising_capabilities"]) >= 1
    assert page.get_by_test_id("gap-item").count() == len(digest["knowledge_gaps"]) >= 1
    expect(page.get_by_test_id("spike-item")).to_have_text("login_problem: 42 tickets, ~8 expected, after deploy "
                                                           "auth-api v3.1.0")
    expect(page.get_by_test_id("learning-summary")).to_contain_text("Drafts sent unchanged: 6 of 8 (75%)")
    expect(page.get_by_test_id("digest-notes")).to_be_hidden()
    screenshot(page, "digest.png")

    page.get_by_test_id("week-picker").fill("2026-W60")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#digest-status")).to_contain_text("2026 has no ISO week 60")


def test_the_page_fits_320_pixels(narrow_page, base_url, acme):
    page = narrow_page
    page.goto(base_url + PAGE)
    _loaded(page)
    expect(page.get_by_test_id("trend-chart")).to_have_attribute("data-ready", "true")
    assert_fits_narrow(page, ("trend-chart",))
    screenshot(page, "digest-narrow.png")


def test_an_operator_of_another_tenant_and_a_visitor_are_refused(browser, base_url, acme, settings):
    page = assert_kept_to_its_tenant(
        browser, base_url, settings, PAGE,
        ["/api/v1/tenants/acme/insights/digest"],
        "/tenants/beta/digest")
    page.context.close()
