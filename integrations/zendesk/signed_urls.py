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

A fetch that fails (an error, a wrong app id, a key URL that hangs until the timeout) is
remembered for :data:`FAILURE_TTL_SECONDS`: meanwhile tokens for that account are answered at
once, with the key still cached if there is one, or :class:`KeyUnavailable` (a 503 the agent can
retry) if not. And one fetch per key is in flight at a time: other requests wait
:data:`WAIT_FOR_FETCH_SECONDS` at most for its result. So forged tokens naming an account whose
key URL hangs cost one outbound fetch per :data:`FAILURE_TTL_SECONDS`, not one fetch and one
worker thread for :data:`FETCH_TIMEOUT_SECONDS` each.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import jwt
import requests

from core.helpdesk.contract import Connection
from core.panel.access import AccessDenied, PanelIdentity
from integrations.zendesk.account import account_host

log = logging.getLogger(__name__)

KEY_TTL_SECONDS = 3600
REFETCH_AFTER_SECONDS = 60
CLOCK_LEEWAY_SECONDS = 60
FETCH_TIMEOUT_SECONDS = 5
#: How long a failed fetch is remembered: no new fetch for that key until it has passed.
FAILURE_TTL_SECONDS = 30
#: How long a request waits for another request's fetch of the same key before giving up.
WAIT_FOR_FETCH_SECONDS = 1.0
APP_ID_SETTING = "zendesk_app_id"


class KeyUnavailable(Exception):
    """Zendesk's public key for the account cannot be had now (our side or Zendesk's, never the
    caller's): answer 503 and ask for a retry after ``retry_after`` seconds."""

    def __init__(self, reason: str, retry_after: int) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class AppNotConfigured(Exception):
    """The tenant has no Zendesk app id, so no token can be verified: the operator must set it."""


@dataclass
class _CachedKey:
    pem: str
    fetched_at: float


@dataclass
class _Failure:
    reason: str
    failed_at: float


#: By key URL (account, app, and the API address when a proxy serves it).
_keys: dict[str, _CachedKey] = {}
_failures: dict[str, _Failure] = {}
_fetching: dict[str, threading.Lock] = {}
_keys_lock = threading.Lock()


def forget_keys() -> None:
    with _keys_lock:
        _keys.clear()
        _failures.clear()


def public_key_url(conn: Connection, app_id: str) -> str:
    base = (conn.api_url or f"https://{account_host(conn.domain)}").rstrip("/")
    return f"{base}/api/v2/apps/{app_id}/public_key.pem"


def _fetch_key(url: str) -> str:
    """The PEM at ``url``; ``RuntimeError`` with the reason (no body, no header) otherwise."""
    try:
        response = requests.get(url, timeout=FETCH_TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        raise RuntimeError(f"Zendesk's app public key could not be fetched ({type(exc).__name__})") from None
    if response.status_code != 200 or "BEGIN PUBLIC KEY" not in response.text:
        raise RuntimeError(f"Zendesk's app public key could not be fetched (HTTP {response.status_code})")
    return response.text


def _usable(cached: _CachedKey | None, failure: _Failure | None, refresh: bool, now: float) -> str | None:
    """The cached key when no fetch is due (or a recent failure forbids one), else ``None``."""
    if cached is not None:
        age = now - cached.fetched_at
        if age < REFETCH_AFTER_SECONDS or (age < KEY_TTL_SECONDS and not refresh):
            return cached.pem
    if failure is not None and now - failure.failed_at < FAILURE_TTL_SECONDS:
        if cached is not None:
            return cached.pem  # stale rather than nothing while Zendesk's key cannot be fetched
        raise KeyUnavailable(failure.reason, retry_after=int(FAILURE_TTL_SECONDS - (now - failure.failed_at)) + 1)
    return None


def _key(conn: Connection, app_id: str, refresh: bool) -> str:
    url = public_key_url(conn, app_id)
    with _keys_lock:
        known = _usable(_keys.get(url), _failures.get(url), refresh, time.monotonic())
        in_flight = _fetching.setdefault(url, threading.Lock())
    if known is not None:
        return known
    if not in_flight.acquire(timeout=WAIT_FOR_FETCH_SECONDS):
        with _keys_lock:
            cached = _keys.get(url)
        if cached is not None:
            return cached.pem
        raise KeyUnavailable("Zendesk's app public key is being fetched and has not arrived yet",
                             retry_after=FETCH_TIMEOUT_SECONDS)
    try:
        with _keys_lock:  # the fetch this request waited for may have settled it
            known = _usable(_keys.get(url), _failures.get(url), refresh, time.monotonic())
        if known is not None:
            return known
        try:
            pem = _fetch_key(url)
        except RuntimeError as exc:
            log.error("%s for %s (app %s); no new fetch for %d s", exc, account_host(conn.domain), app_id,
                      FAILURE_TTL_SECONDS)
            with _keys_lock:
                _failures[url] = _Failure(str(exc), time.monotonic())
                cached = _keys.get(url)
            if cached is not None:
                return cached.pem
            raise KeyUnavailable(str(exc), retry_after=FAILURE_TTL_SECONDS) from None
        with _keys_lock:
            _keys[url] = _CachedKey(pem, time.monotonic())
            _failures.pop(url, None)
        return pem
    finally:
        in_flight.release()


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
    issuer, audience and lifetime fit. :class:`AccessDenied` otherwise; :class:`AppNotConfigured`
    or :class:`KeyUnavailable` when the fault is not the token's."""
    app_id = str(conn.settings.get(APP_ID_SETTING) or "")
    if not app_id:
        raise AppNotConfigured(f"tenant {conn.tenant!r} has no Zendesk app id; run "
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
