"""Train a tenant's model from its stored tickets and register the new version."""

from __future__ import annotations

import hashlib
import time
from typing import Any, cast

from sqlalchemy import and_, func, not_, select

from core.labelling.label_rows import LABEL_COLUMNS, accepted_intents, label_row, label_settings, label_source_of
from core.labelling.sources import LabelSource, labels_for
from core.learning.kinds import Effect, training_effect
from core.ml.abstention import DEFAULT_NOVELTY_BUDGET, DEFAULT_TARGET_PRECISION
from core.ml.cluster_store import update_clusters
from core.ml.encoder import encode_for_training, encoder_for, encoder_named
from core.ml.model import (
    TRAIN_PER_INTENT,
    TicketModel,
    TrainingTicket,
    newest_per_label,
)
from core.ml.page_context import stored_key
from core.ml.promotion import Verdict, judge
from core.ml.registry import ModelLoadError, ModelRegistry, StoredModel
from core.ml.retrieval import DEFAULT_DRAFT_PRECISION
from core.ml.tags import automation_tags
from core.ml.templates import ReplySource, learn_for_model
from core.runtime import Runtime
from core.store.tables import MessageRow, SignalRow, SuggestionRow, TenantRow, TicketRow
from core.text.limits import MESSAGE_MODEL_CHARS, bounded_model_text, truncated

MODEL_NAME = "suggestions"
RESOLVED = ("solved", "closed")


def registry_for(runtime: Runtime, tenant_slug: str) -> ModelRegistry:
    return ModelRegistry(runtime.settings.models_dir, tenant_slug, MODEL_NAME, db=runtime.db,
                         max_bytes=runtime.settings.max_model_bytes)


def load_training_tickets(runtime: Runtime, tenant_id: int,
                          source: LabelSource | None = None) -> tuple[list[TrainingTicket], int]:
    """Every ticket's text, labels and, for resolved tickets, the first public agent reply; with
    what non-revoked signals taught applied on top (a corrected intent or tags, the reply an agent
    actually sent). Intents are read from the tenant's label source (see :mod:`core.labelling.sources`;
    ``source`` overrides the setting), values too rare to learn left out. Also returns the newest
    signal id read, recorded in the model's metadata."""
    with runtime.db.tenant_session(tenant_id) as session:
        source = source or label_source_of(label_settings(session, tenant_id))
        discovered = accepted_intents(session) if source.kind == "discovered" else {}
        tickets = session.execute(
            select(
                TicketRow.id, TicketRow.external_id, TicketRow.text, TicketRow.status, TicketRow.requester_name,
                TicketRow.page_context, *LABEL_COLUMNS,
            ).order_by(TicketRow.id)
        ).all()
        replies: dict[int, tuple[str, str | None]] = {}
        for ticket_id, body, author in session.execute(
            select(MessageRow.ticket_id, MessageRow.body, MessageRow.author_name)
            .where(MessageRow.author_role == "agent", MessageRow.public.is_(True))
            .order_by(MessageRow.ticket_id, MessageRow.position)
        ):
            replies.setdefault(ticket_id, (body, author))
        taught, max_signal_id = _taught_by_signals(session)
    labels = labels_for(source, [label_row(t, discovered) for t in tickets])
    out = []
    for t, label in zip(tickets, labels, strict=True):
        reply = replies[t.id][0] if t.status in RESOLVED and t.id in replies else None
        intent, tags = label, list(t.tags or [])
        fallback = None
        for effect in taught.get(t.id, ()):
            intent = effect.intent or intent
            tags = list(effect.tags) if effect.tags is not None else tags
            reply = effect.reply or reply
            fallback = fallback or effect.fallback_intent
        intent = intent or fallback
        out.append(TrainingTicket(  # bounded: rows stored before the caps, a long sent reply
            ticket_id=t.id, external_id=t.external_id, text=bounded_model_text(t.text), intent=intent, tags=tags,
            reply=truncated(reply, MESSAGE_MODEL_CHARS) if reply else reply,
            requester_name=t.requester_name, agent_name=replies.get(t.id, (None, None))[1],
            context=stored_key(t.page_context),
        ))
    return out, max_signal_id


def reply_sources(runtime: Runtime, tenant_id: int, tickets: list[TrainingTicket]) -> list[ReplySource]:
    """The resolved replies of ``tickets`` with what template learning needs of each ticket: who
    the customer is (replies are counted per distinct customer) and the ticket's own text (its
    customer messages and internal notes, requester, organization and field values), which a
    detail copied into the reply repeats."""
    answered = {t.ticket_id: t for t in tickets if t.reply}
    own: dict[int, list[str]] = {}
    customer: dict[int, str] = {}
    with runtime.db.tenant_session(tenant_id) as session:
        for row in session.execute(select(
            TicketRow.id, TicketRow.subject, TicketRow.text, TicketRow.requester_name, TicketRow.requester_email,
            TicketRow.requester_external_id, TicketRow.organization, TicketRow.custom_fields,
        )):
            if row.id not in answered:
                continue
            fields = " ".join(str(v) for v in (row.custom_fields or {}).values() if v is not None)
            own[row.id] = [row.subject or "", row.text or "", row.requester_name or "", row.requester_email or "",
                           row.organization or "", fields]
            customer[row.id] = (row.requester_external_id or (row.requester_email or "").lower()
                                or row.requester_name or f"ticket:{row.id}")
        for ticket_id, body in session.execute(
            select(MessageRow.ticket_id, MessageRow.body)
            .where(not_(and_(MessageRow.author_role == "agent", MessageRow.public.is_(True))))
        ):
            if ticket_id in own:
                own[ticket_id].append(body or "")
    return [ReplySource(t.ticket_id, cast(str, t.reply),  # answered: tickets with a reply
                        customer.get(t.ticket_id, f"ticket:{t.ticket_id}"), t.requester_name,
                        t.agent_name, "\n".join(own.get(t.ticket_id, ())))
            for t in answered.values()]


def _taught_by_signals(session) -> tuple[dict[int, list[Effect]], int]:
    """Per ticket, in order, the labels and replies its non-revoked signals give."""
    taught: dict[int, list[Effect]] = {}
    max_signal_id = session.scalar(select(func.max(SignalRow.id))) or 0
    for ticket_id, kind, weight, payload, suggested_intent, draft_source, draft in session.execute(
        select(SignalRow.ticket_id, SignalRow.kind, SignalRow.weight, SignalRow.payload, SuggestionRow.intent,
               SuggestionRow.draft_source, SuggestionRow.draft)
        .outerjoin(SuggestionRow, SuggestionRow.id == SignalRow.suggestion_id)
        .where(SignalRow.revoked_at.is_(None), SignalRow.ticket_id.is_not(None))
        .order_by(SignalRow.id)
    ):
        effect = training_effect(kind, weight, payload or {}, suggested_intent, draft_source, draft)
        if effect.intent or effect.tags is not None or effect.reply or effect.fallback_intent:
            taught.setdefault(ticket_id, []).append(effect)
    return taught, max_signal_id


#: Suggested tags must be right this often (out-of-fold, per tag): a wrong tag written back costs an
#: agent a click, a wrong intent a whole reply, so tags ask for less than intents. Agents forget
#: tags, so a right tag is often scored as wrong: on the simulated helpdesk history (5,000 tickets)
#: 0.9 suggested tags at 0.89 measured precision, micro-F1 0.58; 0.75 at 0.84, micro-F1 0.61.
DEFAULT_TAG_PRECISION = 0.8


def excluded_tags(runtime: Runtime, tenant_id: int, settings: dict) -> set[str]:
    """Tags never learned or suggested: the tenant's ``excluded_tags`` setting, and the tags a
    trigger adds regardless of what the customer wrote (see :func:`core.ml.tags.automation_tags`)."""
    with runtime.db.tenant_session(tenant_id) as session:
        rows = session.execute(select(TicketRow.tags, TicketRow.channel)).all()
    found = automation_tags([list(r.tags or []) for r in rows], [r.channel for r in rows])
    return set(settings.get("excluded_tags") or ()) | found


class ModelRefused(Exception):
    """The retrained model was worse than the one in service (or could not be judged); the
    current version stays. Carries the :class:`~core.ml.promotion.Verdict`."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict.reason)
        self.verdict = verdict


def train_tenant(runtime: Runtime, tenant_slug: str, force: bool = False) -> StoredModel:
    """Fit a new model version for ``tenant_slug`` from its tickets and signals and put it in
    service if it is not worse than the current one on the newest tickets (or ``force``).
    Raises :class:`ModelRefused` otherwise."""
    tenant_id = runtime.db.tenant_id(tenant_slug)
    with runtime.db.admin_session() as session:
        settings = session.scalar(select(TenantRow.settings).where(TenantRow.id == tenant_id)) or {}
    target_precision = float(settings.get("target_precision", DEFAULT_TARGET_PRECISION))
    novelty_budget = float(settings.get("novelty_budget", DEFAULT_NOVELTY_BUDGET))
    source = label_source_of(settings)
    tickets, max_signal_id = load_training_tickets(runtime, tenant_id, source)
    if not tickets:  # a tenant just connected, before its backfill or first webhook
        raise ModelRefused(Verdict(False, "no tickets to learn from yet"))
    tag_options: dict[str, Any] = {"excluded": excluded_tags(runtime, tenant_id, settings),
                   "target_precision": float(settings.get("tag_target_precision", DEFAULT_TAG_PRECISION))}
    started = time.perf_counter()
    encoder = encoder_named(runtime.settings.encoder, runtime.settings.encoders_dir, batch=True)
    vectors = encode_for_training(encoder, [t.text for t in tickets]) if encoder is not None and tickets else None
    registry = registry_for(runtime, tenant_slug)
    verdict = _judge(runtime, registry, tickets, vectors, encoder, source.spec)
    if verdict is not None and not verdict.promote and not force:
        registry.record_refusal({**verdict.as_dict(), "data": {"tickets": len(tickets)},
                                 "max_signal_id": max_signal_id})
        raise ModelRefused(verdict)
    model = TicketModel.fit(tickets, target_precision=target_precision, encoder=encoder, vectors=vectors,
                            tag_options=tag_options,
                            draft_precision=float(settings.get("draft_target_precision", DEFAULT_DRAFT_PRECISION)),
                            noisy_labels=source.kind != "intent", novelty_budget=novelty_budget)
    model.label_source = source.spec
    # Reply templates ride on the model as an attribute of their own (``templates_for`` learns them
    # lazily for a model saved without): which words of a reply a draft may copy (core.ml.templates).
    templates = learn_for_model(model, reply_sources(runtime, tenant_id, tickets))
    model.reply_templates = templates  # type: ignore[attr-defined]  # not a TicketModel field: see above
    snapshot = hashlib.sha256(",".join(str(t.ticket_id) for t in tickets).encode()).hexdigest()[:16]
    metadata = {
        "tenant": tenant_slug,
        "model": MODEL_NAME,
        "method": "linear-svm on word+char tf-idf" + (f" and {model.encoder_name}" if model.encoder_name else "")
                  + ", temperature-calibrated",
        "target_precision": target_precision,
        "novelty_budget": novelty_budget,
        "label_source": source.spec,
        "excluded_tags": sorted(tag_options["excluded"]),
        "training_seconds": round(time.perf_counter() - started, 2),
        "data": {"tickets": len(tickets), "max_ticket_id": max((t.ticket_id for t in tickets), default=0),
                 "ids_sha256": snapshot},
        "max_signal_id": max_signal_id,
        "promotion": verdict.as_dict() if verdict is not None else {"promoted": True, "reason": "first model"},
        "forced": bool(force and verdict is not None and not verdict.promote),
        "metrics": model.metrics,
        "reply_templates": templates.summary,
    }
    stored = registry.save(model, metadata)
    texts = [t.text for t in tickets]
    update_clusters(runtime, tenant_id, [t.ticket_id for t in tickets], texts, model.cluster_vectors(texts, vectors),
                    stored.version)
    return stored


def _judge(runtime: Runtime, registry: ModelRegistry, tickets: list[TrainingTicket], vectors, encoder,
           source: str = "intent") -> Verdict | None:
    """The verdict on a new model against the one in service (``None`` when there is none)."""
    version = registry.current_version()
    if version is None:
        return None
    try:
        current, stored = registry.load(version)
    except ModelLoadError as exc:  # unreadable (another library version): anything is better
        return Verdict(True, f"the model in service cannot be loaded ({exc}); replaced")
    if current.intents is None:
        return Verdict(True, "the model in service has no intent model yet; replaced")
    if len({t.intent for t in tickets if t.intent}) < 2:
        return Verdict(False, "the new model would have no intents, the one in service has "
                              f"{len(current.intents.classes)}")
    if current.label_source != source:
        return Verdict(True, f"intents now come from {source!r} (the model in service read "
                             f"{current.label_source!r}); a new label source cannot be compared with the old one")
    texts = [t.text for t in tickets]

    def current_vectors(rows):
        if current.encoder_name is None:
            return None
        if encoder is not None and current.encoder_name == encoder.name:
            return vectors[rows]
        return encoder_for(current, runtime.settings.encoders_dir).encode([texts[i] for i in rows])

    return judge(texts, [t.intent for t in tickets], [t.ticket_id for t in tickets], vectors, current,
                 current_vectors, int(stored.metadata.get("data", {}).get("max_ticket_id", 0)),
                 lambda labels: newest_per_label(labels, TRAIN_PER_INTENT))
