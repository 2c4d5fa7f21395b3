"""autonomous replies and handoffs: what Deskloop posted on its own, what became of it, and every
ticket it handed to a person with the note it left; a per-intent confidence threshold

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _keys(table: str) -> list:
    return [
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f(f"fk_{table}_ticket_id_tickets"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["suggestion_id"], ["suggestions.id"],
                                name=op.f(f"fk_{table}_suggestion_id_suggestions"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    with op.batch_alter_table("autonomy_modes") as batch:
        batch.add_column(sa.Column("threshold", sa.Float(), nullable=True))
    op.create_table(
        "autonomy_replies",
        sa.Column("id", Id, nullable=False),
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("ticket_id", Id, nullable=False),
        sa.Column("answers", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("suggestion_id", Id, nullable=True),
        sa.Column("intent", sa.String(length=128), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("external_message_id", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("solved_at", sa.DateTime(timezone=True), nullable=True),
        *_keys("autonomy_replies"),
        sa.UniqueConstraint("tenant_id", "ticket_id", "answers", name="uq_autonomy_replies_tenant_ticket_answers"),
    )
    op.create_index("ix_autonomy_replies_tenant_posted", "autonomy_replies", ["tenant_id", "posted_at"])
    op.create_table(
        "autonomy_handoffs",
        sa.Column("id", Id, nullable=False),
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("ticket_id", Id, nullable=False),
        sa.Column("trigger", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("suggestion_id", Id, nullable=True),
        sa.Column("intent", sa.String(length=128), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("sentiment", sa.Float(), nullable=True),
        sa.Column("group_name", sa.String(length=255), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        *_keys("autonomy_handoffs"),
        sa.UniqueConstraint("tenant_id", "ticket_id", "trigger", name="uq_autonomy_handoffs_tenant_ticket_trigger"),
    )


def downgrade() -> None:
    op.drop_table("autonomy_handoffs")
    op.drop_index("ix_autonomy_replies_tenant_posted", table_name="autonomy_replies")
    op.drop_table("autonomy_replies")
    with op.batch_alter_table("autonomy_modes") as batch:
        batch.drop_column("threshold")
