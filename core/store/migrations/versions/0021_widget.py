"""the in-app widget: each tenant's public key, allowed origins and identity secret, and the
customers' widget sessions (question, answer, page context, feedback, the ticket filed)

Revision ID: 0021
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _tenant_key(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants"),
                                   ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "widget_configs",
        sa.Column("id", Id, nullable=False),
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("identity_secret", sa.Text(), nullable=True),
        sa.Column("app_state_allow", sa.JSON(), nullable=True),
        sa.Column("app_state_deny", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_rotated_at", sa.DateTime(timezone=True), nullable=True),
        _tenant_key("widget_configs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_widget_configs")),
        sa.UniqueConstraint("public_key", name="uq_widget_configs_public_key"),
        sa.UniqueConstraint("tenant_id", name="uq_widget_configs_tenant_id"),
    )
    op.create_table(
        "widget_origins",
        sa.Column("id", Id, nullable=False),
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("origin", sa.String(length=255), nullable=False),
        _tenant_key("widget_origins"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_widget_origins")),
        sa.UniqueConstraint("tenant_id", "origin", name="uq_widget_origins_tenant_origin"),
    )
    op.create_index("ix_widget_origins_origin", "widget_origins", ["origin"])
    op.create_table(
        "widget_sessions",
        sa.Column("id", Id, nullable=False),
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=True),
        sa.Column("identity_verified", sa.Boolean(), nullable=False),
        sa.Column("page_context", sa.JSON(), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("abstained", sa.Boolean(), nullable=False),
        sa.Column("suggestion_id", Id, nullable=True),
        sa.Column("earlier", sa.JSON(), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=True),
        sa.Column("ticket_id", Id, nullable=True),
        sa.Column("ticket_external_id", sa.String(length=128), nullable=True),
        sa.Column("ticket_filed_in", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _tenant_key("widget_sessions"),
        sa.ForeignKeyConstraint(["suggestion_id"], ["suggestions.id"],
                                name=op.f("fk_widget_sessions_suggestion_id_suggestions"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_widget_sessions_ticket_id_tickets"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_widget_sessions")),
        sa.UniqueConstraint("token_hash", name="uq_widget_sessions_token_hash"),
    )
    op.create_index("ix_widget_sessions_tenant_created", "widget_sessions", ["tenant_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_widget_sessions_tenant_created", table_name="widget_sessions")
    op.drop_table("widget_sessions")
    op.drop_index("ix_widget_origins_origin", table_name="widget_origins")
    op.drop_table("widget_origins")
    op.drop_table("widget_configs")
