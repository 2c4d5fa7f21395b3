"""Adding a helpdesk is one package plus one entry-point line: a helpdesk defined only inside the
tests (:mod:`tests.toydesk`) is registered through an entry point, the way ``pyproject.toml``
registers the real ones, and driven through the core: connected with its own app setting, a
backfill of its history page by page, a signed webhook, and a suggestion with links into it."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from core.app import create_app
from core.cli import main
from core.dispatch import drains
from core.helpdesk import contract as helpdesks
from core.helpdesk.backfill import run_backfill
from core.helpdesk.connections import add_tenant, forget_connections
from core.learning.training import train_tenant
from core.panel.suggestions import panel_suggestion
from core.store.tables import TicketRow
from tests import toydesk
from tests.factories import small_inbox

SECRETS = {"api_key": "toy-key-1", "webhook_secret": "toy-secret-9"}


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """Toydesk installed as a distribution with one entry point, nothing else."""
    dist = tmp_path / "toydesk-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: toydesk\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[deskloop.integrations]\ntoydesk = tests.toydesk:INTEGRATION\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    helpdesks.registered.cache_clear()
    toydesk.HISTORY[:] = [t.model_copy(update={"source": "toydesk"}) for t in small_inbox()]
    yield
    helpdesks.registered.cache_clear()
    toydesk.HISTORY.clear()


@pytest.fixture
def app(installed, settings, db):
    forget_connections()
    app = create_app(settings)
    add_tenant(app.extensions["deskloop"], "toys", "toydesk", "toys.example", SECRETS, {"write_back_tags": False})
    yield app
    app.extensions["deskloop"].close()
    forget_connections()


def test_the_entry_point_is_all_it_takes_to_be_a_helpdesk(installed):
    assert "toydesk" in helpdesks.helpdesk_names()
    assert isinstance(helpdesks.integration("toydesk"), helpdesks.HelpdeskIntegration)


def test_its_app_setting_is_set_and_checked_by_the_generic_command(app):
    runner = CliRunner()
    shown = runner.invoke(main, ["tenant", "app", "toys", "--set", "toydesk_board=blue"])
    assert shown.exit_code == 0, shown.output
    assert "toydesk_board: blue  (the board whose tickets belong to this tenant)" in shown.output
    for bad, reason in (("toydesk_board=NOT OK", "must match"), ("zendesk_app_id=1", "has no setting"),
                        ("toydesk_board", "KEY=VALUE")):
        refused = runner.invoke(main, ["tenant", "app", "toys", "--set", bad])
        assert refused.exit_code == 2 and reason in refused.output, refused.output
    add_tenant(app.extensions["deskloop"], "toys2", "toydesk", "toys2.example", SECRETS)
    taken = runner.invoke(main, ["tenant", "app", "toys2", "--set", "toydesk_board=blue"])
    assert taken.exit_code == 2 and "already belongs to tenant 'toys'" in taken.output


def test_backfill_webhook_and_suggestion_go_through_the_core(app, db):
    runtime = app.extensions["deskloop"]
    summary = run_backfill(runtime, "toys")
    assert summary.received == len(toydesk.HISTORY) and summary.pages == (len(toydesk.HISTORY) + 1) // 2
    train_tenant(runtime, "toys")

    body = json.dumps(toydesk.delivery("ev-1", "T-900", "My new card still has not arrived")).encode()
    client = app.test_client()
    unsigned = client.post("/webhooks/toydesk/toys", data=body, headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    signed = client.post("/webhooks/toydesk/toys", data=body,
                         headers={"Content-Type": "application/json",
                                  "X-Toydesk-Signature": toydesk.sign(body, SECRETS["webhook_secret"])})
    assert signed.status_code == 200 and signed.get_json()["accepted"] == 1
    drains.wait_idle()  # applied by the background drain, after the answer
    with db.tenant_session(db.tenant_id("toys")) as session:
        stored = session.scalar(select(TicketRow).where(TicketRow.source == "toydesk",
                                                        TicketRow.external_id == "T-900"))
    assert stored is not None and "card" in stored.text and stored.tags == ["web"]

    shown = panel_suggestion(runtime, "toys", "toydesk", "toys.example", "T-900")
    assert shown.ticket_known and shown.suggestion.intent == "card_arrival" and shown.suggestion.draft
    assert shown.similar and all(s.url == f"https://toys.example/t/{s.external_id}" for s in shown.similar)
