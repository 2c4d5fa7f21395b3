"""notifiers (Slack, Linear) per tenant, and what each posted per incident

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
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
        "notifiers",
        sa.Column("id", Id, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("credentials", sa.Text(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        *_tenant("notifiers"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifiers")),
        sa.UniqueConstraint("tenant_id", "kind", name="uq_notifiers_tenant_kind"),
    )
    op.create_table(
        "posted_alerts",
        sa.Column("id", Id, nullable=False),
        sa.Column("notifier", sa.String(length=32), nullable=False),
        sa.Column("incident_id", sa.String(length=100), nullable=False),
        sa.Column("category", sa.String(length=255), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=False),
        sa.Column("ref", sa.String(length=255), nullable=True),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("last_key", sa.String(length=255), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        *_tenant("posted_alerts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posted_alerts")),
        sa.UniqueConstraint("tenant_id", "notifier", "incident_id", name="uq_posted_alerts_tenant_notifier_incident"),
    )
    op.create_index("ix_posted_alerts_tenant_notifier_category", "posted_alerts",
                    ["tenant_id", "notifier", "category"])


def downgrade() -> None:
    op.drop_index("ix_posted_alerts_tenant_notifier_category", table_name="posted_alerts")
    op.drop_table("posted_alerts")
    op.drop_table("notifiers")
