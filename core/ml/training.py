"""Train a tenant's model from its stored tickets and register the new version."""

from __future__ import annotations

import hashlib
import time

from sqlalchemy import select

from core.clustering import update_clusters
from core.ml.encoder import encoder_named
from core.ml.abstention import DEFAULT_TARGET_PRECISION
from core.ml.model import TicketModel, TrainingTicket
from core.ml.registry import ModelRegistry, StoredModel
from core.runtime import Runtime
from core.store.tables import MessageRow, TenantRow, TicketRow

MODEL_NAME = "suggestions"
RESOLVED = ("solved", "closed")


def registry_for(runtime: Runtime, tenant_slug: str) -> ModelRegistry:
    return ModelRegistry(runtime.settings.models_dir, tenant_slug, MODEL_NAME)


def load_training_tickets(runtime: Runtime, tenant_id: int) -> list[TrainingTicket]:
    """Every ticket's text, labels and, for resolved tickets, the first public agent reply."""
    with runtime.db.tenant_session(tenant_id) as session:
        tickets = session.execute(
            select(
                TicketRow.id, TicketRow.external_id, TicketRow.text, TicketRow.intent, TicketRow.tags,
                TicketRow.status, TicketRow.requester_name,
            ).order_by(TicketRow.id)
        ).all()
        replies: dict[int, tuple[str, str | None]] = {}
        for ticket_id, body, author in session.execute(
            select(MessageRow.ticket_id, MessageRow.body, MessageRow.author_name)
            .where(MessageRow.author_role == "agent", MessageRow.public.is_(True))
            .order_by(MessageRow.ticket_id, MessageRow.position)
        ):
            replies.setdefault(ticket_id, (body, author))
    return [
        TrainingTicket(
            ticket_id=t.id, external_id=t.external_id, text=t.text, intent=t.intent, tags=list(t.tags or []),
            reply=replies[t.id][0] if t.status in RESOLVED and t.id in replies else None,
            requester_name=t.requester_name, agent_name=replies.get(t.id, (None, None))[1],
        )
        for t in tickets
    ]


def train_tenant(runtime: Runtime, tenant_slug: str) -> StoredModel:
    """Fit a new model version for ``tenant_slug`` from its tickets and put it in service."""
    tenant_id = runtime.db.tenant_id(tenant_slug)
    with runtime.db.admin_session() as session:
        settings = session.scalar(select(TenantRow.settings).where(TenantRow.id == tenant_id)) or {}
    target_precision = float(settings.get("target_precision", DEFAULT_TARGET_PRECISION))
    tickets = load_training_tickets(runtime, tenant_id)
    started = time.perf_counter()
    encoder = encoder_named(runtime.settings.encoder, runtime.settings.encoders_dir)
    vectors = encoder.encode([t.text for t in tickets]) if encoder is not None and tickets else None
    model = TicketModel.fit(tickets, target_precision=target_precision, encoder=encoder, vectors=vectors)
    snapshot = hashlib.sha256(",".join(str(t.ticket_id) for t in tickets).encode()).hexdigest()[:16]
    metadata = {
        "tenant": tenant_slug,
        "model": MODEL_NAME,
        "method": "linear-svm on word+char tf-idf" + (f" and {model.encoder_name}" if model.encoder_name else "")
                  + ", temperature-calibrated",
        "target_precision": target_precision,
        "training_seconds": round(time.perf_counter() - started, 2),
        "data": {"tickets": len(tickets), "max_ticket_id": max((t.ticket_id for t in tickets), default=0), "ids_sha256": snapshot},
        "metrics": model.metrics,
    }
    stored = registry_for(runtime, tenant_slug).save(model, metadata)
    texts = [t.text for t in tickets]
    update_clusters(runtime, tenant_id, [t.ticket_id for t in tickets], texts, model.cluster_vectors(texts, vectors),
                    stored.version)
    return stored
