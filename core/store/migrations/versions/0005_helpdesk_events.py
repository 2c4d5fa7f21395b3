"""helpdesk events: stored webhook events, message ids, assignment, backfill state

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants"),
                                   ondelete="CASCADE")


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("assignee", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("assigned_group", sa.String(length=255), nullable=True))
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("external_id", sa.String(length=128), nullable=True))
        batch.create_unique_constraint("uq_messages_ticket_external", ["ticket_id", "external_id"])
    op.create_table(
        "helpdesk_events",
        sa.Column("id", Id, nullable=False),
        sa.Column("helpdesk", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("ticket_external_id", sa.String(length=128), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=255), nullable=True),
        sa.Column("tenant_id", Id, nullable=False),
        _tenant_fk("helpdesk_events"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_helpdesk_events")),
        sa.UniqueConstraint("tenant_id", "helpdesk", "event_id", name="uq_helpdesk_events_tenant_event"),
    )
    op.create_index("ix_helpdesk_events_tenant_ticket", "helpdesk_events", ["tenant_id", "ticket_external_id"])
    op.create_table(
        "backfill_state",
        sa.Column("id", Id, nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("tickets", sa.Integer(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", Id, nullable=False),
        _tenant_fk("backfill_state"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backfill_state")),
        sa.UniqueConstraint("tenant_id", name="uq_backfill_state_tenant"),
    )


def downgrade() -> None:
    op.drop_table("backfill_state")
    op.drop_index("ix_helpdesk_events_tenant_ticket", table_name="helpdesk_events")
    op.drop_table("helpdesk_events")
    with op.batch_alter_table("messages") as batch:
        batch.drop_constraint("uq_messages_ticket_external", type_="unique")
        batch.drop_column("external_id")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("assigned_group")
        batch.drop_column("assignee")
