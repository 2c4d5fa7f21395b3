"""label sources: the ticket's type, form and applied macros (its group is ``assigned_group``)

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("ticket_type", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("form", sa.String(length=255), nullable=True))
        # Existing rows have applied no macros Deskloop knows of: an empty list, as new rows get.
        batch.add_column(sa.Column("macros", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("macros")
        batch.drop_column("form")
        batch.drop_column("ticket_type")
