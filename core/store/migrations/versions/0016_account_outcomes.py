"""account outcomes (churned or renewed, and when) for the churn-risk score

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "account_outcomes",
        sa.Column("id", Id, nullable=False),
        sa.Column("account", sa.String(length=255), nullable=False),
        sa.Column("churned", sa.Boolean(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", Id, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_account_outcomes_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_outcomes")),
        sa.UniqueConstraint("tenant_id", "account", "occurred_at",
                            name="uq_account_outcomes_tenant_account_occurred"),
    )


def downgrade() -> None:
    op.drop_table("account_outcomes")
