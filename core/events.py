"""What a helpdesk can tell Deskloop about a ticket, in one shape for every helpdesk.

A helpdesk adapter (``integrations/<helpdesk>/adapter.py``) turns a webhook delivery into a list
of :class:`HelpdeskEvent`; everything after that (storing, de-duplicating, ordering, applying to
the ticket, learning from the agent's reply) is the same code for Zendesk, Freshdesk and Intercom.

Why one flat model rather than a class per kind: events are stored as JSON and replayed by
workers, and a flat shape with optional fields validates with one schema. Each kind documents
which fields it fills; :meth:`HelpdeskEvent.check` rejects an event missing what its kind needs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, field_validator

from core.types import (
    CommonShape,
    Csat,
    Message,
    PageContext,
    Person,
    Priority,
    Status,
    normalize_tags,
)

EventKind = Literal[
    "ticket_created",  # ticket fields, plus the customer's first message when the payload has it
    "customer_replied",  # message (author_role customer)
    "agent_replied",  # message (author_role agent or bot; public=False for a private note)
    "fields_changed",  # any of tags / priority / custom_fields / subject / ticket_type / form / macros
    "status_changed",  # status
    "reopened",  # status (open) after solved or closed
    "csat_received",  # csat
    "reassigned",  # assignee and/or group (an escalation when the group changes)
]
EVENT_KINDS: tuple[str, ...] = EventKind.__args__  # type: ignore[attr-defined]

#: The fields each kind must carry (beyond the identity fields every event has).
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "customer_replied": ("message",),
    "agent_replied": ("message",),
    "status_changed": ("status",),
    "reopened": (),
    "csat_received": ("csat",),
    "reassigned": (),
    "ticket_created": (),
    "fields_changed": (),
}


class HelpdeskEvent(CommonShape):
    """One thing that happened to one ticket in a helpdesk.

    ``event_id`` is the idempotency key: the same delivery (or the same fact delivered twice)
    must produce the same id, so a duplicate is processed once. Adapters build it from the
    helpdesk's own ids (Zendesk event id, Intercom notification id + part id, Freshdesk ticket id
    + what changed + its timestamp). ``occurred_at`` is the helpdesk's time of the change: a
    ticket's fields are only ever overwritten by an event at least as new as the last applied.
    """

    kind: EventKind
    event_id: str = Field(min_length=1, max_length=255)
    ticket_external_id: str = Field(min_length=1, max_length=128)
    occurred_at: datetime
    #: Ticket fields, as far as the payload tells them (None: not said, leave as is).
    subject: str | None = None
    requester: Person | None = None
    organization: str | None = None
    tags: list[str] | None = None
    priority: Priority | None = None
    status: Status | None = None
    channel: str | None = None
    custom_fields: dict[str, Any] | None = None
    page_context: PageContext | None = None
    #: How the helpdesk sorts the ticket (see :class:`core.types.Ticket`); ``group`` is below with
    #: the assignee. ``macros`` is the ticket's whole list of applied macros, like ``tags``.
    ticket_type: str | None = Field(default=None, max_length=128)
    form: str | None = Field(default=None, max_length=255)
    macros: list[str] | None = None
    created_at: datetime | None = None
    #: A message added to the ticket, with the helpdesk's id for it (dedupes the same reply
    #: reported by two events).
    message: Message | None = None
    message_external_id: str | None = Field(default=None, max_length=128)
    csat: Csat | None = None
    assignee: str | None = None
    group: str | None = Field(default=None, max_length=255)
    #: Written by Deskloop itself (our note, our tags): stored, never learned from.
    from_deskloop: bool = False

    @field_validator("tags")
    @classmethod
    def _normalize_tags(cls, tags: list[str] | None) -> list[str] | None:
        return None if tags is None else normalize_tags(tags)

    def check(self) -> HelpdeskEvent:
        """The event itself, or ``ValueError`` naming the field its kind needs."""
        for name in REQUIRED_FIELDS[self.kind]:
            if getattr(self, name) is None:
                raise ValueError(f"a {self.kind} event needs {name!r}")
        if self.kind == "ticket_created" and self.message is None and not self.subject:
            raise ValueError("a ticket_created event needs a subject or a first message")
        return self


class BadSignature(Exception):
    """The delivery is not provably from the helpdesk (HTTP 401). The message says why, never
    what the secret or the expected signature is."""


class MalformedPayload(ValueError):
    """The delivery is signed but cannot be understood (HTTP 400 with this reason)."""
