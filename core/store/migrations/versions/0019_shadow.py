"""autonomy shadow mode: the reply Deskloop would have sent per ticket, and how it compared

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "autonomy_shadow",
        sa.Column("id", Id, nullable=False),
        sa.Column("ticket_id", Id, nullable=False),
        sa.Column("suggestion_id", Id, nullable=True),
        sa.Column("intent", sa.String(length=128), nullable=True),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("abstained", sa.Boolean(), nullable=False),
        sa.Column("draft", sa.Text(), nullable=True),
        sa.Column("model_version", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("compared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("similarity", sa.Float(), nullable=True),
        sa.Column("intent_right", sa.Boolean(), nullable=True),
        sa.Column("reopened", sa.Boolean(), nullable=False),
        sa.Column("bad_csat", sa.Boolean(), nullable=False),
        sa.Column("right", sa.Boolean(), nullable=True),
        sa.Column("tenant_id", Id, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_autonomy_shadow_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_autonomy_shadow_ticket_id_tickets"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["suggestion_id"], ["suggestions.id"],
                                name=op.f("fk_autonomy_shadow_suggestion_id_suggestions"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_autonomy_shadow")),
        sa.UniqueConstraint("tenant_id", "ticket_id", name="uq_autonomy_shadow_tenant_ticket"),
    )


def downgrade() -> None:
    op.drop_table("autonomy_shadow")
