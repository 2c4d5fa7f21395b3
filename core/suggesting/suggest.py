"""Suggestions: intent, tags, entities, similar tickets and a draft, for a ticket or raw text.

Models are loaded once per process and version (loading checks checksum and library version), and
every suggestion is stored with the model version that made it, so a later signal can say which
model it judged. Whatever the caller passes, a model reads at most a ticket's model text
(:func:`core.text.limits.bounded_model_text`): a ticket stored before the caps existed, or a text
from any other path, costs a bounded time.

A question asked on a page (a stored ticket's ``page_context``, or the ``page_context`` passed
with free text) is answered for that page (see :mod:`core.ml.page_context`): the intent model reads
where it was asked, the similar resolved tickets asked on the same page win a close call, and the
suggestion is stored with its context key, so a signal about it says which resolution worked on
which page. Without a page context, everything is as it was before.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import cast

import numpy as np
from sqlalchemy import select

from core.learning.live import memory_for
from core.learning.training import registry_for
from core.metrics import count_suggestion
from core.ml.abstention import AMBIGUOUS, LOW_CONFIDENCE
from core.ml.encoder import encoder_for
from core.ml.memory import FeedbackMemory
from core.ml.model import TicketModel
from core.ml.page_context import RERANK_POOL, ContextKey, context_key, rerank
from core.ml.registry import StoredModel
from core.ml.templates import templates_for
from core.runtime import Runtime
from core.store.tables import SuggestionRow, TicketRow
from core.suggesting.drafting import draft_from_evidence, draft_reply, outline
from core.suggesting.rewrite import rewrite_draft
from core.text.entities import find_entities
from core.text.limits import bounded_model_text
from core.types import Entity, Evidence, PageContext, Suggestion, TagScore

#: Loaded models by (database, tenant, model name, version): one per tenant, the version in service.
_models: dict[tuple[str, str, str, str], tuple[TicketModel, StoredModel]] = {}
_loading: dict[tuple[str, str, str, str], threading.Lock] = {}
_lock = threading.Lock()


def current_model(runtime: Runtime, tenant_slug: str) -> tuple[TicketModel, StoredModel]:
    """The tenant's model in service, loaded at most once per version per process.

    The version in service is read from the database on every call (one indexed row), so a model
    promoted by a worker on another machine is served from the next request on. Loading holds a
    lock of that tenant's version only: a large model being fetched for one tenant does not hold up
    the others. A newly loaded version replaces the tenant's older one in memory."""
    registry = registry_for(runtime, tenant_slug)
    version = registry.current_version()
    key = (*registry.identity, version or "")
    found = _models.get(key)
    if found is not None:
        return found
    with _lock:
        loading = _loading.setdefault(key, threading.Lock())
    with loading:
        found = _models.get(key)
        if found is None:
            try:
                found = registry.load(version)
                with _lock:
                    for older in [k for k in _models if k[:3] == key[:3]]:
                        del _models[older]
                    _models[key] = found
            finally:
                with _lock:
                    _loading.pop(key, None)
        return found


def sentence_vector(runtime: Runtime, model: TicketModel, text: str):
    """The sentence vector ``model`` reads for ``text``, or ``None`` for an n-gram-only model."""
    if not model.encoder_name:
        return None
    return _encode_one(encoder_for(model, runtime.settings.encoders_dir), bounded_model_text(text))


@lru_cache(maxsize=64)
def _encode_one(encoding, text: str):
    """The few latest texts: a ticket is often suggested for twice in a row (panel and API)."""
    vector = encoding.encode([text])[0]
    vector.flags.writeable = False  # shared between callers
    return vector


def build_suggestion(model: TicketModel, stored: StoredModel, text: str, customer_name: str | None = None,
                     exclude_ticket_id: int | None = None, vector=None, memory: FeedbackMemory | None = None,
                     query=None, context: ContextKey | None = None) -> Suggestion:
    """A suggestion for ``text`` with its :func:`sentence_vector` (pure: reads the model and the
    live ``memory`` of signals, writes nothing). ``query`` is the similarity row when the caller
    already has it; ``context`` where the question was asked (:func:`core.ml.page_context.context_key`)."""
    text = bounded_model_text(text)
    ngrams = model.ngram_row(text)  # read by the intent, tag and (without an encoder) similarity models
    query = model.similarity_query(text, vector, ngrams) if query is None else query
    if model.intents is None:
        return _without_intents(model, stored, text, customer_name, exclude_ticket_id, vector, memory, query, ngrams,
                                context)
    judged = model.intent_judgement(text, vector, ngrams, query, context)
    probabilities, reason = judged.probabilities, judged.abstain_reason
    intent, confidence = next(iter(probabilities.items()))
    tags = _tags(model, probabilities, ngrams, vector)
    learned_from: list[int] = []
    match = memory.closest(query, context) if memory is not None else None
    if match is not None:  # a person answered nearly this question since the model was trained
        learned_from.append(match.taught.signal_id)
        if match.taught.intent:
            intent, confidence, reason = match.taught.intent, round(match.similarity, 4), None
            if model.tag_model is None:
                tags = _tags(model, {intent: 1.0}, ngrams, vector)
        if match.taught.tags is not None:
            tags = [TagScore(tag=t, confidence=1.0) for t in match.taught.tags]
    neighbours = _neighbours(model, query, exclude_ticket_id, memory, context, intent)
    evidence = _evidence(model, neighbours)
    draft = draft_source = None
    if reason is None:
        preferred = memory.preferred(intent, context) if memory is not None else None
        if preferred is not None and memory is not None \
                and not memory.demoted(f"signal:{preferred.signal_id}", context):
            draft_source = f"signal:{preferred.signal_id}"
            learned_from.append(preferred.signal_id)
            # An agent's edited reply to another customer: the same slot rule as any evidence reply.
            # (A preferred reply is only ever taught with its reply.)
            draft = draft_reply(cast(str, preferred.reply), preferred.customer_name, customer_name, text,
                                model.vocabulary.people, templates_for(model), intent)
        elif neighbours:
            draft, draft_source = _draft_from(model, neighbours, memory, customer_name, text, context)
    return Suggestion(
        intent=intent,
        confidence=round(confidence, 4),
        abstained=reason is not None,
        abstain_reason=reason,
        ambiguous_between=list(probabilities)[:2] if reason == AMBIGUOUS else [],
        tags=tags,
        entities=[Entity(type=e.type, text=e.text, start=e.start, end=e.end)
                  for e in find_entities(text, model.vocabulary.patterns)],
        draft=draft,
        evidence=evidence,
        model_version=stored.version,
        draft_source=draft_source,
        learned_from=sorted(set(learned_from)),
    )


def _tags(model: TicketModel, probabilities: dict[str, float], ngrams, vector) -> list[TagScore]:
    """The tag model's tags (each at or above its own threshold); P(tag | intent) for models
    trained before it existed or tenants with too few tagged tickets."""
    if model.tag_model is not None:
        return [TagScore(tag=t, confidence=round(float(c), 4)) for t, c in model.tag_model.suggest(ngrams, vector)]
    return [TagScore(tag=t, confidence=c) for t, c in model.tag_scores(probabilities)]


def _evidence(model: TicketModel, neighbours) -> list[Evidence]:
    return [Evidence(ticket_id=tid, external_id=model.resolutions[tid].external_id, score=round(score, 4))
            for tid, score in neighbours]


def _neighbours(model: TicketModel, query, exclude_ticket_id: int | None, memory: FeedbackMemory | None,
                context: ContextKey | None, intent: str | None = None) -> list[tuple[int, float]]:
    """The five closest resolved tickets (of ``intent`` when given), best first. With a page
    context, the closest :data:`~core.ml.page_context.RERANK_POOL` are re-ranked so one asked on
    the same page, or whose reply worked on it, wins a close call (see :func:`core.ml.page_context.rerank`)."""
    if context is None:
        return [n for n in model.index.nearest(query, k=6, intent=intent) if n[0] != exclude_ticket_id][:5]
    pool = [n for n in model.index.nearest(query, k=RERANK_POOL + 1, intent=intent) if n[0] != exclude_ticket_id]

    def context_of(ticket_id: int) -> str | None:
        return getattr(model.resolutions[ticket_id], "context", None)

    def worked(ticket_id: int) -> bool:
        return memory is not None and memory.worked_on(f"ticket:{ticket_id}", context)

    return rerank(pool, context, context_of, worked=worked)[:5]


def _draft_from(model: TicketModel, neighbours, memory: FeedbackMemory | None, customer_name: str | None,
                text: str, context: ContextKey | None = None) -> tuple[str, str]:
    """The draft from the closest resolved ticket whose reply no outcome has demoted (on this
    page, with a ``context``): that reply's learned skeleton, filled for this customer (see
    :mod:`core.suggesting.drafting`)."""
    sources = [f"ticket:{tid}" for tid, _ in neighbours]
    chosen = next((i for i, s in enumerate(sources) if not (memory is not None and memory.demoted(s, context))), 0)
    best = model.resolutions[neighbours[chosen][0]]
    draft = draft_from_evidence(templates_for(model), best.ticket_id, best.reply, best.requester_name, customer_name,
                                text, best.intent)
    return draft, sources[chosen]


def _without_intents(model: TicketModel, stored: StoredModel, text: str, customer_name: str | None,
                     exclude_ticket_id: int | None, vector, memory: FeedbackMemory | None, query,
                     ngrams, context: ContextKey | None = None) -> Suggestion:
    """Day one: no intent labels yet. Similar resolved tickets, tags, and a draft from the closest
    one when it is as close as replies in this history agree (:class:`core.ml.retrieval.DraftRule`);
    otherwise similar tickets only, marked as abstained."""
    neighbours = _neighbours(model, query, exclude_ticket_id, memory, context)
    tags = _tags(model, {}, ngrams, vector)
    learned_from: list[int] = []
    match = memory.closest(query, context) if memory is not None else None
    if match is not None and match.taught.tags is not None:
        learned_from.append(match.taught.signal_id)
        tags = [TagScore(tag=t, confidence=1.0) for t in match.taught.tags]
    closest = neighbours[0][1] if neighbours else 0.0
    confident = bool(neighbours) and model.draft_rule is not None and model.draft_rule.allows(closest)
    draft = draft_source = None
    if confident:
        draft, draft_source = _draft_from(model, neighbours, memory, customer_name, text, context)
    return Suggestion(
        intent=None, confidence=round(float(closest), 4), abstained=not confident,
        abstain_reason=None if confident else LOW_CONFIDENCE, tags=tags,
        entities=[Entity(type=e.type, text=e.text, start=e.start, end=e.end)
                  for e in find_entities(text, model.vocabulary.patterns)],
        draft=draft, evidence=_evidence(model, neighbours), model_version=stored.version,
        draft_source=draft_source, learned_from=learned_from, intent_model="not_trained",
    )


def live_memory(runtime: Runtime, tenant_id: int, model: TicketModel, stored: StoredModel) -> FeedbackMemory:
    """The tenant's signals since training, current to the newest one (see :mod:`core.learning.live`)."""
    return memory_for(runtime, tenant_id, model, stored.version,
                      lambda text: model.similarity_query(text, sentence_vector(runtime, model, text)))


def suggest(runtime: Runtime, tenant_slug: str, text: str, ticket_id: int | None = None,
            customer_name: str | None = None, page_context: PageContext | dict | None = None) -> Suggestion:
    """Suggest for ``text`` and store the suggestion so signals can refer to it. ``page_context``:
    where the customer asked (a stored ticket's, or what the widget sends with free text)."""
    text = bounded_model_text(text)
    context = context_key(page_context)
    tenant_id = runtime.db.tenant_id(tenant_slug)
    model, stored = current_model(runtime, tenant_slug)
    vector = sentence_vector(runtime, model, text)
    query = model.similarity_query(text, vector)
    suggestion = build_suggestion(model, stored, text, customer_name, exclude_ticket_id=ticket_id, vector=vector,
                                  memory=live_memory(runtime, tenant_id, model, stored), query=query, context=context)
    if runtime.settings.llm_url and suggestion.draft:
        suggestion = _rewritten(runtime, model, suggestion, text, customer_name)
    with runtime.db.transaction(tenant_id) as session:
        row = SuggestionRow(
            tenant_id=tenant_id, ticket_id=ticket_id, text=text, intent=suggestion.intent,
            confidence=suggestion.confidence, abstained=suggestion.abstained,
            abstain_reason=suggestion.abstain_reason,
            tags=[t.model_dump() for t in suggestion.tags], entities=[e.model_dump() for e in suggestion.entities],
            draft=suggestion.draft, evidence=[e.model_dump() for e in suggestion.evidence],
            model_version=suggestion.model_version, draft_source=suggestion.draft_source, customer_name=customer_name,
            context_key=str(context) if context is not None else None,
            vector=np.asarray(query, dtype=np.float32).tobytes() if isinstance(query, np.ndarray) else None,
        )
        session.add(row)
        session.flush()
        suggestion.id, suggestion.ticket_id = row.id, ticket_id
    count_suggestion(tenant_slug, suggestion.abstain_reason, suggestion.abstained)
    return suggestion


def _rewritten(runtime: Runtime, model: TicketModel, suggestion: Suggestion, text: str,
               customer_name: str | None) -> Suggestion:
    """The suggestion with its draft rewritten by the configured LLM, when the rewrite can be trusted.
    The endpoint sees the evidence replies as outlines (their slots as placeholders), never another
    customer's details."""
    templates = templates_for(model)
    evidence = [outline(templates, r.ticket_id, r.reply, r.requester_name, r.intent)
                for r in (model.resolutions.get(e.ticket_id) for e in suggestion.evidence[:3]) if r is not None]
    names = (*(customer_name or "").split(), *model.vocabulary.people)
    draft = cast(str, suggestion.draft)  # called only for a suggestion with a draft
    better = rewrite_draft(runtime.settings, draft, text, evidence, names, customer_name=customer_name,
                           templates=templates, group=suggestion.intent)
    return suggestion.model_copy(update={"draft": better, "rewritten": True}) if better else suggestion


def suggest_for_ticket(runtime: Runtime, tenant_slug: str, ticket_id: int) -> Suggestion | None:
    """Suggest for a stored ticket; ``None`` when the tenant has no such ticket."""
    tenant_id = runtime.db.tenant_id(tenant_slug)
    with runtime.db.tenant_session(tenant_id) as session:
        ticket = session.execute(
            select(TicketRow.text, TicketRow.requester_name, TicketRow.page_context).where(TicketRow.id == ticket_id)
        ).first()
    if ticket is None:
        return None
    return suggest(runtime, tenant_slug, ticket.text, ticket_id=ticket_id, customer_name=ticket.requester_name,
                   page_context=ticket.page_context)


def similar_tickets(runtime: Runtime, tenant_slug: str, ticket_id: int, limit: int = 10) -> list[dict] | None:
    """The nearest resolved tickets of any intent; ``None`` when the tenant has no such ticket."""
    tenant_id = runtime.db.tenant_id(tenant_slug)
    with runtime.db.tenant_session(tenant_id) as session:
        text = session.scalar(select(TicketRow.text).where(TicketRow.id == ticket_id))
    if text is None:
        return None
    text = bounded_model_text(text)
    model, _ = current_model(runtime, tenant_slug)
    vector = sentence_vector(runtime, model, text)
    nearest = model.index.nearest(model.similarity_query(text, vector), k=limit + 1)
    return [
        {"ticket_id": tid, "external_id": model.resolutions[tid].external_id,
         "intent": model.resolutions[tid].intent, "score": round(score, 4)}
        for tid, score in nearest if tid != ticket_id
    ][:limit]
