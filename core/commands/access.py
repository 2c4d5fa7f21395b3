"""``deskloop user``, ``deskloop token`` and ``deskloop audit``: who may sign in, which machines may
call the API, and the trail of what operators changed.

A password or token this prints is shown once: it is the only thing written to standard output
(the notes around it go to standard error), so ``deskloop token create ... > file`` keeps just the
secret. Every change is written to the audit trail with the machine account as actor; a secret never
is (a token is named by its id, ``dlk_<id>``).
"""

from __future__ import annotations

import json
import secrets
import sys
from datetime import datetime

import click

from core.access import ROLES, SCOPES, audit
from core.access.audit import cli_actor
from core.access.operators import Operator, add_operator, list_operators, set_disabled, set_password, set_role
from core.access.tokens import TOKEN_PREFIX, ApiToken, issue_token, list_tokens, revoke_token
from core.errors import BadInput
from core.runtime import Runtime

#: 144 random bits, URL-safe: zxcvbn scores it "very unguessable", and it survives copy and paste.
GENERATED_PASSWORD_BYTES = 18


def register(group: click.Group) -> None:
    group.add_command(user)
    group.add_command(token)
    group.add_command(audit_trail)


def _when(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _show_secret(what: str, secret: str) -> None:
    click.echo(f"{what} (shown once; it cannot be shown again, store it now):", err=True)
    click.echo(secret)


def _new_password(password_stdin: bool) -> tuple[str, bool]:
    """The password to set, and whether Deskloop made it up (so it must be shown once)."""
    if not password_stdin:
        return secrets.token_urlsafe(GENERATED_PASSWORD_BYTES), True
    if sys.stdin.isatty():
        return click.prompt("password", hide_input=True, confirmation_prompt=True), False
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise BadInput("--password-stdin read an empty password", field="password")
    return password, False


def _operator_json(found: Operator) -> dict:
    return {"email": found.email, "role": found.role, "tenants": found.tenants, "disabled": found.disabled,
            "has_password": found.has_password, "created_at": _when(found.created_at),
            "last_login_at": _when(found.last_login_at)}


def _described(found: Operator) -> str:
    sees = "every tenant" if found.tenants is None else "tenants " + ", ".join(found.tenants)
    return f"{found.email} ({found.role}; {sees})"


@click.group()
def user() -> None:
    """Operators: the people who sign in to Deskloop's pages and API."""


@user.command("add")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What they may do.")
@click.option("--tenant", "tenants", multiple=True, help="A tenant an agent or viewer sees (repeat for more).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of "
                                                     "printing a new random one.")
@click.pass_obj
def user_add(runtime: Runtime, email: str, role: str, tenants: tuple[str, ...], password_stdin: bool) -> None:
    """Add an operator EMAIL. Without --password-stdin a strong random password is printed once."""
    password, generated = _new_password(password_stdin)
    added = add_operator(runtime, email, role, tenants, password=password)
    audit.record(runtime, cli_actor(), "user.add", target=added.email,
                 detail={"role": added.role, "tenants": list(added.tenants or ())})
    if generated:
        click.echo(f"added {_described(added)}", err=True)
        _show_secret(f"password for {added.email}", password)
    else:
        click.echo(f"added {_described(added)}")


@user.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def user_list(runtime: Runtime, as_json: bool) -> None:
    """Operators, their role and tenants, and when they last signed in."""
    operators = list_operators(runtime)
    if as_json:
        click.echo(json.dumps({"operators": [_operator_json(o) for o in operators]}, indent=2))
        return
    if not operators:
        click.echo("no operators yet; add one with `deskloop user add EMAIL --role admin`")
    for o in operators:
        sees = "*" if o.tenants is None else ",".join(o.tenants)
        last = o.last_login_at.strftime("%Y-%m-%d %H:%M") if o.last_login_at else "never signed in"
        click.echo(f"{o.email:<32} {o.role:<7} {sees:<24} {'disabled' if o.disabled else 'active':<9} {last}")


@user.command("disable")
@click.argument("email")
@click.pass_obj
def user_disable(runtime: Runtime, email: str) -> None:
    """Stop EMAIL signing in; every session they have open ends at its next request."""
    changed = set_disabled(runtime, email, True)
    audit.record(runtime, cli_actor(), "user.disable", target=changed.email)
    click.echo(f"disabled {changed.email}")


@user.command("enable")
@click.argument("email")
@click.pass_obj
def user_enable(runtime: Runtime, email: str) -> None:
    """Let a disabled EMAIL sign in again."""
    changed = set_disabled(runtime, email, False)
    audit.record(runtime, cli_actor(), "user.enable", target=changed.email)
    click.echo(f"enabled {changed.email}")


@user.command("reset-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input instead of "
                                                     "printing a new random one.")
@click.pass_obj
def user_reset_password(runtime: Runtime, email: str, password_stdin: bool) -> None:
    """Give EMAIL a new password; every session they have open ends."""
    password, generated = _new_password(password_stdin)
    changed = set_password(runtime, email, password)
    audit.record(runtime, cli_actor(), "user.reset_password", target=changed.email)
    if generated:
        _show_secret(f"new password for {changed.email}", password)
    else:
        click.echo(f"new password set for {changed.email}; their open sessions have ended")


@user.command("role")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(ROLES), help="The new role.")
@click.option("--tenant", "tenants", multiple=True, help="A tenant an agent or viewer sees (repeat for more).")
@click.pass_obj
def user_role(runtime: Runtime, email: str, role: str, tenants: tuple[str, ...]) -> None:
    """Change EMAIL's role and tenants; their open sessions end, so it applies at once."""
    if role == "admin" and tenants:
        raise BadInput("an admin sees every tenant; give --tenant only to agents and viewers", field="tenant")
    changed = set_role(runtime, email, role, tenants)
    audit.record(runtime, cli_actor(), "user.role", target=changed.email,
                 detail={"role": changed.role, "tenants": list(changed.tenants or ())})
    click.echo(f"{_described(changed)}; their open sessions have ended")


def _token_id(found: ApiToken) -> str:
    return f"{TOKEN_PREFIX}{found.prefix}"


def _token_json(found: ApiToken) -> dict:
    return {"id": _token_id(found), "name": found.name, "scopes": list(found.scopes), "tenant": found.tenant,
            "created_by": found.created_by, "created_at": _when(found.created_at),
            "last_used_at": _when(found.last_used_at), "revoked_at": _when(found.revoked_at)}


@click.group()
def token() -> None:
    """API tokens for machines, sent as `Authorization: Bearer dlk_...`."""


@token.command("create")
@click.option("--name", required=True, help="What uses the token (shown in listings and the audit trail).")
@click.option("--scope", "scopes", multiple=True, required=True, type=click.Choice(SCOPES),
              help="What the token may do (repeat for more).")
@click.option("--tenant", default=None, help="The one tenant the token covers.")
@click.option("--all-tenants", is_flag=True, help="Cover every tenant, present and future.")
@click.pass_obj
def token_create(runtime: Runtime, name: str, scopes: tuple[str, ...], tenant: str | None, all_tenants: bool) -> None:
    """Issue a token and print it once: Deskloop keeps only its hash."""
    if (tenant is None) == (not all_tenants):
        raise BadInput("give exactly one of --tenant T or --all-tenants", field="tenant")
    secret, issued = issue_token(runtime, name, scopes, tenant, cli_actor())
    audit.record(runtime, cli_actor(), "token.create", tenant=issued.tenant, target=_token_id(issued),
                 detail={"name": issued.name, "scopes": list(issued.scopes)})
    covers = f"tenant {issued.tenant}" if issued.tenant else "every tenant"
    click.echo(f"token {_token_id(issued)} {issued.name!r}: {', '.join(issued.scopes)} on {covers}", err=True)
    _show_secret("the token", secret)


@token.command("list")
@click.option("--tenant", default=None, help="Only this tenant's tokens.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def token_list(runtime: Runtime, tenant: str | None, as_json: bool) -> None:
    """Tokens by id (never their value), newest first, revoked ones too."""
    if tenant is not None:
        runtime.db.tenant_id(tenant)  # a typo is an error, not an empty list
    tokens = list_tokens(runtime, tenant)
    if as_json:
        click.echo(json.dumps({"tokens": [_token_json(t) for t in tokens]}, indent=2))
        return
    if not tokens:
        click.echo("no API tokens yet; issue one with `deskloop token create`")
    for t in tokens:
        used = t.last_used_at.strftime("%Y-%m-%d %H:%M") if t.last_used_at else "never used"
        state = f"revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "active"
        click.echo(f"{_token_id(t):<18} {t.name:<24} {','.join(t.scopes):<28} {t.tenant or '*':<16} "
                   f"created {t.created_at:%Y-%m-%d %H:%M}  {used:<16}  {state}")


@token.command("revoke")
@click.argument("token_id")
@click.pass_obj
def token_revoke(runtime: Runtime, token_id: str) -> None:
    """Revoke the token TOKEN_ID (dlk_<id>, as listed); it stops working at once."""
    wanted = token_id.removeprefix(TOKEN_PREFIX).split("_")[0]
    before = next((t for t in list_tokens(runtime) if t.prefix == wanted), None)
    revoked = revoke_token(runtime, token_id)
    if before is not None and before.revoked_at is not None:
        click.echo(f"token {_token_id(revoked)} was already revoked at {revoked.revoked_at:%Y-%m-%d %H:%M:%S}")
        return
    audit.record(runtime, cli_actor(), "token.revoke", tenant=revoked.tenant, target=_token_id(revoked),
                 detail={"name": revoked.name})
    click.echo(f"revoked token {_token_id(revoked)} ({revoked.name})")


@click.command("audit")
@click.option("--tenant", default=None, help="Only entries about this tenant.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000), help="Most entries to show.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def audit_trail(runtime: Runtime, tenant: str | None, limit: int, as_json: bool) -> None:
    """What operators changed, newest first: tokens, users, tenants, models, tags, intents, signals."""
    events = audit.list_events(runtime, tenant, limit)
    if as_json:
        click.echo(json.dumps({"events": [
            {"id": e.id, "at": _when(e.at), "actor": e.actor, "action": e.action, "tenant": e.tenant,
             "target": e.target, "detail": e.detail} for e in events
        ]}, indent=2))
        return
    if not events:
        click.echo("no audit entries" + (f" about {tenant}" if tenant else ""))
    for e in events:
        detail = " ".join(f"{k}={v}" for k, v in e.detail.items())
        click.echo(f"{e.at:%Y-%m-%d %H:%M:%S} {e.actor:<28} {e.action:<20} {e.tenant or '-':<16} "
                   f"{e.target or '-':<24} {detail}".rstrip())
