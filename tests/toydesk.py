"""A fourth helpdesk defined only inside the tests: "Toydesk", the smallest thing that satisfies
:class:`core.helpdesk.contract.HelpdeskIntegration` (no shared base class, no vendor library). Its
webhooks are JSON signed with an HMAC-SHA256 of the body in ``X-Toydesk-Signature``; its client
serves history from a list in memory. ``tests/test_fourth_helpdesk.py`` registers it through an
entry point, as a real package would, and drives it through the core."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.events import BadSignature, HelpdeskEvent, MalformedPayload
from core.helpdesk.contract import BackfillPage, Connection, SettingSpec
from core.types import Message, PageContext, Person, Ticket

#: History the client serves, two tickets a page (a test fills it).
HISTORY: list[Ticket] = []
#: What the client was asked to write.
WRITTEN: list[tuple[str, str, Any]] = []
#: Tickets the client was asked to open (the in-app widget's).
CREATED: list[dict[str, Any]] = []


def sign(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class ToydeskClient:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def backfill(self, since: datetime | None, cursor: str | None) -> Iterator[BackfillPage]:
        start = int(cursor or 0)
        for offset in range(start, len(HISTORY), 2):
            more = offset + 2 < len(HISTORY)
            yield BackfillPage(HISTORY[offset:offset + 2], str(offset + 2) if more else None)

    def apply_tags(self, ticket_external_id: str, tags: list[str]) -> None:
        WRITTEN.append(("tags", ticket_external_id, tags))

    def add_private_note(self, ticket_external_id: str, body: str) -> None:
        WRITTEN.append(("note", ticket_external_id, body))

    def identity(self) -> dict[str, Any]:
        return {"toydesk_user": "deskloop-bot"}

    def create_ticket(self, subject: str, body: str, requester_email: str | None, requester_name: str | None,
                      page_context: PageContext | None) -> str:
        external_id = f"TOY-{len(CREATED) + 1}"
        CREATED.append({"id": external_id, "subject": subject, "body": body, "email": requester_email,
                        "name": requester_name,
                        "context": page_context.model_dump(mode="json") if page_context is not None else None})
        return external_id


class Toydesk:
    name = "toydesk"
    kind = "helpdesk"
    secret_names = ("api_key", "webhook_secret")
    optional_secret_names = ()
    handled_events = ("ticket.new",)
    fixtures_dir = Path(__file__).parent / "toydesk_fixtures"
    capabilities = frozenset({"webhooks", "backfill", "write_back_tags", "private_note", "create_ticket"})
    app_settings = (SettingSpec("toydesk_board", "the board whose tickets belong to this tenant", r"[a-z]{2,12}",
                                unique=True),)
    ticket_url_template = "https://{domain}/t/{id}"
    panel_package = None  # no side panel: suggestions reach it through write-back only

    def verify(self, headers: Mapping[str, str], body: bytes, secrets: Mapping[str, str], now: datetime) -> None:
        given = headers.get("X-Toydesk-Signature", "")
        if not hmac.compare_digest(given, sign(body, secrets["webhook_secret"])):
            raise BadSignature("the X-Toydesk-Signature header does not match the body")

    def parse(self, body: bytes, settings: Mapping[str, Any] | None = None) -> list[HelpdeskEvent]:
        try:
            data = json.loads(body)
            ticket = data["ticket"]
        except (ValueError, KeyError, TypeError) as exc:
            raise MalformedPayload(f"not a Toydesk delivery: {exc}") from exc
        if data.get("event") != "ticket.new":
            return []
        return [HelpdeskEvent(
            kind="ticket_created", event_id=str(data["id"]), ticket_external_id=str(ticket["id"]),
            occurred_at=datetime.fromisoformat(data["at"]), subject=ticket.get("title"),
            requester=Person(name=ticket.get("from")), tags=ticket.get("labels"), status="new",
            message=Message(author_role="customer", body=ticket["text"], author_name=ticket.get("from")),
            message_external_id=f"{ticket['id']}-0")]

    def event_name(self, body: bytes) -> str | None:
        try:
            return json.loads(body).get("event")
        except ValueError:
            return None

    def account_key(self, domain: str | None) -> str | None:
        return (domain or "").strip().lower() or None

    def client(self, connection: Connection) -> ToydeskClient:
        return ToydeskClient(connection)

    def app_blueprint(self) -> None:
        return None


INTEGRATION = Toydesk()


def delivery(event_id: str, ticket_id: str, text: str, title: str = "Help") -> dict:
    return {"id": event_id, "event": "ticket.new", "at": datetime.now(UTC).isoformat(),
            "ticket": {"id": ticket_id, "title": title, "text": text, "from": "Rosa Diaz", "labels": ["web"]}}
