"""One helpdesk account, workspace or app per tenant: a second tenant claiming another's is refused
by the CLI (exit 2, naming only the holder's slug) and by the database itself, even when racing."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from core.cli import main
from core.errors import BadInput
from core.helpdesk.accounts import AccountClaimed
from core.helpdesk.connections import add_tenant, connection, forget_connections
from core.panel.access import tenant_with_setting, update_app_settings
from core.runtime import Runtime
from core.store.db import Database
from core.store.tables import ExternalAccountRow, TenantRow
from tests.test_migrations import _fresh_database, _to_revision

ZENDESK = {"email": "ops@acme.example", "api_token": "zd-token-1", "webhook_secret": "whsec-1"}
INTERCOM = {"access_token": "ic-token-1", "client_secret": "ic-secret-1"}
FRESHDESK = {"api_key": "fd-key-1", "webhook_secret": "fd-secret-1"}


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def runtime(settings, db):
    forget_connections()
    runtime = Runtime(settings)
    yield runtime
    runtime.close()
    forget_connections()


def claims(db) -> set[tuple[str, str, str, str]]:
    with db.admin_session() as session:
        rows = session.execute(select(TenantRow.slug, ExternalAccountRow.helpdesk, ExternalAccountRow.kind,
                                      ExternalAccountRow.value).join(TenantRow)).all()
    return {tuple(r) for r in rows}


def test_another_tenants_intercom_workspace_is_refused_with_exit_2(runtime, db):
    add_tenant(runtime, "acme", "intercom", "api.intercom.io", INTERCOM)
    add_tenant(runtime, "globex", "intercom", "api.intercom.io", {**INTERCOM, "access_token": "ic-token-2"})
    assert run("tenant", "app", "acme", "--set", "intercom_workspace_id=ws42").exit_code == 0
    taken = run("tenant", "app", "globex", "--set", "intercom_workspace_id=ws42")
    assert taken.exit_code == 2
    assert "intercom_workspace_id 'ws42' already belongs to tenant 'acme'" in taken.output
    assert "ic-token" not in taken.output and "ic-secret" not in taken.output
    assert tenant_with_setting(runtime, "intercom", "intercom_workspace_id", "ws42") == "acme"
    assert "intercom_workspace_id" not in connection(runtime, "globex").settings  # nothing changed
    # Setting one's own value again is fine; moving to another frees the first for others.
    assert run("tenant", "app", "acme", "--set", "intercom_workspace_id=ws42").exit_code == 0
    assert run("tenant", "app", "acme", "--set", "intercom_workspace_id=ws43").exit_code == 0
    assert run("tenant", "app", "globex", "--set", "intercom_workspace_id=ws42").exit_code == 0
    assert {c for c in claims(db) if c[2] == "intercom_workspace_id"} == {
        ("acme", "intercom", "intercom_workspace_id", "ws43"), ("globex", "intercom", "intercom_workspace_id", "ws42")}


@pytest.mark.parametrize(("helpdesk", "credentials", "first", "second"), [
    ("zendesk", ZENDESK, "acme.zendesk.com", "https://ACME.zendesk.com/"),
    ("zendesk", ZENDESK, "acme.zendesk.com", "acme"),
    ("freshdesk", FRESHDESK, "acme.freshdesk.com", "https://Acme.Freshdesk.com"),
])
def test_a_helpdesk_account_serves_one_tenant_however_it_is_spelled(runtime, db, tmp_path, helpdesk, credentials,
                                                                    first, second):
    add_tenant(runtime, "acme", helpdesk, first, credentials)
    path = tmp_path / "creds.json"
    path.write_text(json.dumps(credentials))
    taken = run("tenant", "add", "globex", "--helpdesk", helpdesk, "--domain", second, "--credentials", str(path),
                "--no-check")
    assert taken.exit_code == 2, taken.output
    assert "already belongs to tenant 'acme'" in taken.output
    with db.admin_session() as session:
        assert session.scalar(select(TenantRow).where(TenantRow.slug == "globex")) is None  # nothing stored
    # Reconnecting the holder to the same account is no conflict.
    add_tenant(runtime, "acme", helpdesk, second, credentials, replace=True)


def test_intercom_tenants_share_the_regional_api_host(runtime, db):
    add_tenant(runtime, "acme", "intercom", "api.intercom.io", INTERCOM)
    add_tenant(runtime, "globex", "intercom", "api.intercom.io", INTERCOM)
    assert not {c for c in claims(db) if c[2] == "account"}


def test_reconnecting_to_another_helpdesk_gives_up_the_old_claims(runtime, db):
    add_tenant(runtime, "acme", "intercom", "api.intercom.io", INTERCOM)
    update_app_settings(runtime, "acme", {"intercom_workspace_id": "ws42"})
    add_tenant(runtime, "acme", "zendesk", "acme.zendesk.com", ZENDESK, replace=True)
    assert claims(db) == {("acme", "zendesk", "account", "acme.zendesk.com")}
    add_tenant(runtime, "globex", "intercom", "api.intercom.io", INTERCOM)
    update_app_settings(runtime, "globex", {"intercom_workspace_id": "ws42"})


def test_two_tenants_racing_for_one_workspace_cannot_both_win(runtime, db, settings):
    slugs = [f"t{i}" for i in range(6)]
    for slug in slugs:
        add_tenant(runtime, slug, "intercom", "api.intercom.io", INTERCOM)
    start = threading.Barrier(len(slugs))

    def claim(slug: str) -> str:
        mine = Runtime(settings)  # its own engine and connections, as another process would have
        try:
            start.wait()
            update_app_settings(mine, slug, {"intercom_workspace_id": "contested"})
            return "won"
        except AccountClaimed as exc:
            assert exc.holder in slugs and exc.holder != slug
            return "refused"
        finally:
            mine.close()

    with ThreadPoolExecutor(len(slugs)) as pool:
        outcomes = list(pool.map(claim, slugs))
    assert outcomes.count("won") == 1, outcomes
    winner = slugs[outcomes.index("won")]
    assert tenant_with_setting(runtime, "intercom", "intercom_workspace_id", "contested") == winner
    with db.admin_session() as session:
        holders = [s for s, settings in session.execute(select(TenantRow.slug, TenantRow.settings))
                   if (settings or {}).get("intercom_workspace_id") == "contested"]
    assert holders == [winner]  # the losers' settings were not written either


def test_the_database_refuses_a_second_claim_even_without_the_check(db):
    first, second = db.ensure_tenant("acme", "intercom"), db.ensure_tenant("globex", "intercom")
    with db.transaction() as session:
        session.add(ExternalAccountRow(tenant_id=first, helpdesk="intercom", kind="intercom_workspace_id", value="w"))
    with pytest.raises(Exception, match="(?i)unique"):
        with db.transaction() as session:
            session.add(ExternalAccountRow(tenant_id=second, helpdesk="intercom", kind="intercom_workspace_id",
                                           value="w"))


def test_an_unknown_or_malformed_domain_is_bad_input(runtime):
    with pytest.raises(BadInput, match="freshdesk.com"):
        add_tenant(runtime, "acme", "freshdesk", "helpdesk.acme.example", FRESHDESK)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_upgrade_claims_what_tenants_hold_and_the_older_tenant_keeps_a_shared_one(backend, tmp_path, caplog):
    with _fresh_database(backend, tmp_path) as url:
        db = Database(url)
        try:
            _to_revision(db, "0009")
            with db.engine.begin() as conn:
                for slug, helpdesk, domain, settings, created in [
                    ("acme", "intercom", "api.intercom.io", {"intercom_workspace_id": "ws1"}, "2024-01-01"),
                    ("globex", "intercom", "api.intercom.io", {"intercom_workspace_id": "ws1"}, "2024-02-01"),
                    ("initech", "zendesk", "https://Initech.zendesk.com/", {}, "2024-03-01"),
                    ("hooli", "freshdesk", "hooli.freshdesk.com", {}, "2024-04-01"),
                    ("imported", "none", None, {}, "2024-05-01"),
                ]:
                    conn.execute(text("INSERT INTO tenants (slug, helpdesk, domain, settings, created_at) "
                                      "VALUES (:s, :h, :d, :settings, :c)"),
                                 {"s": slug, "h": helpdesk, "d": domain, "settings": json.dumps(settings),
                                  "c": created})
            with caplog.at_level("WARNING"):
                _to_revision(db, "0011")
            assert claims(db) == {("acme", "intercom", "intercom_workspace_id", "ws1"),
                                  ("initech", "zendesk", "account", "initech.zendesk.com"),
                                  ("hooli", "freshdesk", "account", "hooli.freshdesk.com")}
            assert "'acme' keeps it; reconfigure 'globex'" in caplog.text
            with db.engine.connect() as conn:
                assert set(conn.execute(text("SELECT config_version FROM tenants")).scalars()) == {1}
            _to_revision(db, "0009", down=True)
            _to_revision(db, "0011")
        finally:
            db.dispose()


def test_a_claimed_account_is_refused_before_the_helpdesk_is_called(runtime, tmp_path):
    """`tenant add` checks credentials with the helpdesk by default; a claimed account is refused
    first (here the API address answers nothing, so a call would fail differently)."""
    add_tenant(runtime, "acme", "zendesk", "acme.zendesk.com", ZENDESK)
    path = tmp_path / "creds.json"
    path.write_text(json.dumps(ZENDESK))
    taken = run("tenant", "add", "globex", "--helpdesk", "zendesk", "--domain", "acme.zendesk.com",
                "--credentials", str(path), "--api-url", "http://127.0.0.1:9")
    assert taken.exit_code == 2
    assert "zendesk account 'acme.zendesk.com' already belongs to tenant 'acme'" in taken.output
