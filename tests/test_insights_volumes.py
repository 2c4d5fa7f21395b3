"""Volumes counted once per ticket, at its creation hour, whatever brought it: a webhook, an
import; a second scan counts nothing again. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from core.cli import main
from core.errors import BadInput
from core.insights.areas import set_areas
from core.insights.run import scan_tenant
from core.store.tables import VolumeCursorRow, VolumeRow
from core.store.tickets import upsert_tickets
from tests.factories import make_ticket
from tests.test_webhooks import acme, app, client, deliver, fixture  # noqa: F401

WHEN = datetime(2026, 2, 3, 9, 25, tzinfo=UTC)


def volumes(db) -> dict[tuple[str, str, int], int]:
    with acme(db) as session:
        return {(r.kind, r.category, r.hour.hour): r.count for r in session.scalars(select(VolumeRow))}


def _import(db, tickets) -> None:
    tenant_id = db.tenant_id("acme")
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, tickets)


def test_webhook_and_imported_tickets_are_counted_once_in_their_creation_hour(app, client, db):
    runtime = app.extensions["deskloop"]
    assert deliver(client, fixture("ticket.created")).status_code == 200
    first = scan_tenant(runtime, "acme", now=WHEN)
    assert first.counted == 1 and sum(volumes(db).values()) >= 1  # at least its tags or intent
    _import(db, [make_ticket("imp-1", "card lost", intent="card_lost", created=WHEN, tags=["cards", "urgent"]),
                 make_ticket("imp-2", "card lost again", intent="card_lost", created=WHEN.replace(minute=50),
                             tags=["cards"])])
    second = scan_tenant(runtime, "acme", now=WHEN)
    assert second.counted == 2
    counted = volumes(db)
    assert counted[("intent", "card_lost", 9)] == 2
    assert counted[("tag", "cards", 9)] == 2 and counted[("tag", "urgent", 9)] == 1
    assert scan_tenant(runtime, "acme", now=WHEN).counted == 0  # incremental: nothing twice
    assert volumes(db) == counted
    _import(db, [make_ticket("imp-1", "card lost, edited", intent="card_lost", created=WHEN, tags=["cards"])])
    assert scan_tenant(runtime, "acme", now=WHEN).counted == 0  # an update is not a new ticket
    with acme(db) as session:
        assert session.scalar(select(VolumeCursorRow.last_ticket_id)) > 0


def test_product_areas_count_their_intents_and_tags_and_refuse_unknown_names(app, db):
    runtime = app.extensions["deskloop"]
    _import(db, [make_ticket("a-1", "refund please", intent="refund", created=WHEN, tags=["billing"])])
    with pytest.raises(BadInput, match="no_such_intent"):
        set_areas(runtime, "acme", {"Payments": {"owner": "ana@example.com", "intents": ["no_such_intent"]}})
    with pytest.raises(BadInput, match="email"):
        set_areas(runtime, "acme", {"Payments": {"owner": "ana", "intents": ["refund"]}})
    set_areas(runtime, "acme", {"Payments": {"owner": "ana@example.com", "intents": ["refund"], "tags": ["billing"]}})
    _import(db, [make_ticket("a-2", "refund again", intent="refund", created=WHEN)])
    scan_tenant(runtime, "acme", now=WHEN)
    assert volumes(db)[("area", "Payments", 9)] == 2


def test_the_areas_command_exits_2_on_bad_input(app, db, tmp_path):
    bad = tmp_path / "areas.json"
    bad.write_text('{"Payments": {"intents": ["nope"]}}')
    result = CliRunner().invoke(main, ["insights", "areas", str(bad), "--tenant", "acme"])
    assert result.exit_code == 2 and "nope" in result.output


def test_tickets_the_model_found_unfamiliar_count_as_an_emerging_group_of_their_cluster(app, db):
    from core.store.tables import SuggestionRow, TicketRow

    runtime = app.extensions["deskloop"]
    _import(db, [make_ticket("u-1", "the new widget eats my files", created=WHEN),
                 make_ticket("u-2", "widget ate my files", created=WHEN),
                 make_ticket("k-1", "card lost", created=WHEN)])
    tenant_id = db.tenant_id("acme")
    with db.transaction(tenant_id) as session:
        rows = {t.external_id: t for t in session.scalars(select(TicketRow))}
        for external_id, reason, intent in (("u-1", "unfamiliar", None), ("u-2", "unfamiliar", None),
                                            ("k-1", None, "card_lost")):
            rows[external_id].cluster_key = 7 if external_id.startswith("u") else 3
            session.add(SuggestionRow(tenant_id=tenant_id, ticket_id=rows[external_id].id, text="",
                                      intent=intent, confidence=0.2, abstained=reason is not None,
                                      abstain_reason=reason))
    scan_tenant(runtime, "acme", now=WHEN)
    counted = volumes(db)
    assert counted[("cluster", "unfamiliar:7", 9)] == 2 and counted[("cluster", "7", 9)] == 2
    assert counted[("intent", "card_lost", 9)] == 1  # the model's intent when the helpdesk had none
    assert not any(c.startswith("unfamiliar:") and c != "unfamiliar:7" for _, c, _ in counted)
