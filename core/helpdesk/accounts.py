"""Which tenant holds which helpdesk account, workspace or app (``external_accounts``).

A helpdesk's request names its account, not a Deskloop tenant: a Zendesk token's issuer, an
Intercom workspace id. Deskloop finds the tenant by that name, so a name must belong to one
tenant only: a second tenant claiming another's workspace id would break the first one's app (or
read its requests). Claims are rows with a unique key, taken in the same transaction as the change
that needs them, so two commands racing for one name cannot both win. The loser is told which
tenant holds it (its slug, which an operator may see; nothing else about that tenant).

Kinds: :data:`ACCOUNT` for the account a connection's domain names (the integration's
``account_key``), or the name of an app setting declared ``unique``
(:class:`core.helpdesk.contract.SettingSpec`).
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import BadInput
from core.store.tables import ExternalAccountRow, TenantRow

ACCOUNT = "account"


class AccountClaimed(BadInput):
    """The account, workspace or app id already belongs to another tenant (CLI exit 2, HTTP 409)."""

    def __init__(self, helpdesk: str, kind: str, value: str, holder: str | None) -> None:
        what = f"{helpdesk} account {value!r}" if kind == ACCOUNT else f"{kind} {value!r}"
        by = f"tenant {holder!r}" if holder else "another tenant"
        super().__init__(f"{what} already belongs to {by}; one {helpdesk} account serves one tenant",
                         field="domain" if kind == ACCOUNT else kind)
        self.holder = holder


def holder(session: Session, helpdesk: str, kind: str, value: str) -> str | None:
    """The slug of the tenant holding ``value`` (one read through the unique index), or ``None``."""
    return session.scalar(select(TenantRow.slug).join(ExternalAccountRow, ExternalAccountRow.tenant_id == TenantRow.id)
                          .where(ExternalAccountRow.helpdesk == helpdesk, ExternalAccountRow.kind == kind,
                                 ExternalAccountRow.value == value))


def claim(session: Session, tenant: TenantRow, helpdesk: str, kind: str, value: str | None) -> None:
    """Make ``value`` the tenant's one ``kind`` for ``helpdesk`` (``None``: it holds none), in the
    caller's transaction. :class:`AccountClaimed` when another tenant holds it, including one
    whose claim commits while this one waits on it."""
    mine = session.scalar(select(ExternalAccountRow).where(
        ExternalAccountRow.tenant_id == tenant.id, ExternalAccountRow.helpdesk == helpdesk,
        ExternalAccountRow.kind == kind))
    if mine is not None and mine.value == value:
        return
    if value is not None:
        found = holder(session, helpdesk, kind, value)
        if found is not None:
            raise AccountClaimed(helpdesk, kind, value, found)
    if mine is not None:
        session.delete(mine)
    if value is None:
        session.flush()
        return
    session.add(ExternalAccountRow(tenant_id=tenant.id, helpdesk=helpdesk, kind=kind, value=value))
    try:
        session.flush()
    except IntegrityError as exc:  # another transaction claimed it since the read above
        with Session(session.get_bind()) as fresh:  # this one is aborted; the winner has committed
            found = holder(fresh, helpdesk, kind, value)
        raise AccountClaimed(helpdesk, kind, value, found) from exc


def release_other_helpdesks(session: Session, tenant_id: int, helpdesk: str) -> None:
    """A tenant reconnected to another helpdesk gives up what it held in the previous one."""
    session.execute(delete(ExternalAccountRow).where(ExternalAccountRow.tenant_id == tenant_id,
                                                     ExternalAccountRow.helpdesk != helpdesk))
