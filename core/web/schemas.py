"""Request and response bodies of the JSON API, as pydantic models.

The same models validate what comes in, shape what goes out and generate the OpenAPI document, so
the document cannot drift from the code.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.types import (
    Csat,
    Message,
    PageContext,
    Person,
    Signal,
    SignalKind,
    Suggestion,
)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ErrorDetail(BaseModel):
    status: int
    reason: str
    field: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


class Health(BaseModel):
    status: str = Field(description="`ok` when the database answers.")
    database: str = Field(description="Dialect in use: sqlite or postgresql.")
    jobs: str = Field(description="`rq` when jobs go to Redis workers, `inline` when they run in-process.")
    version: str


class TenantSummary(BaseModel):
    slug: str
    helpdesk: str
    domain: str | None
    tickets: int
    model_version: str | None = Field(description="The model in service, or null before the first training.")


class TenantList(BaseModel):
    tenants: list[TenantSummary]


class TicketSummary(BaseModel):
    id: int
    external_id: str
    source: str
    subject: str
    preview: str = Field(description="The start of the customer's cleaned text.")
    intent: str | None
    tags: list[str]
    status: str | None
    priority: str | None
    requester: Person | None
    organization: str | None
    created_at: datetime | None
    cluster: int | None = Field(description="Stable key of the cluster of related tickets it belongs to.")
    sentiment: str | None = Field(description="frustrated, neutral or pleased: the latest customer message.")
    urgent: bool | None = Field(description="Any customer message reads as urgent.")


class TicketList(BaseModel):
    tickets: list[TicketSummary]
    total: int
    limit: int
    offset: int


class TicketMessage(Message):
    body_clean: str = Field(description="Plain text without quoted replies or signature.")
    sentiment: str | None = Field(default=None, description="Customer messages: frustrated, neutral or pleased.")
    urgent: bool | None = None


class TicketDetail(TicketSummary):
    text: str = Field(description="The cleaned customer text that models read.")
    messages: list[TicketMessage]
    channel: str | None
    updated_at: datetime | None
    first_response_at: datetime | None
    solved_at: datetime | None
    csat: Csat | None
    reopen_count: int
    custom_fields: dict[str, Any]
    page_context: PageContext | None


class SuggestRequest(_Body):
    text: str = Field(min_length=1, max_length=20000, description="The customer's message.")
    customer_name: str | None = Field(default=None, max_length=255, description="Used to greet the customer.")


class SignalRequest(_Body):
    """A signal as posted by a client: the server sets id, time and revocation."""

    kind: SignalKind
    ticket_id: int | None = None
    suggestion_id: int | None = None
    actor: str | None = Field(default=None, max_length=255)
    weight: float | None = Field(default=None, ge=-100, le=100,
                                 description="How much the signal counts; by default +1 for positive outcomes "
                                             "and labels, -1 for negative outcomes (CSAT by its rating).")
    payload: dict[str, Any] = Field(
        default_factory=dict,
        description="Kind-specific details. draft_sent / draft_edited: `sent`, the reply that went out (the "
                    "server compares it with the draft and stores the similarity); intent_changed: `intent`; "
                    "tag_changed: `tags`; csat: `rating` (good/bad or 1-5); escalated: `group`, and the "
                    "suggestion's context is attached.",
    )
    source_event: str | None = Field(default=None, max_length=255,
                                     description="An id of the originating event; a repeat is stored once.")


class ClusterSummary(BaseModel):
    key: int = Field(description="Stable across retrains: the same issue keeps its key as data grows.")
    label: str = Field(description="The words most distinctive of the cluster.")
    size: int
    model_version: str | None
    first_seen_at: datetime
    updated_at: datetime


class ClusterList(BaseModel):
    clusters: list[ClusterSummary]


class SimilarTicket(BaseModel):
    ticket_id: int
    external_id: str
    intent: str | None
    score: float = Field(description="Cosine similarity, 1 for the same meaning.")


class SimilarList(BaseModel):
    ticket_id: int
    similar: list[SimilarTicket]


class AuditedSignal(Signal):
    change: str = Field(description="What the signal does to suggestions, in words.")
    trained_in: str | None = Field(description="The first model version trained with it (null: not yet, or revoked).")


class CurvePoint(BaseModel):
    n: int
    accuracy: float
    acceptance: float = Field(description="Share of tickets whose draft was sent unchanged.")
    similarity: float | None = Field(description="Mean draft-to-sent similarity over tickets that had a draft.")
    abstain_rate: float


class ReplayRun(BaseModel):
    id: int
    source: str
    created_at: datetime
    block_size: int
    blocks: list[CurvePoint]
    frozen_blocks: list[CurvePoint] = Field(description="The same method frozen after the first block.")
    offline_cv_accuracy: float


class SignalList(BaseModel):
    signals: list[AuditedSignal]


__all__ = [
    "CurvePoint",
    "ReplayRun",
    "AuditedSignal",
    "ErrorBody", "Health", "TenantList", "TenantSummary", "TicketList", "TicketSummary", "TicketDetail",
    "SuggestRequest", "SignalRequest", "SignalList", "Suggestion", "Signal",
]
