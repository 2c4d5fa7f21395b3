"""an applied webhook event remembers whether its listeners were told (an outbox)

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_UNPUBLISHED = sa.text("processed_at IS NOT NULL AND published_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("helpdesk_events") as batch:
        batch.add_column(sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("tags_changed", sa.Boolean(), nullable=True))
    # Events applied before this revision were told to their listeners then.
    op.execute("UPDATE helpdesk_events SET published_at = processed_at WHERE processed_at IS NOT NULL")
    op.create_index("ix_helpdesk_events_unpublished", "helpdesk_events", ["processed_at"],
                    postgresql_where=_UNPUBLISHED, sqlite_where=_UNPUBLISHED)


def downgrade() -> None:
    op.drop_index("ix_helpdesk_events_unpublished", table_name="helpdesk_events")
    with op.batch_alter_table("helpdesk_events") as batch:
        batch.drop_column("tags_changed")
        batch.drop_column("published_at")
