"""model artifacts in the database: versions, their chunks, the version in service, refused retrains

Revision ID: 0012
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
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
        "model_versions",
        sa.Column("id", Id, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("chunks", sa.Integer(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        *_tenant("model_versions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_versions")),
        sa.UniqueConstraint("tenant_id", "name", "version", name="uq_model_versions_tenant_name_version"),
    )
    op.create_table(
        "model_chunks",
        sa.Column("version_id", Id, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        *_tenant("model_chunks"),
        sa.ForeignKeyConstraint(["version_id"], ["model_versions.id"],
                                name=op.f("fk_model_chunks_version_id_model_versions"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("version_id", "seq", name=op.f("pk_model_chunks")),
    )
    op.create_table(
        "model_current",
        sa.Column("id", Id, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("promoted_at", sa.DateTime(timezone=True), nullable=False),
        *_tenant("model_current"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_current")),
        sa.UniqueConstraint("tenant_id", "name", name="uq_model_current_tenant_name"),
    )
    op.create_table(
        "model_refusals",
        sa.Column("id", Id, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        *_tenant("model_refusals"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_refusals")),
    )
    op.create_index("ix_model_refusals_tenant_name", "model_refusals", ["tenant_id", "name"])


def downgrade() -> None:
    op.drop_index("ix_model_refusals_tenant_name", table_name="model_refusals")
    for table in ("model_refusals", "model_current", "model_chunks", "model_versions"):
        op.drop_table(table)
