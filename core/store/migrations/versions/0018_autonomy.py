"""autonomous resolution: a mode per tenant and intent, and the sensitive intents and accounts

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _tenant(table: str) -> list:
    return [
        sa.Column("tenant_id", Id, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants"),
                                ondelete="CASCADE"),
    ]


def upgrade() -> None:
    op.create_table(
        "autonomy_modes",
        sa.Column("id", Id, nullable=False),
        sa.Column("intent", sa.String(length=128), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("set_by", sa.String(length=255), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        *_tenant("autonomy_modes"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_autonomy_modes")),
        sa.UniqueConstraint("tenant_id", "intent", name="uq_autonomy_modes_tenant_intent"),
    )
    op.create_table(
        "autonomy_sensitive",
        sa.Column("id", Id, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("added_by", sa.String(length=255), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        *_tenant("autonomy_sensitive"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_autonomy_sensitive")),
        sa.UniqueConstraint("tenant_id", "kind", "value", name="uq_autonomy_sensitive_tenant_kind_value"),
    )


def downgrade() -> None:
    op.drop_table("autonomy_sensitive")
    op.drop_table("autonomy_modes")
