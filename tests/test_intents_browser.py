"""The intents page in a real browser: the ranked label sources and the discovered intents, each
action read back from the database."""

from __future__ import annotations

import pytest

from core.labelling.settings import rank_and_keep
from core.runtime import Runtime
from core.store.tickets import upsert_tickets
from tests.browser_support import expect, screenshot
from tests.test_intents_api import proposals, propose, seed, tenant_settings, unlabelled_inbox

pytestmark = pytest.mark.browser


@pytest.fixture
def acme(settings, db) -> dict[str, list[int]]:
    """A tenant with no intent field, its label sources ranked, and three proposed intents."""
    seed(db, "acme", unlabelled_inbox())
    runtime = Runtime(settings)
    try:
        rank_and_keep(runtime, "acme")
    finally:
        runtime.close()
    return propose(db, "acme")


def rows(page):
    return page.get_by_test_id("intents-table").locator("tbody tr")


def row(page, key: str):
    return page.locator(f'[data-testid="intents-table"] tbody tr[data-key="{key}"]')


def test_the_page_lists_the_proposals_and_the_ranked_sources(page, base_url, acme):
    page.goto(f"{base_url}/tenants/acme/intents")
    expect(rows(page)).to_have_count(3)
    card = row(page, "card_arrival")
    expect(card.get_by_test_id("label")).to_have_text("card arrival")
    expect(card.get_by_test_id("status")).to_have_text("proposed")
    expect(card.get_by_test_id("size")).to_have_text("5")
    expect(card.locator("ul.examples li")).to_have_count(2)
    expect(card.locator("ul.examples li").first).to_have_text("My new card still has not arrived")
    expect(card).to_contain_text("cards arrive within 5 working days")
    expect(page.get_by_test_id("current-source")).to_have_text("intent")
    sources = page.get_by_test_id("sources-table").locator("tbody tr")
    expect(sources.first).to_have_attribute("data-source", "field:category")
    expect(sources.first).to_contain_text("100%")
    expect(sources.first.get_by_test_id("use-source")).to_be_visible()
    region = page.locator('tr[data-source="field:region"]')
    expect(region).to_contain_text("Not usable")
    expect(region.get_by_test_id("use-source")).to_have_count(0)
    expect(page.get_by_role("link", name="Intents")).to_have_attribute("aria-current", "page")
    screenshot(page, "intents.png")


def test_accept_changes_the_status_and_the_label_source(page, base_url, db, acme):
    page.goto(f"{base_url}/tenants/acme/intents")
    row(page, "refund_status").get_by_test_id("accept").click()
    expect(row(page, "refund_status").get_by_test_id("status")).to_have_text("accepted")
    expect(page.locator("#intents-status")).to_contain_text("Accepted refund_status")
    expect(page.get_by_test_id("current-source")).to_have_text("discovered")
    expect(row(page, "refund_status").get_by_test_id("accept")).to_have_count(0)
    assert proposals(db, "acme")["refund_status"][1] == "accepted"
    assert proposals(db, "acme")["card_arrival"][1] == "proposed"
    assert tenant_settings(db, "acme")["label_source"] == "discovered"


def test_rename_changes_the_name_inline(page, base_url, db, acme):
    page.goto(f"{base_url}/tenants/acme/intents")
    row(page, "card_arrival").get_by_test_id("rename").click()
    field = page.get_by_label("New name for card arrival")
    expect(field).to_be_focused()
    field.fill("Card delivery")
    page.get_by_test_id("rename-save").click()
    expect(row(page, "card_delivery").get_by_test_id("label")).to_have_text("Card delivery")
    expect(row(page, "card_arrival")).to_have_count(0)
    expect(page.locator("#intents-status")).to_contain_text("Renamed card_arrival")
    stored = proposals(db, "acme")
    assert stored["card_delivery"][0] == "Card delivery" and "card_arrival" not in stored


def test_a_refused_rename_shows_the_reason_and_changes_nothing(page, base_url, db, acme):
    page.goto(f"{base_url}/tenants/acme/intents")
    row(page, "card_arrival").get_by_test_id("rename").click()
    page.get_by_label("New name for card arrival").fill("refund status")
    page.get_by_test_id("rename-save").click()
    status = page.locator("#intents-status")
    expect(status).to_contain_text("Could not rename card_arrival: another intent is already called 'refund_status'")
    expect(status).to_have_class("alert")
    assert sorted(proposals(db, "acme")) == ["card_arrival", "password_reset", "refund_status"]


def test_merge_joins_two_selected_intents(page, base_url, db, acme):
    page.goto(f"{base_url}/tenants/acme/intents")
    merge = page.get_by_test_id("merge")
    expect(merge).to_be_disabled()
    page.get_by_label("Select card arrival to merge").check()
    expect(merge).to_be_disabled()
    page.get_by_label("Select refund status to merge").check()
    merge.click()
    expect(rows(page)).to_have_count(2)
    expect(row(page, "card_arrival").get_by_test_id("size")).to_have_text("10")
    expect(page.locator("#intents-status")).to_contain_text("Merged refund_status into card_arrival: 10 tickets")
    stored = proposals(db, "acme")
    assert sorted(stored) == ["card_arrival", "password_reset"]
    assert sorted(stored["card_arrival"][2]) == sorted(acme["card_arrival"] + acme["refund_status"])


def test_split_makes_new_proposals_from_an_intents_tickets(page, base_url, db, acme):
    page.goto(f"{base_url}/tenants/acme/intents")
    row(page, "password_reset").get_by_label("Parts to split password reset into").fill("2")
    row(page, "password_reset").get_by_test_id("split").click()
    expect(rows(page)).to_have_count(4, timeout=120_000)  # the first use exports the sentence encoder
    expect(page.locator("#intents-status")).to_contain_text("Split password_reset into")
    stored = proposals(db, "acme")
    assert "password_reset" not in stored and len(stored) == 4
    new = [ids for key, (_, _, ids) in stored.items() if key not in acme]
    assert sorted(i for ids in new for i in ids) == sorted(acme["password_reset"])


def test_the_use_this_source_button_sets_the_label_source(page, base_url, db, acme):
    page.goto(f"{base_url}/tenants/acme/intents")
    page.locator('tr[data-source="field:category"]').get_by_test_id("use-source").click()
    expect(page.get_by_test_id("current-source")).to_have_text("field:category")
    expect(page.locator("#labels-status")).to_contain_text("Intents now come from field:category (was intent): "
                                                           "15 of 15 tickets labelled, 3 intents")
    expect(page.locator('tr[data-source="field:category"]')).to_contain_text("In use")
    assert tenant_settings(db, "acme")["label_source"] == "field:category"


def test_a_stale_ranking_shows_why_a_source_cannot_be_used(page, base_url, db, acme):
    tenant_id = db.tenant_id("acme")
    with db.transaction(tenant_id) as session:  # since the ranking every ticket went to one category
        upsert_tickets(session, tenant_id, unlabelled_inbox({k: "General" for k in acme}))
    page.goto(f"{base_url}/tenants/acme/intents")
    page.locator('tr[data-source="field:category"]').get_by_test_id("use-source").click()
    status = page.locator("#labels-status")
    expect(status).to_contain_text("Could not use field:category: label source 'field:category' has one value")
    expect(status).to_have_class("alert")
    expect(page.get_by_test_id("current-source")).to_have_text("intent")
    assert "label_source" not in tenant_settings(db, "acme")


def test_an_unknown_tenant_has_no_intents_page(page, base_url, db):
    assert page.request.get(f"{base_url}/tenants/nobody/intents").status == 404
