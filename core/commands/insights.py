"""``deskloop insights run`` (scan for spikes now, or keep scanning), ``deskloop insights areas``
(the tenant's product areas) and ``deskloop deploy mark`` (a deploy marker)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import click

from core.errors import BadInput
from core.runtime import Runtime


def register(group: click.Group) -> None:
    group.add_command(insights)
    group.add_command(deploy)


@click.group()
def insights() -> None:
    """Volumes per category, spikes against each tenant's rhythm, incidents."""


@insights.command("run")
@click.option("--tenant", default=None, help="One tenant (default: every tenant).")
@click.option("--every", default=0, type=click.IntRange(0, 3600),
              help="Keep scanning, this many seconds apart (0: scan once and stop).")
@click.pass_obj
def run(runtime: Runtime, tenant: str | None, every: int) -> None:
    """Count new tickets and open, grow or end incidents; publishes each change once."""
    from core.insights.run import scan_all, scan_tenant

    while True:
        results = [scan_tenant(runtime, tenant)] if tenant else scan_all(runtime)
        for result in results:
            click.echo(f"{result.tenant}: {result.counted} new ticket(s) counted, {result.assessed} categories "
                       f"tested, {len(result.changes)} change(s)" + "".join(f"\n  {k}" for k in result.changes))
        if not every:
            return
        time.sleep(every)


@insights.command("areas")
@click.argument("mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--tenant", required=True)
@click.pass_obj
def areas(runtime: Runtime, mapping: Path, tenant: str) -> None:
    """Set the tenant's product areas from a JSON file: {"Billing": {"owner": "ana@example.com",
    "intents": [...], "tags": [...]}}. Names no ticket has are refused."""
    from core.insights.areas import set_areas

    try:
        raw = json.loads(mapping.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BadInput(f"not JSON: {exc.msg}", file=str(mapping), line=exc.lineno) from None
    stored = set_areas(runtime, tenant, raw)
    click.echo(f"{tenant}: {len(stored)} product area(s) set")


@click.group()
def deploy() -> None:
    """Deploy markers: an incident names the deploy that preceded it."""


@deploy.command("mark")
@click.option("--tenant", required=True)
@click.option("--service", required=True)
@click.option("--version", "version_", required=True)
@click.option("--at", "at", default=None, help="When (ISO 8601 with a time zone; default: now).")
@click.option("--link", default=None, help="The release or pipeline page.")
@click.pass_obj
def mark(runtime: Runtime, tenant: str, service: str, version_: str, at: str | None, link: str | None) -> None:
    """Record that SERVICE at VERSION was deployed."""
    from core.insights.deploys import mark as mark_deploy

    if at is None:
        when: object = datetime.now(UTC).isoformat()
    else:
        when = at
    marker = mark_deploy(runtime, tenant, {"service": service, "version": version_, "deployed_at": when,
                                            "link": link})
    click.echo(f"{tenant}: deploy of {marker.service} {marker.version} at {marker.deployed_at.isoformat()} marked")
