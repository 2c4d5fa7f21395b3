"""Alembic environment: runs on the connection :meth:`core.store.db.Database.migrate` hands over,
or on ``DESKLOOP_DATABASE_URL`` when invoked through the ``alembic`` command for autogenerate."""

from alembic import context
from sqlalchemy import create_engine

from core.config import Settings
from core.store.tables import Base

target_metadata = Base.metadata


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(Settings.from_env().database_url)
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
