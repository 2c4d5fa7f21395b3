"""Old dotted path of the background jobs (now :mod:`core.background.tasks`), kept so jobs queued
under it before an upgrade still run; remove once no queue can hold one."""

from core.background.tasks import after_backfill, discover_intents, train_tenant

__all__ = ["after_backfill", "discover_intents", "train_tenant"]
