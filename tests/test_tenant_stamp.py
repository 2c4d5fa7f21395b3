"""Every change to a tenant bumps its ``config_version`` in the same transaction, and a process's
cached connection is used only at the stamp the database holds: what another process changed
(credentials, app settings, an app token, label and abstention settings) is seen on the next call.
Writers changing one tenant at once run one after the other: none undoes another's change."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from core.cli import main
from core.helpdesk import connections
from core.helpdesk.connections import add_tenant, connection, forget_connections
from core.labelling.settings import set_abstention
from core.panel import access as panel_access
from core.panel.access import AccessDenied, identity_for_app_token, issue_app_token, update_app_settings
from core.runtime import Runtime
from core.store.tables import TenantRow
from core.store.tenants import lock_tenant

ZENDESK = {"email": "ops@acme.example", "api_token": "zd-token-1", "webhook_secret": "whsec-1"}


@pytest.fixture
def runtime(settings, db, monkeypatch):
    forget_connections()
    # As in another process: this one's cache is never told about a change.
    monkeypatch.setattr(connections, "forget_connections", lambda: None)
    monkeypatch.setattr(panel_access, "forget_connections", lambda: None)
    runtime = Runtime(settings)
    add_tenant(runtime, "acme", "zendesk", "acme.zendesk.com", ZENDESK, {"write_back_tags": False})
    yield runtime
    runtime.close()
    connections._connections.clear()


def stamp(runtime) -> int:
    with runtime.db.admin_session() as session:
        return session.scalar(select(TenantRow.config_version).where(TenantRow.slug == "acme"))


def test_each_kind_of_change_bumps_the_stamp_and_reaches_a_cached_connection(runtime, settings):
    assert connection(runtime, "acme").secrets["webhook_secret"] == "whsec-1"
    changes = [
        ("credentials", lambda: add_tenant(runtime, "acme", "zendesk", "acme.zendesk.com",
                                           {**ZENDESK, "webhook_secret": "whsec-2"}, replace=True),
         lambda conn: conn.secrets["webhook_secret"] == "whsec-2"),
        ("domain", lambda: add_tenant(runtime, "acme", "zendesk", "acme2.zendesk.com",
                                      {**ZENDESK, "webhook_secret": "whsec-2"}, replace=True),
         lambda conn: conn.domain == "acme2.zendesk.com"),
        ("app setting", lambda: update_app_settings(runtime, "acme", {"zendesk_app_id": "77"}),
         lambda conn: conn.settings["zendesk_app_id"] == "77"),
        ("app token", lambda: issue_app_token(runtime, "acme"),
         lambda conn: conn.settings.get("app_token_sha256")),
        ("abstention", lambda: set_abstention(runtime, "acme", {"target_precision": 0.9}),
         lambda conn: conn.settings["target_precision"] == 0.9),
        ("cli: re-encrypt", lambda: CliRunner().invoke(main, ["tenant", "rotate-secrets"], catch_exceptions=False),
         lambda conn: conn.secrets["webhook_secret"] == "whsec-2"),
    ]
    for name, change, seen in changes:
        before = stamp(runtime)
        connection(runtime, "acme")  # cached at the current stamp
        change()
        assert stamp(runtime) > before, name
        assert seen(connection(runtime, "acme")), name


def test_an_orm_write_that_forgets_the_lock_still_bumps_the_stamp(runtime):
    before = stamp(runtime)
    tenant_id = runtime.db.tenant_id("acme")
    with runtime.db.transaction() as session:
        session.get_one(TenantRow, tenant_id).settings = {"private_note": True}
    assert stamp(runtime) == before + 1
    assert connection(runtime, "acme").settings == {"private_note": True}


def test_the_cache_is_used_while_nothing_changed(runtime, monkeypatch):
    first = connection(runtime, "acme")
    monkeypatch.setattr(connections, "decrypt", lambda *a: pytest.fail("decrypted again without a change"))
    assert connection(runtime, "acme") is first


def test_a_change_without_the_stamp_would_go_unseen(runtime):
    """Guard: the stamp is what makes a change visible, so a write that bypasses it (a raw SQL
    update) is not seen; every writer in Deskloop goes through the ORM or lock_tenant."""
    connection(runtime, "acme")
    with runtime.db.transaction() as session:
        session.execute(update(TenantRow).where(TenantRow.slug == "acme").values(domain="elsewhere.zendesk.com")
                        .execution_options(synchronize_session=False))
    assert connection(runtime, "acme").domain == "acme.zendesk.com"
    with runtime.db.transaction() as session:
        lock_tenant(session, slug="acme")
    assert connection(runtime, "acme").domain == "elsewhere.zendesk.com"


def test_an_old_app_token_stops_working_at_once(runtime):
    old = issue_app_token(runtime, "acme")
    assert identity_for_app_token(runtime, old).tenant == "acme"
    new = issue_app_token(runtime, "acme")
    with pytest.raises(AccessDenied):
        identity_for_app_token(runtime, old)
    assert identity_for_app_token(runtime, new).tenant == "acme"


def test_concurrent_setting_changes_are_all_kept(runtime, settings):
    """Eight writers, each adding its own setting to one tenant at the same moment: without the lock
    each would merge into the settings it read and the last commit would drop the others."""
    names = [f"extra_{i}" for i in range(8)]
    start = threading.Barrier(len(names))

    def write(name: str) -> None:
        mine = Runtime(settings)
        try:
            mine.db.tenant_id("acme")  # opened (and migrated) before the race, not during it
            start.wait()
            update_app_settings(mine, "acme", {name: "yes"})
        finally:
            mine.close()

    with ThreadPoolExecutor(len(names)) as pool:
        list(pool.map(write, names))
    assert {n for n in names if connection(runtime, "acme").settings.get(n) == "yes"} == set(names)


def test_a_secret_rotated_during_a_key_rotation_is_never_rolled_back(runtime, settings):
    """`tenant add --replace` (a new webhook secret) racing `tenant rotate-secrets` (re-encrypting
    every tenant): the newest secret survives, whichever commits first."""
    start = threading.Barrier(2)

    def reencrypt() -> None:
        start.wait()
        result = CliRunner().invoke(main, ["tenant", "rotate-secrets"], catch_exceptions=False)
        assert result.exit_code == 0, result.output

    def rotate(secret: str) -> None:
        mine = Runtime(settings)
        try:
            mine.db.tenant_id("acme")
            start.wait()
            add_tenant(mine, "acme", "zendesk", "acme.zendesk.com", {**ZENDESK, "webhook_secret": secret},
                       {"write_back_tags": False}, replace=True)
        finally:
            mine.close()

    for attempt in range(3):
        secret = f"whsec-rotated-{attempt}"
        with ThreadPoolExecutor(2) as pool:
            done = [pool.submit(reencrypt), pool.submit(rotate, secret)]
            for future in done:
                future.result()
        assert connection(runtime, "acme").secrets["webhook_secret"] == secret
