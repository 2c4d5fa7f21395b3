"""API tokens for machines: ``Authorization: Bearer dlk_<id>_<secret>``.

A token is shown once, when issued; Deskloop keeps only its SHA-256 (the secret has 256 random bits,
so a fast hash is enough and a copy of the database cannot be replayed). The ``<id>`` part names
the token in listings, the audit trail and revocation without revealing it. A token belongs to one
tenant, or to every tenant (only an admin may issue that), and carries explicit scopes.
"""

from __future__ import annotations

import hashlib
import secrets as token_source
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from core.access import SCOPES
from core.clock import aware_utc, utcnow
from core.errors import BadInput, NotFound
from core.runtime import Runtime
from core.store.tables import ApiTokenRow, TenantRow

TOKEN_PREFIX = "dlk_"
#: ``last_used_at`` is written at most this often per token, so reads stay reads.
_TOUCH_EVERY = timedelta(minutes=5)


@dataclass(frozen=True)
class ApiToken:
    id: int
    prefix: str
    name: str
    scopes: tuple[str, ...]
    #: The tenant's slug; None for an every-tenant token.
    tenant: str | None
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_scopes(scopes: tuple[str, ...]) -> tuple[str, ...]:
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise BadInput(f"scopes must be one or more of {', '.join(SCOPES)}"
                       + (f", not {unknown[0]!r}" if unknown else ""), field="scopes")
    return tuple(s for s in SCOPES if s in scopes)


def _as_token(row: ApiTokenRow, tenant: str | None) -> ApiToken:
    return ApiToken(row.id, row.prefix, row.name, tuple(row.scopes), tenant, row.created_by, row.created_at,
                    row.last_used_at, row.revoked_at)


def issue_token(runtime: Runtime, name: str, scopes: tuple[str, ...], tenant: str | None,
                created_by: str) -> tuple[str, ApiToken]:
    """A new token and its record. The token string is returned here and never again."""
    name = (name or "").strip()
    if not name or len(name) > 255:
        raise BadInput("give the token a name of 1 to 255 characters (what uses it)", field="name")
    scopes = _check_scopes(tuple(scopes))
    prefix = token_source.token_hex(6)
    token = f"{TOKEN_PREFIX}{prefix}_{token_source.token_urlsafe(32)}"
    with runtime.db.transaction() as session:
        tenant_id = None
        if tenant is not None:
            tenant_id = session.scalar(select(TenantRow.id).where(TenantRow.slug == tenant))
            if tenant_id is None:
                raise NotFound(f"no tenant named {tenant!r}", field="tenant")
        row = ApiTokenRow(prefix=prefix, token_sha256=_digest(token), name=name, scopes=list(scopes),
                          tenant_id=tenant_id, created_by=created_by[:400])
        session.add(row)
        session.flush()
        return token, _as_token(row, tenant)


def verify_token(runtime: Runtime, token: str) -> ApiToken | None:
    """The live token this string is, or None (unknown, malformed or revoked alike)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    with runtime.db.transaction() as session:
        found = session.execute(select(ApiTokenRow, TenantRow.slug)
                                .outerjoin(TenantRow, TenantRow.id == ApiTokenRow.tenant_id)
                                .where(ApiTokenRow.token_sha256 == _digest(token))).first()
        if found is None or found[0].revoked_at is not None:
            return None
        row, slug = found
        now = utcnow()
        if row.last_used_at is None or now - aware_utc(row.last_used_at) > _TOUCH_EVERY:
            row.last_used_at = now
        return _as_token(row, slug)


def list_tokens(runtime: Runtime, tenant: str | None = None) -> list[ApiToken]:
    """Every token (revoked ones too, marked), newest first; only ``tenant``'s when given."""
    with runtime.db.admin_session() as session:
        query = (select(ApiTokenRow, TenantRow.slug).outerjoin(TenantRow, TenantRow.id == ApiTokenRow.tenant_id)
                 .order_by(ApiTokenRow.id.desc()))
        if tenant is not None:
            query = query.where(TenantRow.slug == tenant)
        return [_as_token(row, slug) for row, slug in session.execute(query).all()]


def revoke_token(runtime: Runtime, prefix: str) -> ApiToken:
    """Revoke the token named by its id (the ``<id>`` in ``dlk_<id>_...``); it stops working at once."""
    prefix = prefix.removeprefix(TOKEN_PREFIX).split("_")[0]
    with runtime.db.transaction() as session:
        found = session.execute(select(ApiTokenRow, TenantRow.slug)
                                .outerjoin(TenantRow, TenantRow.id == ApiTokenRow.tenant_id)
                                .where(ApiTokenRow.prefix == prefix)).first()
        if found is None:
            raise NotFound(f"no API token {prefix!r}", field="token")
        row, slug = found
        if row.revoked_at is None:
            row.revoked_at = utcnow()
        session.flush()
        return _as_token(row, slug)
