"""autonomy backtests: the latest reports of `deskloop autonomy backtest`, for the autonomy page

Revision ID: 0022
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "autonomy_backtests",
        sa.Column("id", Id, nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("run_by", sa.String(length=255), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", Id, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_autonomy_backtests_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_autonomy_backtests")),
    )
    op.create_index("ix_autonomy_backtests_tenant_created", "autonomy_backtests", ["tenant_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_autonomy_backtests_tenant_created", table_name="autonomy_backtests")
    op.drop_table("autonomy_backtests")
