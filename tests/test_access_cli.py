"""``deskloop user``, ``deskloop token`` and ``deskloop audit``: a token is shown once and works as a
bearer token until revoked, operators are added, disabled and changed, every change is in the audit
trail (with no secret in it), and bad input exits 2 having written nothing."""

from __future__ import annotations

import dataclasses
import json

import pytest
from click.testing import CliRunner

from core.access.audit import list_events
from core.access.operators import authenticate, list_operators
from core.access.tokens import list_tokens
from core.app import create_app
from core.cli import main
from core.learning.feedback import record_signal
from core.learning.training import train_tenant
from core.runtime import Runtime
from core.store.tickets import upsert_tickets
from core.types import Signal
from tests.access_support import STRONG_PASSWORD, csrf_token_from
from tests.factories import small_inbox


def run(*args, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def audit_trail(*args) -> list[dict]:
    shown = run("audit", "--json", *args)
    assert shown.exit_code == 0, shown.output
    return json.loads(shown.output)["events"]


@pytest.fixture
def runtime(settings, db):
    db.ensure_tenant("acme")
    db.ensure_tenant("beta")
    runtime = Runtime(settings)
    yield runtime
    runtime.close()


@pytest.fixture
def app(settings, runtime):
    app = create_app(dataclasses.replace(settings, secure_cookies=False))
    yield app
    app.extensions["deskloop"].close()


def _get_tenants(app, token: str):
    return app.test_client().get("/api/v1/tenants", headers={"Authorization": f"Bearer {token}"})


def test_a_token_is_printed_once_works_for_its_tenant_and_stops_when_revoked(runtime, app):
    created = run("token", "create", "--name", "ci", "--scope", "read", "--tenant", "acme")
    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    assert token.startswith("dlk_") and "\n" not in token, "standard output holds the token alone"
    assert "shown once" in created.stderr and "cannot be shown again" in created.stderr
    token_id = "_".join(token.split("_")[:2])

    answer = _get_tenants(app, token)
    assert answer.status_code == 200
    assert [t["slug"] for t in answer.get_json()["tenants"]] == ["acme"]

    for listed in (run("token", "list"), run("token", "list", "--json"), run("token", "list", "--tenant", "acme")):
        assert listed.exit_code == 0 and token_id in listed.output
        assert token not in listed.output
    [shown] = json.loads(run("token", "list", "--json").output)["tokens"]
    assert shown["id"] == token_id and shown["name"] == "ci" and shown["scopes"] == ["read"]
    assert shown["tenant"] == "acme" and shown["created_at"] and shown["last_used_at"] and not shown["revoked_at"]
    assert json.loads(run("token", "list", "--tenant", "beta", "--json").output)["tokens"] == []

    revoked = run("token", "revoke", token_id)
    assert revoked.exit_code == 0 and f"revoked token {token_id}" in revoked.output
    assert _get_tenants(app, token).status_code == 401
    again = run("token", "revoke", token_id)
    assert again.exit_code == 0 and "already revoked" in again.output
    [shown] = json.loads(run("token", "list", "--json").output)["tokens"]
    assert shown["revoked_at"]

    trail = audit_trail()
    assert [e["action"] for e in trail] == ["token.revoke", "token.create"], "revoking twice is one change"
    assert all(e["target"] == token_id and e["tenant"] == "acme" and e["actor"].startswith("cli") for e in trail)
    assert trail[1]["detail"] == {"name": "ci", "scopes": ["read"]}
    assert token.split("_", 2)[2] not in run("audit", "--json").output


def test_an_every_tenant_token_sees_every_tenant(runtime, app):
    created = run("token", "create", "--name", "ops", "--scope", "admin", "--scope", "read", "--all-tenants")
    assert created.exit_code == 0, created.output
    answer = _get_tenants(app, created.stdout.strip())
    assert [t["slug"] for t in answer.get_json()["tenants"]] == ["acme", "beta"]
    [shown] = list_tokens(runtime)
    assert shown.tenant is None and shown.scopes == ("read", "admin")
    [entry] = audit_trail()
    assert entry["action"] == "token.create" and entry["tenant"] is None


@pytest.mark.parametrize("args, message", [
    (("--name", "ci", "--scope", "read"), "exactly one of --tenant"),
    (("--name", "ci", "--scope", "read", "--tenant", "acme", "--all-tenants"), "exactly one of --tenant"),
    (("--name", "ci", "--scope", "read", "--tenant", "nobody"), "no tenant named 'nobody'"),
    (("--name", "  ", "--scope", "read", "--tenant", "acme"), "give the token a name"),
    (("--name", "ci", "--scope", "write", "--tenant", "acme"), "'write' is not one of"),
    (("--name", "ci", "--tenant", "acme"), "Missing option '--scope'"),
])
def test_bad_token_requests_exit_2_and_issue_nothing(runtime, args, message):
    refused = run("token", "create", *args)
    assert refused.exit_code == 2 and message in refused.output, refused.output
    assert not refused.stdout.startswith("dlk_")
    assert list_tokens(runtime) == [] and list_events(runtime) == []


def test_revoking_or_listing_what_does_not_exist_exits_2(runtime):
    assert run("token", "revoke", "dlk_000000000000").exit_code == 2
    listed = run("token", "list", "--tenant", "nobody")
    assert listed.exit_code == 2 and "no tenant named 'nobody'" in listed.output
    assert list_events(runtime) == []


def _sign_in(app, email: str, password: str):
    client = app.test_client()
    form = client.get("/login").get_data(as_text=True)
    answer = client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_token_from(form)})
    return client, answer.status_code


def test_operators_are_added_disabled_enabled_reset_and_changed_with_an_audit_entry_each(runtime, app):
    added = run("user", "add", "Alice@Example.com", "--role", "agent", "--tenant", "acme")
    assert added.exit_code == 0, added.output
    password = added.stdout.strip()
    assert "\n" not in password and len(password) >= 20
    assert "added alice@example.com (agent; tenants acme)" in added.stderr and "shown once" in added.stderr
    assert authenticate(runtime, "alice@example.com", password) is not None

    chosen = run("user", "add", "bob@example.com", "--role", "admin", "--password-stdin", input=f"{STRONG_PASSWORD}\n")
    assert chosen.exit_code == 0 and "added bob@example.com (admin; every tenant)" in chosen.stdout
    assert STRONG_PASSWORD not in chosen.output
    assert authenticate(runtime, "bob@example.com", STRONG_PASSWORD) is not None

    operators = json.loads(run("user", "list", "--json").output)["operators"]
    assert [(o["email"], o["role"], o["tenants"], o["disabled"]) for o in operators] == [
        ("alice@example.com", "agent", ["acme"], False), ("bob@example.com", "admin", None, False)]
    assert operators[0]["last_login_at"] and operators[0]["has_password"]
    assert "alice@example.com" in run("user", "list").output

    browser, status = _sign_in(app, "alice@example.com", password)
    assert status == 302 and browser.get("/playground").status_code == 200
    assert run("user", "disable", "alice@example.com").exit_code == 0
    assert browser.get("/playground", headers={"Accept": "text/html"}).status_code == 302, "their session ended"
    assert _sign_in(app, "alice@example.com", password)[1] == 401
    assert "disabled" in run("user", "list").output
    assert run("user", "enable", "alice@example.com").exit_code == 0
    assert _sign_in(app, "alice@example.com", password)[1] == 302

    reset = run("user", "reset-password", "alice@example.com")
    assert reset.exit_code == 0
    new_password = reset.stdout.strip()
    assert new_password != password
    assert authenticate(runtime, "alice@example.com", password) is None
    assert authenticate(runtime, "alice@example.com", new_password) is not None

    assert run("user", "role", "alice@example.com", "--role", "viewer", "--tenant", "beta").exit_code == 0
    assert run("user", "role", "alice@example.com", "--role", "admin").exit_code == 0
    alice = next(o for o in list_operators(runtime) if o.email == "alice@example.com")
    assert alice.role == "admin" and alice.tenants is None

    trail = [e for e in audit_trail() if e["action"] != "user.sign_in"]
    assert [e["action"] for e in reversed(trail)] == [
        "user.add", "user.add", "user.disable", "user.enable", "user.reset_password", "user.role", "user.role"]
    assert all(e["target"] in ("alice@example.com", "bob@example.com") for e in trail)
    assert trail[1]["detail"] == {"role": "viewer", "tenants": ["beta"]}
    assert all(e["actor"].startswith("cli") for e in trail)
    shown = run("audit").output
    assert "user.reset_password" in shown and "alice@example.com" in shown
    for secret in (password, new_password, STRONG_PASSWORD):
        assert secret not in json.dumps(trail) and secret not in shown
    assert len(audit_trail("--limit", "2")) == 2
    assert audit_trail("--tenant", "acme") == []


@pytest.mark.parametrize("args, stdin, message", [
    (("user", "add", "not-an-email", "--role", "admin"), None, "is not an email address"),
    (("user", "add", "a@example.com", "--role", "agent"), None, "needs at least one --tenant"),
    (("user", "add", "a@example.com", "--role", "admin", "--tenant", "acme"), None, "an admin sees every tenant"),
    (("user", "add", "a@example.com", "--role", "viewer", "--tenant", "nobody"), None, "no tenant named 'nobody'"),
    (("user", "add", "a@example.com", "--role", "owner"), None, "'owner' is not one of"),
    (("user", "add", "a@example.com", "--role", "admin", "--password-stdin"), "password1234\n", "too easy to guess"),
    (("user", "add", "a@example.com", "--role", "admin", "--password-stdin"), "\n", "empty password"),
    (("user", "disable", "nobody@example.com"), None, "no operator nobody@example.com"),
    (("user", "enable", "nobody@example.com"), None, "no operator nobody@example.com"),
    (("user", "reset-password", "nobody@example.com"), None, "no operator nobody@example.com"),
    (("user", "role", "nobody@example.com", "--role", "admin"), None, "no operator nobody@example.com"),
])
def test_bad_user_requests_exit_2_and_write_nothing(runtime, args, stdin, message):
    refused = run(*args, input=stdin)
    assert refused.exit_code == 2 and message in refused.output, refused.output
    assert refused.stdout == "", "no password is printed for an operator that was not added"
    assert list_operators(runtime) == [] and list_events(runtime) == []


def test_bad_changes_to_an_operator_leave_it_as_it_was(runtime):
    assert run("user", "add", "carol@example.com", "--role", "viewer", "--tenant", "acme",
               "--password-stdin", input=STRONG_PASSWORD).exit_code == 0
    for args, stdin in ((("user", "add", "CAROL@example.com", "--role", "admin"), None),
                        (("user", "reset-password", "carol@example.com", "--password-stdin"), "carolcarolcarol\n"),
                        (("user", "role", "carol@example.com", "--role", "agent"), None),
                        (("user", "role", "carol@example.com", "--role", "admin", "--tenant", "acme"), None),
                        (("user", "role", "carol@example.com", "--role", "agent", "--tenant", "nobody"), None)):
        refused = run(*args, input=stdin)
        assert refused.exit_code == 2, (args, refused.output)
    [carol] = list_operators(runtime)
    assert carol.role == "viewer" and carol.tenants == ("acme",) and carol.session_version == 1
    assert authenticate(runtime, "carol@example.com", STRONG_PASSWORD) is not None
    assert [e.action for e in list_events(runtime)] == ["user.add"]


def test_other_operator_commands_leave_an_audit_entry(runtime, db, tmp_path):
    credentials = tmp_path / "zendesk.json"
    credentials.write_text(json.dumps({"email": "ops@acme.example", "api_token": "zd-token-5f1c9a",
                                       "webhook_secret": "whsec-77aa"}))
    assert run("tenant", "add", "gamma", "--helpdesk", "zendesk", "--domain", "gamma.zendesk.com",
               "--credentials", str(credentials), "--no-check").exit_code == 0

    tenant_id = db.tenant_id("acme")
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, small_inbox())
    version = train_tenant(runtime, "acme").version
    assert run("models", "rollback", "--tenant", "acme", version).exit_code == 0
    assert run("taxonomy", "merge", "money", "refund", "--tenant", "acme").exit_code == 0
    assert run("labels", "use", "--tenant", "acme", "intent").exit_code == 0
    from sqlalchemy import select

    from core.store.tables import TicketRow

    with db.tenant_session(tenant_id) as session:
        ticket_id = session.scalars(select(TicketRow.id)).first()
    signal, _ = record_signal(runtime, "acme", Signal(kind="intent_changed", ticket_id=ticket_id, actor="sam",
                                                      payload={"intent": "refund_status"}))
    assert run("signals", "revoke", "--tenant", "acme", str(signal.id)).exit_code == 0

    found = run("intents", "discover", "--tenant", "acme", "--min-size", "2", "--json")
    keys = [i["key"] for i in json.loads(found.output)["intents"]]
    assert len(keys) >= 3, found.output
    assert run("intents", "accept", "--tenant", "acme", keys[0], keys[1]).exit_code == 0
    assert run("intents", "rename", "--tenant", "acme", keys[0], "Delivery").exit_code == 0
    assert run("intents", "merge", "--tenant", "acme", "delivery", keys[2], "--into", "delivery").exit_code == 0
    assert run("intents", "split", "--tenant", "acme", "delivery", "--parts", "2").exit_code == 0
    assert run("tags", "exclude", "--tenant", "acme", "password").exit_code == 0
    assert run("tags", "include", "--tenant", "acme", "password").exit_code == 0
    assert run("abstention", "--tenant", "acme", "--novelty-budget", "0.05").exit_code == 0

    trail = {e["action"]: e for e in audit_trail()}
    assert set(trail) == {"tenant.add", "model.rollback", "tags.merge", "labels.use", "signal.revoke",
                          "intents.accept", "intents.rename", "intents.merge", "intents.split", "tags.exclude",
                          "tags.include", "abstention.set"}
    assert trail["abstention.set"]["detail"] == {"novelty_budget": 0.05}
    assert trail["tenant.add"]["tenant"] == "gamma" and trail["tenant.add"]["detail"]["helpdesk"] == "zendesk"
    assert trail["model.rollback"]["target"] == version
    assert trail["tags.merge"]["target"] == "refund" and trail["tags.merge"]["detail"]["alias"] == "money"
    assert trail["labels.use"]["target"] == "intent"
    assert trail["signal.revoke"]["target"] == f"signal:{signal.id}"
    assert trail["intents.accept"]["detail"] == {"keys": keys[:2], "all": False}
    assert trail["intents.rename"]["target"] == keys[0] and trail["intents.rename"]["detail"] == {"label": "Delivery"}
    assert trail["intents.merge"]["target"] == "delivery" and trail["intents.split"]["target"] == "delivery"
    assert all(e["tenant"] == "acme" for action, e in trail.items() if action != "tenant.add")
    shown = run("audit", "--json").output
    assert "zd-token-5f1c9a" not in shown and "whsec-77aa" not in shown
    assert {e["action"] for e in audit_trail("--tenant", "gamma")} == {"tenant.add"}
