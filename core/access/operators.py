"""Operator accounts: people who sign in to Deskloop's pages and API.

Passwords are hashed with Argon2id (``argon2-cffi``, the Password Hashing Competition winner, with
its maintained defaults); a hash made under older parameters is upgraded at the next good login.
An unknown email costs the same hashing time as a wrong password, so timing tells an outsider
nothing about who has an account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select

from core.access import ROLE_SCOPES, ROLES
from core.access.strength import check_password
from core.clock import utcnow
from core.errors import BadInput, NotFound
from core.runtime import Runtime
from core.store.tables import OperatorRow, OperatorTenantRow, TenantRow

_hasher = PasswordHasher()
#: Verified against when the email is unknown, so both answers take the same time.
_DUMMY_HASH = _hasher.hash("deskloop: no such operator")


@dataclass(frozen=True)
class Operator:
    """An operator as the rest of Deskloop sees it (never the password hash)."""

    id: int
    email: str
    role: str
    disabled: bool
    session_version: int
    #: The tenants they may see; None for an admin (every tenant).
    tenants: tuple[str, ...] | None
    has_password: bool
    created_at: datetime
    last_login_at: datetime | None

    @property
    def scopes(self) -> frozenset[str]:
        return ROLE_SCOPES[self.role]


def normalize_email(email: str) -> str:
    cleaned = (email or "").strip().lower()
    if "@" not in cleaned or len(cleaned) > 320 or any(c.isspace() for c in cleaned):
        raise BadInput(f"{email!r} is not an email address", field="email")
    return cleaned


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise BadInput(f"role must be one of {', '.join(ROLES)}, not {role!r}", field="role")
    return role


def _tenant_ids(session, slugs: tuple[str, ...]) -> list[int]:
    rows = dict(session.execute(select(TenantRow.slug, TenantRow.id).where(TenantRow.slug.in_(slugs))).all())
    missing = [s for s in slugs if s not in rows]
    if missing:
        raise NotFound(f"no tenant named {missing[0]!r}", field="tenant")
    return [rows[s] for s in slugs]


def _as_operator(session, row: OperatorRow) -> Operator:
    tenants = None
    if row.role != "admin":
        tenants = tuple(session.scalars(
            select(TenantRow.slug).join(OperatorTenantRow, OperatorTenantRow.tenant_id == TenantRow.id)
            .where(OperatorTenantRow.operator_id == row.id).order_by(TenantRow.slug)).all())
    return Operator(row.id, row.email, row.role, row.disabled, row.session_version, tenants,
                    row.password_hash is not None, row.created_at, row.last_login_at)


def add_operator(runtime: Runtime, email: str, role: str, tenants: tuple[str, ...] = (),
                 password: str | None = None) -> Operator:
    """A new operator. Agents and viewers see only ``tenants``; an admin sees every tenant."""
    email, role = normalize_email(email), _check_role(role)
    if role == "admin" and tenants:
        raise BadInput("an admin sees every tenant; give --tenant only to agents and viewers", field="tenant")
    if role != "admin" and not tenants:
        raise BadInput(f"an {role} needs at least one --tenant to see", field="tenant")
    if password is not None:
        check_password(password, email=email)
    with runtime.db.transaction() as session:
        if session.scalar(select(OperatorRow.id).where(OperatorRow.email == email)) is not None:
            raise BadInput(f"an operator {email} already exists", field="email")
        tenant_ids = _tenant_ids(session, tuple(dict.fromkeys(tenants)))
        row = OperatorRow(email=email, role=role, disabled=False, session_version=1,
                          password_hash=_hasher.hash(password) if password is not None else None)
        session.add(row)
        session.flush()
        session.add_all(OperatorTenantRow(operator_id=row.id, tenant_id=t) for t in tenant_ids)
        session.flush()
        return _as_operator(session, row)


def get_operator(runtime: Runtime, operator_id: int) -> Operator | None:
    with runtime.db.admin_session() as session:
        row = session.get(OperatorRow, operator_id)
        return None if row is None else _as_operator(session, row)


def find_operator(runtime: Runtime, email: str) -> Operator:
    with runtime.db.admin_session() as session:
        row = session.scalar(select(OperatorRow).where(OperatorRow.email == normalize_email(email)))
        if row is None:
            raise NotFound(f"no operator {email.strip().lower()}", field="email")
        return _as_operator(session, row)


def list_operators(runtime: Runtime) -> list[Operator]:
    with runtime.db.admin_session() as session:
        rows = session.scalars(select(OperatorRow).order_by(OperatorRow.email)).all()
        return [_as_operator(session, row) for row in rows]


def _update(runtime: Runtime, email: str, change) -> Operator:
    with runtime.db.transaction() as session:
        row = session.scalar(select(OperatorRow).where(OperatorRow.email == normalize_email(email)))
        if row is None:
            raise NotFound(f"no operator {email.strip().lower()}", field="email")
        change(session, row)
        session.flush()
        return _as_operator(session, row)


def set_password(runtime: Runtime, email: str, password: str) -> Operator:
    """A new password; every session the operator has open ends."""
    check_password(password, email=normalize_email(email))

    def change(_session, row: OperatorRow) -> None:
        row.password_hash = _hasher.hash(password)
        row.session_version += 1

    return _update(runtime, email, change)


def set_disabled(runtime: Runtime, email: str, disabled: bool) -> Operator:
    """Disable (every open session ends at its next request) or enable an operator."""

    def change(_session, row: OperatorRow) -> None:
        if row.disabled != disabled:
            row.disabled = disabled
            row.session_version += 1

    return _update(runtime, email, change)


def set_role(runtime: Runtime, email: str, role: str, tenants: tuple[str, ...] = ()) -> Operator:
    """Change an operator's role and tenants (their sessions end, so the change applies at once)."""
    role = _check_role(role)
    if role == "admin" and tenants:
        raise BadInput("an admin sees every tenant; give --tenant only to agents and viewers", field="tenant")
    if role != "admin" and not tenants:
        raise BadInput(f"an {role} needs at least one --tenant to see", field="tenant")

    def change(session, row: OperatorRow) -> None:
        ids = [] if role == "admin" else _tenant_ids(session, tuple(dict.fromkeys(tenants)))
        session.execute(delete(OperatorTenantRow).where(OperatorTenantRow.operator_id == row.id))
        session.add_all(OperatorTenantRow(operator_id=row.id, tenant_id=t) for t in ids)
        row.role = role
        row.session_version += 1

    return _update(runtime, email, change)


def authenticate(runtime: Runtime, email: str, password: str) -> Operator | None:
    """The operator these credentials prove, or None (unknown, wrong, disabled or SSO-only alike)."""
    try:
        email = normalize_email(email)
    except BadInput:
        email = ""
    with runtime.db.transaction() as session:
        row = session.scalar(select(OperatorRow).where(OperatorRow.email == email)) if email else None
        try:
            _hasher.verify(row.password_hash if row is not None and row.password_hash else _DUMMY_HASH,
                           password[:1024])
        except (VerificationError, InvalidHashError):
            return None
        if row is None or row.password_hash is None or row.disabled:
            return None
        if _hasher.check_needs_rehash(row.password_hash):
            row.password_hash = _hasher.hash(password)
        row.last_login_at = utcnow()
        session.flush()
        return _as_operator(session, row)


def record_login(runtime: Runtime, operator_id: int) -> None:
    """Note a login that did not go through a password (single sign-on)."""
    with runtime.db.transaction() as session:
        row = session.get(OperatorRow, operator_id)
        if row is not None:
            row.last_login_at = utcnow()


def end_sessions(runtime: Runtime, operator_id: int) -> None:
    """End every session the operator has open, on every device. Sessions live in signed cookies,
    so signing out must make the cookie itself worthless: a copy taken before would still be valid."""
    with runtime.db.transaction() as session:
        row = session.get(OperatorRow, operator_id)
        if row is not None:
            row.session_version += 1
