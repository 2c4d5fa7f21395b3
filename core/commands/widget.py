"""``deskloop widget setup|show|rotate-key|identity-secret``: a tenant's in-app help widget (its
public key, allowed origins, identity secret and kept app state). The rules live in :mod:`core.widget`."""

from __future__ import annotations

import html

import click

from core.access import audit
from core.access.audit import cli_actor
from core.runtime import Runtime
from core.widget.config import WidgetConfig

#: Where the widget script is served, under the Deskloop server's address.
SCRIPT_PATH = "/widget/v1/widget.js"


def register(group: click.Group) -> None:
    group.add_command(widget)


def script_tag(server: str, key: str) -> str:
    """The one tag a host page embeds: loaded async, the key in a data attribute."""
    src = server.rstrip("/") + SCRIPT_PATH
    return f'<script async src="{html.escape(src)}" data-deskloop-key="{html.escape(key)}"></script>'


def _describe(config: WidgetConfig, server: str) -> str:
    allow = "every key" if config.app_state_allow is None else (", ".join(config.app_state_allow) or "none")
    never = f" (never: {', '.join(config.app_state_deny)})" if config.app_state_deny else ""
    return "\n".join([
        f"tenant:          {config.tenant}",
        f"widget key:      {config.public_key}",
        f"allowed origins: {', '.join(config.origins)}",
        f"signed identity: {'required' if config.signed_identity else 'off'}",
        f"app state kept:  {allow}{never}",
        "embed:",
        f"  {script_tag(server, config.public_key)}",
    ])


_server = click.option("--server", default="http://127.0.0.1:5000", show_default=True,
                       help="This Deskloop server's public address, for the <script> tag.")


@click.group()
def widget() -> None:
    """The in-app help widget a software company embeds in its own web app."""


@widget.command("setup")
@click.option("--tenant", required=True, help="Tenant slug.")
@click.option("--origin", "origins", multiple=True, required=True,
              help="An origin the widget may be called from, scheme://host[:port] (repeatable).")
@click.option("--allow-state", "allow_state", multiple=True,
              help="An app-state key Deskloop keeps (repeatable); without any, every key not denied.")
@click.option("--deny-state", "deny_state", multiple=True, help="An app-state key never kept (repeatable).")
@click.option("--all-state", is_flag=True, help="Keep every app-state key not denied (clears --allow-state).")
@_server
@click.pass_obj
def setup_command(runtime: Runtime, tenant: str, origins: tuple[str, ...], allow_state: tuple[str, ...],
                  deny_state: tuple[str, ...], all_state: bool, server: str) -> None:
    """Create TENANT's widget, or replace its origins (and app-state lists when given); prints the
    key and the <script> tag to embed. Running it again keeps the key."""
    from core.widget.config import setup_widget

    config, created = setup_widget(runtime, tenant, origins, allow_state or None, deny_state, all_state)
    audit.record(runtime, cli_actor(), "widget.setup", tenant=tenant,
                 detail={"origins": list(config.origins), "created": created})
    click.echo(("widget created" if created else "widget updated") + "\n" + _describe(config, server))


@widget.command("show")
@click.option("--tenant", required=True, help="Tenant slug.")
@_server
@click.pass_obj
def show_command(runtime: Runtime, tenant: str, server: str) -> None:
    """TENANT's widget key, origins and settings (never the identity secret)."""
    from core.widget.config import widget_config

    click.echo(_describe(widget_config(runtime, tenant), server))


@widget.command("rotate-key")
@click.option("--tenant", required=True, help="Tenant slug.")
@_server
@click.pass_obj
def rotate_command(runtime: Runtime, tenant: str, server: str) -> None:
    """A new public key for TENANT; the old one stops working at once (update the <script> tag)."""
    from core.widget.config import rotate_key

    config = rotate_key(runtime, tenant)
    audit.record(runtime, cli_actor(), "widget.rotate_key", tenant=tenant)
    click.echo("new widget key (the old one no longer works)\n" + _describe(config, server))


@widget.command("identity-secret")
@click.option("--tenant", required=True, help="Tenant slug.")
@click.pass_obj
def identity_secret_command(runtime: Runtime, tenant: str) -> None:
    """Make a new identity secret for TENANT and print it once. From now on every widget request
    must carry identity.user_hash = HMAC-SHA256(secret, user_id) as hex, computed by the host's backend."""
    from core.widget.config import make_identity_secret

    secret = make_identity_secret(runtime, tenant)
    audit.record(runtime, cli_actor(), "widget.identity_secret", tenant=tenant)
    click.echo(secret)
    click.echo("Shown once: keep it on your backend only. Sign each customer's id with it "
               "(HMAC-SHA256, hex) and pass it to the widget as identity.user_hash.", err=True)
