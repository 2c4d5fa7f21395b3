"""The common vocabulary every helpdesk is translated into.

These models carry no vendor field: an adapter in ``integrations/`` maps a Zendesk ticket, a
Freshdesk ticket or an Intercom conversation onto :class:`Ticket`, and the rest of Deskloop only ever
sees these shapes. They are pydantic models because the same shapes validate JSONL imports and API
bodies, so a bad field is reported with its name at the boundary.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.errors import BadInput

AuthorRole = Literal["customer", "agent", "bot"]
Priority = Literal["low", "normal", "high", "urgent"]
Status = Literal["new", "open", "pending", "on_hold", "solved", "closed"]
#: An installed helpdesk integration's name (see :mod:`core.helpdesk.contract`, which checks it against the
#: registered entry points), or ``"none"`` for a tenant with imported history only.
Helpdesk = str

#: What an agent or customer can tell Deskloop about a suggestion or a ticket.
SignalKind = Literal[
    "draft_sent",  # the draft went out unchanged
    "draft_edited",  # the agent edited the draft before sending
    "draft_discarded",  # the agent threw the draft away
    "tag_changed",  # an agent changed the tags Deskloop suggested
    "intent_changed",  # an agent corrected the intent
    "reopened",  # the customer came back after the ticket was solved
    "not_helpful",  # the customer said the answer did not help
    "confirmed",  # the customer confirmed the problem was solved
    "csat",  # a satisfaction rating arrived
    "escalated",  # handed to a human or another group
]
SIGNAL_KINDS: tuple[str, ...] = SignalKind.__args__  # type: ignore[attr-defined]


def without_nul(value: Any) -> Any:
    """A string (or a list's strings) without NUL characters. A helpdesk or an export can carry one,
    but it is never text a person wrote, and PostgreSQL cannot store it in a text column (SQLite
    can): dropping it keeps both databases alike and one odd character from stopping a ticket."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, list):
        return [without_nul(item) if isinstance(item, str) else item for item in value]
    return value


def utc_representable(value: Any) -> Any:
    """A datetime that converts to UTC (``0001-01-01T00:00+01:00`` does not: it is before year 1
    in UTC), else ValueError, which pydantic reports with the field; other values as they are."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        try:
            value.astimezone(UTC)
        except OverflowError:
            raise ValueError("the time is out of range once converted to UTC") from None
    return value


class CommonShape(BaseModel):
    """What every common shape shares: unknown fields refused, whitespace trimmed, NUL removed
    before validation, and times that stay representable once converted to UTC."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _without_nul(cls, value: Any) -> Any:
        return without_nul(value)

    @field_validator("*", mode="after")
    @classmethod
    def _utc_representable(cls, value: Any) -> Any:
        return utc_representable(value)


#: A tenant slug: it names the tenant in URLs, commands and the database, so it is taken exactly
#: as given (no whitespace trimmed, no case folded): " acme" and "Acme" are refused, not made a
#: second tenant that `tenant list` prints the same as "acme".
SLUG_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
SLUG_RULE = "lower-case letters, digits, '-' and '_', starting with a letter or digit, at most 63, nothing else"


def check_slug(slug: str) -> str:
    """``slug`` itself when it is a valid tenant slug exactly as given, else :class:`BadInput`."""
    if not isinstance(slug, str) or not SLUG_PATTERN.fullmatch(slug):
        raise BadInput(f"tenant {slug!r} is not a valid slug ({SLUG_RULE})", field="tenant")
    return slug


class Tenant(CommonShape):
    """One installed helpdesk account. Credentials never appear in this shape."""

    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    helpdesk: Helpdesk = "none"
    domain: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def _without_nul(cls, value: Any) -> Any:
        """A tenant's names are taken exactly as given: a NUL is refused by the slug's rule, not dropped."""
        return value

    @field_validator("slug", mode="before")
    @classmethod
    def _slug_exactly_as_given(cls, slug: Any) -> Any:
        """Before the model's whitespace stripping: a slug is never trimmed into validity."""
        if isinstance(slug, str) and not SLUG_PATTERN.fullmatch(slug):
            raise ValueError(f"not a valid slug ({SLUG_RULE})")
        return slug


class Person(CommonShape):
    name: str | None = None
    email: str | None = None
    external_id: str | None = None


class Message(CommonShape):
    """One message on a ticket. ``body`` is what the helpdesk sent (it may be HTML)."""

    author_role: AuthorRole
    body: str
    public: bool = True
    author_name: str | None = None
    created_at: datetime | None = None
    external_id: str | None = Field(default=None, max_length=128)  # the helpdesk's id for the message


class Csat(CommonShape):
    """Customer satisfaction on a 1 to 5 scale (good/bad helpdesks map good to 5, bad to 1)."""

    score: int = Field(ge=1, le=5)
    comment: str | None = None

    @property
    def is_good(self) -> bool:
        return self.score >= 4


class PageElement(CommonShape):
    """One visible interactive element of the customer's page, as the widget saw it: its role
    (``button``, ``link``, ``tab``...), visible text, accessible label and a selector the widget
    can find it by again. Never a form field's value."""

    role: str | None = None
    text: str | None = None
    label: str | None = None
    selector: str | None = None


class PageContext(CommonShape):
    """Where the customer was when they wrote: the page and the app's state. ``route`` is the
    app's own name for the page (``/settings/export``), ``area`` the product area the host names
    (``analytics``); ``errors`` recent JavaScript error messages; ``elements`` what the customer
    could click (the in-app widget sends them; a helpdesk's ticket fields usually carry only the
    URL and a few values)."""

    url: str | None = None
    title: str | None = None
    app_state: dict[str, Any] = Field(default_factory=dict)
    route: str | None = None
    area: str | None = None
    errors: list[str] = Field(default_factory=list)
    elements: list[PageElement] = Field(default_factory=list)


class Ticket(CommonShape):
    """A support conversation in the common shape, as imported or received from a helpdesk."""

    source: str = "import"
    external_id: str = Field(min_length=1, max_length=128)
    subject: str = ""
    messages: list[Message] = Field(min_length=1)
    requester: Person | None = None
    organization: str | None = None
    tags: list[str] = Field(default_factory=list)
    intent: str | None = None
    priority: Priority | None = None
    status: Status | None = None
    channel: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    first_response_at: datetime | None = None
    solved_at: datetime | None = None
    csat: Csat | None = None
    reopen_count: int = Field(default=0, ge=0, le=2**31 - 1)  # the column is a 32-bit integer
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    page_context: PageContext | None = None
    #: How the helpdesk itself sorted the ticket: candidate label sources for teams whose history
    #: has no intent (see :mod:`core.labelling.sources`). ``ticket_type`` is Zendesk's type, Freshdesk's
    #: ``type``; ``group`` the group or team it went to; ``form`` the ticket form; ``macros`` the
    #: macros or saved replies agents applied, by name, where the helpdesk's API tells.
    ticket_type: str | None = Field(default=None, max_length=128)
    group: str | None = Field(default=None, max_length=255)
    form: str | None = Field(default=None, max_length=255)
    macros: list[str] = Field(default_factory=list)

    @field_validator("tags")
    @classmethod
    def _normalize_tags(cls, tags: list[str]) -> list[str]:
        return normalize_tags(tags)

    @property
    def customer_text(self) -> str:
        """The subject and the customer's public messages: what a classifier reads."""
        parts = [self.subject] if self.subject else []
        parts += [m.body for m in self.messages if m.author_role == "customer"]
        return "\n".join(parts)


class TagScore(CommonShape):
    tag: str
    confidence: float


class Entity(CommonShape):
    type: str
    text: str
    start: int
    end: int


class Evidence(CommonShape):
    """A resolved ticket a suggestion drew on, and how similar it was."""

    ticket_id: int
    external_id: str
    score: float


class Suggestion(CommonShape):
    """What Deskloop proposes for a ticket. ``abstained`` means: this one needs a human."""

    id: int | None = None
    ticket_id: int | None = None
    intent: str | None
    confidence: float
    abstained: bool
    #: Why it abstains (``None`` when it answers): ``unfamiliar``, nothing like this question in
    #: the tickets the model learned from; ``ambiguous``, two known intents are both likely
    #: (named in ``ambiguous_between``, best first) and the agent can pick one; ``low_confidence``,
    #: a familiar question the model is not sure enough about (also a day-one tenant's ticket
    #: with no resolved ticket close enough to draft from). See :mod:`core.ml.abstention`.
    abstain_reason: Literal["unfamiliar", "ambiguous", "low_confidence"] | None = None
    ambiguous_between: list[str] = Field(default_factory=list)
    tags: list[TagScore] = Field(default_factory=list)
    entities: list[Entity] = Field(default_factory=list)
    draft: str | None = None
    evidence: list[Evidence] = Field(default_factory=list)
    model_version: str | None = None
    rewritten: bool = False  # the draft was rewritten through DESKLOOP_LLM_URL
    #: Where the draft came from: ``ticket:<id>`` (that resolved ticket's reply) or ``signal:<id>``
    #: (an agent's edited reply that became the preferred answer).
    draft_source: str | None = None
    #: Signals (corrections, edited replies) that changed this suggestion since the model was trained.
    learned_from: list[int] = Field(default_factory=list)
    #: ``not_trained`` while the tenant has no intent labels yet: ``intent`` is then ``None`` and
    #: the suggestion offers similar resolved tickets, a draft when the closest one is close
    #: enough to trust, and tags; ``abstained`` means not even that.
    intent_model: Literal["trained", "not_trained"] = "trained"


class Signal(CommonShape):
    """A piece of feedback: what happened, to which suggestion or ticket, from whom, when."""

    id: int | None = None
    kind: SignalKind
    ticket_id: int | None = None
    suggestion_id: int | None = None
    actor: str | None = None
    weight: float | None = None  # None: the kind's default (see core.learning.kinds)
    payload: dict[str, Any] = Field(default_factory=dict)
    source_event: str | None = None
    created_at: datetime | None = None
    revoked_at: datetime | None = None


def normalize_tags(tags: list[str]) -> list[str]:
    """Lower-case, trimmed, de-duplicated tags in first-seen order (helpdesks differ in case)."""
    seen: dict[str, None] = {}
    for tag in tags:
        cleaned = "-".join(str(tag).strip().lower().split())
        if cleaned:
            seen.setdefault(cleaned, None)
    return list(seen)
