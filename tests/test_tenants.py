"""Connecting tenants: credentials from a file or the environment, encrypted at rest, never shown."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from core.cli import main
from core.helpdesk.secrets import decrypt, encrypt
from core.store.tables import TenantRow

ZENDESK_CREDENTIALS = {"email": "ops@acme.example", "api_token": "zd-token-5f1c9a", "webhook_secret": "whsec-77aa"}


def run(*args, env=None):
    """``deskloop`` with the arguments; ``tenant add`` without calling the helpdesk (its check is
    tested against a local API server below)."""
    args = [*args, "--no-check"] if args[:2] == ("tenant", "add") else list(args)
    return CliRunner().invoke(main, args, env=env, catch_exceptions=False)


@pytest.fixture
def credentials_file(tmp_path):
    path = tmp_path / "zendesk.json"
    path.write_text(json.dumps(ZENDESK_CREDENTIALS))
    return path


def test_tenant_add_stores_credentials_encrypted_and_list_names_them_only(db, settings, credentials_file):
    result = run("tenant", "add", "acme", "--helpdesk", "zendesk", "--domain", "acme.zendesk.com",
                 "--credentials", str(credentials_file))
    assert result.exit_code == 0, result.output
    assert "/webhooks/zendesk/acme" in result.output
    with db.admin_session() as session:
        row = session.scalar(select(TenantRow).where(TenantRow.slug == "acme"))
        assert row.helpdesk == "zendesk" and row.domain == "acme.zendesk.com"
        for value in ZENDESK_CREDENTIALS.values():
            assert value not in row.credentials  # encrypted at rest
        assert decrypt(settings.secret_key, row.credentials) == ZENDESK_CREDENTIALS
        assert row.settings["write_back_tags"] is True and row.settings["private_note"] is False

    listed = run("tenant", "list", "--json")
    assert listed.exit_code == 0
    [acme] = json.loads(listed.output)
    assert acme["credentials"] == ["api_token", "email", "webhook_secret"]
    for value in ZENDESK_CREDENTIALS.values():
        assert value not in listed.output and value not in result.output


def test_credentials_from_the_environment_in_key_value_form(db, settings):
    env = {"DESKLOOP_CREDENTIAL_API_KEY": "fd-key-31", "DESKLOOP_CREDENTIAL_WEBHOOK_SECRET": "hdr-secret-9"}
    result = run("tenant", "add", "beta", "--helpdesk", "freshdesk", "--domain", "beta.freshdesk.com",
                 "--credentials-env", "--private-note", env=env)
    assert result.exit_code == 0, result.output
    with db.admin_session() as session:
        row = session.scalar(select(TenantRow).where(TenantRow.slug == "beta"))
        credentials = decrypt(settings.secret_key, row.credentials)
        assert credentials == {"api_key": "fd-key-31", "webhook_secret": "hdr-secret-9"}
        assert row.settings["private_note"] is True


@pytest.mark.parametrize("problem, args, message", [
    ("missing credential", {"email": "a@b.example", "api_token": "t"}, "needs credentials webhook_secret"),
    ("unknown credential", {**ZENDESK_CREDENTIALS, "password": "x"}, "unknown credential names"),
])
def test_bad_credentials_exit_2_and_store_nothing(db, settings, tmp_path, problem, args, message):
    path = tmp_path / "creds.env"
    path.write_text("".join(f"{k.upper()}={v}\n" for k, v in args.items()))
    result = run("tenant", "add", "acme", "--helpdesk", "zendesk", "--domain", "acme.zendesk.com",
                 "--credentials", str(path))
    assert result.exit_code == 2 and message in result.output
    with db.admin_session() as session:
        assert session.scalar(select(TenantRow).where(TenantRow.slug == "acme")) is None


def test_no_secret_key_is_a_clear_error(db, settings, credentials_file, monkeypatch):
    monkeypatch.delenv("DESKLOOP_SECRET_KEY")
    result = run("tenant", "add", "acme", "--helpdesk", "zendesk", "--domain", "acme.zendesk.com",
                 "--credentials", str(credentials_file))
    assert result.exit_code == 2 and "DESKLOOP_SECRET_KEY is not set" in result.output


def test_credentials_must_not_be_given_twice_or_not_at_all(db, settings, credentials_file):
    neither = run("tenant", "add", "acme", "--helpdesk", "zendesk", "--domain", "acme.zendesk.com")
    both = run("tenant", "add", "acme", "--helpdesk", "zendesk", "--domain", "acme.zendesk.com",
               "--credentials", str(credentials_file), "--credentials-env")
    assert neither.exit_code == 2 and both.exit_code == 2
    assert "exactly one of --credentials FILE or --credentials-env" in neither.output


def test_reconnecting_needs_replace(db, settings, credentials_file):
    assert run("tenant", "add", "acme", "--helpdesk", "zendesk", "--domain", "acme.zendesk.com",
               "--credentials", str(credentials_file)).exit_code == 0
    again = run("tenant", "add", "acme", "--helpdesk", "zendesk", "--domain", "other.zendesk.com",
                "--credentials", str(credentials_file))
    assert again.exit_code == 2 and "--replace" in again.output
    assert run("tenant", "add", "acme", "--helpdesk", "zendesk", "--domain", "other.zendesk.com",
               "--credentials", str(credentials_file), "--replace").exit_code == 0


def test_rotation_reencrypts_with_the_first_key(db, settings, credentials_file, monkeypatch):
    old = settings.secret_key
    assert run("tenant", "add", "acme", "--helpdesk", "zendesk", "--domain", "acme.zendesk.com",
               "--credentials", str(credentials_file)).exit_code == 0
    new = "a-brand-new-key-for-the-next-year-of-credentials"
    monkeypatch.setenv("DESKLOOP_SECRET_KEY", f"{new},{old}")
    assert run("tenant", "rotate-secrets").exit_code == 0
    with db.admin_session() as session:
        token = session.scalar(select(TenantRow.credentials).where(TenantRow.slug == "acme"))
    assert decrypt(new, token) == ZENDESK_CREDENTIALS  # the old key is no longer needed


def test_a_wrong_key_cannot_read_credentials():
    token = encrypt("kestrel-harbour-lantern-93-quietly-folding", {"api_token": "t"})
    with pytest.raises(Exception, match="cannot be decrypted"):
        decrypt("juniper-meadow-copper-17-slowly-unwinding", token)


CHECKED = {  # helpdesk -> (fake API module, domain, working credentials, the identity setting it learns)
    "zendesk": ("fake_zendesk", "larkspur.zendesk.com",
                {"email": "agent@larkspur.example", "api_token": "zd-token", "webhook_secret": "s"}, "api_user_id"),
    "freshdesk": ("fake_freshdesk", "northwind-bikes.freshdesk.com",
                  {"api_key": "fd-test-key-Jq8vR2mXw4", "webhook_secret": "s"}, "api_user_name"),
    "intercom": ("fake_intercom", "api.intercom.io",
                 {"access_token": "dG9rOmZha2UtaW50ZXJjb20tdG9rZW4=", "client_secret": "s"}, "admin_id"),
}


@pytest.mark.parametrize("helpdesk", sorted(CHECKED))
def test_tenant_add_checks_the_credentials_with_the_helpdesk(db, settings, tmp_path, helpdesk):
    import importlib

    from tests.fake_api import serve

    module, domain, credentials, identity = CHECKED[helpdesk]
    fake = importlib.import_module(f"tests.integrations.{helpdesk}.{module}")
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(credentials))
    wrong = {k: ("wrong-" + v if k in ("api_token", "api_key", "access_token") else v) for k, v in credentials.items()}
    bad.write_text(json.dumps(wrong if helpdesk != "zendesk" else {**credentials, "email": ""}))
    with serve(fake.make_app()) as url:
        refused = CliRunner().invoke(main, ["tenant", "add", "acme", "--helpdesk", helpdesk, "--domain", domain,
                                            "--credentials", str(bad), "--api-url", url])
        accepted = CliRunner().invoke(main, ["tenant", "add", "acme", "--helpdesk", helpdesk, "--domain", domain,
                                             "--credentials", str(good), "--api-url", url])
    assert refused.exit_code == 2, refused.output
    for value in wrong.values():
        assert len(value) < 3 or value not in refused.output
    assert accepted.exit_code == 0, accepted.output
    with db.admin_session() as session:
        row = session.scalar(select(TenantRow).where(TenantRow.slug == "acme"))
    assert row.settings.get(identity), row.settings  # Deskloop's own user, for loop prevention
