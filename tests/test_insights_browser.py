"""The spike-alerts page in a real browser: a tenant with a planted spike after a deploy and a group
of unfamiliar tickets, scanned; the chart drawn from the API's numbers, the incident in the table
naming the deploy, the deploy labelled, the emerging group's examples shown as text even when a
subject is markup; at 1280 and at 320 pixels wide."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.insights.volumes import hour_of
from core.runtime import Runtime
from tests.browser_support import assert_fits_narrow, chart_data, expect, screenshot
from tests.insights_support import HOSTILE_SUBJECT, UNFAMILIAR_CLUSTER, seed_insights

pytestmark = pytest.mark.browser

VOLUME_CHART = """canvas => {
  const chart = window.Chart.getChart(canvas);
  const markers = chart.options.plugins.deskloopMarkers;
  return {
    labels: chart.data.labels,
    datasets: Object.fromEntries(chart.data.datasets.map(d => [d.label, d.data])),
    fill: chart.data.datasets.find(d => d.label === "Usual range").fill,
    deploys: markers.deploys.map(d => d.label),
    incidents: markers.incidents.length,
    drawn: canvas.width > 0 && canvas.height > 0,
  };
}"""


@pytest.fixture
def acme(settings, db):
    runtime = Runtime(settings)
    try:
        return seed_insights(runtime)
    finally:
        runtime.close()


def volume_chart(page) -> dict:
    return chart_data(page, "volume-chart", VOLUME_CHART)


def test_the_page_draws_the_spike_its_band_the_incident_and_the_deploy(page, base_url, acme):
    page.goto(f"{base_url}/tenants/acme/insights")
    picker = page.get_by_test_id("category-picker")
    expect(picker.locator("option:checked")).to_have_text("⚠ intent · login (" + str(
        sum(n for h, n in acme.login_per_hour.items() if h > acme.now - timedelta(hours=168))) + ")")
    drawn = volume_chart(page)
    observed = drawn["datasets"]["Tickets"]
    assert drawn["drawn"] and len(drawn["labels"]) == len(observed) == 168
    assert sum(observed) == sum(n for h, n in acme.login_per_hour.items() if h > acme.now - timedelta(hours=168))
    upper, lower = drawn["datasets"]["Usual range"], drawn["datasets"]["Usual range, low"]
    assert drawn["fill"] == "-1" and all(lo <= up for lo, up in zip(lower, upper, strict=True))
    assert observed[-1] + observed[-2] > upper[-1] + upper[-2]  # the spike stands out of its band
    started = [i for i, v in enumerate(drawn["datasets"]["Incident started"]) if v is not None]
    assert len(started) == 1 and started[0] >= 167 - 3  # within the windows the test reaches back
    assert drawn["incidents"] == 1 and drawn["deploys"] == ["auth@2.4.1"]
    deploy_hour = 167 - (hour_of(acme.now) - hour_of(acme.deploy_at)) // timedelta(hours=1)
    assert [i for i, v in enumerate(drawn["datasets"]["Deploy"]) if v is not None] == [deploy_hour]
    expect(page.get_by_test_id("chart-summary")).to_contain_text("1 incident")

    rows = page.get_by_test_id("incident-row")  # one rise of the intent and its tag: one incident
    expect(rows).to_have_count(1)
    expect(rows.first.get_by_test_id("incident-related")).to_have_text("Also seen as: tag · auth")
    rows = rows.filter(has_text="intent · login")
    expect(rows.first.get_by_test_id("incident-status")).to_have_text("open")
    expect(rows.first.get_by_test_id("incident-deploy")).to_contain_text("auth@2.4.1")
    expect(rows.first.get_by_test_id("incident-deploy")).to_contain_text("before")
    assert int(rows.first.get_by_test_id("incident-observed").inner_text()) >= 10
    assert float(rows.first.get_by_test_id("incident-expected").inner_text()) < 3
    expect(page.get_by_test_id("deploy")).to_contain_text("auth@2.4.1")
    expect(page.get_by_test_id("deploy").get_by_role("link", name="auth@2.4.1")).to_have_attribute(
        "href", "https://ci.example.com/runs/9")

    group = page.locator(f'[data-testid="emerging-group"][data-category="unfamiliar:{UNFAMILIAR_CLUSTER}"]')
    expect(group.get_by_test_id("emerging-example")).to_have_count(5)
    hostile = group.get_by_role("link", name=HOSTILE_SUBJECT)
    expect(hostile).to_have_text(HOSTILE_SUBJECT)  # shown as the customer typed it
    assert hostile.get_attribute("href").startswith("https://acme.zendesk.com/agent/tickets/u-")
    assert page.locator("main img").count() == 0 and page.evaluate("document.body.dataset.pwned") is None
    expect(page.get_by_role("link", name="Spike alerts")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("heading", level=1)).to_have_text("Spike alerts")
    screenshot(page, "insights.png")


def test_picking_another_category_and_fewer_hours_redraws(page, base_url, acme):
    page.goto(f"{base_url}/tenants/acme/insights")
    volume_chart(page)
    option = page.get_by_test_id("category-picker").locator("option", has_text=f"unfamiliar:{UNFAMILIAR_CLUSTER}")
    page.get_by_test_id("category-picker").select_option(option.get_attribute("value"))
    expect(page.get_by_test_id("volume-chart")).to_have_attribute(
        "data-category", f'["cluster","unfamiliar:{UNFAMILIAR_CLUSTER}"]')
    drawn = volume_chart(page)
    assert sum(drawn["datasets"]["Tickets"]) == 8 and drawn["incidents"] == 0
    assert f"category=unfamiliar%3A{UNFAMILIAR_CLUSTER}" in page.url
    page.get_by_test_id("hours-picker").select_option("24")
    expect(page.get_by_test_id("volume-chart")).to_have_attribute("data-points", "24")
    assert len(volume_chart(page)["labels"]) == 24
    expect(page.get_by_test_id("category-picker").locator("option:checked")).to_contain_text("unfamiliar:")
    page.get_by_role("button", name="Show intent · login on the chart").click()  # the incident's category
    expect(page.get_by_test_id("volume-chart")).to_have_attribute("data-category", '["intent","login"]')
    expect(page.get_by_test_id("category-picker").locator("option:checked")).to_contain_text("⚠ intent · login")


def test_the_page_fits_320_pixels(narrow_page, base_url, acme):
    page = narrow_page
    page.goto(f"{base_url}/tenants/acme/insights")
    assert len(volume_chart(page)["labels"]) == 72  # three days: a week of bars would be hairlines
    expect(page.get_by_test_id("emerging-example")).to_have_count(5)
    assert_fits_narrow(page, ("volume-chart",), min_chart_height=200)
    screenshot(page, "insights-narrow.png")


def test_an_unknown_tenant_has_no_insights_page(page, base_url, db):
    assert page.request.get(f"{base_url}/tenants/nobody/insights").status == 404
