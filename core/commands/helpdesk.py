"""Connecting helpdesks: ``deskloop tenant add|list|app|rotate-secrets`` and ``deskloop backfill``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from core.access import audit
from core.access.audit import cli_actor
from core.errors import BadInput
from core.runtime import Runtime


def register(group: click.Group) -> None:
    group.add_command(tenant)
    group.add_command(backfill)


@click.group()
def tenant() -> None:
    """Tenants and the helpdesk accounts they are connected to."""


@tenant.command("add")
@click.argument("name")
@click.option("--helpdesk", required=True,
              help="An installed helpdesk integration (zendesk, freshdesk, intercom, ...).")
@click.option("--domain", required=True, help="The account's address: acme.zendesk.com, acme.freshdesk.com, "
                                              "or Intercom's API host (api.intercom.io, api.eu.intercom.io, ...).")
@click.option("--credentials", "credentials_file", type=click.Path(path_type=Path),
              help="File with the API credentials and webhook secret (JSON, or NAME=value lines).")
@click.option("--credentials-env", is_flag=True,
              help="Read credentials from DESKLOOP_CREDENTIAL_<NAME> environment variables instead.")
@click.option("--write-back-tags/--no-write-back-tags", default=True, show_default=True,
              help="Apply suggested tags to tickets in the helpdesk.")
@click.option("--private-note/--no-private-note", default=False, show_default=True,
              help="Add the draft to the ticket as an internal note.")
@click.option("--api-url", default=None, help="Reach the helpdesk API at this base URL instead (a proxy).")
@click.option("--replace", is_flag=True, help="Reconnect a tenant already connected to a helpdesk.")
@click.option("--check/--no-check", default=True, show_default=True,
              help="Call the helpdesk to prove the credentials and learn which user Deskloop acts as.")
@click.pass_obj
def tenant_add(runtime: Runtime, name: str, helpdesk: str, domain: str, credentials_file: Path | None,
               credentials_env: bool, write_back_tags: bool, private_note: bool, api_url: str | None,
               replace: bool, check: bool) -> None:
    """Connect tenant NAME to a helpdesk account. Credentials never go on the command line (shell
    history, process lists): they come from a file or the environment, and are stored encrypted
    with DESKLOOP_SECRET_KEY."""
    from core.helpdesk.connections import add_tenant, read_credentials_env, read_credentials_file

    if (credentials_file is None) == (not credentials_env):
        raise BadInput("give the credentials with exactly one of --credentials FILE or --credentials-env")
    credentials = read_credentials_file(credentials_file) if credentials_file else read_credentials_env()
    settings: dict[str, Any] = {"write_back_tags": write_back_tags, "private_note": private_note}
    if api_url:
        settings["api_url"] = api_url.rstrip("/")
    added = add_tenant(runtime, name, helpdesk, domain, credentials, settings, replace=replace, check=check)
    audit.record(runtime, cli_actor(), "tenant.add", tenant=added.slug, target=added.slug,
                 detail={"helpdesk": added.helpdesk, "domain": added.domain, "replace": replace})
    click.echo(f"tenant {added.slug} connected to {added.helpdesk} at {added.domain} "
               f"(credentials stored encrypted: {', '.join(added.credentials)}); "
               f"webhook URL: https://<your deskloop host>/webhooks/{added.helpdesk}/{added.slug}")


@tenant.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def tenant_list(runtime: Runtime, as_json: bool) -> None:
    """Tenants, their helpdesk, and which credentials are set (never their values)."""
    from core.helpdesk.connections import list_tenants

    tenants = list_tenants(runtime)
    if as_json:
        click.echo(json.dumps([t.__dict__ for t in tenants], indent=2))
        return
    if not tenants:
        click.echo("no tenants yet")
    for t in tenants:
        creds = ", ".join(t.credentials) or "no credentials"
        click.echo(f"{t.slug:<24} {t.helpdesk:<10} {t.domain or '-':<32} {creds}")


@tenant.command("app")
@click.argument("name")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE",
              help="A setting the tenant's helpdesk app needs (repeatable); `deskloop tenant app NAME` lists them.")
@click.option("--new-token", is_flag=True,
              help="Issue a new app token for an app's secure parameter (the old one stops working).")
@click.pass_obj
def tenant_app(runtime: Runtime, name: str, assignments: tuple[str, ...], new_token: bool) -> None:
    """Set up the side-panel app of a connected tenant; without options, show how it is set up
    and which settings its helpdesk's app takes."""
    from core.helpdesk.connections import list_tenants
    from core.helpdesk.contract import app_setting, integration
    from core.panel.access import APP_TOKEN_SETTING, issue_app_token, update_app_settings

    found = {t.slug: t for t in list_tenants(runtime)}.get(name)
    if found is None or found.helpdesk == "none":
        raise BadInput(f"no tenant {name!r} connected to a helpdesk (see `deskloop tenant list`)")
    desk = integration(found.helpdesk)
    wanted: dict[str, str] = {}
    for assignment in assignments:
        key, sep, value = assignment.partition("=")
        if not sep:
            raise BadInput(f"--set takes KEY=VALUE, got {assignment!r}", field="set")
        spec = app_setting(desk, key.strip())
        wanted[spec.name] = spec.check(value)
    settings = update_app_settings(runtime, name, wanted) if wanted else found.settings
    if wanted:
        audit.record(runtime, cli_actor(), "tenant.app_settings", tenant=name, detail=wanted)
    if new_token:
        token = issue_app_token(runtime, name)
        audit.record(runtime, cli_actor(), "tenant.app_token", tenant=name)
        click.echo(f"app token (shown once; paste it into the app's secure parameter): {token}")
        settings = {**settings, APP_TOKEN_SETTING: "set"}
    for spec in desk.app_settings:
        click.echo(f"{spec.name}: {settings.get(spec.name) or 'not set'}  ({spec.help})")
    click.echo(f"app token: {'set' if settings.get(APP_TOKEN_SETTING) else 'not set'}")


@tenant.command("rotate-secrets")
@click.pass_obj
def tenant_rotate(runtime: Runtime) -> None:
    """Re-encrypt every tenant's credentials (helpdesk and notifiers) with the first key in DESKLOOP_SECRET_KEY."""
    from typing import cast

    from sqlalchemy import select

    from core.helpdesk.secrets import rotate
    from core.store.tables import NotifierRow, TenantRow
    from core.store.tenants import lock_tenants

    with runtime.db.transaction() as session:
        # Locked first: a secret changed by `tenant add --replace` meanwhile is never overwritten by
        # its older value re-encrypted.
        rows = lock_tenants(session, TenantRow.credentials.is_not(None))
        for row in rows:
            row.credentials = rotate(runtime.settings.secret_key, cast(str, row.credentials))  # selected non-null
        # Notifiers' tokens (Slack, Linear) are encrypted with the same keys: rotated with them, or
        # dropping the old key would lose them.
        notifiers = session.scalars(select(NotifierRow).with_for_update().execution_options(all_tenants=True)).all()
        for notifier_row in notifiers:
            notifier_row.credentials = rotate(runtime.settings.secret_key, notifier_row.credentials)
        audit.record(runtime, cli_actor(), "tenant.rotate_secrets",
                     detail={"tenants": len(rows), "notifiers": len(notifiers)}, session=session)
    click.echo(f"re-encrypted the credentials of {len(rows)} tenant(s) and {len(notifiers)} notifier(s)")


@click.command()
@click.option("--tenant", "tenant_slug", required=True, help="Tenant slug (connected with `deskloop tenant add`).")
@click.option("--since", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]), default=None,
              help="Only tickets updated since this date (UTC). Default: the whole history.")
@click.option("--restart", is_flag=True, help="Start over instead of resuming an unfinished backfill.")
@click.option("--train/--no-train", default=True, show_default=True,
              help="When the history is in, rank the label sources and train (a background job with Redis).")
@click.pass_obj
def backfill(runtime: Runtime, tenant_slug: str, since: datetime | None, restart: bool, train: bool) -> None:
    """Import the tenant's history through the helpdesk's API. Interrupted, it resumes where it
    stopped the next time it runs. Finished, it starts training by itself: suggestions (similar
    tickets, drafts, tags) work at once, intents once a label source is chosen."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from core.helpdesk.backfill import run_backfill

    since = since.replace(tzinfo=UTC) if since else None
    with Progress(TextColumn("[bold]backfill[/] {task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), transient=False) as progress:
        task = progress.add_task(tenant_slug, total=None)
        summary = run_backfill(runtime, tenant_slug, since=since, restart=restart,
                               on_page=lambda n: progress.advance(task, n))
    click.echo(summary.describe())
    if train:
        _train_after_backfill(runtime, tenant_slug)


def _train_after_backfill(runtime: Runtime, tenant_slug: str) -> None:
    from core.background import tasks
    from core.dispatch.queue import enqueue

    if runtime.settings.redis_url:
        outcome = enqueue(tasks.after_backfill, tenant_slug, job_id=f"after-backfill:{tenant_slug}",
                          settings=runtime.settings)
        click.echo(f"training job {outcome.job_id}: {outcome.mode}; then `deskloop labels suggest --tenant "
                   f"{tenant_slug}` says where intents could come from")
        return
    click.echo("ranking label sources and training (this takes a while on a large history)...")
    result = enqueue(tasks.after_backfill, tenant_slug, settings=runtime.settings).result
    click.echo(f"model {result.get('version') or 'unchanged'}: {result.get('reason', '')}")
    usable = [c for c in result.get("labels", []) if not c["rejected"]]
    if not usable:
        click.echo(f"no label source found for intents; try `deskloop intents discover --tenant {tenant_slug}`")
        return
    click.echo("where intents could come from (best first; `deskloop labels suggest` for details):")
    for candidate in usable[:3]:
        click.echo(f"  {candidate['source']:24} {candidate['classes']:>4} classes, {candidate['coverage']:.0%} of "
                   f"tickets, predictability {candidate['predictability']:.2f}")
    click.echo(f"choose one with `deskloop labels use --tenant {tenant_slug} SOURCE`, then `deskloop train`")
