"""Knowledge gaps: the intents (and, for tickets without an intent, the clusters) where Deskloop
abstains, drafts are rewritten, customers come back or rate badly, or agents write long answers
from scratch, ranked by a gap score, each with a proposed article drafted from the best-rated
replies.

Tickets created in the window (90 days by default) are grouped by intent, else by cluster; a ticket
with neither is in no group, and a group with fewer than :data:`MIN_TICKETS` tickets is left out
(a rate over three tickets says nothing). The measures and the score are in
:mod:`core.insights.gap_measures`, the article in :mod:`core.insights.gap_articles`, the Markdown
export in :mod:`core.insights.gap_export`. The report names no customer: counts, rates, ticket
ids, and text that went through the scrubbers.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from core.errors import BadInput
from core.insights import gap_articles as articles
from core.insights import gap_measures as measures
from core.learning.kinds import csat_is_good
from core.runtime import Runtime
from core.store.tables import ClusterRow, MessageRow, SignalRow, SuggestionRow, TicketRow

#: Tickets read per report (the newest in the window).
MAX_TICKETS = 20_000
MIN_TICKETS = 5
#: Groups scoring under this are listed as measured, not as gaps (by default).
MIN_SCORE = 5.0
EXAMPLE_TICKETS = 5
RESOLVED = ("solved", "closed")
NEGATIVE_KINDS = frozenset({"reopened", "not_helpful"})
POSITIVE_KINDS = frozenset({"confirmed"})


class GapReason(BaseModel):
    measure: str = Field(description="abstention, edits, reopens, bad_csat or long_unique_replies")
    points: float = Field(description="what this measure adds to the score")
    detail: str


class ArticleDraft(BaseModel):
    title: str
    status: Literal["draft"] = "draft"
    answer: str = Field(description="the most central well-rated reply, as a template with placeholders")
    alternatives: list[str] = Field(description="other well-rated answers, worded differently")
    questions: list[str] = Field(description="what customers asked (scrubbed), the most asked first")
    source_ticket_ids: list[int] = Field(description="the tickets whose replies the answer was drafted from")
    basis: Literal["rated_good", "unrated", "none"] = Field(
        description="rated_good: well-rated replies; unrated: solved tickets with no negative signal (no ticket "
                    "was rated); none: no reply qualified")


class KnowledgeGap(BaseModel):
    key: str = Field(description="intent:<name> or cluster:<id>")
    kind: Literal["intent", "cluster"]
    label: str
    score: float = Field(description="0-100: 30 x abstention + 25 x edits + 20 x reopens + 15 x bad CSAT + "
                                     "10 x long unique replies (each a rate)")
    reasons: list[GapReason]
    points: dict[str, float] = Field(description="every measure's points (abstention, edits, reopens, bad_csat, "
                                                 "long_unique_replies), each rounded to 0.1: they add up to the score")
    tickets: int
    suggestions: int
    abstention_rate: float
    abstain_reasons: dict[str, int]
    drafts_sent: int = Field(description="drafts that went out, edited or not")
    edit_rate: float
    mean_edit_size: float = Field(description="1 - similarity of draft and sent reply, over edited drafts")
    reopen_rate: float
    rated: int
    bad_csat_rate: float
    replies: int
    long_unique_reply_rate: float
    example_ticket_ids: list[int]
    article: ArticleDraft


class KnowledgeGapReport(BaseModel):
    tenant: str
    generated_at: datetime
    since: datetime
    tickets_read: int = Field(description="tickets in the window with an intent or a cluster (the newest 20,000)")
    groups_measured: int = Field(description=f"intents and clusters with at least {MIN_TICKETS} tickets")
    min_score: float
    gaps: list[KnowledgeGap]


@dataclass
class _Ticket:
    id: int
    group: str
    subject: str
    first_message: str = ""
    reply: str | None = None
    agent_name: str | None = None
    customer: str = ""
    requester_name: str | None = None
    own_text: list[str] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    reopened: bool = False
    rating: bool | None = None  # True good, False bad, None unrated
    negative: bool = False
    confirmed: bool = False
    solved: bool = False


def check_arguments(days: int, top: int, min_score: float) -> None:
    if not 7 <= days <= 3650:
        raise BadInput("days must be between 7 and 3650", field="days")
    if not 1 <= top <= 200:
        raise BadInput("top must be between 1 and 200", field="top")
    if not 0 <= min_score <= 100:
        raise BadInput("min_score must be between 0 and 100", field="min_score")


def _read(session, since: datetime, now: datetime) -> tuple[dict[int, _Ticket], dict[str, measures.GroupTally],
                                                            dict[int, str]]:
    when = func.coalesce(TicketRow.created_at, TicketRow.imported_at)
    window = (when >= since, when <= now)
    tickets: dict[int, _Ticket] = {}
    tallies: dict[str, measures.GroupTally] = defaultdict(measures.GroupTally)
    for row in session.execute(
        select(TicketRow.id, TicketRow.subject, TicketRow.text, TicketRow.intent, TicketRow.cluster_key,
               TicketRow.requester_name, TicketRow.requester_email, TicketRow.requester_external_id,
               TicketRow.organization, TicketRow.custom_fields, TicketRow.reopen_count, TicketRow.csat_score,
               TicketRow.status, when.label("when"))
        .where(*window).order_by(when.desc(), TicketRow.id.desc()).limit(MAX_TICKETS)
    ):
        group = f"intent:{row.intent}" if row.intent else (
            f"cluster:{row.cluster_key}" if row.cluster_key is not None else None)
        if group is None:
            continue
        fields = " ".join(str(v) for v in (row.custom_fields or {}).values() if v is not None)
        tickets[row.id] = _Ticket(
            id=row.id, group=group, subject=row.subject or "", requester_name=row.requester_name,
            customer=(row.requester_external_id or (row.requester_email or "").lower() or row.requester_name
                      or f"ticket:{row.id}"),
            own_text=[row.subject or "", row.text or "", row.requester_name or "", row.requester_email or "",
                      row.organization or "", fields],
            reopened=bool(row.reopen_count), rating=None if row.csat_score is None else row.csat_score >= 4,
            solved=(row.status or "").lower() in RESOLVED)
        tallies[group].tickets += 1
    for ticket_id, role, public, body, author in _per_ticket(session, tickets, select(
        MessageRow.ticket_id, MessageRow.author_role, MessageRow.public, MessageRow.body, MessageRow.author_name),
        MessageRow.ticket_id, MessageRow.position):
        ticket = tickets.get(ticket_id)
        if ticket is None or not body:
            continue
        if role == "agent" and public:
            ticket.replies.append(body)
            if ticket.reply is None:
                ticket.reply, ticket.agent_name = body, author
        else:
            ticket.own_text.append(body)
            if role == "customer" and not ticket.first_message:
                ticket.first_message = body
    for ticket_id, abstained, reason in _per_ticket(session, tickets, select(
        SuggestionRow.ticket_id, SuggestionRow.abstained, SuggestionRow.abstain_reason),
        SuggestionRow.ticket_id, SuggestionRow.id):
        if (ticket := tickets.get(ticket_id)) is not None:
            tally = tallies[ticket.group]
            tally.suggestions += 1
            if abstained:
                tally.abstained += 1
                tally.abstain_reasons[reason or "unknown"] += 1
    for ticket_id, kind, payload, _ in sorted(_per_ticket(session, tickets, select(
            SignalRow.ticket_id, SignalRow.kind, SignalRow.payload, SignalRow.id).where(SignalRow.revoked_at.is_(None)),
            SignalRow.ticket_id, SignalRow.id), key=lambda row: row[3]):
        if (ticket := tickets.get(ticket_id)) is not None:
            _apply_signal(ticket, tallies[ticket.group], kind, payload or {})
    labels = {key: label for key, label in session.execute(select(ClusterRow.key, ClusterRow.label))}
    return tickets, tallies, labels


#: Ticket ids per read: well under SQLite's and PostgreSQL's limits on bound parameters.
ID_CHUNK = 900


def _per_ticket(session: Session, tickets: dict[int, _Ticket], query: Select, ticket_column: Any,
                *order: Any) -> list[Any]:
    """``query``'s rows for the tickets read, a chunk of ids at a time, in ``order`` within a chunk.
    Not a join on the tickets table: with both tables filtered by tenant, SQLite read every row of
    the second table once per ticket."""
    ids = sorted(tickets)
    rows: list[Any] = []
    for start in range(0, len(ids), ID_CHUNK):
        chunk = ids[start:start + ID_CHUNK]
        rows += session.execute(query.where(ticket_column.in_(chunk)).order_by(*order)).all()
    return rows


def _apply_signal(ticket: _Ticket, tally: measures.GroupTally, kind: str, payload: dict) -> None:
    if kind == "draft_sent":
        tally.drafts_sent += 1
    elif kind == "draft_edited":
        tally.drafts_edited += 1
        similarity = payload.get("similarity")
        if isinstance(similarity, int | float) and not isinstance(similarity, bool):
            tally.edit_sizes.append(min(1.0, max(0.0, 1.0 - float(similarity))))
    elif kind == "csat":
        ticket.rating = csat_is_good(payload)  # the latest rating counts
    if kind == "reopened":
        ticket.reopened = True
    if kind in NEGATIVE_KINDS:
        ticket.negative = True
    if kind in POSITIVE_KINDS:
        ticket.confirmed = True


def _candidate(ticket: _Ticket) -> articles.Candidate:
    return articles.Candidate(
        ticket_id=ticket.id, reply=ticket.reply or "", customer=ticket.customer, requester_name=ticket.requester_name,
        agent_name=ticket.agent_name, own_text="\n".join(ticket.own_text),
        rated_good=ticket.rating is True or (ticket.confirmed and ticket.rating is not False),
        negative=ticket.negative or ticket.reopened or ticket.rating is False, solved=ticket.solved)


def _count_replies(members: list[_Ticket], tally: measures.GroupTally):
    """Count the group's agent replies and the long, unlike-the-rest ones; their TF-IDF rows."""
    replies = [r for t in members for r in t.replies]
    vectors = measures.reply_vectors(replies) if replies else None
    tally.replies = len(replies)
    tally.long_unique_replies = measures.long_unique_count(replies, vectors)
    return vectors


def _gap(group: str, members: list[_Ticket], tally: measures.GroupTally, labels: dict[int, str],
         templates, people: frozenset[str]) -> KnowledgeGap:
    kind, _, name = group.partition(":")
    label = name if kind == "intent" else labels.get(int(name), f"cluster {name}")
    label = articles.scrub_question(label, people)
    candidates = [_candidate(t) for t in members if t.reply]
    vectors = _count_replies(members, tally)
    first_rows, position = [], 0
    for t in members:
        if t.reply:
            first_rows.append(position)
        position += len(t.replies)
    central = measures.centrality(vectors, first_rows)
    chosen, basis = articles.best_replies(candidates, central)
    texts: list[str] = []
    sources: list[int] = []
    for i in chosen:
        text = articles.scrub_reply(templates, candidates[i], group)
        if text and not any(articles.same_answer(text, t) for t in texts):
            texts.append(text)
            sources.append(candidates[i].ticket_id)
        if len(texts) == articles.ANSWERS_SHOWN:
            break
    rates = measures.rates(tally)
    edit_total = tally.drafts_sent + tally.drafts_edited
    return KnowledgeGap(
        key=group, kind="intent" if kind == "intent" else "cluster", label=label,
        score=measures.gap_score(tally),
        reasons=[GapReason(measure=r.measure, points=r.points, detail=r.detail) for r in measures.reasons(tally)],
        points=measures.points(tally),
        tickets=tally.tickets, suggestions=tally.suggestions, abstention_rate=round(rates["abstention"], 4),
        abstain_reasons=dict(tally.abstain_reasons.most_common()), drafts_sent=edit_total,
        edit_rate=round(tally.drafts_edited / edit_total, 4) if edit_total else 0.0,
        mean_edit_size=round(measures.mean_edit_size(tally), 4), reopen_rate=round(rates["reopens"], 4),
        rated=tally.rated, bad_csat_rate=round(rates["bad_csat"], 4), replies=tally.replies,
        long_unique_reply_rate=round(rates["long_unique_replies"], 4),
        example_ticket_ids=sorted(t.id for t in members)[-EXAMPLE_TICKETS:][::-1],
        article=ArticleDraft(
            title=articles.title_of(kind, label), answer=texts[0] if texts else "", alternatives=texts[1:],
            questions=articles.example_questions([(t.customer, articles.question_of(t.subject, t.first_message))
                                                  for t in members], people),
            source_ticket_ids=sources, basis=basis if texts else "none"))


def knowledge_gap_report(runtime: Runtime, slug: str, *, days: int = 90, top: int = 20,
                         min_score: float = MIN_SCORE, now: datetime | None = None) -> KnowledgeGapReport:
    """The tenant's knowledge gaps among tickets created in the last ``days`` days, highest score first."""
    check_arguments(days, top, min_score)
    now = (now or datetime.now(UTC)).astimezone(UTC)
    since = now - timedelta(days=days)
    tenant_id = runtime.db.tenant_id(slug)
    with runtime.db.tenant_session(tenant_id) as session:
        tickets, tallies, labels = _read(session, since, now)
    by_group: dict[str, list[_Ticket]] = defaultdict(list)
    for ticket in tickets.values():
        by_group[ticket.group].append(ticket)
        tally = tallies[ticket.group]
        tally.reopened += ticket.reopened
        tally.rated += ticket.rating is not None
        tally.rated_bad += ticket.rating is False
    kept = {g: m for g, m in by_group.items() if len(m) >= MIN_TICKETS}
    for group, members in kept.items():
        _count_replies(members, tallies[group])
    people = articles.people_of([t.requester_name for t in tickets.values()],
                                [t.agent_name for t in tickets.values()])
    answered = [t for m in kept.values() for t in m if t.reply]
    templates = articles.learn_templates([_candidate(t) for t in answered], [t.group for t in answered], people)
    scored = sorted(((measures.gap_score(tallies[g]), g) for g in kept), key=lambda p: (-p[0], -len(kept[p[1]]), p[1]))
    gaps = [_gap(g, kept[g], tallies[g], labels, templates, people) for score, g in scored if score >= min_score][:top]
    return KnowledgeGapReport(tenant=slug, generated_at=now, since=since, tickets_read=len(tickets),
                              groups_measured=len(kept), min_score=min_score, gaps=gaps)


CSV_HEADER = ["rank", "key", "label", "score", "reasons", "tickets", "abstention_rate", "edit_rate",
              "mean_edit_size", "reopen_rate", "bad_csat_rate", "long_unique_reply_rate", "article_title",
              "questions", "example_ticket_ids"]


def report_csv(report: KnowledgeGapReport) -> str:
    """One row per gap (spreadsheet-safe: see ``core.insights.spreadsheet``)."""
    from core.insights.spreadsheet import csv_text

    return csv_text(CSV_HEADER, ([rank, g.key, g.label, g.score, "; ".join(r.detail for r in g.reasons), g.tickets,
                                  g.abstention_rate, g.edit_rate, g.mean_edit_size, g.reopen_rate, g.bad_csat_rate,
                                  g.long_unique_reply_rate, g.article.title, " | ".join(g.article.questions),
                                  " ".join(map(str, g.example_ticket_ids))]
                                 for rank, g in enumerate(report.gaps, 1)))
