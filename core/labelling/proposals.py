"""Intents discovered from a tenant's customers' words, and an admin's decisions about them.

``discover`` groups the tickets no accepted intent holds yet (see :mod:`core.ml.discovery`) and
stores each group as a *proposed* intent, replacing the previous proposals; accepted intents are
kept as they are. An admin accepts, renames, merges or splits them; accepted intents are the
``discovered`` label source, so the next training learns them and the model assigns new tickets
to them. Every change is one transaction, checked before anything is written.
"""

from __future__ import annotations

import re
from collections.abc import Sequence, Set
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import delete, select

from core.errors import BadInput, NotFound
from core.labelling.label_rows import accepted_intents
from core.ml.discovery import discover_intents, most_common_reply, split_intent
from core.ml.encoder import encode_for_training, encoder_named, sentence_part
from core.runtime import Runtime
from core.store.tables import IntentProposalRow, MessageRow, TicketRow
from core.store.tenants import locked_tenant
from core.text.limits import bounded_model_text

#: Example messages kept per proposal (shown on the page and in the JSON).
EXAMPLES = 5


@dataclass(frozen=True)
class _Corpus:
    ids: list[int]
    external_ids: list[str]
    texts: list[str]
    replies: list[str | None]


def _corpus(runtime: Runtime, tenant_id: int, only: Sequence[int] | None = None,
            skip: Set[int] = frozenset()) -> _Corpus:
    """The tenant's tickets with customer text (``only`` those ids), and each one's first public reply."""
    with runtime.db.tenant_session(tenant_id) as session:
        query = select(TicketRow.id, TicketRow.external_id, TicketRow.text).order_by(TicketRow.id)
        if only is not None:
            query = query.where(TicketRow.id.in_(list(only)))
        tickets = [t for t in session.execute(query) if (t.text or "").strip() and t.id not in skip]
        replies: dict[int, str] = {}
        for ticket_id, body in session.execute(
            select(MessageRow.ticket_id, MessageRow.body)
            .where(MessageRow.author_role == "agent", MessageRow.public.is_(True))
            .order_by(MessageRow.ticket_id, MessageRow.position)
        ):
            replies.setdefault(ticket_id, body)
    return _Corpus([t.id for t in tickets], [t.external_id for t in tickets],
                   [bounded_model_text(t.text) for t in tickets], [replies.get(t.id) for t in tickets])


def _vectors(runtime: Runtime, texts: list[str]) -> np.ndarray:
    encoder = encoder_named(runtime.settings.encoder, runtime.settings.encoders_dir, batch=True)
    if encoder is None:
        raise BadInput("intent discovery needs the sentence encoder (DESKLOOP_ENCODER is off)")
    return sentence_part(encode_for_training(encoder, texts)) if texts else np.zeros((0, 384), np.float32)


def discover(runtime: Runtime, tenant: str, min_size: int = 5) -> dict:
    """Propose intents from the tickets no accepted intent holds; returns :func:`listing`."""
    tenant_id = runtime.db.tenant_id(tenant)
    with runtime.db.tenant_session(tenant_id) as session:
        held = set(accepted_intents(session))
    corpus = _corpus(runtime, tenant_id, skip=held)
    if len(corpus.texts) < 2 * min_size:
        raise BadInput(f"tenant {tenant!r} has {len(corpus.texts)} tickets with customer text outside accepted "
                       f"intents: too few to discover intents from (at least {2 * min_size})")
    found, _ = discover_intents(corpus.texts, _vectors(runtime, corpus.texts), min_size=min_size)
    with runtime.db.transaction(tenant_id) as session:
        session.execute(delete(IntentProposalRow).where(IntentProposalRow.status == "proposed"))
        taken = set(session.scalars(select(IntentProposalRow.key)))
        for intent in found:
            session.add(_row(tenant_id, intent.label, [intent.rows], intent.examples, corpus, taken))
    return listing(runtime, tenant)


def _row(tenant_id: int, label: str, row_groups: list[list[int]], example_rows: list[int], corpus: _Corpus,
         taken: set[str], status: str = "proposed") -> IntentProposalRow:
    rows = [r for group in row_groups for r in group]
    key = unique_key(label, taken)
    taken.add(key)
    return IntentProposalRow(tenant_id=tenant_id, key=key, label=label[:255], status=status,
                             ticket_ids=[corpus.ids[r] for r in rows],
                             examples=[corpus.ids[r] for r in example_rows[:EXAMPLES]],
                             reply=most_common_reply(rows, corpus.replies))


def unique_key(label: str, taken: set[str]) -> str:
    """A slug of ``label`` no other intent of the tenant has (``-2``, ``-3``... when it does)."""
    base = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")[:100] or "intent"
    key, n = base, 2
    while key in taken:
        key, n = f"{base}_{n}", n + 1
    return key


def listing(runtime: Runtime, tenant: str) -> dict:
    """``{"intents": [{key, label, status, size, examples, external_ids, reply}]}``, largest first."""
    tenant_id = runtime.db.tenant_id(tenant)
    with runtime.db.tenant_session(tenant_id) as session:
        proposals = session.scalars(select(IntentProposalRow).order_by(IntentProposalRow.id)).all()
        wanted = {i for p in proposals for i in (p.ticket_ids or [])}
        tickets = {t.id: t for t in session.execute(
            select(TicketRow.id, TicketRow.external_id, TicketRow.text).where(TicketRow.id.in_(wanted)))} \
            if wanted else {}
    out = []
    for p in sorted(proposals, key=lambda p: (-len(p.ticket_ids or []), p.key)):
        ids = [i for i in p.ticket_ids or [] if i in tickets]
        out.append({"key": p.key, "label": p.label, "status": p.status, "size": len(ids),
                    "examples": [tickets[i].text[:300] for i in p.examples or [] if i in tickets],
                    "external_ids": [tickets[i].external_id for i in ids], "reply": p.reply})
    return {"tenant": tenant, "intents": out}


def _proposals(session, keys: Sequence[str]) -> list[IntentProposalRow]:
    found = {p.key: p for p in session.scalars(select(IntentProposalRow).where(IntentProposalRow.key.in_(list(keys))))}
    missing = [k for k in keys if k not in found]
    if missing:
        raise NotFound(f"no discovered intent {', '.join(map(repr, missing))}", field="key")
    return [found[k] for k in keys]


def accept(runtime: Runtime, tenant: str, keys: Sequence[str], every: bool = False) -> dict:
    """Accept intents (``every``: all proposed ones); accepted intents become the tenant's label
    source (``discovered``). Returns the accepted keys and the label source before."""
    if not keys and not every:
        raise BadInput("name the intents to accept, or --all", field="key")
    tenant_id = runtime.db.tenant_id(tenant)
    with runtime.db.transaction(tenant_id) as session:
        rows = session.scalars(select(IntentProposalRow).where(IntentProposalRow.status == "proposed")).all() \
            if every else _proposals(session, list(dict.fromkeys(keys)))
        if not rows:
            raise BadInput("no proposed intents to accept: run `deskloop intents discover` first")
        for row in rows:
            row.status, row.updated_at = "accepted", datetime.now(UTC)
        tenant_row = locked_tenant(session, tenant_id)
        previous = (tenant_row.settings or {}).get("label_source") or "intent"
        tenant_row.settings = {**(tenant_row.settings or {}), "label_source": "discovered"}
    return {"accepted": [r.key for r in rows], "label_source": "discovered", "previous_label_source": previous}


def rename(runtime: Runtime, tenant: str, key: str, label: str) -> dict:
    """Give an intent a new name; its key (the intent name models learn) follows the name."""
    label = " ".join((label or "").split())
    if not label:
        raise BadInput("the new name is empty", field="label")
    tenant_id = runtime.db.tenant_id(tenant)
    with runtime.db.transaction(tenant_id) as session:
        (row,) = _proposals(session, [key])
        taken = set(session.scalars(select(IntentProposalRow.key).where(IntentProposalRow.key != key)))
        new_key = unique_key(label, set())
        if new_key in taken:
            raise BadInput(f"another intent is already called {new_key!r}: merge them instead", field="label")
        row.key, row.label, row.updated_at = new_key, label[:255], datetime.now(UTC)
    return {"key": new_key, "label": label, "previous_key": key}


def merge(runtime: Runtime, tenant: str, keys: Sequence[str], into: str | None = None) -> dict:
    """Merge two or more intents into one (``into``, or the first named); accepted if any was."""
    keys = list(dict.fromkeys(keys))
    if len(keys) < 2:
        raise BadInput("name at least two intents to merge", field="key")
    target_key = into or keys[0]
    if target_key not in keys:
        keys.append(target_key)
    tenant_id = runtime.db.tenant_id(tenant)
    with runtime.db.transaction(tenant_id) as session:
        rows = _proposals(session, keys)
        target = next(r for r in rows if r.key == target_key)
        others = [r for r in rows if r is not target]
        target.ticket_ids = list(dict.fromkeys([*target.ticket_ids, *(i for r in others for i in r.ticket_ids)]))
        target.examples = list(dict.fromkeys([*target.examples, *(i for r in others for i in r.examples)]))[:EXAMPLES]
        if any(r.status == "accepted" for r in rows):
            target.status = "accepted"
        target.updated_at = datetime.now(UTC)
        for r in others:
            session.delete(r)
    return {"key": target_key, "merged": [r.key for r in others], "size": len(target.ticket_ids)}


def split(runtime: Runtime, tenant: str, key: str, parts: int = 2) -> dict:
    """Split an intent into ``parts`` new proposed intents by the wording of its tickets."""
    if parts < 2:
        raise BadInput("split into at least two parts", field="parts")
    tenant_id = runtime.db.tenant_id(tenant)
    with runtime.db.tenant_session(tenant_id) as session:
        (row,) = _proposals(session, [key])
        ticket_ids = list(row.ticket_ids)
    corpus = _corpus(runtime, tenant_id, only=ticket_ids)
    if len(corpus.ids) < 2 * parts:
        raise BadInput(f"intent {key!r} has {len(corpus.ids)} tickets: too few to split in {parts}", field="parts")
    pieces = split_intent(corpus.texts, _vectors(runtime, corpus.texts), list(range(len(corpus.ids))), parts)
    with runtime.db.transaction(tenant_id) as session:
        (row,) = _proposals(session, [key])
        session.delete(row)
        session.flush()
        taken = set(session.scalars(select(IntentProposalRow.key)))
        new = [_row(tenant_id, piece.label, [piece.rows], piece.examples, corpus, taken) for piece in pieces]
        session.add_all(new)
    return {"split": key, "into": [r.key for r in new]}
