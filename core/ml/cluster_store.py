"""Keeping a tenant's clusters of related tickets, with stable keys, in the database.

Run after each training: the previous keys are read from the tickets, the new clustering is
matched to them (:mod:`core.ml.clusters`), and keys, labels and sizes are written in one
transaction, so a reader never sees half a clustering.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from sqlalchemy import delete, func, select, true, update

from core.ml.clusters import Cluster, build_clusters
from core.runtime import Runtime
from core.store.tables import ClusterRow, TicketRow


def previous_membership(session) -> dict[int, set[int]]:
    members: dict[int, set[int]] = {}
    for ticket_id, key in session.execute(select(TicketRow.id, TicketRow.cluster_key)
                                          .where(TicketRow.cluster_key.is_not(None))):
        members.setdefault(key, set()).add(ticket_id)
    return members


def update_clusters(runtime: Runtime, tenant_id: int, ticket_ids: list[int], texts: list[str],
                    vectors: np.ndarray, model_version: str | None) -> list[Cluster]:
    """Recluster the tenant's tickets (rows of unit-length ``vectors``) and store the result."""
    with runtime.db.transaction(tenant_id) as session:
        previous = previous_membership(session)
        next_key = (session.scalar(select(func.max(ClusterRow.key))) or 0) + 1
        clusters, _ = build_clusters(vectors, texts, ticket_ids, previous, next_key)
        now = datetime.now(UTC)
        existing = {row.key: row for row in session.scalars(select(ClusterRow))}
        kept = {c.key for c in clusters}
        session.execute(delete(ClusterRow).where(ClusterRow.key.not_in(kept) if kept else true()),
                        execution_options={"synchronize_session": False})
        for cluster in clusters:
            row = existing.get(cluster.key)
            if row is None:
                session.add(ClusterRow(tenant_id=tenant_id, key=cluster.key, label=cluster.label[:255],
                                       size=len(cluster.ticket_ids), model_version=model_version,
                                       first_seen_at=now, updated_at=now))
            else:
                row.label, row.size, row.model_version, row.updated_at = (
                    cluster.label[:255], len(cluster.ticket_ids), model_version, now)
        session.execute(update(TicketRow).values(cluster_key=None), execution_options={"synchronize_session": False})
        for cluster in clusters:
            ids = list(cluster.ticket_ids)
            for start in range(0, len(ids), 1000):
                session.execute(update(TicketRow).where(TicketRow.id.in_(ids[start:start + 1000]))
                                .values(cluster_key=cluster.key), execution_options={"synchronize_session": False})
    return clusters


def list_clusters(runtime: Runtime, tenant_slug: str) -> list[ClusterRow]:
    tenant_id = runtime.db.tenant_id(tenant_slug)
    with runtime.db.tenant_session(tenant_id) as session:
        return list(session.scalars(select(ClusterRow).order_by(ClusterRow.size.desc(), ClusterRow.key)))
