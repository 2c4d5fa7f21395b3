"""The accounts-at-risk page in a real browser: a tenant with a degrading account, three healthy
ones and one whose name is markup with a slash, a question mark and a hash. The table holds the
API's ranking and sorts by each column, the chart splits the top scores by reason, an account opens
onto its timeline (linkable by ``?account=``) with every ticket of its 18 weeks, the hostile name
shows as text and its timeline loads, the CSV link downloads the table's rows, a tenant without
tickets says what to do, and a visitor or another tenant's operator is refused; at 1280 and at 320
pixels wide."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

import pytest

from core.runtime import Runtime
from tests.accounts_support import (
    DEGRADING,
    DEGRADING_TICKETS,
    HEALTHY,
    HOSTILE_ACCOUNT,
    HOSTILE_TICKETS,
    seed_accounts,
)
from tests.browser_support import (
    assert_csv_link_downloads,
    assert_fits_narrow,
    assert_kept_to_its_tenant,
    chart_data,
    expect,
    screenshot,
)

pytestmark = pytest.mark.browser

PAGE = "/tenants/acme/accounts"
API = "/api/v1/tenants/acme/insights/accounts"


@pytest.fixture
def acme(settings, db):
    runtime = Runtime(settings)
    try:
        seed_accounts(runtime)
        runtime.db.ensure_tenant("beta")  # no tickets at all
    finally:
        runtime.close()


def loaded(page) -> None:
    expect(page.locator("body")).to_have_attribute("data-loaded", "true")


def table_rows(page) -> list[dict]:
    """What the table shows, row by row, top to bottom."""
    return [{"account": row.get_by_test_id("open-account").inner_text(),
             "score": float(row.get_by_test_id("account-score").inner_text()),
             "tickets": int(row.get_by_test_id("account-tickets").inner_text())}
            for row in page.get_by_test_id("account-row").all()]


def api(page, path: str = "?limit=200") -> dict:
    answer = page.request.get(page.url.split("/tenants/")[0] + API + path)
    assert answer.ok, answer.text()
    return answer.json()


def open_timeline(page, account: str, tickets: int) -> None:
    page.get_by_test_id("account-row").filter(has=page.get_by_role("button", name=account, exact=True)) \
        .get_by_test_id("open-account").click()
    expect(page.get_by_test_id("timeline")).to_have_attribute("data-account", account)
    expect(page.get_by_test_id("timeline-ticket")).to_have_count(tickets)


def test_the_table_and_chart_rank_accounts_as_the_api_does(page, base_url, acme):
    page.goto(base_url + PAGE)
    loaded(page)
    ranking = api(page)
    shown = table_rows(page)
    assert [(r["account"], r["score"], r["tickets"]) for r in shown] == [
        (a["account"], round(a["score"], 1), a["tickets"]) for a in ranking["accounts"]]
    assert shown[0]["account"] == DEGRADING and shown[0]["score"] > shown[1]["score"] > shown[2]["score"]
    expect(page.get_by_role("columnheader", name="Score")).to_have_attribute("aria-sort", "descending")
    expect(page.get_by_test_id("score-method")).to_have_text("the documented rules")
    expect(page.get_by_test_id("score-note")).to_have_text(ranking["note"])
    expect(page.get_by_test_id("score-auc")).to_be_hidden()  # no outcomes: nothing was measured
    expect(page.get_by_test_id("accounts-summary")).to_contain_text("5 accounts with tickets in the 18 weeks")

    chart = chart_data(page, "scores-chart")
    assert chart["stacked"] and chart["drawn"]
    assert chart["labels"] == [a["account"] for a in ranking["accounts"]]
    top = ranking["accounts"][0]
    for reason in top["reasons"]:
        assert chart["datasets"][reason["description"]][0] == reason["contribution"]
    parts = sum(values[0] for values in chart["datasets"].values())
    assert parts == pytest.approx(top["score"], abs=0.02)  # the rules' score is the sum of its parts
    expect(page.get_by_role("link", name="Accounts at risk")).to_have_attribute("aria-current", "page")

    open_timeline(page, DEGRADING, DEGRADING_TICKETS)
    assert f"account={DEGRADING}" in page.url
    expect(page.get_by_test_id("timeline-heading")).to_have_text(DEGRADING)
    expect(page.get_by_test_id("timeline-reasons").locator("li")).to_have_count(len(top["reasons"]))
    weekly = chart_data(page, "timeline-chart")
    assert len(weekly["labels"]) == 18
    assert sum(weekly["datasets"]["Tickets"]) == DEGRADING_TICKETS
    assert weekly["datasets"]["Tickets"][-6:] == [3] * 6  # the recent six weeks: three angry tickets each
    assert sum(weekly["datasets"]["With a bad rating or a reopen"]) == 18
    tones = weekly["datasets"]["Mean sentiment"]
    assert max(t for t in tones[:12] if t is not None) > 0 > max(tones[-6:])  # calm, then angry
    first = page.get_by_test_id("timeline-ticket").first
    expect(first).to_contain_text("open")
    expect(first).to_contain_text("cancellation")  # the reasons it stands behind
    screenshot(page, "accounts.png")


def test_the_table_sorts_by_each_column_both_ways(page, base_url, acme):
    page.goto(base_url + PAGE)
    loaded(page)
    tickets = page.get_by_role("button", name="Tickets", exact=True)
    tickets.click()
    expect(page.get_by_role("columnheader", name="Tickets")).to_have_attribute("aria-sort", "descending")
    assert [r["tickets"] for r in table_rows(page)] == [36, 30, 18, 9, HOSTILE_TICKETS]
    tickets.click()
    expect(page.get_by_role("columnheader", name="Tickets")).to_have_attribute("aria-sort", "ascending")
    assert [r["tickets"] for r in table_rows(page)] == [HOSTILE_TICKETS, 9, 18, 30, 36]
    expect(page.get_by_role("columnheader", name="Score")).to_have_attribute("aria-sort", "none")
    page.get_by_role("button", name="Account", exact=True).click()
    expect(page.get_by_role("columnheader", name="Account")).to_have_attribute("aria-sort", "ascending")
    names = [r["account"] for r in table_rows(page)]
    assert names == sorted(names, key=str.lower) and set(HEALTHY) < set(names)
    page.get_by_role("button", name="Score", exact=True).click()
    scores = [r["score"] for r in table_rows(page)]
    assert scores == sorted(scores, reverse=True) and table_rows(page)[0]["account"] == DEGRADING


def test_a_hostile_account_name_is_text_and_its_timeline_loads(page, base_url, acme):
    page.goto(base_url + PAGE)
    loaded(page)
    open_timeline(page, HOSTILE_ACCOUNT, HOSTILE_TICKETS)
    expect(page.get_by_test_id("timeline-heading")).to_have_text(HOSTILE_ACCOUNT)
    assert page.locator("main img").count() == 0 and page.evaluate("document.body.dataset.pwned") is None
    linked = page.url
    address = urlsplit(linked)
    assert parse_qs(address.query)["account"] == [HOSTILE_ACCOUNT] and address.fragment == ""  # "#" and "?" encoded

    page.goto(f"{base_url}{PAGE}?account={quote(HOSTILE_ACCOUNT, safe='')}")  # the link opens the same timeline
    expect(page.get_by_test_id("timeline")).to_have_attribute("data-account", HOSTILE_ACCOUNT)
    expect(page.get_by_test_id("timeline-ticket")).to_have_count(HOSTILE_TICKETS)
    assert sum(chart_data(page, "timeline-chart")["datasets"]["Tickets"]) == HOSTILE_TICKETS
    page.goto(linked)  # and so does the address the page itself wrote
    expect(page.get_by_test_id("timeline")).to_have_attribute("data-account", HOSTILE_ACCOUNT)
    assert page.locator("main img").count() == 0 and page.evaluate("document.body.dataset.pwned") is None


def test_an_unknown_account_in_the_link_says_so(page, base_url, acme):
    page.goto(f"{base_url}{PAGE}?account=Nobody%20Inc")
    loaded(page)
    expect(page.locator("#timeline-status")).to_contain_text("Could not load this account's timeline")
    expect(page.get_by_test_id("timeline-ticket")).to_have_count(0)


def test_the_csv_link_downloads_the_rows_the_table_shows(page, base_url, acme):
    page.goto(base_url + PAGE)
    loaded(page)
    assert_csv_link_downloads(page, "acme-accounts-at-risk.csv",
                              [(r["account"], r["score"], r["tickets"]) for r in table_rows(page)],
                              lambda r: (r["account"], round(float(r["score"]), 1), int(r["tickets"])))


def test_a_tenant_without_tickets_says_what_to_do(page, base_url, acme):
    page.goto(f"{base_url}/tenants/beta/accounts")
    loaded(page)
    expect(page.get_by_test_id("empty-state")).to_be_visible()
    expect(page.get_by_test_id("empty-state")).to_contain_text("deskloop import")
    expect(page.get_by_test_id("accounts-table")).to_be_hidden()
    expect(page.get_by_test_id("scores-chart")).to_be_hidden()


def test_the_page_fits_320_pixels(narrow_page, base_url, acme):
    page = narrow_page
    page.goto(base_url + PAGE)
    loaded(page)
    chart_data(page, "scores-chart")
    open_timeline(page, DEGRADING, DEGRADING_TICKETS)
    chart_data(page, "timeline-chart")
    assert_fits_narrow(page, ("scores-chart", "timeline-chart"))
    screenshot(page, "accounts-narrow.png")


def test_an_operator_of_another_tenant_and_a_visitor_are_refused(browser, base_url, acme, settings):
    page = assert_kept_to_its_tenant(
        browser, base_url, settings, PAGE,
        [API, f"{API}.csv", f"{API}/{DEGRADING}"],
        "/tenants/beta/accounts")
    page.context.close()


def test_an_unknown_tenant_has_no_accounts_page(page, base_url, db):
    assert page.request.get(f"{base_url}/tenants/nobody/accounts").status == 404
