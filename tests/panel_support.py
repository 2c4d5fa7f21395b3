"""A Zendesk account for side-panel tests: a trained tenant connected to a local Zendesk API that
serves the app's public key, and tokens signed the way Zendesk signs the sidebar's URL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from core.helpdesk.connections import add_tenant, forget_connections
from core.learning.training import train_tenant
from core.panel.access import issue_app_token, update_app_settings
from core.runtime import Runtime
from core.store.tickets import upsert_tickets
from integrations.zendesk.signed_urls import forget_keys
from tests.factories import make_ticket, small_inbox
from tests.fake_api import serve
from tests.integrations.zendesk import fake_zendesk

ACCOUNT = "acme.zendesk.com"
APP_ID = 7
INSTALLATION = f"https://{ACCOUNT}/api/v2/apps/installations/99.json"
CREDENTIALS = {"email": "ops@acme.example", "api_token": "zd-token-1", "webhook_secret": "whsec-acme-42"}
#: The open ticket the agent has in front of them (Zendesk ticket 4242).
OPEN_TICKET = make_ticket("4242", "My new card still has not arrived, it has been two weeks", source="zendesk",
                          subject="Card not here")


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def zendesk_token(key: rsa.RSAPrivateKey, **overrides) -> str:
    """A token shaped like the one Zendesk posts to a signed sidebar URL."""
    now = int(time.time())
    claims = {"iss": ACCOUNT, "aud": INSTALLATION, "sub": f"https://{ACCOUNT}/api/v2/users/555.json",
              "iat": now, "exp": now + 300, "context": {"product": "support", "location": "ticket_sidebar"},
              **overrides}
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm="RS256")


@dataclass
class ZendeskAccount:
    runtime: Runtime
    api: object  # the fake Zendesk app (tests.integrations.zendesk.fake_zendesk)
    key: rsa.RSAPrivateKey
    app_token: str

    def token(self, **overrides) -> str:
        return zendesk_token(self.key, **overrides)


def seed_tenant(runtime: Runtime, slug: str, source: str) -> None:
    tenant_id = runtime.db.ensure_tenant(slug)
    tickets = [t.model_copy(update={"source": source}) for t in small_inbox()]
    with runtime.db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, tickets + [OPEN_TICKET.model_copy(update={"source": source})])
    train_tenant(runtime, slug)


@pytest.fixture
def zendesk_account(settings, db) -> Iterator[ZendeskAccount]:
    forget_connections()
    forget_keys()
    runtime = Runtime(settings)
    seed_tenant(runtime, "acme", "zendesk")
    api = fake_zendesk.make_app()
    key = new_key()
    fake_zendesk.fake(api).app_public_keys[APP_ID] = public_pem(key)
    with serve(api) as api_url:
        add_tenant(runtime, "acme", "zendesk", ACCOUNT, CREDENTIALS, {"write_back_tags": False, "api_url": api_url})
        update_app_settings(runtime, "acme", {"zendesk_app_id": str(APP_ID)})
        yield ZendeskAccount(runtime, api, key, issue_app_token(runtime, "acme"))
    runtime.close()
    forget_connections()
    forget_keys()
