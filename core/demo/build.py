"""Build the demo tenant: simulate a history, import it, train, and record a first edited draft."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import select

from core.demo.simulate import write_history
from core.ingest.importer import import_file
from core.learning.feedback import record_signal
from core.learning.training import train_tenant
from core.runtime import Runtime
from core.store.tables import TicketRow
from core.suggesting.suggest import suggest_for_ticket
from core.types import Signal


def build_demo(runtime: Runtime, tenant: str, end: date, seed: int = 7, count: int | None = None,
               report: Callable[[str], None] = lambda line: None) -> list[str]:
    """Create or refresh ``tenant`` from the seeded history. Each step's line goes to ``report`` as
    it finishes (training takes minutes, so the user sees progress) and all lines are returned."""
    lines, say = _collector(report)
    history = runtime.settings.home / "demo" / "history.jsonl"
    history.parent.mkdir(parents=True, exist_ok=True)
    written = write_history(history, count=count, seed=seed, end=end)
    say(f"simulated {written} tickets over eight weeks into {history}")
    result = import_file(runtime.db, history, tenant)
    say(result.summary())
    report("training the demo model (about two minutes)...")
    stored = train_tenant(runtime, tenant)
    metrics = stored.metadata["metrics"]
    say(
        f"trained model {stored.version}: {metrics['n_intents']} intents, cross-validated accuracy "
        f"{metrics['cv_accuracy']:.3f}, {metrics['n_resolved']} resolved tickets to draft from"
    )
    say(_first_signal(runtime, tenant))
    return lines


def _collector(report: Callable[[str], None]) -> tuple[list[str], Callable[[str], None]]:
    """The lines a build returns, and ``say``, which keeps a line and reports it at once."""
    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        report(line)

    return lines, say


def _first_signal(runtime: Runtime, tenant: str) -> str:
    """Play an agent once: take the newest open ticket's draft, edit it, send it."""
    tenant_id = runtime.db.tenant_id(tenant)
    with runtime.db.tenant_session(tenant_id) as session:
        open_ids = session.scalars(
            select(TicketRow.id).where(TicketRow.status.in_(("new", "open")))
            .order_by(TicketRow.created_at.desc()).limit(50)
        ).all()
    for ticket_id in open_ids:
        suggestion = suggest_for_ticket(runtime, tenant, ticket_id)
        if suggestion and suggestion.draft:
            sent = suggestion.draft.replace("— ", "Let me know if anything else comes up.\n— ", 1)
            signal, _ = record_signal(runtime, tenant, Signal(
                kind="draft_edited", suggestion_id=suggestion.id, actor="demo-agent",
                payload={"sent": sent}, source_event=f"demo:first-edit:{ticket_id}",
            ))
            return (f"recorded a first signal: {signal.kind} on ticket {ticket_id} "
                    f"(similarity {signal.payload['similarity']:.2f})")
    return "no open ticket had a confident draft; no signal recorded"


def build_helpdesk_demo(runtime: Runtime, tenant: str, end: date, seed: int = 7, count: int | None = None,
                        report: Callable[[str], None] = lambda line: None) -> list[str]:
    """Create or refresh ``tenant`` from a history shaped like a real Zendesk account: no intent
    field, tags with automation tags mixed in, a category dropdown on about 60% of tickets,
    types, groups, forms, macros. Trains what can be trained without intents (similar tickets,
    drafts, tags) and ranks the label sources, as a team connecting its helpdesk would see it."""
    from core.demo.helpdesk_shaped import FIELD_NAMES, write_helpdesk_history
    from core.labelling.settings import suggest_sources
    from core.store.tenants import locked_tenant

    lines, say = _collector(report)
    history = runtime.settings.home / "demo" / "helpdesk-history.jsonl"
    history.parent.mkdir(parents=True, exist_ok=True)
    written = write_helpdesk_history(history, count=count, seed=seed, end=end)
    say(f"simulated {written} helpdesk-shaped tickets (no intent field) into {history}")
    say(import_file(runtime.db, history, tenant).summary())
    tenant_id = runtime.db.tenant_id(tenant)
    with runtime.db.transaction() as session:  # the dropdown's name, as the helpdesk shows it
        row = locked_tenant(session, tenant_id)
        row.settings = {**(row.settings or {}), "field_names": FIELD_NAMES}
    report("training what needs no intents: similar tickets, drafts, tags (about two minutes)...")
    stored = train_tenant(runtime, tenant)
    metrics = stored.metadata["metrics"]
    say(f"trained model {stored.version} without intents: {metrics['n_resolved']} resolved tickets to draft from, "
        f"{metrics.get('n_tags_learned', 0)} tags learned")
    _, reports = suggest_sources(runtime, tenant)
    best = [r for r in reports if not r.rejected][:3]
    say("where intents could come from: " + "; ".join(f"{r.source} ({r.description}, {r.classes} classes, "
                                                      f"{r.coverage:.0%} of tickets)" for r in best))
    return lines
