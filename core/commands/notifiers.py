"""Alert sinks: ``deskloop notifier add|list|remove`` (Slack, Linear, any installed notifier)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from core.access import audit
from core.access.audit import cli_actor
from core.errors import BadInput
from core.runtime import Runtime


def register(group: click.Group) -> None:
    group.add_command(notifier)


@click.group()
def notifier() -> None:
    """Where a tenant's incident alerts go (Slack messages, Linear issues)."""


@notifier.command("add")
@click.argument("kind")
@click.option("--tenant", required=True, help="Tenant slug.")
@click.option("--credentials", "credentials_file", type=click.Path(path_type=Path),
              help="File with the token or API key (JSON, or NAME=value lines: bot_token=… for slack, "
                   "api_key=… for linear).")
@click.option("--credentials-env", is_flag=True,
              help="Read credentials from DESKLOOP_CREDENTIAL_<NAME> environment variables instead.")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE",
              help="A setting (repeatable). slack: channel=C…; linear: default_team=…, team.<area>=…, "
                   "cooldown_days=7, owner_role=assignee|subscriber.")
@click.option("--replace", is_flag=True, help="Overwrite the tenant's existing notifier of this kind.")
@click.pass_obj
def notifier_add(runtime: Runtime, kind: str, tenant: str, credentials_file: Path | None, credentials_env: bool,
                 assignments: tuple[str, ...], replace: bool) -> None:
    """Send tenant's incident alerts to KIND (slack, linear). Credentials never go on the command
    line: they come from a file or the environment, and are stored encrypted with DESKLOOP_SECRET_KEY."""
    from core.helpdesk.connections import read_credentials_env, read_credentials_file
    from core.notify.contract import notifier as find
    from core.notify.store import add_notifier

    find(kind)  # an unknown kind is named before anything else is read
    if (credentials_file is None) == (not credentials_env):
        raise BadInput("give the credentials with exactly one of --credentials FILE or --credentials-env")
    credentials = read_credentials_file(credentials_file) if credentials_file else read_credentials_env()
    pairs = []
    for assignment in assignments:
        key, sep, value = assignment.partition("=")
        if not sep or not key.strip():
            raise BadInput(f"--set takes KEY=VALUE, got {assignment!r}", field="set")
        pairs.append((key.strip(), value))
    added = add_notifier(runtime, tenant, kind, credentials, pairs, replace=replace)
    audit.record(runtime, cli_actor(), "notifier.add", tenant=tenant, target=kind,
                 detail={"settings": added.settings, "replace": replace})
    click.echo(f"{kind} notifier for {tenant} stored (credentials encrypted: {', '.join(added.credentials)}); "
               f"settings: {json.dumps(added.settings, sort_keys=True)}")


@notifier.command("list")
@click.option("--tenant", default=None, help="Only this tenant's notifiers.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def notifier_list(runtime: Runtime, tenant: str | None, as_json: bool) -> None:
    """Notifiers, their settings and which credentials are set (never their values)."""
    from core.notify.store import list_notifiers

    found = list_notifiers(runtime, tenant)
    if as_json:
        click.echo(json.dumps([n.__dict__ for n in found], indent=2))
        return
    if not found:
        click.echo("no notifiers yet")
    for n in found:
        settings = json.dumps(n.settings, sort_keys=True)
        click.echo(f"{n.tenant:<24} {n.kind:<8} {', '.join(n.credentials):<12} {settings}")


@notifier.command("remove")
@click.argument("kind")
@click.option("--tenant", required=True, help="Tenant slug.")
@click.pass_obj
def notifier_remove(runtime: Runtime, kind: str, tenant: str) -> None:
    """Stop sending tenant's alerts to KIND (what was already posted stays where it is)."""
    from core.notify.store import remove_notifier

    remove_notifier(runtime, tenant, kind)
    audit.record(runtime, cli_actor(), "notifier.remove", tenant=tenant, target=kind)
    click.echo(f"{kind} notifier for {tenant} removed")
