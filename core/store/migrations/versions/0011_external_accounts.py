"""external accounts: one tenant per helpdesk account, workspace or app; a stamp on every tenant row

Adds ``tenants.config_version`` (bumped with every change to the row, so running processes drop
what they cached from it) and ``external_accounts`` (which tenant holds which helpdesk account,
unique per helpdesk). Existing tenants claim what they hold: a Zendesk or Freshdesk account (from
the domain) and an Intercom workspace id. Where two tenants already hold the same one, the older
tenant keeps it (the newer one's claim is what broke the older one's app) and the upgrade says so.

Revision ID: 0011
Revises: 0009
"""

import json
import logging
from datetime import UTC, datetime
from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
log = logging.getLogger("alembic.runtime.migration")

#: The unique app settings at the time of this revision (frozen here: a migration must not change
#: when an integration does later).
UNIQUE_SETTINGS = {"intercom": ("intercom_workspace_id",)}


def _account(helpdesk: str, domain: str | None) -> str | None:
    """The account a domain names, as the integrations at this revision spell it."""
    raw = (domain or "").strip().lower()
    if helpdesk == "zendesk":
        host = raw.removeprefix("https://").removeprefix("http://").strip("/")
        return (host if "." in host else f"{host}.zendesk.com") if host else None
    if helpdesk == "freshdesk":
        host = urlsplit(raw if "//" in raw else f"//{raw}").hostname or ""
        return host if host.endswith(".freshdesk.com") else None
    return None


def _claims(rows) -> list[dict]:
    now = datetime.now(UTC)
    claims: list[dict] = []
    held: dict[tuple[str, str, str], str] = {}
    for tenant_id, slug, helpdesk, domain, settings in rows:  # oldest tenant first
        settings = json.loads(settings) if isinstance(settings, str) else (settings or {})
        wanted = [("account", _account(helpdesk, domain))]
        wanted += [(name, str(settings.get(name) or "").strip() or None) for name in UNIQUE_SETTINGS.get(helpdesk, ())]
        for kind, value in wanted:
            if not value:
                continue
            key = (helpdesk, kind, value)
            if key in held:
                log.warning("tenants %r and %r both hold %s %s %r: %r keeps it; reconfigure %r",
                            held[key], slug, helpdesk, kind, value, held[key], slug)
                continue
            held[key] = slug
            claims.append({"tenant_id": tenant_id, "helpdesk": helpdesk, "kind": kind, "value": value,
                           "claimed_at": now})
    return claims


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("config_version", sa.Integer(), nullable=False, server_default="1"))
    accounts = op.create_table(
        "external_accounts",
        sa.Column("id", Id, nullable=False),
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("helpdesk", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_external_accounts_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_external_accounts")),
        sa.UniqueConstraint("helpdesk", "kind", "value", name="uq_external_accounts_helpdesk_kind_value"),
    )
    op.create_index("ix_external_accounts_tenant", "external_accounts", ["tenant_id"])
    rows = op.get_bind().execute(sa.text(
        "SELECT id, slug, helpdesk, domain, settings FROM tenants ORDER BY created_at, id")).all()
    claims = _claims(rows)
    if claims:
        op.bulk_insert(accounts, claims)


def downgrade() -> None:
    op.drop_index("ix_external_accounts_tenant", table_name="external_accounts")
    op.drop_table("external_accounts")
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("config_version")
