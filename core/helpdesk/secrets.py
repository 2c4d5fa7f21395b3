"""Helpdesk credentials encrypted at rest.

Credentials (API tokens, webhook secrets) are stored in the tenant row as one Fernet token
(AES-128-CBC with HMAC-SHA256, from the maintained ``cryptography`` package) over their JSON. The
key comes from ``DESKLOOP_SECRET_KEY``, never from the database: a copy of the database alone
reveals nothing. A key is at least 32 characters and hard to guess (zxcvbn's estimate, see
:mod:`core.access.strength`); it is stretched with HKDF, so a long passphrase and a
``Fernet.generate_key()`` value are both fine; listing several keys
separated by commas rotates them (the first encrypts, every one decrypts;
``deskloop tenant rotate-secrets`` re-encrypts with the first).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.access.strength import key_weakness
from core.errors import BadInput

MIN_KEY_LENGTH = 32
_HKDF_INFO = b"deskloop helpdesk credentials v1"


class SecretsUnavailable(BadInput):
    """No usable ``DESKLOOP_SECRET_KEY``, or stored credentials it cannot decrypt."""


def _fernet(key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def secret_keys(secret_key: str | None) -> list[str]:
    """The keys in ``DESKLOOP_SECRET_KEY``, first (current) key first; refused when unset or short."""
    keys = [k.strip() for k in (secret_key or "").split(",") if k.strip()]
    if not keys:
        raise SecretsUnavailable("DESKLOOP_SECRET_KEY is not set; it encrypts helpdesk credentials "
                                 "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))')")
    if any(len(k) < MIN_KEY_LENGTH for k in keys):
        raise SecretsUnavailable(f"DESKLOOP_SECRET_KEY must be at least {MIN_KEY_LENGTH} characters")
    for position, key in enumerate(keys, start=1):
        weakness = key_weakness(key)
        if weakness:
            which = "DESKLOOP_SECRET_KEY" if len(keys) == 1 else f"key {position} of DESKLOOP_SECRET_KEY"
            raise SecretsUnavailable(f"{which} is too weak: {weakness}; generate one with: "
                                     "python -c 'import secrets; print(secrets.token_urlsafe(32))'")
    return keys


def cipher(secret_key: str | None) -> MultiFernet:
    """The cipher for ``DESKLOOP_SECRET_KEY`` (comma-separated keys rotate)."""
    return MultiFernet([_fernet(k) for k in secret_keys(secret_key)])


def encrypt(secret_key: str | None, secrets: Mapping[str, str]) -> str:
    return cipher(secret_key).encrypt(json.dumps(dict(secrets), sort_keys=True).encode()).decode()


def decrypt(secret_key: str | None, token: str) -> dict[str, str]:
    try:
        return json.loads(cipher(secret_key).decrypt(token.encode()))
    except InvalidToken as exc:
        raise SecretsUnavailable("stored credentials cannot be decrypted with DESKLOOP_SECRET_KEY "
                                 "(wrong key, or a rotated-out key missing from the list)") from exc


def rotate(secret_key: str | None, token: str) -> str:
    """``token`` re-encrypted with the first key."""
    return cipher(secret_key).rotate(token.encode()).decode()
