"""The knowledge-gaps page in a real browser, on the seeded tenant of ``tests/knowledge_gaps_support.py``
(300 tickets full of personal data; the troubled intent renamed to markup, and some of its
subjects too): the stacked chart holds the API's points, the table the API's gaps, a row opens its
proposed article with no customer's details and copies the Markdown the export writes, the CSV link
downloads the table's rows, a span without gaps says what fills the page, a visitor is sent to sign
in and an operator of another tenant is refused; at 1280 and at 320 pixels wide."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from core.insights.gap_export import write_articles
from core.insights.knowledge_gaps import knowledge_gap_report
from core.runtime import Runtime
from core.store.tables import TicketRow
from tests.browser_support import (
    assert_csv_link_downloads,
    assert_fits_narrow,
    assert_kept_to_its_tenant,
    chart_data,
    expect,
    screenshot,
)
from tests.knowledge_gaps_support import BAD, CUSTOMER_QUESTIONS, seed_knowledge_gaps
from tests.personal_data import leaks

pytestmark = pytest.mark.browser

HOSTILE_INTENT = '<img src=x onerror="document.body.dataset.pwned=1">refund'
HOSTILE_SUBJECT = '<b onmouseover="document.body.dataset.pwned=2">Refund</b> & "money" back?'
PAGE = "/tenants/acme/knowledge-gaps"
API = "/api/v1/tenants/acme/insights/knowledge-gaps"
MEASURES = {"Abstention": "abstention", "Edited drafts": "edits", "Reopens": "reopens", "Bad CSAT": "bad_csat",
            "Long unique replies": "long_unique_replies"}


@pytest.fixture
def acme(settings, db):
    """The seeded tenant, its history ending now; returns its customers (whose details must never show)."""
    runtime = Runtime(settings)
    try:
        customers, _ = seed_knowledge_gaps(runtime, "acme", now=datetime.now(UTC).replace(microsecond=0))
        tenant_id = db.tenant_id("acme")
        with db.transaction(tenant_id) as session:
            refunds = session.scalars(select(TicketRow.id).where(TicketRow.intent == BAD)
                                      .order_by(TicketRow.id)).all()
            session.execute(update(TicketRow).where(TicketRow.id.in_(refunds[1::2]))
                            .values(subject=HOSTILE_SUBJECT))  # those without the customer's details
            session.execute(update(TicketRow).where(TicketRow.intent == BAD).values(intent=HOSTILE_INTENT))
        db.ensure_tenant("beta")  # no tickets at all
    finally:
        runtime.close()
    return customers


def loaded(page, days: str = "90") -> None:
    expect(page.locator("body")).to_have_attribute("data-loaded", days)


def table_rows(page) -> list[dict]:
    """What the table shows, row by row, top to bottom."""
    return [{"rank": int(row.get_by_test_id("gap-rank").inner_text()),
             "label": row.get_by_test_id("gap-label").inner_text(),
             "tickets": int(row.get_by_test_id("gap-tickets").inner_text()),
             "score": float(row.get_by_test_id("gap-score").inner_text()),
             "reasons": row.get_by_test_id("gap-reason").all_inner_texts()}
            for row in page.get_by_test_id("gap-row").all()]


def test_the_chart_and_the_table_hold_the_apis_gaps(page, base_url, acme):
    page.goto(base_url + PAGE)
    loaded(page)
    report = page.request.get(f"{base_url}{API}?days=90").json()
    gaps = report["gaps"]
    assert gaps and gaps[0]["label"] == HOSTILE_INTENT and gaps[0]["score"] > 40

    drawn = chart_data(page, "scores-chart")
    assert drawn["drawn"] and drawn["type"] == "bar" and drawn["axis"] == "y" and drawn["stacked"]
    assert drawn["labels"] == [g["label"] for g in gaps[:10]]
    assert set(drawn["datasets"]) == set(MEASURES)
    for name, measure in MEASURES.items():
        assert drawn["datasets"][name] == [g["points"][measure] for g in gaps[:10]], name
    for i, gap in enumerate(gaps[:10]):  # the stack is the score
        assert sum(d[i] for d in drawn["datasets"].values()) == pytest.approx(gap["score"], abs=0.3)
    assert drawn["datasets"]["Abstention"][0] == pytest.approx(30 * 37 / 50, abs=0.1)

    shown = table_rows(page)
    assert shown == [{"rank": rank, "label": g["label"], "tickets": g["tickets"], "score": g["score"],
                      "reasons": [r["detail"] for r in g["reasons"]]} for rank, g in enumerate(gaps, 1)]
    assert shown[0]["tickets"] == 50 and shown[0]["reasons"][0].startswith("Deskloop abstained on 74% of 50")
    expect(page.get_by_test_id("gap-label").first).to_have_text(HOSTILE_INTENT)  # the name as written, as text
    expect(page.get_by_test_id("report-summary")).to_contain_text(f"among {report['tickets_read']} tickets")
    expect(page.get_by_role("link", name="Knowledge gaps")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("heading", level=1)).to_have_text("Knowledge gaps")
    page.get_by_test_id("expand").first.click()
    expect(page.get_by_test_id("copy-markdown")).to_be_enabled()
    assert page.locator("main img, main b").count() == 0 and page.evaluate("document.body.dataset.pwned") is None
    screenshot(page, "knowledge-gaps.png")


def test_a_row_opens_its_article_with_nobodys_details_and_copies_the_exports_markdown(
        page, base_url, acme, settings, tmp_path):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
    page.goto(base_url + PAGE)
    loaded(page)
    gap = page.request.get(f"{base_url}{API}?days=90").json()["gaps"][0]
    article = page.get_by_test_id("gap-article")
    expect(article).to_have_count(0)  # built, and its Markdown fetched, only when opened
    toggle = page.get_by_role("button", name=f"Proposed article for {HOSTILE_INTENT}")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(article).to_be_visible()
    expect(article.get_by_test_id("article-title")).to_contain_text(gap["article"]["title"])
    expect(article.get_by_test_id("article-answer")).to_have_text(gap["article"]["answer"])
    assert "5 to 10 working days to show on your statement" in gap["article"]["answer"]
    expect(article.get_by_test_id("article-alternative")).to_have_text(gap["article"]["alternatives"])
    expect(article.get_by_test_id("article-question")).to_have_text(gap["article"]["questions"])
    assert HOSTILE_SUBJECT in gap["article"]["questions"]  # asked by many: kept, and shown as text
    expect(article.get_by_test_id("article-basis")).to_contain_text("Drafted from well-rated replies.")

    shown = page.locator("main").inner_text()
    assert not leaks(shown, acme, None, CUSTOMER_QUESTIONS)
    for customer in acme:
        for kind in ("email", "phone", "order", "account"):
            assert customer.values[kind] not in shown, kind
        assert customer.name not in shown
    assert page.locator("main img, main b").count() == 0 and page.evaluate("document.body.dataset.pwned") is None

    page.get_by_test_id("copy-markdown").click()
    expect(article.get_by_test_id("copy-note")).to_have_text("Copied.")
    copied = page.evaluate("navigator.clipboard.readText()")
    served = page.request.get(f"{base_url}{API}/{gap['key']}.md?days=90")
    assert served.ok and served.headers["content-type"].startswith("text/markdown") and copied == served.text()
    runtime = Runtime(settings)
    try:  # what `deskloop insights knowledge-gaps --export` writes for the same gap
        exported = write_articles(knowledge_gap_report(runtime, "acme", days=90), tmp_path / "articles")[0]
    finally:
        runtime.close()
    same_day = [line for line in copied.splitlines() if not line.startswith("generated:")]
    assert same_day == [line for line in exported.read_text(encoding="utf-8").splitlines()
                        if not line.startswith("generated:")]
    assert copied.startswith("---\n") and "\nstatus: \"draft\"\n" in copied

    toggle.click()
    expect(article).to_be_hidden()


def test_the_csv_link_downloads_the_tables_rows_and_a_span_without_gaps_says_what_fills_it(page, base_url, acme):
    page.goto(base_url + PAGE)
    loaded(page)
    shown = table_rows(page)
    assert_csv_link_downloads(page, "acme-knowledge-gaps.csv",
                              [(s["rank"], s["label"], s["tickets"], s["score"]) for s in shown],
                              lambda r: (int(r["rank"]), r["label"], int(r["tickets"]), float(r["score"])))

    page.get_by_test_id("days-picker").select_option("30")  # the history ended 33 days ago
    loaded(page, "30")
    assert "days=30" in page.url and page.get_by_test_id("csv-link").get_attribute("href").endswith("?days=30")
    empty = page.get_by_test_id("empty-state")
    expect(empty).to_be_visible()
    expect(empty).to_contain_text("No knowledge gaps in these days")
    expect(empty).to_contain_text("deskloop train")
    expect(page.get_by_test_id("gaps-table")).to_be_hidden()
    expect(page.get_by_test_id("scores-chart")).to_be_hidden()
    page.goto(f"{base_url}{PAGE}?days=90")  # the span picked survives a reload
    loaded(page)
    expect(page.get_by_test_id("gap-row")).to_have_count(len(shown))


def test_the_page_fits_320_pixels(narrow_page, base_url, acme):
    page = narrow_page
    page.goto(base_url + PAGE)
    loaded(page)
    chart_data(page, "scores-chart")
    page.get_by_test_id("expand").first.click()
    expect(page.get_by_test_id("article-answer")).to_be_visible()
    expect(page.get_by_test_id("copy-markdown")).to_be_enabled()
    assert_fits_narrow(page, ("scores-chart",))
    answer = page.get_by_test_id("article-answer").bounding_box()
    assert answer is not None and answer["x"] >= 0 and answer["x"] + answer["width"] <= 320
    screenshot(page, "knowledge-gaps-narrow.png")


def test_a_visitor_signs_in_first_and_an_operator_of_another_tenant_is_refused(browser, base_url, acme, settings):
    page = assert_kept_to_its_tenant(
        browser, base_url, settings, PAGE,
        [API, f"{API}.csv", f"{API}/intent:card_delivery.md?min_score=0"],
        "/tenants/beta/knowledge-gaps")
    loaded(page)
    expect(page.get_by_test_id("empty-state")).to_be_visible()
    page.context.close()


def test_an_unknown_tenant_has_no_knowledge_gaps_page(page, base_url, db):
    assert page.request.get(f"{base_url}/tenants/nobody/knowledge-gaps").status == 404
