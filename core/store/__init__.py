"""Storage: SQLAlchemy tables, tenant-scoped sessions and Alembic migrations."""

from core.store.db import Database, TenantScopeError

__all__ = ["Database", "TenantScopeError"]
