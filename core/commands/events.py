"""``deskloop events``: where a tenant's webhook events stand, the quarantined ones, and a retry.

An event that failed to apply every attempt is quarantined (:mod:`core.helpdesk.event_failures`)
so the tenant's later events go on; these commands show it to an operator and apply it again
once the cause is fixed. Everything is scoped to the ``--tenant`` given: another tenant's event id
is "no such event", exactly as an id that does not exist.
"""

from __future__ import annotations

import json

import click

from core.access import audit
from core.access.audit import cli_actor
from core.runtime import Runtime


def register(group: click.Group) -> None:
    group.add_command(events)


@click.group(invoke_without_command=True)
@click.option("--tenant", help="Tenant slug.")
@click.option("--failed", is_flag=True, help="List the quarantined events (failed every attempt).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def events(ctx: click.Context, tenant: str | None, failed: bool, as_json: bool) -> None:
    """A tenant's webhook events: how many are applied, pending, retrying or quarantined; with
    --failed, the quarantined ones (id, helpdesk, kind, ticket, attempts, error, times)."""
    if ctx.invoked_subcommand is not None:
        return
    if tenant is None:
        raise click.UsageError("pass --tenant SLUG")
    from core.helpdesk.event_failures import event_counts, quarantined_events

    runtime: Runtime = ctx.obj
    if failed:
        found = quarantined_events(runtime, tenant)
        if as_json:
            click.echo(json.dumps({"tenant": tenant, "quarantined": [e.as_json() for e in found]}, indent=2))
            return
        if not found:
            click.echo(f"tenant {tenant} has no quarantined webhook events")
            return
        for e in found:
            click.echo(f"{e.id:<8} {e.helpdesk:<10} {e.kind:<18} ticket {e.ticket_external_id:<14} "
                       f"attempts {e.attempts}  occurred {e.occurred_at:%Y-%m-%d %H:%M:%S}  "
                       f"received {e.received_at:%Y-%m-%d %H:%M:%S}  quarantined {e.quarantined_at:%Y-%m-%d %H:%M:%S}"
                       f"\n         error: {e.error or '-'}")
        click.echo(f"retry one after the fix with `deskloop events retry ID --tenant {tenant}`")
        return
    counts = event_counts(runtime, tenant)
    if as_json:
        click.echo(json.dumps({"tenant": tenant, **vars(counts)}, indent=2))
        return
    click.echo(f"tenant {tenant}: {counts.applied} applied, {counts.pending} pending, "
               f"{counts.retrying} waiting for a retry, {counts.quarantined} quarantined")


@events.command("retry")
@click.argument("event_id", type=int)
@click.option("--tenant", required=True, help="Tenant slug the event belongs to.")
@click.pass_obj
def retry(runtime: Runtime, event_id: int, tenant: str) -> None:
    """Apply quarantined event EVENT_ID of the tenant again, now (after fixing what refused it).
    Exit code 2 for an id the tenant does not have or an event that is not quarantined; 1 when it
    fails again (it goes back to quarantine with the new error)."""
    from core.helpdesk.webhook_events import retry_quarantined

    row = retry_quarantined(runtime, tenant, event_id)
    applied = row.processed_at is not None
    audit.record(runtime, cli_actor(), "event.retry", tenant=tenant, target=str(event_id),
                 detail={"applied": applied})
    if applied:
        click.echo(f"webhook event {event_id} applied: {row.outcome}")
        return
    click.echo(f"Error: webhook event {event_id} failed again and is back in quarantine: {row.last_error}", err=True)
    raise SystemExit(1)
