"""learning loop: suggestion vectors, draft sources and customer names; replay runs

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("suggestions") as batch:
        batch.add_column(sa.Column("vector", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("draft_source", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("customer_name", sa.String(length=255), nullable=True))
    op.create_table(
        "replay_runs",
        sa.Column("id", Id, nullable=False),
        sa.Column("source", sa.String(length=512), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", Id, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_replay_runs_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replay_runs")),
    )
    op.create_index("ix_replay_runs_tenant_created", "replay_runs", ["tenant_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_replay_runs_tenant_created", table_name="replay_runs")
    op.drop_table("replay_runs")
    with op.batch_alter_table("suggestions") as batch:
        batch.drop_column("customer_name")
        batch.drop_column("draft_source")
        batch.drop_column("vector")
