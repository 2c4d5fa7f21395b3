"""The key that signs operator sessions and CSRF tokens, and the start-up check on the
credentials key.

With ``DESKLOOP_SECRET_KEY`` set, the session key is derived from it (HKDF, its own label, so a
session key reveals nothing about the credentials key), and every machine of a deployment signs
alike. Without it (the embedded demo), a random key is made once and kept in
``DESKLOOP_HOME/session.key``, readable by its owner only.
"""

from __future__ import annotations

import os
import secrets as token_source

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import func, select

from core.config import Settings
from core.helpdesk.secrets import SecretsUnavailable, secret_keys
from core.runtime import Runtime
from core.store.tables import TenantRow

_HKDF_INFO = b"deskloop operator sessions v1"


def session_key(settings: Settings) -> bytes:
    if settings.secret_key:
        first = secret_keys(settings.secret_key)[0]
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(first.encode())
    settings.ensure_home()
    path = settings.home / "session.key"
    if not path.exists():
        # Written whole under another name, then linked: workers starting together agree on one key.
        draft = path.with_name(f"session.key.{token_source.token_hex(8)}")
        fd = os.open(draft, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(token_source.token_bytes(32).hex())
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return bytes.fromhex(path.read_text().strip())


def check_credentials_key(runtime: Runtime) -> None:
    """Refuse to serve when tenants' helpdesk credentials are stored but cannot be used."""
    if runtime.settings.secret_key:
        secret_keys(runtime.settings.secret_key)  # raises, with the reason, for a short or weak key
        return
    with runtime.db.admin_session() as session:
        holding = session.scalar(select(func.count()).select_from(TenantRow).where(TenantRow.credentials.is_not(None)))
    if holding:
        raise SecretsUnavailable(
            f"DESKLOOP_SECRET_KEY is not set, and {holding} tenant(s) have helpdesk credentials stored: "
            "without it no webhook can be verified and no helpdesk reached. Set the key the credentials "
            "were saved with, then start the server again.")
