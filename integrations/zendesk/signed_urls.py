"""Verifying the token Zendesk signs the sidebar's URL with (ZAF ``signedUrls``).

With ``"signedUrls": true`` Zendesk opens the sidebar location with a POST whose form field
``token`` is an RS256 JWT, signed with the app's private key; the matching public key is served
anonymously at ``/api/v2/apps/{app_id}/public_key.pem`` on the account. The token arrives once,
on the first page load (helpdesk-integrations notes §1.2), so the sidebar page turns it into a
panel session of its own.

The unverified ``iss`` (``acme.zendesk.com``) only selects which tenant's key to try; nothing is
trusted until the signature verifies with that key. Keys are cached per account and app for an
hour, and fetched again (at most once a minute) when a token does not verify, so a rotated key
is picked up without letting forged tokens turn Deskloop into a request amplifier.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import jwt
import requests

from core.helpdesk.contract import Connection
from core.panel.access import AccessDenied, PanelIdentity
from integrations.zendesk.account import account_host

KEY_TTL_SECONDS = 3600
REFETCH_AFTER_SECONDS = 60
CLOCK_LEEWAY_SECONDS = 60
FETCH_TIMEOUT_SECONDS = 5
APP_ID_SETTING = "zendesk_app_id"


@dataclass
class _CachedKey:
    pem: str
    fetched_at: float


_keys: dict[tuple[str, str], _CachedKey] = {}
_keys_lock = threading.Lock()


def forget_keys() -> None:
    with _keys_lock:
        _keys.clear()


def public_key_url(conn: Connection, app_id: str) -> str:
    base = (conn.api_url or f"https://{account_host(conn.domain)}").rstrip("/")
    return f"{base}/api/v2/apps/{app_id}/public_key.pem"


def _fetch_key(url: str) -> str:
    try:
        response = requests.get(url, timeout=FETCH_TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        raise AccessDenied(f"Zendesk's app public key could not be fetched ({type(exc).__name__})") from None
    if response.status_code != 200 or "BEGIN PUBLIC KEY" not in response.text:
        raise AccessDenied(f"Zendesk's app public key could not be fetched (HTTP {response.status_code})")
    return response.text


def _key(conn: Connection, app_id: str, refresh: bool) -> str:
    cache_key = (account_host(conn.domain), app_id)
    now = time.monotonic()
    with _keys_lock:
        cached = _keys.get(cache_key)
    fresh = cached is not None and now - cached.fetched_at < KEY_TTL_SECONDS
    if cached is not None and (fresh and not refresh or now - cached.fetched_at < REFETCH_AFTER_SECONDS):
        return cached.pem
    pem = _fetch_key(public_key_url(conn, app_id))
    with _keys_lock:
        _keys[cache_key] = _CachedKey(pem, now)
    return pem


def unverified_issuer(token: str) -> str:
    """The account the token claims to come from (used only to pick the key to verify with)."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise AccessDenied("the Zendesk token is not a JWT") from None
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise AccessDenied("the Zendesk token names no issuer")
    return issuer.lower()


def verify_token(token: str, conn: Connection) -> dict[str, Any]:
    """The token's claims, once its RS256 signature verifies with the tenant's app key and its
    issuer, audience and lifetime fit. :class:`AccessDenied` otherwise."""
    app_id = str(conn.settings.get(APP_ID_SETTING) or "")
    if not app_id:
        raise AccessDenied(f"tenant {conn.tenant!r} has no Zendesk app id; run "
                           f"`deskloop tenant app {conn.tenant} --set zendesk_app_id=ID`")
    host = account_host(conn.domain)
    for refresh in (False, True):
        try:
            claims = jwt.decode(token, _key(conn, app_id, refresh), algorithms=["RS256"], issuer=host,
                                leeway=CLOCK_LEEWAY_SECONDS,
                                options={"require": ["exp", "iat", "iss"], "verify_aud": False})
            break
        except jwt.InvalidSignatureError:
            if refresh:
                raise AccessDenied("the Zendesk token's signature does not verify") from None
        except jwt.PyJWTError as exc:
            raise AccessDenied(f"the Zendesk token is not accepted: {exc}") from None
    audience = claims.get("aud")
    installation_prefix = f"https://{host}/api/v2/apps/installations/"
    if audience is not None and not str(audience).startswith(installation_prefix):
        raise AccessDenied("the Zendesk token was issued for another audience")
    return claims


def identity_from_claims(tenant: str, claims: dict[str, Any]) -> PanelIdentity:
    """The agent is whatever the token's subject says, when it says something."""
    subject = claims.get("sub")
    return PanelIdentity(tenant, "zendesk", str(subject) if subject else None)
