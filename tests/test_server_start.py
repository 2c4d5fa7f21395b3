"""A server that could not do its job refuses to start, with the reason; local state is private."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from dataclasses import replace

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from core.app import create_app
from core.cli import main
from core.config import Settings
from core.helpdesk.secrets import SecretsUnavailable, encrypt, secret_keys
from core.store.tables import TenantRow

WEAK_KEYS = ["a" * 40, "password" * 5, "0123456789" * 4, "abcdefghijklmnopqrstuvwxyz0123456789"]


@pytest.mark.parametrize("key", WEAK_KEYS)
def test_a_long_but_guessable_secret_key_is_refused(key):
    with pytest.raises(SecretsUnavailable, match="too weak"):
        secret_keys(key)


def test_a_random_key_and_a_long_passphrase_are_accepted():
    assert secret_keys("xvvVAfM1ZFaXK7Wo-v9--clS_xAK4-mh3Jp0Qe2Lw8c,correct horse battery staple under the pier")


def _store_credentials(db, settings):
    tenant_id = db.ensure_tenant("acme", "zendesk", "acme.zendesk.com")
    with db.transaction() as session:
        session.execute(update(TenantRow).where(TenantRow.id == tenant_id).values(
            credentials=encrypt(settings.secret_key, {"email": "a@acme.example", "api_token": "t",
                                                      "webhook_secret": "w"})))


def test_a_server_holding_credentials_will_not_start_without_the_key(db, settings):
    _store_credentials(db, settings)
    with pytest.raises(SecretsUnavailable, match="1 tenant\\(s\\) have helpdesk credentials stored"):
        create_app(replace(settings, secret_key=None))
    with pytest.raises(SecretsUnavailable, match="too weak"):
        create_app(replace(settings, secret_key="a" * 48))
    create_app(settings).extensions["deskloop"].close()  # with its key it starts


def test_deskloop_serve_says_why_and_exits_2(db, settings, monkeypatch):
    _store_credentials(db, settings)
    monkeypatch.delenv("DESKLOOP_SECRET_KEY")
    result = CliRunner().invoke(main, ["serve", "--port", "1"])
    assert result.exit_code == 2 and "DESKLOOP_SECRET_KEY is not set" in result.output


def test_gunicorn_refuses_to_boot_with_the_reason(db, settings, tmp_path):
    _store_credentials(db, settings)
    env = {k: v for k, v in os.environ.items() if k != "DESKLOOP_SECRET_KEY"}
    env.update(DESKLOOP_HOME=str(settings.home), DESKLOOP_DATABASE_URL=settings.database_url)
    done = subprocess.run([sys.executable, "-m", "gunicorn", "--bind", "127.0.0.1:0", "core.app:create_app()"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "DESKLOOP_SECRET_KEY is not set" in done.stderr


def test_home_database_and_session_key_are_readable_by_their_owner_only(tmp_path):
    home = tmp_path / "fresh-home"
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'deskloop.db'}")
    app = create_app(settings)
    try:
        app.test_client().get("/api/v1/health")
        assert stat.S_IMODE(home.stat().st_mode) == 0o700
        for name in ("deskloop.db", "session.key"):
            assert stat.S_IMODE((home / name).stat().st_mode) == 0o600, name
        for extra in home.glob("deskloop.db-*"):  # SQLite's WAL and shared memory follow the database
            assert stat.S_IMODE(extra.stat().st_mode) & 0o077 == 0, extra.name
    finally:
        app.extensions["deskloop"].close()
