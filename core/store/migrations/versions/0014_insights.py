"""insights: hourly volumes per category, their cursor, deploy markers, incidents

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def _tenant(table: str) -> list:
    return [
        sa.Column("tenant_id", Id, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants"),
                                ondelete="CASCADE"),
    ]


def upgrade() -> None:
    op.create_table(
        "insight_volumes",
        sa.Column("id", Id, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=255), nullable=False),
        sa.Column("hour", When, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        *_tenant("insight_volumes"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insight_volumes")),
        sa.UniqueConstraint("tenant_id", "kind", "category", "hour",
                            name="uq_insight_volumes_tenant_kind_category_hour"),
    )
    op.create_index("ix_insight_volumes_tenant_hour", "insight_volumes", ["tenant_id", "hour"])
    op.create_table(
        "insight_cursors",
        sa.Column("id", Id, nullable=False),
        sa.Column("last_ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("counted_at", When, nullable=False),
        *_tenant("insight_cursors"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insight_cursors")),
        sa.UniqueConstraint("tenant_id", name="uq_insight_cursors_tenant"),
    )
    op.create_table(
        "deploy_markers",
        sa.Column("id", Id, nullable=False),
        sa.Column("service", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=200), nullable=False),
        sa.Column("deployed_at", When, nullable=False),
        sa.Column("link", sa.String(length=2000), nullable=True),
        sa.Column("created_at", When, nullable=False),
        *_tenant("deploy_markers"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deploy_markers")),
    )
    op.create_index("ix_deploy_markers_tenant_deployed", "deploy_markers", ["tenant_id", "deployed_at"])
    op.create_table(
        "insight_incidents",
        sa.Column("id", Id, nullable=False),
        sa.Column("incident_id", sa.String(length=100), nullable=False),
        sa.Column("category_kind", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=255), nullable=False),
        sa.Column("started_at", When, nullable=False),
        sa.Column("last_hot_at", When, nullable=False),
        sa.Column("ended_at", When, nullable=True),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.Column("last_change", sa.String(length=16), nullable=True),
        sa.Column("published", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("data", sa.JSON(), nullable=False),
        *_tenant("insight_incidents"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insight_incidents")),
        sa.UniqueConstraint("tenant_id", "incident_id", name="uq_insight_incidents_tenant_incident_id"),
    )
    op.create_index("ix_insight_incidents_tenant_open", "insight_incidents", ["tenant_id", "ended_at"])


def downgrade() -> None:
    op.drop_index("ix_insight_incidents_tenant_open", table_name="insight_incidents")
    op.drop_index("ix_deploy_markers_tenant_deployed", table_name="deploy_markers")
    op.drop_index("ix_insight_volumes_tenant_hour", table_name="insight_volumes")
    for table in ("insight_incidents", "deploy_markers", "insight_cursors", "insight_volumes"):
        op.drop_table(table)
