"""Signals and model versions from the command line: audit, revoke, list, roll back."""

from __future__ import annotations

import json

import click

from core.errors import BadInput
from core.runtime import Runtime


def register(group: click.Group) -> None:
    group.add_command(signals)
    group.add_command(models)


@click.group(invoke_without_command=True)
@click.option("--tenant", default=None, help="Tenant slug.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def signals(ctx: click.Context, tenant: str | None, limit: int, as_json: bool) -> None:
    """List the tenant's signals, newest first: what each changed and which model version learned it."""
    if ctx.invoked_subcommand is not None:
        return
    if tenant is None:
        raise click.UsageError("--tenant is required")
    from core.learning.audit import audited_signals

    rows = audited_signals(ctx.obj, tenant, limit)
    if as_json:
        click.echo(json.dumps({"signals": [
            {**a.signal.model_dump(mode="json"), "change": a.change, "trained_in": a.trained_in} for a in rows
        ]}, indent=2))
        return
    if not rows:
        click.echo(f"no signals for {tenant} yet")
    for a in rows:
        s = a.signal
        where = f"ticket {s.ticket_id}" if s.ticket_id else f"suggestion {s.suggestion_id}"
        click.echo(f"#{s.id} {s.created_at:%Y-%m-%d %H:%M} {s.kind:<16} {where:<16} by {s.actor or '-':<12} "
                   f"trained in {a.trained_in or '-':<24} {a.change}")


@signals.command()
@click.option("--tenant", required=True, help="Tenant slug.")
@click.argument("signal_id", type=int)
@click.pass_obj
def revoke(runtime: Runtime, tenant: str, signal_id: int) -> None:
    """Withdraw a signal: it stops influencing suggestions now and later model versions."""
    from core.feedback import revoke_signal

    revoked = revoke_signal(runtime, tenant, signal_id)
    click.echo(f"signal #{revoked.id} ({revoked.kind}) revoked at {revoked.revoked_at:%Y-%m-%d %H:%M:%S}")


@click.group(invoke_without_command=True)
@click.option("--tenant", default=None, help="Tenant slug.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def models(ctx: click.Context, tenant: str | None, as_json: bool) -> None:
    """List the tenant's model versions (the one in service marked) and refused retrains."""
    if ctx.invoked_subcommand is not None:
        return
    if tenant is None:
        raise click.UsageError("--tenant is required")
    from core.ml.training import registry_for

    ctx.obj.db.tenant_id(tenant)
    registry = registry_for(ctx.obj, tenant)
    current = registry.current_version()
    versions = registry.versions()
    if as_json:
        click.echo(json.dumps({"current": current, "versions": [
            {"version": v.version, "created_at": v.metadata.get("created_at"), "metrics": v.metadata.get("metrics", {}),
             "data": v.metadata.get("data", {}), "promotion": v.metadata.get("promotion", {}),
             "libraries": v.metadata.get("libraries", {}), "sha256": v.metadata.get("sha256")} for v in versions
        ], "refused": registry.refusals()}, indent=2))
        return
    if not versions:
        click.echo(f"{tenant} has no model yet; run `deskloop train --tenant {tenant}`")
    for v in versions:
        m = v.metadata
        marker = "*" if v.version == current else " "
        click.echo(f"{marker} {v.version}  {m.get('data', {}).get('tickets', 0):>7,} tickets  "
                   f"cv accuracy {m.get('metrics', {}).get('cv_accuracy') or 0:.3f}  "
                   f"{m.get('promotion', {}).get('reason', '')}")
    for r in registry.refusals():
        click.echo(f"  refused {r['at'][:19]}: {r['reason']}")


@models.command()
@click.option("--tenant", required=True, help="Tenant slug.")
@click.argument("version")
@click.pass_obj
def rollback(runtime: Runtime, tenant: str, version: str) -> None:
    """Put an earlier model VERSION back in service (checked: checksum, library versions)."""
    from core.ml.training import registry_for

    runtime.db.tenant_id(tenant)
    registry = registry_for(runtime, tenant)
    if version not in {v.version for v in registry.versions()}:
        raise BadInput(f"no model version {version!r} for tenant {tenant}; `deskloop models --tenant {tenant}` lists them")
    registry.load(version)  # refuses a tampered file or another scikit-learn's, before it goes live
    registry.promote(version)
    click.echo(f"{tenant} now serves model {version}")
