"""Intercom Canvas Kit for the inbox app: the requests Intercom sends, their signature, and the
cards Deskloop answers with. Pure: no Flask, no database, no network.

Shapes follow the Canvas Kit types of Intercom's own Node SDK (``intercom-client`` 6.4,
``dist/api/types``: ``InitializeRequest``, ``SubmitRequest``, ``CanvasObject``, ``Component``);
python-intercom has none. A card is a plain dict, ``{"canvas": {"content": {"components": [...]},
"stored_data": {...}}}``. Intercom sends ``stored_data`` back with the next submit, so it carries
what a card needs to be drawn again (:class:`CardState`).

Limits every answer keeps:

- ``content`` and ``stored_data`` are at most 64 KB each (``CanvasObject``). An oversized card
  loses similar tickets first, then the end of the draft (:func:`response`).
- The first canvas a teammate sees must be at most 400 px tall
  (https://developers.intercom.com/docs/canvas-kit/canvas-kit-inbox-best-practices). Intercom
  documents no component heights, so :func:`estimated_height` uses our own rough figures; the
  first suggestion card lists only the similar tickets that fit them, and later cards (which may
  be taller) list them all.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from core.events import BadSignature, MalformedPayload

SIGNATURE_HEADER = "X-Body-Signature"
#: ``content`` and ``stored_data`` each, serialized.
MAX_OBJECT_BYTES = 64 * 1024
#: The first canvas in the conversation details, at most.
FIRST_CANVAS_HEIGHT = 400
#: Similar tickets a card lists, at most.
SIMILAR_LISTED = 3
#: Tags a card offers, at most (a model suggests a handful; this bounds ``stored_data``).
TAGS_OFFERED = 20

#: Component ids Intercom sends back as ``component_id`` / ``input_values`` keys.
DRAFT = "draft"
SEND_REPLY = "send_reply"
ADD_NOTE = "add_note"
APPLY_TAGS = "apply_tags"
WRONG = "wrong"

_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
#: Markdown that a text component would render from a label (``_`` in ``card_arrival``).
_MARKDOWN = re.compile(r"([\\`*_\[\]])")

TextStyle = Literal["header", "paragraph", "muted", "error"]
ButtonStyle = Literal["primary", "secondary", "link"]
SpacerSize = Literal["xs", "s", "m", "l", "xl"]


# -- signature -------------------------------------------------------------------------------------

def sign(body: bytes, client_secret: str) -> str:
    """What Intercom puts in ``X-Body-Signature``: hex HMAC-SHA256 of the raw body, keyed with the
    app's OAuth client secret (Developer Hub > Basic information). It carries no timestamp."""
    return hmac.new(client_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(body: bytes, signature: str | None, client_secret: str) -> None:
    """Return when ``signature`` proves Intercom sent ``body``; raise :class:`BadSignature`
    otherwise. The message says why, never the secret or the expected signature."""
    if not client_secret:
        raise BadSignature("no client_secret is configured for this Intercom tenant")
    if signature is None or not signature.strip():
        raise BadSignature(f"{SIGNATURE_HEADER} header missing")
    signature = signature.strip()
    if _HEX_SHA256.fullmatch(signature) is None:
        raise BadSignature(f"{SIGNATURE_HEADER} is not 64 hex digits")
    if not hmac.compare_digest(sign(body, client_secret), signature.lower()):
        raise BadSignature(f"{SIGNATURE_HEADER} does not match the body (is client_secret the app's?)")


# -- requests --------------------------------------------------------------------------------------

def _as_id(value: Any) -> Any:
    """Intercom sends ids as strings or numbers (``context.conversation_id`` is a number)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value.strip() if isinstance(value, str) else value


Id = Annotated[str, BeforeValidator(_as_id), Field(min_length=1, max_length=128)]


class _Part(BaseModel):
    """Unknown fields are ignored: Intercom adds fields to these requests over time."""

    model_config = ConfigDict(extra="ignore")


class Admin(_Part):
    """The teammate viewing the conversation."""

    id: Id
    name: str | None = None
    email: str | None = None


class Context(_Part):
    conversation_id: Id | None = None
    location: str | None = None
    locale: str | None = None


class Canvas(_Part):
    content: dict[str, Any] | None = None
    stored_data: dict[str, Any] | None = None


class CurrentCanvas(Canvas):
    """The canvas the teammate saw. The SDK's type nests it once more
    (``current_canvas.current_canvas``); both shapes are read."""

    current_canvas: Canvas | None = None

    @property
    def stored(self) -> dict[str, Any]:
        nested = self.current_canvas.stored_data if self.current_canvas is not None else None
        return nested if nested is not None else (self.stored_data or {})


class InitializeRequest(_Part):
    """Sent when a teammate opens a conversation with the app in its details."""

    workspace_id: Id
    workspace_region: str | None = None
    admin: Admin
    context: Context = Field(default_factory=Context)
    conversation: dict[str, Any] | None = None
    contact: dict[str, Any] | None = None

    @property
    def conversation_id(self) -> str | None:
        found = self.context.conversation_id or _as_id((self.conversation or {}).get("id"))
        return found if isinstance(found, str) and found else None

    def first_customer_message(self) -> str | None:
        """The body of the message that opened the conversation (``conversation.source.body``,
        HTML), for a conversation whose webhook Deskloop has not stored yet."""
        source = (self.conversation or {}).get("source")
        body = source.get("body") if isinstance(source, dict) else None
        return body if isinstance(body, str) and body.strip() else None


class SubmitRequest(InitializeRequest):
    """Sent when a teammate clicks a component with a submit action."""

    component_id: Id
    input_values: dict[str, Any] = Field(default_factory=dict)
    current_canvas: CurrentCanvas = Field(default_factory=CurrentCanvas)

    @property
    def stored_data(self) -> dict[str, Any]:
        return self.current_canvas.stored

    def input_text(self, component_id: str) -> str | None:
        """What the teammate left in a text input (``None`` when the canvas had no such input)."""
        value = self.input_values.get(component_id)
        return value if isinstance(value, str) else None


def read_body(body: bytes) -> dict[str, Any]:
    """The request's JSON object (:class:`MalformedPayload` otherwise)."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedPayload(f"body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise MalformedPayload(f"body: expected an object, got {type(data).__name__}")
    return data


def workspace_id(data: dict[str, Any]) -> str:
    """The workspace a request says it comes from, read before anything else is trusted."""
    found = _as_id(data.get("workspace_id"))
    if not isinstance(found, str) or not found:
        raise MalformedPayload("workspace_id: missing")
    return found


# -- components ------------------------------------------------------------------------------------

def text(value: str, style: TextStyle = "paragraph") -> dict[str, Any]:
    """Text; Intercom renders Markdown bold and links in it (:func:`plain` escapes labels)."""
    return {"type": "text", "text": value, "style": style}


def textarea(component_id: str, label: str, value: str | None = None, placeholder: str | None = None,
             error: bool = False) -> dict[str, Any]:
    found: dict[str, Any] = {"type": "textarea", "id": component_id, "label": label}
    if value is not None:
        found["value"] = value
    if placeholder is not None:
        found["placeholder"] = placeholder
    if error:
        found["error"] = True
    return found


def button(component_id: str, label: str, style: ButtonStyle = "secondary") -> dict[str, Any]:
    """A button that sends a submit request with ``component_id``."""
    return {"type": "button", "id": component_id, "label": label, "style": style, "action": {"type": "submit"}}


def item(item_id: str, title: str, subtitle: str | None = None, tertiary_text: str | None = None,
         url: str | None = None) -> dict[str, Any]:
    """A list item; with ``url`` it opens that page in a new tab."""
    found: dict[str, Any] = {"type": "item", "id": item_id, "title": title}
    if subtitle:
        found["subtitle"] = subtitle
    if tertiary_text:
        found["tertiary_text"] = tertiary_text
    if url:
        found["action"] = {"type": "url", "url": url}
    return found


def list_of(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "list", "items": items}


def divider() -> dict[str, Any]:
    return {"type": "divider"}


def spacer(size: SpacerSize = "s") -> dict[str, Any]:
    return {"type": "spacer", "size": size}


def plain(value: str) -> str:
    """``value`` shown as typed in a text component, not as Markdown: ``_`` and ``*`` in a tag
    would otherwise turn into emphasis, ``[...]`` into a link. A backslash escape, as CommonMark
    has it (that Intercom's renderer honours it is assumed, not documented)."""
    return _MARKDOWN.sub(r"\\\1", value)


#: Rough heights in pixels, margins included: our estimate, not Intercom's (it documents none).
_LINE, _TEXT_MARGIN, _CHARS_PER_LINE = 20, 10, 40
_HEIGHTS = {"textarea": 120, "button": 46, "link": 30, "item": 50, "divider": 21}
_SPACERS = {"xs": 4, "s": 8, "m": 16, "l": 24, "xl": 32}


def estimated_height(components: list[dict[str, Any]]) -> int:
    """How tall the components render, by :data:`_HEIGHTS` (the 400 px rule for first canvases)."""
    total = 0
    for component in components:
        kind = component["type"]
        if kind == "text":
            total += _TEXT_MARGIN + _LINE * max(1, math.ceil(len(component["text"]) / _CHARS_PER_LINE))
        elif kind == "button":
            total += _HEIGHTS["link" if component.get("style") == "link" else "button"]
        elif kind == "list":
            total += _HEIGHTS["item"] * len(component["items"])
        elif kind == "spacer":
            total += _SPACERS[component.get("size", "s")]
        else:
            total += _HEIGHTS[kind]
    return total


def encoded_size(value: Any) -> int:
    """Bytes of ``value`` as JSON, counted generously (ASCII escapes, spaced separators)."""
    return len(json.dumps(value).encode("utf-8"))


def response(components: list[dict[str, Any]], stored_data: dict[str, Any] | None = None) -> dict[str, Any]:
    """The answer to an initialize or submit request, within the 64 KB limits: an oversized
    ``content`` loses list items from the end, then the end of its textarea's text; an oversized
    ``stored_data`` loses its similar tickets, then its tags."""
    content = {"components": _fit_content([dict(c) for c in components])}
    stored = _fit_stored(dict(stored_data or {}))
    return {"canvas": {"content": content, "stored_data": stored}}


def _fit_content(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    lists = [c for c in components if c["type"] == "list"]
    for found in reversed(lists):
        while encoded_size({"components": components}) > MAX_OBJECT_BYTES and found["items"]:
            found["items"] = found["items"][:-1]
        if not found["items"]:
            components.remove(found)
    for found in (c for c in components if c["type"] == "textarea" and c.get("value")):
        if encoded_size({"components": components}) > MAX_OBJECT_BYTES:
            _shorten(found, components)
    if encoded_size({"components": components}) > MAX_OBJECT_BYTES:
        raise ValueError("a card's content is over 64 KB with nothing left to shorten")
    return components


def _shorten(textarea: dict[str, Any], components: list[dict[str, Any]]) -> None:
    """Keep the longest start of the textarea's text that fits (a character costs 1 to 6 bytes
    as JSON, so the cut is searched for, not computed)."""
    value, kept, cut = textarea["value"], 0, len(textarea["value"])
    while kept < cut:
        middle = (kept + cut + 1) // 2
        textarea["value"] = value[:middle] + "…"
        if encoded_size({"components": components}) <= MAX_OBJECT_BYTES:
            kept = middle
        else:
            cut = middle - 1
    textarea["value"] = value[:kept] + "…"


def _fit_stored(stored: dict[str, Any]) -> dict[str, Any]:
    for key in ("similar", "tags"):
        while encoded_size(stored) > MAX_OBJECT_BYTES and stored.get(key):
            stored[key] = stored[key][:-1]
    if encoded_size(stored) > MAX_OBJECT_BYTES:
        raise ValueError("a card's stored_data is over 64 KB with nothing left to shorten")
    return stored


# -- cards -----------------------------------------------------------------------------------------

class SimilarTicket(_Part):
    """A similar ticket as a card lists it."""

    id: str
    title: str
    subtitle: str | None = None
    url: str | None = None


class CardState(_Part):
    """What a suggestion card needs to be drawn again after a submit, kept in ``stored_data``."""

    suggestion_id: int
    conversation_id: str = Field(min_length=1)
    intent: str | None = None
    confidence: float = 0.0
    tags: list[str] = Field(default_factory=list)
    similar: list[SimilarTicket] = Field(default_factory=list)
    #: The customer's page in one line (:func:`page_line`), when the conversation carries one.
    page: str | None = None

    def stored_data(self) -> dict[str, Any]:
        shown = self.model_copy(update={"tags": self.tags[:TAGS_OFFERED], "similar": self.similar[:SIMILAR_LISTED]})
        return shown.model_dump(mode="json", exclude_none=True)


#: The longest page line a card shows (one or two lines of the Inbox's narrow column).
PAGE_LINE_CHARS = 160


def page_line(title: str | None, url: str | None, area: str | None, state: dict[str, Any]) -> str | None:
    """Where the customer was, in one line: the page's title (else its URL), the product area
    and a few app-state values; ``None`` when nothing is known."""
    parts = [p for p in (title or url, area) if p] + [f"{k}: {v}" for k, v in list(state.items())[:3]]
    line = " · ".join(str(p) for p in parts)
    return (line if len(line) <= PAGE_LINE_CHARS else line[:PAGE_LINE_CHARS - 1] + "…") or None


def percent(confidence: float) -> str:
    return f"{confidence:.0%}"


def intent_label(intent: str | None) -> str:
    """``card_arrival`` as ``Card arrival``."""
    words = " ".join((intent or "").replace("_", " ").split())
    return words[:1].upper() + words[1:] if words else "No intent"


def _fitting(similar: list[SimilarTicket], above: list[dict[str, Any]]) -> list[SimilarTicket]:
    """The similar tickets a first canvas has room for below the components ``above``."""
    room = FIRST_CANVAS_HEIGHT - estimated_height(above)
    return similar[:min(SIMILAR_LISTED, max(0, room // _HEIGHTS["item"]))]


def _similar_list(similar: list[SimilarTicket]) -> dict[str, Any]:
    return list_of([item(f"similar-{s.id}", s.title, s.subtitle, url=s.url) for s in similar[:SIMILAR_LISTED]])


def suggestion_card(state: CardState, draft: str | None, notice: str | None = None,
                    notice_style: TextStyle = "paragraph", draft_error: bool = False, first: bool = False,
                    tags_applied: bool = False) -> dict[str, Any]:
    """The suggestion: intent and confidence, the tags, the draft to edit and send, and the
    similar tickets. ``notice`` (a result or an error) goes on top. ``first``: the canvas a
    teammate sees on opening the conversation, kept within :data:`FIRST_CANVAS_HEIGHT` by listing
    fewer similar tickets. Without a draft there is nothing to send, so no textarea either."""
    components: list[dict[str, Any]] = []
    if notice:
        components.append(text(notice, notice_style))
    header = f"{plain(intent_label(state.intent))} · {percent(state.confidence)}" if state.intent \
        else f"Closest past ticket · {percent(state.confidence)} similar"  # no intent model yet
    components.append(text(header, "header"))
    if state.tags:
        components.append(text("Tags: " + plain(", ".join(state.tags[:TAGS_OFFERED])), "muted"))
    if state.page:
        components.append(text("Customer's page: " + plain(state.page), "muted"))
    if draft is not None:
        components += [textarea(DRAFT, "Draft reply", draft, placeholder="Write the reply", error=draft_error),
                       button(SEND_REPLY, "Send as reply", "primary"), button(ADD_NOTE, "Add as note")]
    if state.tags and not tags_applied:
        components.append(button(APPLY_TAGS, "Apply tags"))
    components.append(button(WRONG, "Suggestion is wrong", "link"))
    similar = _fitting(state.similar, components) if first else state.similar[:SIMILAR_LISTED]
    if similar:
        components.append(_similar_list(similar))
    return response(components, state.stored_data())


def abstention_card(state: CardState, message: str) -> dict[str, Any]:
    """Deskloop has no suggestion it trusts: ``message`` says so (so that nothing does not read
    as broken), above the similar tickets it found, which may still help. Nothing to send."""
    components = [text(message, "header")]
    if state.page:
        components.append(text("Customer's page: " + plain(state.page), "muted"))
    label = text("Similar tickets", "muted")
    similar = _fitting(state.similar, [*components, label])
    if similar:
        components += [label, _similar_list(similar)]
    return response(components, state.stored_data())


def message_card(message: str, style: TextStyle = "paragraph", header: str | None = None) -> dict[str, Any]:
    """A card that only says something (nothing to click)."""
    components = [text(header, "header")] if header else []
    return response([*components, text(message, style)])


def sent_card(channel: Literal["reply", "note"], similarity: float | None, recorded: bool = True) -> dict[str, Any]:
    """After the reply or note went out: what Deskloop learned from it. ``similarity`` is
    ``None`` when the draft was sent unchanged."""
    header = "Reply sent" if channel == "reply" else "Note added"
    if not recorded:
        learned = "Deskloop had already recorded what happened to this draft."
    elif similarity is None:
        learned = "Sent unchanged: Deskloop counts the draft as right."
    else:
        learned = f"Deskloop learned from your edit (similarity {similarity:.2f})."
    return message_card(learned, "muted", header)


def wrong_card() -> dict[str, Any]:
    return message_card("Deskloop will learn from it.", "muted", "Thanks — marked wrong")
