"""Replay: labelled tickets streamed in time order through the whole loop, with learning curves.

Each ticket arrives unlabelled and unanswered, gets a suggestion from the model in service and
the live memory, and meets a simulated agent: if the suggested intent is right and there is a
draft, the agent sends it unchanged (``draft_sent``); otherwise the agent sets the right intent
(``intent_changed``) and sends the right reply (``draft_edited`` against the draft, when there was
one). The signals go through the same code as the API, the answered ticket is stored as the
helpdesk would report it, and the model is retrained through the same promotion check as
``deskloop train`` each time the labelled history has grown by half since the last attempt (the
live memory learns in between).

For comparison, a frozen model of the same method is trained once on the first block and scores
every later ticket with no memory and no retraining; on the first block both are the same loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import cast

import numpy as np
from sqlalchemy import func, select

from core.clock import aware_utc
from core.errors import BadInput
from core.learning.feedback import record_signal, text_similarity
from core.learning.training import ModelRefused, load_training_tickets, train_tenant
from core.ml.encoder import encode_for_training, encoder_named
from core.ml.intent import NEIGHBOUR_WEIGHT, _out_of_fold_scores
from core.ml.model import TicketModel
from core.ml.registry import ModelLoadError, StoredModel
from core.runtime import Runtime
from core.store.tables import ReplayRunRow, TicketRow
from core.store.tickets import model_text, upsert_tickets
from core.suggesting.suggest import build_suggestion, sentence_vector, suggest
from core.types import Message, Signal, Ticket

log = logging.getLogger(__name__)

BLOCK_SIZE = 500
#: Labelled tickets before the first model is trained (the live memory answers before that).
FIRST_TRAINING = 20
#: Retrain when the labelled history has grown by this factor since the last attempt.
RETRAIN_GROWTH = 1.5


@dataclass(frozen=True)
class Outcome:
    correct: bool  # top intent right (forced choice; no model yet counts as wrong)
    accepted: bool  # the draft was sent unchanged
    similarity: float | None  # draft against the reply that was sent (None: no draft)
    abstained: bool


def replay(runtime: Runtime, tenant: str, tickets: list[Ticket], block_size: int = BLOCK_SIZE,
           source: str = "", progress: Callable[[int], None] | None = None) -> dict:
    """Run the loop over ``tickets`` (labelled, in time order) into the new tenant ``tenant``;
    returns the curves (see ``deskloop replay``) and stores them for the learning page."""
    if block_size < 1:
        raise BadInput("the block size must be at least 1", field="block_size")
    tickets = _in_time_order(tickets)
    _check_labelled(tickets)
    tenant_id = _fresh_tenant(runtime, tenant)
    live: list[Outcome] = []
    frozen_outcomes: list[Outcome] = []
    frozen: TicketModel | None = None
    last_attempt = 0
    for n, ticket in enumerate(tickets, start=1):
        label, reply = cast(str, ticket.intent), agent_reply(ticket)  # labelled: see _check_labelled
        name = ticket.requester.name if ticket.requester else None
        ticket_id = store_ticket(runtime, tenant_id, arriving(ticket))
        suggestion = suggest_stored(runtime, tenant, ticket_id, name)
        live.append(_agent_acts(runtime, tenant, ticket_id, suggestion, label, reply))
        if frozen is None:
            frozen_outcomes.append(live[-1])
        else:
            frozen_outcomes.append(_frozen_outcome(runtime, frozen, ticket, label, reply, name))
        store_ticket(runtime, tenant_id, answered(ticket, reply))
        if n >= FIRST_TRAINING and n >= last_attempt * RETRAIN_GROWTH:
            last_attempt = n
            retrain(runtime, tenant)
        if n == block_size:
            frozen = _train_frozen(runtime, tenant_id)
        if progress:
            progress(n)
    result = {
        "block_size": block_size,
        "blocks": curve(live, block_size),
        "frozen_blocks": curve(frozen_outcomes, block_size),
        "offline_cv_accuracy": offline_cv_accuracy(runtime, tickets),
    }
    with runtime.db.transaction(tenant_id) as session:
        session.add(ReplayRunRow(tenant_id=tenant_id, source=source[:512], result=result))
    return result


def curve(outcomes: list[Outcome], block_size: int) -> list[dict]:
    """Per block: n, accuracy, acceptance (drafts sent unchanged, over all tickets), similarity
    (mean draft-to-sent similarity over tickets that had a draft) and abstain_rate."""
    blocks = []
    for start in range(0, len(outcomes), block_size):
        part = outcomes[start:start + block_size]
        sims = [o.similarity for o in part if o.similarity is not None]
        blocks.append({
            "n": len(part),
            "accuracy": round(float(np.mean([o.correct for o in part])), 4),
            "acceptance": round(float(np.mean([o.accepted for o in part])), 4),
            "similarity": round(float(np.mean(sims)), 4) if sims else None,
            "abstain_rate": round(float(np.mean([o.abstained for o in part])), 4),
        })
    return blocks


def offline_cv_accuracy(runtime: Runtime, tickets: list[Ticket]) -> float:
    """5-fold cross-validated accuracy of the same method on the whole file: the ceiling the
    learning curve is compared with."""
    texts = [model_text(t) for t in tickets]
    labels = np.asarray([t.intent for t in tickets])
    classes = np.unique(labels)
    truth = np.searchsorted(classes, labels)
    encoder = encoder_named(runtime.settings.encoder, runtime.settings.encoders_dir, batch=True)
    vectors = encode_for_training(encoder, texts) if encoder is not None else None
    scores, nearest = _out_of_fold_scores(texts, truth, vectors, len(classes))
    if vectors is not None:
        scores = scores + NEIGHBOUR_WEIGHT * nearest
    return round(float((scores.argmax(axis=1) == truth).mean()), 4)


def _in_time_order(tickets: list[Ticket]) -> list[Ticket]:
    if all(t.created_at is not None for t in tickets):
        return sorted(tickets, key=lambda t: cast(datetime, t.created_at))  # stable: file order breaks ties
    return list(tickets)


def _check_labelled(tickets: list[Ticket]) -> None:
    if not tickets:
        raise BadInput("the file has no tickets to replay")
    for position, ticket in enumerate(tickets, start=1):
        if not ticket.intent:
            raise BadInput(f"ticket {ticket.external_id!r} has no label to replay", line=position, field="label")


def _fresh_tenant(runtime: Runtime, tenant: str) -> int:
    """Replays write a whole history, so they run into a tenant of their own."""
    tenant_id = runtime.db.ensure_tenant(tenant)
    with runtime.db.tenant_session(tenant_id) as session:
        if session.scalar(select(func.count(TicketRow.id))):
            raise BadInput(f"tenant {tenant!r} already has tickets; replay into a new tenant", field="tenant")
    return tenant_id


def agent_reply(ticket: Ticket) -> str | None:
    return next((m.body for m in ticket.messages if m.author_role == "agent" and m.public), None)


def first_customer_message(ticket: Ticket) -> list[Message]:
    return [m for m in ticket.messages if m.author_role == "customer"][:1] or ticket.messages[:1]


def arriving(ticket: Ticket) -> Ticket:
    """The ticket as it first reaches the helpdesk: the customer's words, no label, no answer."""
    return ticket.model_copy(update={"messages": first_customer_message(ticket), "intent": None, "status": "new",
                                     "csat": None,
                                     "solved_at": None, "first_response_at": None})


def answered(ticket: Ticket, reply: str | None) -> Ticket:
    """The ticket once the agent has replied (what the helpdesk reports): solved, with the reply."""
    answer = [Message(author_role="agent", body=reply, public=True)] if reply else []
    messages = first_customer_message(ticket) + answer
    return ticket.model_copy(update={"messages": messages, "intent": None, "status": "solved"})


def store_ticket(runtime: Runtime, tenant_id: int, ticket: Ticket) -> int:
    with runtime.db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, [ticket])
        return cast(int, session.scalar(select(TicketRow.id).where(TicketRow.source == ticket.source,
                                                                   TicketRow.external_id == ticket.external_id)))


def suggest_stored(runtime: Runtime, tenant: str, ticket_id: int, name: str | None):
    with runtime.db.tenant_session(runtime.db.tenant_id(tenant)) as session:
        text = session.scalar(select(TicketRow.text).where(TicketRow.id == ticket_id))
    try:
        return suggest(runtime, tenant, cast(str, text), ticket_id=ticket_id, customer_name=name)
    except ModelLoadError:  # no model yet: the agent answers alone
        return None


def _agent_acts(runtime: Runtime, tenant: str, ticket_id: int, suggestion, label: str, reply: str | None) -> Outcome:
    """The simulated agent: send a right draft unchanged, otherwise correct and send the right reply."""
    if suggestion is None:
        record_signal(runtime, tenant, Signal(kind="intent_changed", ticket_id=ticket_id, actor="replay",
                                              payload={"intent": label}))
        return Outcome(False, False, None, True)
    correct = suggestion.intent == label
    if correct and suggestion.draft and not suggestion.abstained:
        record_signal(runtime, tenant, Signal(kind="draft_sent", suggestion_id=suggestion.id, actor="replay",
                                              payload={"sent": suggestion.draft}))
        return Outcome(True, True, 1.0, False)
    if not correct or suggestion.abstained:
        record_signal(runtime, tenant, Signal(kind="intent_changed", suggestion_id=suggestion.id, actor="replay",
                                              payload={"intent": label}))
    similarity = None
    if suggestion.draft and reply:
        stored, _ = record_signal(runtime, tenant, Signal(kind="draft_edited", suggestion_id=suggestion.id,
                                                          actor="replay", payload={"sent": reply, "intent": label}))
        similarity = float(stored.payload.get("similarity", 0.0))
    return Outcome(correct, False, similarity, suggestion.abstained)


def _frozen_outcome(runtime: Runtime, frozen: TicketModel, ticket: Ticket, label: str, reply: str | None,
                    name: str | None) -> Outcome:
    text = model_text(ticket)
    made = build_suggestion(frozen, _FROZEN, text, name, vector=sentence_vector(runtime, frozen, text))
    correct = made.intent == label
    if correct and made.draft and not made.abstained:
        return Outcome(True, True, 1.0, False)
    similarity = text_similarity(made.draft, reply) if made.draft and reply else None
    return Outcome(correct, False, similarity, made.abstained)


_FROZEN = StoredModel("frozen", Path("."), {})


def _train_frozen(runtime: Runtime, tenant_id: int) -> TicketModel:
    """The comparison model: the same method, trained once on what the first block taught."""
    tickets, _ = load_training_tickets(runtime, tenant_id)
    encoder = encoder_named(runtime.settings.encoder, runtime.settings.encoders_dir, batch=True)
    vectors = encode_for_training(encoder, [t.text for t in tickets]) if encoder is not None else None
    return TicketModel.fit(tickets, encoder=encoder, vectors=vectors)


def retrain(runtime: Runtime, tenant: str) -> None:
    try:
        stored = train_tenant(runtime, tenant)
        log.info("replay: model %s in service (%s)", stored.version, stored.metadata["promotion"]["reason"])
    except ModelRefused as refused:
        log.info("replay: kept the model in service: %s", refused.verdict.reason)
    except ValueError as exc:  # fewer than two intents so far
        log.info("replay: not trained yet: %s", exc)


def latest_replay_run(runtime: Runtime, tenant: str) -> dict | None:
    """The newest stored replay of ``tenant`` (its curves, source and time), or ``None``."""
    tenant_id = runtime.db.tenant_id(tenant)
    with runtime.db.tenant_session(tenant_id) as session:
        run = session.scalars(select(ReplayRunRow).order_by(ReplayRunRow.id.desc()).limit(1)).first()
        if run is None:
            return None
        return {"id": run.id, "source": run.source, "created_at": aware_utc(run.created_at), **run.result}
