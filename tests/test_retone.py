"""``deskloop retone``: stored customer messages read again by the current tone reader (after an
upgrade that changed it), on both databases, one tenant at a time, only what changed written."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select, update

from core.cli import main
from core.store.tables import MessageRow, TicketRow
from core.store.tickets import upsert_tickets
from tests.factories import make_ticket

FRUSTRATED = "Honestly this is terrible service, third email and no reply"


def _stale(db, slug: str) -> int:
    """A tenant whose one ticket was read by an older reader: its customer message stored pleased."""
    tenant_id = db.ensure_tenant(slug)
    ticket = make_ticket("t-1", "Someone stole my card, please block it", "lost_card", "We blocked it.")
    ticket.messages.append(ticket.messages[0].model_copy(update={"body": FRUSTRATED}))
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, [ticket])
        session.execute(update(MessageRow).where(MessageRow.body == FRUSTRATED)
                        .values(sentiment="pleased", sentiment_score=0.5))
        session.execute(update(TicketRow).values(sentiment="pleased"))
    return tenant_id


def _tones(db, tenant_id: int):
    with db.tenant_session(tenant_id) as session:
        messages = session.execute(select(MessageRow.sentiment, MessageRow.urgent)
                                   .where(MessageRow.author_role == "customer").order_by(MessageRow.position)).all()
        ticket = session.execute(select(TicketRow.sentiment, TicketRow.urgent)).one()
    return [tuple(m) for m in messages], tuple(ticket)


def test_retone_reads_stale_tones_again_for_the_tenant_named(settings, db):
    acme, beta = _stale(db, "acme"), _stale(db, "beta")
    runner = CliRunner()
    ran = runner.invoke(main, ["retone", "--tenant", "acme"])
    assert ran.exit_code == 0, ran.output
    assert "acme: 2 customer message(s) of 1 ticket(s) read again; 1 message(s) and 1 ticket(s) changed" in ran.output
    messages, ticket = _tones(db, acme)
    assert messages == [("neutral", True), ("frustrated", False)]
    assert ticket == ("frustrated", True)
    assert _tones(db, beta)[1] == ("pleased", True)  # another tenant is left as it was

    again = runner.invoke(main, ["retone"])  # every tenant: acme has nothing left to change
    assert again.exit_code == 0, again.output
    assert "acme: 2 customer message(s) of 1 ticket(s) read again; 0 message(s) and 0 ticket(s)" in again.output
    assert "beta: 2 customer message(s) of 1 ticket(s) read again; 1 message(s) and 1 ticket(s)" in again.output


def test_retone_of_an_unknown_tenant_exits_2(settings, db):
    ran = CliRunner().invoke(main, ["retone", "--tenant", "nobody"])
    assert ran.exit_code == 2 and "nobody" in ran.output
