"""The widget's tokens and proofs: the public key, the identity secret and its HMAC, the session
token, and the origins a key may be used from.

The public key is not a secret (it sits in the host page's ``<script>`` tag): it names the tenant,
and the allowed origins, the rate limits and, when set, the signed identity are what protect it.
The identity secret never leaves the host's backend, which signs each customer's id with it as
helpdesks' messengers do (``HMAC-SHA256(secret, user_id)``, hex)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from core.errors import BadInput

KEY_PREFIX = "wk_"
SESSION_PREFIX = "ws_"
#: Longest key, session token and origin accepted (longer ones name nothing; refused before a lookup).
MAX_KEY_CHARS = 64
MAX_ORIGIN_CHARS = 255
_DEFAULT_PORTS = {"http": 80, "https": 443}


def new_public_key() -> str:
    """A random, URL-safe key (192 bits): unguessable, so a tenant cannot be found by trying."""
    return KEY_PREFIX + secrets.token_urlsafe(24)


def new_identity_secret() -> str:
    return secrets.token_urlsafe(32)


def new_session_token() -> str:
    return SESSION_PREFIX + secrets.token_urlsafe(24)


def token_hash(token: str) -> str:
    """What is stored of a session token: a copy of the database does not let anyone continue a
    customer's session."""
    return hashlib.sha256(token.encode()).hexdigest()


def identity_hash(secret: str, user_id: str) -> str:
    """``HMAC-SHA256(secret, user_id)`` as lower-case hex: what the host's backend computes."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def identity_matches(secret: str, user_id: str, given: str | None) -> bool:
    """Whether ``given`` is the user's hash, compared in constant time (bytes: a non-ASCII guess
    is just wrong, not an error)."""
    if not given:
        return False
    return hmac.compare_digest(identity_hash(secret, user_id).encode(), given.strip().lower().encode())


def normal_origin(raw: str) -> str:
    """``scheme://host[:port]`` as a browser sends it in ``Origin`` (lower case, default port left
    out), or :class:`BadInput` saying what is wrong: a path, query, user or a scheme other than
    http(s) means the value is not an origin."""
    text = (raw or "").strip()
    if not text or len(text) > MAX_ORIGIN_CHARS:
        raise BadInput(f"origin {raw!r} is not scheme://host[:port] (at most {MAX_ORIGIN_CHARS} characters)",
                       field="origin")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise BadInput(f"origin {raw!r} has an invalid port", field="origin") from None
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in _DEFAULT_PORTS or not host or parts.username or parts.password:
        raise BadInput(f"origin {raw!r} must be http(s)://host[:port], such as https://app.example.com",
                       field="origin")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise BadInput(f"origin {raw!r} must be only scheme://host[:port], without a path or query", field="origin")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    return f"{scheme}://{netloc}"


def request_origin(header: str | None) -> str | None:
    """The request's ``Origin`` header as :func:`normal_origin` spells it; ``None`` when absent,
    ``null`` (a sandboxed or file page) or not an origin at all."""
    if not header or header.strip() == "null":
        return None
    try:
        return normal_origin(header)
    except BadInput:
        return None
