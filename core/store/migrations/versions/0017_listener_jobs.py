"""a listener job stays in an outbox until it has completed, not merely been queued

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_UNFINISHED = sa.text("done_at IS NULL AND failed_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "listener_jobs",
        sa.Column("id", Id, nullable=False),
        sa.Column("job_id", sa.String(length=255), nullable=False),
        sa.Column("listener", sa.String(length=64), nullable=False),
        sa.Column("occurrence", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("queued_times", sa.Integer(), server_default="1", nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=255), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", Id, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_listener_jobs_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listener_jobs")),
        sa.UniqueConstraint("tenant_id", "job_id", name="uq_listener_jobs_tenant_job"),
    )
    op.create_index("ix_listener_jobs_unfinished", "listener_jobs", ["due_at"],
                    postgresql_where=_UNFINISHED, sqlite_where=_UNFINISHED)


def downgrade() -> None:
    op.drop_index("ix_listener_jobs_unfinished", table_name="listener_jobs")
    op.drop_table("listener_jobs")
