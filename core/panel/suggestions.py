"""What every side panel shows and sends back, whichever helpdesk hosts it.

A panel knows the ticket by the helpdesk's own id. :func:`panel_suggestion` finds the stored ticket
(or, when its webhook has not been applied yet, suggests from the text the panel could read, cleaned
and cut like a stored message's: a long description is read up to its cap, never refused),
makes a stored suggestion so the agent's answer can refer to it, and adds what an agent needs at a
glance: the similar tickets with links back into the helpdesk, and the page the customer wrote from
when the ticket carries one. :func:`record_sent` turns the reply
the agent finally sent into the draft-versus-sent signal; :func:`record_wrong` is the agent saying
the suggestion was wrong.

A draft has one outcome: the first report of what was sent (the panel at send time, or the
helpdesk's webhook moments later) is the one recorded; see :func:`core.learning.feedback.record_signal`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from core.errors import BadInput, NotFound
from core.helpdesk.contract import HelpdeskError, registered
from core.helpdesk.page_fields import safe_state
from core.learning.feedback import record_signal
from core.runtime import Runtime
from core.store.tables import SignalRow, TicketRow
from core.suggesting.suggest import suggest
from core.text.normalize import clean_message
from core.types import PageContext, Signal, Suggestion

log = logging.getLogger(__name__)

#: How many of the suggestion's evidence tickets a panel lists.
SIMILAR_SHOWN = 3
#: How many app-state values of the customer's page a panel lists.
STATE_SHOWN = 5


@dataclass
class SimilarShown:
    external_id: str
    subject: str
    intent: str | None
    score: float
    url: str | None


@dataclass
class PageShown:
    """Where the customer was, as an agent needs it at a glance: the page, its title, the product
    area and a few app-state values (credential-named keys never; see :mod:`core.helpdesk.page_fields`)."""

    url: str | None
    title: str | None
    area: str | None
    route: str | None
    state: dict[str, Any]

    @classmethod
    def of(cls, stored: dict[str, Any] | None) -> PageShown | None:
        if not stored:
            return None
        context = PageContext.model_validate(stored)
        state = dict(list(safe_state(context.app_state).items())[:STATE_SHOWN])
        if not (context.url or context.title or context.area or context.route or state):
            return None
        return cls(context.url, context.title, context.area, context.route, state)


@dataclass
class PanelSuggestion:
    suggestion: Suggestion
    ticket_known: bool  # False: suggested from the panel's text, the ticket's webhook not yet applied
    similar: list[SimilarShown] = field(default_factory=list)
    page: PageShown | None = None


def ticket_url(helpdesk: str, domain: str | None, external_id: str) -> str | None:
    """The ticket's page in the helpdesk's agent interface, when the integration knows its shape."""
    desk = registered().get(helpdesk)
    template = desk.ticket_url_template if desk is not None else None
    if not template or not domain:
        return None
    return template.format(domain=domain.removeprefix("https://").strip("/"), id=external_id)


def panel_suggestion(runtime: Runtime, tenant: str, helpdesk: str, domain: str | None, external_id: str,
                     fallback_text: str | None = None) -> PanelSuggestion:
    """A stored suggestion for the helpdesk's ticket ``external_id``. :class:`NotFound` when the
    ticket is not stored and the panel sent no text to suggest from."""
    tenant_id = runtime.db.tenant_id(tenant)
    with runtime.db.tenant_session(tenant_id) as session:
        row = session.execute(select(TicketRow.id, TicketRow.text, TicketRow.requester_name, TicketRow.page_context)
                              .where(TicketRow.source == helpdesk, TicketRow.external_id == str(external_id))).first()
    if row is not None and row.text.strip():
        made = suggest(runtime, tenant, row.text, ticket_id=row.id, customer_name=row.requester_name,
                       page_context=row.page_context)
        known = True
    else:
        text = clean_message(fallback_text or "")  # cut at a message's cap, marked (core.text.limits)
        if not text:
            raise NotFound(f"Deskloop has not received {helpdesk} ticket {external_id} yet", field="ticket")
        made = suggest(runtime, tenant, text, ticket_id=row.id if row is not None else None)
        known = row is not None
    page = PageShown.of(row.page_context) if row is not None else None
    return PanelSuggestion(made, known, _similar(runtime, tenant_id, helpdesk, domain, made), page)


def _similar(runtime: Runtime, tenant_id: int, helpdesk: str, domain: str | None,
             made: Suggestion) -> list[SimilarShown]:
    shown = made.evidence[:SIMILAR_SHOWN]
    if not shown:
        return []
    with runtime.db.tenant_session(tenant_id) as session:
        rows = {r.id: r for r in session.execute(
            select(TicketRow.id, TicketRow.source, TicketRow.subject, TicketRow.intent)
            .where(TicketRow.id.in_([e.ticket_id for e in shown]))).all()}
    out = []
    for evidence in shown:
        row = rows.get(evidence.ticket_id)
        if row is None:
            continue
        url = ticket_url(helpdesk, domain, evidence.external_id) if row.source == helpdesk else None
        out.append(SimilarShown(evidence.external_id, row.subject or "", row.intent, evidence.score, url))
    return out


def sent_event(origin: str, suggestion_id: int) -> str:
    """The ``source_event`` of a sent-reply report, one per panel and draft."""
    return f"{origin}:sent:{suggestion_id}"


def was_sent(runtime: Runtime, tenant: str, origin: str, suggestion_id: int) -> bool:
    """Whether ``origin`` already reported the draft as sent (a repeated or replayed send)."""
    with runtime.db.tenant_session(runtime.db.tenant_id(tenant)) as session:
        return session.scalar(select(SignalRow.id).where(
            SignalRow.source_event == sent_event(origin, suggestion_id)).limit(1)) is not None


def record_sent(runtime: Runtime, tenant: str, origin: str, suggestion_id: int, sent: str,
                actor: str | None = None, channel: str = "reply") -> tuple[Signal, bool]:
    """The reply (or note) the agent sent from a panel, as ``draft_sent`` / ``draft_edited`` with
    its similarity to the draft. ``origin`` (``zendesk-panel``...) keys it, so a retried post counts once."""
    text = clean_message(sent)
    if not text:
        raise BadInput("the sent text is empty", field="text")
    signal, created = record_signal(runtime, tenant, Signal(
        kind="draft_sent", suggestion_id=suggestion_id, actor=actor, source_event=sent_event(origin, suggestion_id),
        payload={"sent": text, "channel": channel, "via": origin}))
    if created and signal.ticket_id is not None:
        _agent_took_over(runtime, tenant, signal.ticket_id, f"{origin}:sent:{suggestion_id}")
    return signal, created


def _agent_took_over(runtime: Runtime, tenant: str, ticket_id: int, event_id: str) -> None:
    """A person wrote on the ticket from a panel: if Deskloop had answered it on its own, the person
    has it now and Deskloop says nothing more there. The helpdesk's echo of a panel's reply is not
    always seen as a person's (Intercom marks what an app posts, the inbox app's Send included), so
    the send itself is the touch; a webhook echo later finds the ticket already with a person."""
    from core.autonomy.responder import agent_touched  # the autonomy layer answers through helpdesks

    with runtime.db.tenant_session(runtime.db.tenant_id(tenant)) as session:
        found = session.execute(select(TicketRow.source, TicketRow.external_id)
                                .where(TicketRow.id == ticket_id)).first()
    if found is None:
        return
    try:
        agent_touched(runtime, tenant, found.source, found.external_id, event_id)
    except HelpdeskError as exc:  # the handoff is recorded (no more autonomous replies); its note failed
        log.warning("handoff note after a panel send on %s ticket %s of %s failed: %s", found.source,
                    found.external_id, tenant, exc)


def record_wrong(runtime: Runtime, tenant: str, origin: str, suggestion_id: int, actor: str | None = None,
                 intent: str | None = None, note: str | None = None) -> tuple[Signal, bool]:
    """The agent says the suggestion was wrong: the right intent when they name it
    (``intent_changed``, a label), otherwise the draft is marked discarded."""
    payload: dict = {"via": origin, "reason": "agent marked the suggestion wrong"}
    if note:
        payload["note"] = note[:2000]
    if intent:
        payload["intent"] = intent
    return record_signal(runtime, tenant, Signal(
        kind="intent_changed" if intent else "draft_discarded", suggestion_id=suggestion_id, actor=actor,
        source_event=f"{origin}:wrong:{suggestion_id}", payload=payload))
