"""Request and response bodies of the JSON API, as pydantic models.

The same models validate what comes in, shape what goes out and generate the OpenAPI document, so
the document cannot drift from the code.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from core.clock import aware_utc
from core.text.limits import MESSAGE_RAW_CHARS
from core.types import (
    Csat,
    Message,
    PageContext,
    Person,
    Signal,
    SignalKind,
    Suggestion,
)

#: Longest free text in a request: a customer's message, a sent reply, a note. Also the longest text
#: the draft-versus-sent comparison reads (:data:`core.learning.feedback.MAX_COMPARED_CHARS`).
MAX_TEXT = 20_000
#: Longest name, key, label, actor or event id.
MAX_NAME = 255
#: Most names in one list (intent keys).
MAX_NAMES = 500
#: A signal's payload holds a few details and at most one reply: this many values in all, nested
#: ones included, and this many characters of text (keys and strings) in all.
MAX_PAYLOAD_VALUES = 1000
MAX_PAYLOAD_CHARS = 2 * MAX_TEXT

Name = Annotated[str, Field(max_length=MAX_NAME)]
#: The largest row id (tickets, suggestions, signals): ids are signed 64-bit columns, and a larger
#: number names no row (and would not fit a query's parameter).
MAX_ROW_ID = 2**63 - 1


def _integral(value: Any) -> Any:
    """JSON has one number type: ``3.0`` is the integer 3 (as JSON Schema reads it), which strict
    validation would refuse; a string stays refused."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


#: An integer in a request body (strict, but ``3.0`` counts).
JsonInt = Annotated[int, BeforeValidator(_integral)]
RowId = Annotated[JsonInt, Field(ge=1, le=MAX_ROW_ID)]
#: A moment read back from the store, answered with its offset: SQLite hands back naive datetimes,
#: which would serialize without one (not an RFC 3339 ``date-time``, as the document promises).
Moment = Annotated[datetime, AfterValidator(aware_utc)]


class _Body(BaseModel):
    """A request body. Every string and list is bounded: the body cap (1 MiB) alone would let one
    field carry a megabyte into a model, a comparison or a row.

    Values are taken as the document types them (strict: ``"T"`` is no boolean, ``"3"`` no
    integer), and no string may hold a NUL character: it is never text a person wrote, and
    PostgreSQL cannot store it (SQLite can, so refusing it keeps both databases alike)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any, info: ValidationInfo) -> Any:
        where = nul_at(value, info.field_name or "value")
        if where is not None:
            raise PydanticCustomError("nul_character", "{where} contains a NUL character (\\u0000)", {"where": where})
        return value


def nul_at(value: Any, path: str) -> str | None:
    """Where in a JSON value a string (or an object's key) holds a NUL character, or None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = f"{path} key {key!r}" if "\x00" in str(key) else nul_at(item, f"{path}.{key}")
            if found is not None:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = nul_at(item, f"{path}[{i}]")
            if found is not None:
                return found
    return None


def _payload_sizes(value: Any, path: str) -> tuple[int, int]:
    """(values, characters) in a JSON value; refuses a key or a string that is too long."""
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise PydanticCustomError("payload_text_too_long", "{path} has {length} characters; at most {limit}",
                                      {"path": path, "length": len(value), "limit": MAX_TEXT})
        return 1, len(value)
    if isinstance(value, dict):
        values, chars = 1, 0
        for key, item in value.items():
            if len(key) > MAX_NAME:
                raise PydanticCustomError("payload_key_too_long", "{path} has a key of {length} characters; at most "
                                          "{limit}", {"path": path, "length": len(key), "limit": MAX_NAME})
            found = _payload_sizes(item, f"{path}.{key}")
            values, chars = values + found[0], chars + len(key) + found[1]
        return values, chars
    if isinstance(value, list):
        values, chars = 1, 0
        for i, item in enumerate(value):
            found = _payload_sizes(item, f"{path}[{i}]")
            values, chars = values + found[0], chars + found[1]
        return values, chars
    return 1, 0


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
    text: str = Field(min_length=1, max_length=MESSAGE_RAW_CHARS,
                      description="The customer's message. Models read its first 20,000 characters; a longer "
                                  "one is cut there and marked `[... truncated N characters]`.")
    customer_name: str | None = Field(default=None, max_length=MAX_NAME, description="Used to greet the customer.")


class SignalRequest(_Body):
    """A signal as posted by a client: the server sets id, time and revocation."""

    kind: SignalKind
    ticket_id: RowId | None = None
    suggestion_id: RowId | None = None
    actor: str | None = Field(default=None, max_length=MAX_NAME)
    weight: float | None = Field(default=None, ge=-100, le=100,
                                 description="How much the signal counts; by default +1 for positive outcomes "
                                             "and labels, -1 for negative outcomes (CSAT by its rating).")
    payload: dict[str, Any] = Field(
        default_factory=dict,
        description="Kind-specific details. draft_sent / draft_edited: `sent`, the reply that went out (the "
                    "server compares it with the draft and stores the similarity); intent_changed: `intent`; "
                    "tag_changed: `tags`; csat: `rating` (good/bad or 1-5); escalated: `group`, and the "
                    "suggestion's context is attached. Strings: at most 20,000 characters (`sent` is refused "
                    "past that), keys 255; at most 1,000 values and 40,000 characters in all.",
    )
    source_event: str | None = Field(default=None, max_length=MAX_NAME,
                                     description="An id of the originating event; a repeat is stored once.")

    @field_validator("payload")
    @classmethod
    def _bounded_payload(cls, payload: dict[str, Any]) -> dict[str, Any]:
        values, chars = _payload_sizes(payload, "payload")
        if values - 1 > MAX_PAYLOAD_VALUES or chars > MAX_PAYLOAD_CHARS:
            raise PydanticCustomError(
                "payload_too_large", "payload holds {values} values and {chars} characters; at most {max_values} "
                "and {max_chars}", {"values": values - 1, "chars": chars, "max_values": MAX_PAYLOAD_VALUES,
                                    "max_chars": MAX_PAYLOAD_CHARS})
        return payload


class ClusterSummary(BaseModel):
    key: int = Field(description="Stable across retrains: the same issue keeps its key as data grows.")
    label: str = Field(description="The words most distinctive of the cluster.")
    size: int
    model_version: str | None
    first_seen_at: Moment
    updated_at: Moment


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
    created_at: Moment
    block_size: int
    blocks: list[CurvePoint]
    frozen_blocks: list[CurvePoint] = Field(description="The same method frozen after the first block.")
    offline_cv_accuracy: float


class SignalList(BaseModel):
    signals: list[AuditedSignal]


class SourceExample(BaseModel):
    value: str = Field(description="One label the source gives (normalized: lower case, underscores).")
    tickets: int
    examples: list[str] = Field(description="The start of two tickets' customer text.")


class LabelSourceReport(BaseModel):
    """One candidate label source, scored on the tenant's stored tickets (see :mod:`core.labelling.sources`)."""

    source: str = Field(description="The spec to send to `PUT .../labels/source`, e.g. `field:360`, `tags:reason:*`.")
    description: str
    coverage: float = Field(description="Share of tickets the source gives a usable label (0-1).")
    labelled: int
    classes: int = Field(description="Values with enough tickets to learn.")
    balance: float = Field(description="How evenly the classes are used (0-1).")
    predictability: float | None = Field(description="Cohen's kappa of a quick text classifier: 0 means the "
                                                     "customers' words say nothing about the label.")
    score: float
    rejected: str | None = Field(description="Why the source cannot be used, or null.")
    examples: list[SourceExample]


class LabelReport(BaseModel):
    at: Moment = Field(description="When the sources were ranked.")
    current: str = Field(description="The source in use when they were ranked.")
    candidates: list[LabelSourceReport] = Field(description="Best first; rejected sources last.")


class LabelState(BaseModel):
    current: str = Field(description="The label source training reads now (`intent`: the imported intent field).")
    report: LabelReport | None = Field(
        description="The latest ranking (after a backfill or `POST .../labels/suggest`), or null before the first.")


class LabelSourceRequest(_Body):
    source: str = Field(min_length=1, max_length=1000, description="intent, field:KEY, type, group, form, macro, "
                                                                   "tags:PREFIX*, tags:A,B,C or discovered.")


class LabelSourceChange(BaseModel):
    tenant: str
    source: str
    previous: str
    labelled: int = Field(description="Tickets the next training learns from.")
    tickets: int
    classes: int = Field(description="Intents the next training learns.")


class IntentProposal(BaseModel):
    key: str = Field(description="The intent name models learn; follows the label on rename.")
    label: str
    status: Literal["proposed", "accepted"]
    size: int = Field(description="Tickets in the intent.")
    examples: list[str] = Field(description="Representative customer messages (the start of each).")
    external_ids: list[str] = Field(description="The helpdesk ids of its tickets, closest to the centre first.")
    reply: str | None = Field(description="The reply that resolved most of its tickets.")


class IntentList(BaseModel):
    tenant: str
    intents: list[IntentProposal] = Field(description="Largest first.")


class JobQueued(BaseModel):
    job_id: str | None
    status: Literal["queued", "duplicate"] = Field(description="`duplicate`: the same job is already queued, "
                                                               "running or just finished.")


class AcceptRequest(_Body):
    keys: list[Name] = Field(default_factory=list, max_length=MAX_NAMES, description="The intents to accept.")
    all: bool = Field(default=False, description="Accept every proposed intent instead of naming them.")


class AcceptResult(BaseModel):
    accepted: list[str]
    label_source: str = Field(description="Accepted intents are the `discovered` label source.")
    previous_label_source: str


class RenameRequest(_Body):
    label: str = Field(min_length=1, max_length=MAX_NAME)


class RenameResult(BaseModel):
    key: str = Field(description="The new key, made from the label.")
    label: str
    previous_key: str


class MergeRequest(_Body):
    keys: list[Name] = Field(max_length=MAX_NAMES, description="Two or more intents to merge.")
    into: str | None = Field(default=None, max_length=MAX_NAME,
                             description="The one that keeps its name (default: the first key).")


class MergeResult(BaseModel):
    key: str
    merged: list[str] = Field(description="The keys merged into `key` (they no longer exist).")
    size: int


class SplitRequest(_Body):
    parts: JsonInt = Field(default=2, ge=2, le=20, description="How many new proposed intents.")


class SplitResult(BaseModel):
    split: str
    into: list[str] = Field(description="The keys of the new proposed intents.")


__all__ = [
    "CurvePoint",
    "ReplayRun",
    "AuditedSignal",
    "ErrorBody", "Health", "TenantList", "TenantSummary", "TicketList", "TicketSummary", "TicketDetail",
    "SuggestRequest", "SignalRequest", "SignalList", "Suggestion", "Signal",
    "SourceExample", "LabelSourceReport", "LabelReport", "LabelState", "LabelSourceRequest", "LabelSourceChange",
    "IntentProposal", "IntentList", "JobQueued", "AcceptRequest", "AcceptResult", "RenameRequest", "RenameResult",
    "MergeRequest", "MergeResult", "SplitRequest", "SplitResult",
]


class ChurnReason(BaseModel):
    feature: str
    description: str
    value: float
    contribution: float = Field(description="Points of the 0-100 rule score this feature adds.")
    ticket_ids: list[int] = Field(description="The tickets behind it, newest first.")


class ChurnEvaluation(BaseModel):
    cut: Moment
    trained_on: int
    evaluated_on: int
    auc: float = Field(description="The learned score's AUC on the outcomes from the cut date on.")
    rules_auc: float = Field(description="The rule score's AUC on the same outcomes.")


class AccountRisk(BaseModel):
    account: str = Field(description="The organization, or the requester where there is none.")
    score: float = Field(description="0 to 100: the rule score, or the learned churn probability in percent.")
    tickets: int
    reasons: list[ChurnReason]


class AccountRiskList(BaseModel):
    as_of: Moment
    method: Literal["rules", "learned"]
    note: str = Field(description="Which score is in use and why; the learned one's measured AUC.")
    evaluation: ChurnEvaluation | None
    total: int
    accounts: list[AccountRisk]


class AccountTicket(BaseModel):
    id: int
    external_id: str
    created_at: Moment
    solved_at: Moment | None
    status: str | None
    frustrated: bool
    tone: float | None = Field(description="The lowest customer message's tone, -1 (angry) to 1 (delighted).")
    csat: int | None
    reopen_count: int
    reasons: list[str] = Field(description="The features this ticket stands behind.")


class AccountTimeline(BaseModel):
    account: str
    as_of: Moment
    method: Literal["rules", "learned"]
    score: float
    reasons: list[ChurnReason]
    tickets: list[AccountTicket]
