"""The feature-requests page in a real browser: a tenant whose customers ask for CSV export of
invoices (Billing) and single sign-on (Security) and whose agents tagged one more request. The
charts hold the API's numbers, the table sorts by each column, a row opens onto its example tickets
(a subject that is markup shown as text) and the accounts asking, the CSV link downloads the
table's rows, the days picker narrows all of it, a tenant without requests says what to do, and an
operator of another tenant is refused; at 1280 and at 320 pixels wide."""

from __future__ import annotations

import pytest

from core.runtime import Runtime
from tests.browser_support import (
    assert_csv_link_downloads,
    assert_fits_narrow,
    assert_kept_to_its_tenant,
    chart_data,
    expect,
    screenshot,
)
from tests.feature_requests_support import HOSTILE_SUBJECT, seed_feature_requests

pytestmark = pytest.mark.browser

PAGE = "/tenants/acme/feature-requests"


@pytest.fixture
def acme(settings, db):
    runtime = Runtime(settings)
    try:
        seed_feature_requests(runtime)
        runtime.db.ensure_tenant("beta")  # no tickets at all
    finally:
        runtime.close()


def table_rows(page) -> list[dict]:
    """What the table shows, row by row, top to bottom."""
    rows = page.get_by_test_id("capability-row")
    return [{"label": row.get_by_test_id("capability-label").inner_text(),
             "requests": int(row.get_by_test_id("capability-requests").inner_text()),
             "weighted": float(row.get_by_test_id("capability-weighted").inner_text()),
             "trend": row.get_by_test_id("capability-trend").inner_text()} for row in rows.all()]


def loaded(page, days: str = "180") -> None:
    expect(page.locator("body")).to_have_attribute("data-loaded", days)


def test_the_page_charts_and_lists_the_requested_capabilities(page, base_url, acme):
    page.goto(base_url + PAGE)
    loaded(page)
    report = page.request.get(f"{base_url}/api/v1/tenants/acme/insights/feature-requests?days=180").json()
    by_label = {c["label"]: c for c in report["capabilities"]}
    export = next(c for c in report["capabilities"] if "csv" in c["label"])
    sso = next(c for c in report["capabilities"] if "sso" in c["label"] or "okta" in c["label"])

    areas = chart_data(page, "areas-chart")
    assert areas["drawn"] and areas["type"] == "bar" and areas["axis"] == "y"
    assert dict(zip(areas["labels"], areas["datasets"]["Requests"], strict=True)) == {"Billing": 2, "Security": 1}

    drawn = chart_data(page, "capabilities-chart")
    assert drawn["drawn"] and drawn["stacked"] and drawn["axis"] == "y"
    assert drawn["labels"][0] == export["label"]  # the most requested on top
    recent, before, earlier = (drawn["datasets"][k] for k in ("Last 4 weeks", "The 4 weeks before", "Earlier"))
    assert (recent[0], before[0], earlier[0]) == (3, 1, 0)  # 2, 5 and 10 days ago; 40 days ago
    for label, r, b, e in zip(drawn["labels"], recent, before, earlier, strict=True):
        assert r + b + e == by_label[label]["requests"]

    shown = table_rows(page)
    assert [r["label"] for r in shown] == [c["label"] for c in report["capabilities"]]  # heaviest accounts first
    assert {r["label"]: (r["requests"], r["weighted"]) for r in shown} == {
        c["label"]: (c["requests"], c["weighted_accounts"]) for c in report["capabilities"]}
    assert (by_label[export["label"]]["requests"], export["weighted_accounts"]) == (4, 8.0)  # 5 + 2 + 1
    assert len(shown) == 3 and shown[0]["trend"] == "3 vs 1 rising"
    expect(page.get_by_role("columnheader", name="Accounts (weighted)")).to_have_attribute("aria-sort", "descending")
    expect(page.get_by_test_id("report-summary")).to_contain_text("7 feature requests among 10 tickets")

    sso_row = page.get_by_test_id("capability-row").filter(has_text=sso["label"])
    sso_row.get_by_role("button", name=f"Examples and accounts of {sso['label']}").click()
    details = page.locator(f"#details-{sso['key']}")
    expect(details).to_be_visible()
    expect(details.get_by_test_id("example")).to_have_count(2)
    hostile = details.get_by_role("link", name=HOSTILE_SUBJECT)
    expect(hostile).to_have_text(HOSTILE_SUBJECT)  # shown as the customer typed it
    assert hostile.get_attribute("href") == "https://acme.zendesk.com/agent/tickets/t-5"
    expect(details.get_by_test_id("organizations").locator("li")).to_have_text(["Umbrella", "Hooli"])
    assert page.locator("main img").count() == 0 and page.evaluate("document.body.dataset.pwned") is None
    expect(page.get_by_role("link", name="Feature requests")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("heading", level=1)).to_have_text("Feature requests")
    screenshot(page, "feature-requests.png")
    sso_row.get_by_test_id("expand").click()
    expect(details).to_be_hidden()


def test_the_table_sorts_by_each_column_both_ways(page, base_url, acme):
    page.goto(base_url + PAGE)
    loaded(page)
    requests = page.get_by_role("button", name="Requests", exact=True)
    requests.click()
    expect(page.get_by_role("columnheader", name="Requests", exact=True)).to_have_attribute("aria-sort", "descending")
    assert [r["requests"] for r in table_rows(page)] == [4, 2, 1]
    requests.click()
    expect(page.get_by_role("columnheader", name="Requests", exact=True)).to_have_attribute("aria-sort", "ascending")
    assert [r["requests"] for r in table_rows(page)] == [1, 2, 4]
    expect(page.get_by_role("columnheader", name="Accounts (weighted)")).to_have_attribute("aria-sort", "none")
    page.get_by_role("button", name="Trend").click()  # the last 4 weeks minus the 4 before: +2, +1 (gantt), 0 (sso)
    assert [r["trend"] for r in table_rows(page)] == ["3 vs 1 rising", "1 vs 0 new", "1 vs 1 steady"]
    page.get_by_test_id("expand").first.click()  # an open row stays open through a new order
    page.get_by_role("button", name="Trend").click()
    assert [r["trend"] for r in table_rows(page)] == ["1 vs 1 steady", "1 vs 0 new", "3 vs 1 rising"]
    expect(page.get_by_test_id("capability-details").filter(has=page.get_by_test_id("example"))
           .locator("visible=true")).to_have_count(1)
    expect(page.locator('[data-testid="capability-row"]').last.get_by_test_id("expand")).to_have_attribute(
        "aria-expanded", "true")


def test_the_csv_link_downloads_the_rows_the_table_shows_for_the_days_picked(page, base_url, acme):
    page.goto(base_url + PAGE)
    loaded(page)
    page.get_by_test_id("days-picker").select_option("28")
    loaded(page, "28")
    shown = table_rows(page)
    assert sum(r["requests"] for r in shown) == 5  # 40 and 45 days ago fall out
    assert "days=28" in page.url
    assert_csv_link_downloads(page, "acme-feature-requests.csv",
                              [(r["label"], r["requests"], r["weighted"]) for r in shown],
                              lambda r: (r["label"], int(r["requests"]), float(r["weighted_accounts"])))


def test_a_tenant_without_requests_says_what_to_do(page, base_url, acme):
    page.goto(f"{base_url}/tenants/beta/feature-requests")
    loaded(page)
    expect(page.get_by_test_id("empty-state")).to_be_visible()
    expect(page.get_by_test_id("empty-state")).to_contain_text("No feature requests yet")
    expect(page.get_by_test_id("empty-state")).to_contain_text("deskloop import")
    expect(page.get_by_test_id("capabilities-table")).to_be_hidden()
    expect(page.get_by_test_id("areas-chart")).to_be_hidden()


def test_the_page_fits_320_pixels(narrow_page, base_url, acme):
    page = narrow_page
    page.goto(base_url + PAGE)
    loaded(page)
    chart_data(page, "capabilities-chart")
    page.get_by_test_id("expand").first.click()
    expect(page.get_by_test_id("example").first).to_be_visible()
    assert_fits_narrow(page, ("areas-chart", "capabilities-chart"))
    screenshot(page, "feature-requests-narrow.png")


def test_an_operator_of_another_tenant_and_a_visitor_are_refused(browser, base_url, acme, settings):
    page = assert_kept_to_its_tenant(
        browser, base_url, settings, PAGE,
        ["/api/v1/tenants/acme/insights/feature-requests", "/api/v1/tenants/acme/insights/feature-requests.csv"],
        "/tenants/beta/feature-requests")
    page.context.close()


def test_an_unknown_tenant_has_no_feature_requests_page(page, base_url, db):
    assert page.request.get(f"{base_url}/tenants/nobody/feature-requests").status == 404
