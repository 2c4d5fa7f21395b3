"""The signals page (audit and revoke) and the learning-curve page, in a real browser."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from core.cli import main
from core.store.tables import SignalRow
from tests.browser_support import expect, screenshot
from tests.test_replay import _history

pytestmark = pytest.mark.browser


@pytest.fixture
def replayed(settings, db, tmp_path) -> dict:
    path = tmp_path / "history.jsonl"
    _history(path, rounds=6)
    result = CliRunner().invoke(main, ["replay", str(path), "--tenant", "loop", "--block-size", "25", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_learning_page_plots_the_replay_curve(page, base_url, replayed):
    page.goto(f"{base_url}/tenants/loop/learning")
    chart = page.get_by_test_id("curve-chart")
    expect(chart).to_have_attribute("data-ready", "true")
    assert chart.get_attribute("data-points") == str(len(replayed["blocks"]))
    box = chart.bounding_box()
    assert box["width"] > 300 and box["height"] > 150  # drawn, not collapsed
    drawn = page.evaluate("""() => {
        const c = document.getElementById('curve');
        const pixels = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let inked = 0;
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) inked++;
        return inked;
    }""")
    assert drawn > 1000
    rows = page.get_by_test_id("curve-table").locator("tbody tr")
    expect(rows).to_have_count(len(replayed["blocks"]))
    expect(page.get_by_test_id("last-live")).to_have_text(f"{replayed['blocks'][-1]['accuracy']:.3f}")
    screenshot(page, "learning-curve.png")


def test_the_learning_page_without_a_replay_says_how_to_get_one(page, base_url, db):
    db.ensure_tenant("empty")
    page.goto(f"{base_url}/tenants/empty/learning")
    expect(page.get_by_test_id("no-replay")).to_contain_text("deskloop replay FILE --tenant empty")
    assert page.request.get(f"{base_url}/tenants/nobody/learning").status == 404


def test_a_signal_is_revoked_from_the_signals_page(narrow_page, base_url, replayed, db):
    page = narrow_page
    page.goto(f"{base_url}/tenants/loop/signals")
    table = page.get_by_test_id("signals-table")
    expect(table).to_be_visible()
    first = table.locator("tbody tr").first
    signal_id = int(first.get_attribute("data-signal-id"))
    expect(first.get_by_test_id("change")).not_to_have_text("revoked: no longer used")
    first.get_by_test_id("revoke").click()
    expect(first.get_by_test_id("change")).to_have_text("revoked: no longer used")
    expect(page.locator("#signals-status")).to_contain_text(f"Signal #{signal_id} revoked")
    with db.tenant_session(db.tenant_id("loop")) as session:
        assert session.scalar(select(SignalRow.revoked_at).where(SignalRow.id == signal_id)) is not None
    screenshot(page, "signals-320.png")
