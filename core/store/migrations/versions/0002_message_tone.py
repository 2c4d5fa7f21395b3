"""sentiment and urgency per customer message, and on the ticket

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("sentiment", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("sentiment_score", sa.Float(), nullable=True))
        batch.add_column(sa.Column("urgent", sa.Boolean(), nullable=True))
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("sentiment", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("urgent", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("urgent")
        batch.drop_column("sentiment")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("urgent")
        batch.drop_column("sentiment_score")
        batch.drop_column("sentiment")
