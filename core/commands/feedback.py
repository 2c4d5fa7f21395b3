"""Signals and model versions from the command line: audit, revoke, list, roll back."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console

from core.access import audit
from core.access.audit import cli_actor
from core.commands.ingest import reading_options, ticket_file_options
from core.errors import BadInput
from core.runtime import Runtime


def register(group: click.Group) -> None:
    group.add_command(signals)
    group.add_command(models)
    group.add_command(replay)


@click.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=str))
@click.option("--tenant", required=True, help="A new tenant to replay into.")
@click.option("--block-size", default=500, show_default=True, type=click.IntRange(1, None),
              help="Tickets per point of the learning curve.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@ticket_file_options
@click.pass_obj
def replay(runtime: Runtime, path: str, tenant: str, block_size: int, as_json: bool, **flags) -> None:
    """Stream labelled tickets from PATH in time order through the whole loop (suggest, a simulated
    agent who sends right drafts and corrects wrong ones, signals, learning) and print the learning
    curve per block, beside a model frozen after the first block."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from core.suggesting.evaluation import read_tickets
    from core.suggesting.replay import replay as run_replay

    tickets = read_tickets(Path(path), **reading_options(flags))
    with Progress(TextColumn("replaying"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True), disable=as_json or not sys.stderr.isatty()) as bar:
        task = bar.add_task("replay", total=len(tickets))
        result = run_replay(runtime, tenant, tickets, block_size, source=Path(path).name,
                            progress=lambda n: bar.update(task, completed=n))
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(f"{'block':>5} {'n':>5} {'accuracy':>9} {'frozen':>7} {'accepted':>9} {'similarity':>10} {'abstain':>8}")
    for i, (live, frozen) in enumerate(zip(result["blocks"], result["frozen_blocks"], strict=True), start=1):
        sim = "-" if live["similarity"] is None else f"{live['similarity']:.3f}"
        click.echo(f"{i:>5} {live['n']:>5} {live['accuracy']:>9.3f} {frozen['accuracy']:>7.3f} "
                   f"{live['acceptance']:>9.3f} {sim:>10} {live['abstain_rate']:>8.3f}")
    click.echo(f"offline 5-fold cross-validated accuracy: {result['offline_cv_accuracy']:.3f}")


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
    from core.learning.feedback import revoke_signal

    revoked = revoke_signal(runtime, tenant, signal_id)
    audit.record(runtime, cli_actor(), "signal.revoke", tenant=tenant, target=f"signal:{signal_id}")
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
    from core.learning.training import registry_for

    ctx.obj.db.tenant_id(tenant)
    registry = registry_for(ctx.obj, tenant)
    current = registry.current_version()
    versions = registry.versions()
    if as_json:
        click.echo(json.dumps({"current": current, "versions": [
            {"version": v.version, "created_at": v.metadata.get("created_at"), "metrics": v.metadata.get("metrics", {}),
             "data": v.metadata.get("data", {}), "promotion": v.metadata.get("promotion", {}),
             "libraries": v.metadata.get("libraries", {}), "sha256": v.metadata.get("sha256"),
             "size": v.metadata.get("size")} for v in versions
        ], "refused": registry.refusals()}, indent=2))
        return
    if not versions:
        click.echo(f"{tenant} has no model yet; run `deskloop train --tenant {tenant}`")
    for v in versions:
        m = v.metadata
        marker = "*" if v.version == current else " "
        click.echo(f"{marker} {v.version}  {m.get('data', {}).get('tickets', 0):>7,} tickets  "
                   f"cv accuracy {m.get('metrics', {}).get('cv_accuracy') or 0:.3f}  "
                   f"{_megabytes(m.get('size'))}  sha256 {str(m.get('sha256'))[:12]}  "
                   f"{m.get('promotion', {}).get('reason', '')}")
    for r in registry.refusals():
        click.echo(f"  refused {r['at'][:19]}: {r['reason']}")


@models.command()
@click.option("--tenant", required=True, help="Tenant slug.")
@click.argument("version")
@click.pass_obj
def rollback(runtime: Runtime, tenant: str, version: str) -> None:
    """Put an earlier model VERSION back in service (checked: checksum, library versions)."""
    from core.learning.training import registry_for

    runtime.db.tenant_id(tenant)
    registry = registry_for(runtime, tenant)
    if version not in {v.version for v in registry.versions()}:
        raise BadInput(f"no model version {version!r} for tenant {tenant}; "
                       f"`deskloop models --tenant {tenant}` lists them")
    registry.load(version)  # refuses a tampered file or another scikit-learn's, before it goes live
    registry.promote(version)
    audit.record(runtime, cli_actor(), "model.rollback", tenant=tenant, target=version)
    click.echo(f"{tenant} now serves model {version}")


def _megabytes(size: int | None) -> str:
    return f"{size / 1e6:>8.2f} MB" if size is not None else "       ? MB"


@models.command()
@click.option("--tenant", required=True, help="Tenant slug.")
@click.option("--fetch", is_flag=True, help="Fetch a missing or damaged copy from the database.")
@click.pass_obj
def verify(runtime: Runtime, tenant: str, fetch: bool) -> None:
    """Check this machine's copies of the tenant's models against the checksums in the database.

    A damaged copy is removed (the next load fetches it again); exit code 1 when one was found."""
    from core.learning.training import registry_for

    runtime.db.tenant_id(tenant)
    found = registry_for(runtime, tenant).check_cache(fetch=fetch)
    for version, state in found.items():
        click.echo(f"{version}  {state}")
    if not found:
        click.echo(f"{tenant} has no model yet")
    if "damaged" in found.values():
        raise SystemExit(1)
