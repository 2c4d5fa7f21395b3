"""Suggestions back into the helpdesk: the suggested tags on the ticket, the draft as a private note.

Runs as a job after a customer message arrives (never inside the webhook request), through the
tenant's helpdesk client. What is written is a per-tenant choice (``write_back_tags``, default on;
``private_note``, default off). Nothing is written when Deskloop abstains or has no model yet:
a wrong tag on a real ticket costs an agent more than no tag.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from core.helpdesk.connections import connection
from core.helpdesk.contract import integration
from core.learning.training import registry_for
from core.runtime import for_jobs
from core.store.tables import TicketRow
from core.suggesting.suggest import suggest_for_ticket

log = logging.getLogger(__name__)

NOTE_HEADER = "Deskloop draft (edit before sending)"


def write_back(tenant_slug: str, helpdesk: str, ticket_external_id: str) -> str:
    """Suggest for the ticket and write what the tenant allows; returns what was done."""
    runtime = for_jobs()
    conn = connection(runtime, tenant_slug)
    wants_tags, wants_note = bool(conn.settings.get("write_back_tags")), bool(conn.settings.get("private_note"))
    if not (wants_tags or wants_note):
        return "write-back off"
    if registry_for(runtime, tenant_slug).current_version() is None:
        return "no model yet"
    tenant_id = runtime.db.tenant_id(tenant_slug)
    with runtime.db.tenant_session(tenant_id) as session:
        ticket_id = session.scalar(select(TicketRow.id).where(TicketRow.source == helpdesk,
                                                              TicketRow.external_id == ticket_external_id))
    if ticket_id is None:
        return "no such ticket"
    suggestion = suggest_for_ticket(runtime, tenant_slug, ticket_id)
    if suggestion is None or suggestion.abstained:
        return "abstained"
    client = integration(helpdesk).client(conn)
    done = []
    tags = [t.tag for t in suggestion.tags]
    if wants_tags and tags:
        client.apply_tags(ticket_external_id, tags)
        done.append(f"tags {', '.join(tags)}")
    if wants_note and suggestion.draft:
        client.add_private_note(ticket_external_id, f"{NOTE_HEADER}, {suggestion.intent} "
                                                    f"({suggestion.confidence:.0%}):\n\n{suggestion.draft}")
        done.append("private note")
    log.info("wrote back to %s ticket %s for %s: %s", helpdesk, ticket_external_id, tenant_slug, "; ".join(done))
    return "; ".join(done) or "nothing to write"
