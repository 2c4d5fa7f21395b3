"""Each tenant's widget: its public key, allowed origins, identity secret and what it keeps of the
host's app state. Set up and changed from the command line (``deskloop widget``); read by every
widget request through its key (one indexed lookup).

The identity secret is encrypted with ``DESKLOOP_SECRET_KEY`` as helpdesk credentials are
(:mod:`core.helpdesk.secrets`) and shown once, when made; nothing prints it again."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select

from core.clock import utcnow
from core.errors import BadInput, NotFound
from core.helpdesk.secrets import decrypt, encrypt
from core.runtime import Runtime
from core.store.tables import TenantRow, WidgetConfigRow, WidgetOriginRow
from core.widget.keys import MAX_KEY_CHARS, new_identity_secret, new_public_key, normal_origin

#: How many origins one tenant may allow (a web app has a few: production, staging, a local port).
MAX_ORIGINS = 20
#: The longest app-state key an allow or deny list names.
MAX_STATE_KEY_CHARS = 128
_SECRET_NAME = "identity_secret"


@dataclass(frozen=True)
class WidgetConfig:
    """A tenant's widget as requests read it. The identity secret itself is not here
    (:func:`identity_secret_of`): only whether there is one."""

    tenant: str
    tenant_id: int
    public_key: str
    origins: tuple[str, ...]
    signed_identity: bool
    #: App-state keys kept: ``None`` for every key not in ``app_state_deny``.
    app_state_allow: tuple[str, ...] | None
    app_state_deny: tuple[str, ...]

    def allows(self, origin: str | None) -> bool:
        return origin is not None and origin in self.origins


def _origins(raw: Iterable[str]) -> list[str]:
    found = list(dict.fromkeys(normal_origin(o) for o in raw))
    if not found:
        raise BadInput("give at least one --origin, such as https://app.example.com", field="origin")
    if len(found) > MAX_ORIGINS:
        raise BadInput(f"at most {MAX_ORIGINS} origins per tenant", field="origin")
    return found


def _state_keys(raw: Iterable[str], option: str) -> list[str]:
    keys = list(dict.fromkeys(k.strip() for k in raw))
    bad = [k for k in keys if not k or len(k) > MAX_STATE_KEY_CHARS]
    if bad:
        raise BadInput(f"{option} takes an app-state key of 1 to {MAX_STATE_KEY_CHARS} characters", field=option)
    return keys


def _tenant(session, slug: str) -> int:
    tenant_id = session.scalar(select(TenantRow.id).where(TenantRow.slug == slug))
    if tenant_id is None:
        raise NotFound(f"no tenant named {slug!r}", field="tenant")
    return tenant_id


def _read(session, tenant: str, row: WidgetConfigRow) -> WidgetConfig:
    origins = session.scalars(select(WidgetOriginRow.origin).where(WidgetOriginRow.tenant_id == row.tenant_id)
                              .order_by(WidgetOriginRow.id)).all()
    return WidgetConfig(tenant, row.tenant_id, row.public_key, tuple(origins), row.identity_secret is not None,
                        None if row.app_state_allow is None else tuple(row.app_state_allow),
                        tuple(row.app_state_deny or ()))


def _replace_origins(session, tenant_id: int, origins: Sequence[str]) -> None:
    session.execute(delete(WidgetOriginRow).where(WidgetOriginRow.tenant_id == tenant_id))
    session.add_all(WidgetOriginRow(tenant_id=tenant_id, origin=o) for o in origins)


def setup_widget(runtime: Runtime, tenant: str, origins: Iterable[str], allow_state: Iterable[str] | None = None,
                 deny_state: Iterable[str] = (), all_state: bool = False) -> tuple[WidgetConfig, bool]:
    """Create the tenant's widget (a new key) or, when it has one, replace its origins and, when
    given, its app-state lists; the key and identity secret stay. Returns (widget, created).
    Everything is checked before anything is written."""
    checked = _origins(origins)
    allow = None if allow_state is None else _state_keys(allow_state, "allow-state")
    deny = _state_keys(deny_state, "deny-state")
    if all_state and allow:
        raise BadInput("--all-state keeps every key; it cannot be given with --allow-state", field="allow-state")
    with runtime.db.transaction() as session:
        tenant_id = _tenant(session, tenant)
        row = session.scalar(select(WidgetConfigRow).where(WidgetConfigRow.tenant_id == tenant_id))
        created = row is None
        if row is None:
            row = WidgetConfigRow(tenant_id=tenant_id, public_key=new_public_key(), app_state_allow=allow,
                                  app_state_deny=deny)
            session.add(row)
        else:
            if allow:
                row.app_state_allow = allow
            if deny:
                row.app_state_deny = deny
        if all_state:
            row.app_state_allow = None
        _replace_origins(session, tenant_id, checked)
        session.flush()
        return _read(session, tenant, row), created


def _config_row(session, tenant: str) -> WidgetConfigRow:
    row = session.scalar(select(WidgetConfigRow).where(WidgetConfigRow.tenant_id == _tenant(session, tenant)))
    if row is None:
        raise NotFound(f"tenant {tenant!r} has no widget yet; run `deskloop widget setup --tenant {tenant} "
                       "--origin https://...`", field="tenant")
    return row


def widget_config(runtime: Runtime, tenant: str) -> WidgetConfig:
    with runtime.db.admin_session() as session:
        return _read(session, tenant, _config_row(session, tenant))


def rotate_key(runtime: Runtime, tenant: str) -> WidgetConfig:
    """A new public key; the old one stops working at once (pages still embedding it get 404)."""
    with runtime.db.transaction() as session:
        row = _config_row(session, tenant)
        row.public_key, row.key_rotated_at = new_public_key(), utcnow()
        session.flush()
        return _read(session, tenant, row)


def make_identity_secret(runtime: Runtime, tenant: str) -> str:
    """A new identity secret, returned once: from now on every request must carry a signed
    identity. Replaces the previous one (hosts must sign with the new one)."""
    secret = new_identity_secret()
    token = encrypt(runtime.settings.secret_key, {_SECRET_NAME: secret})  # refused first without a usable key
    with runtime.db.transaction() as session:
        _config_row(session, tenant).identity_secret = token
    return secret


def config_for_key(runtime: Runtime, key: str) -> tuple[WidgetConfig, str | None] | None:
    """The widget a key names and its identity secret (decrypted; ``None`` when unsigned), or
    ``None`` for a key no tenant holds."""
    if not key or len(key) > MAX_KEY_CHARS:
        return None
    with runtime.db.admin_session() as session:
        found = session.execute(select(WidgetConfigRow, TenantRow.slug).join(
            TenantRow, TenantRow.id == WidgetConfigRow.tenant_id).where(WidgetConfigRow.public_key == key)).first()
        if found is None:
            return None
        row, slug = found
        config = _read(session, slug, row)
        token = row.identity_secret
    secret = decrypt(runtime.settings.secret_key, token)[_SECRET_NAME] if token else None
    return config, secret


def origin_known(runtime: Runtime, origin: str | None) -> bool:
    """Whether any tenant's widget may be called from ``origin`` (a preflight carries no key)."""
    if origin is None:
        return False
    with runtime.db.admin_session() as session:
        return session.scalar(select(WidgetOriginRow.id).where(WidgetOriginRow.origin == origin).limit(1)) is not None
