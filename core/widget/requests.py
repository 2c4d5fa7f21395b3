"""What the widget script sends, bounded: every size is capped so one request costs a bounded
time and store, and a body over a cap is refused with 400 naming the field (never cut silently).

The page context becomes the common :class:`core.types.PageContext`: the URL without its query
and fragment (they carry search terms, tokens and ids more often than anything a support answer
needs), and only the app-state keys the tenant keeps (:class:`core.widget.config.WidgetConfig`)."""

from __future__ import annotations

import json
import re
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.guidance.steps import MAX_STEPS
from core.types import PageContext, PageElement
from core.widget.config import WidgetConfig
from core.widget.keys import MAX_KEY_CHARS

MAX_QUESTION_CHARS = 2_000
MAX_ELEMENTS = 200
MAX_APP_STATE_BYTES = 4_096
MAX_ERRORS = 20
MAX_ERROR_CHARS = 500
MAX_MESSAGE_CHARS = 5_000
MAX_SESSION_CHARS = 64
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ElementIn(_Body):
    role: str | None = Field(default=None, max_length=64)
    text: str | None = Field(default=None, max_length=200)
    label: str | None = Field(default=None, max_length=200)
    selector: str | None = Field(default=None, max_length=500)


class ContextIn(_Body):
    """The page the customer is on. ``url`` or ``route`` (or both) say where."""

    url: str | None = Field(default=None, max_length=2_048)
    route: str | None = Field(default=None, max_length=512)
    title: str | None = Field(default=None, max_length=300)
    area: str | None = Field(default=None, max_length=100)
    app_state: dict[str, Any] = Field(default_factory=dict)
    errors: list[str] = Field(default_factory=list, max_length=MAX_ERRORS)
    elements: list[ElementIn] = Field(default_factory=list, max_length=MAX_ELEMENTS)

    @field_validator("app_state")
    @classmethod
    def _state_bounded(cls, state: dict[str, Any]) -> dict[str, Any]:
        size = len(json.dumps(state, separators=(",", ":"), ensure_ascii=False).encode())
        if size > MAX_APP_STATE_BYTES:
            raise ValueError(f"app_state is {size} bytes as JSON; at most {MAX_APP_STATE_BYTES} are accepted")
        return state

    @field_validator("errors")
    @classmethod
    def _errors_bounded(cls, errors: list[str]) -> list[str]:
        if any(len(e) > MAX_ERROR_CHARS for e in errors):
            raise ValueError(f"each error message is at most {MAX_ERROR_CHARS} characters")
        return errors


class IdentityIn(_Body):
    user_id: str = Field(min_length=1, max_length=255)
    user_hash: str | None = Field(default=None, max_length=128)


class _Keyed(_Body):
    key: str = Field(min_length=1, max_length=MAX_KEY_CHARS)
    identity: IdentityIn | None = None


class AskIn(_Keyed):
    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    context: ContextIn | None = None
    session: str | None = Field(default=None, max_length=MAX_SESSION_CHARS)


class _InSession(_Keyed):
    session: str = Field(min_length=1, max_length=MAX_SESSION_CHARS)


class FeedbackIn(_InSession):
    helpful: bool


class TicketIn(_InSession):
    email: str | None = Field(default=None, max_length=254)
    name: str | None = Field(default=None, max_length=255)
    message: str | None = Field(default=None, max_length=MAX_MESSAGE_CHARS)

    @model_validator(mode="after")
    def _email_is_an_address(self) -> TicketIn:
        if self.email and not EMAIL.fullmatch(self.email):
            raise ValueError("email is not an email address")
        return self


class ClickedIn(_Body):
    """The element a customer clicked to complete a guide's step, by its visible name."""

    step: int = Field(ge=0, le=MAX_STEPS)
    text: str = Field(min_length=1, max_length=200)


class GuideIn(_InSession):
    event: Literal["completed", "abandoned"]
    step: int = Field(ge=0, le=1_000, description="The step reached (0-based).")
    clicked: list[ClickedIn] = Field(default_factory=list, max_length=MAX_STEPS)


def _without_query(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")) or None


def kept_state(state: dict[str, Any], config: WidgetConfig) -> dict[str, Any]:
    """The app-state keys the tenant keeps: the allow list's (every key when it has none), never a denied one."""
    allowed = config.app_state_allow
    return {k: v for k, v in state.items()
            if (allowed is None or k in allowed) and k not in config.app_state_deny}


def page_context(context: ContextIn | None, config: WidgetConfig) -> PageContext | None:
    """The common shape of what the widget saw, as the tenant allows it to be kept."""
    if context is None:
        return None
    return PageContext(
        url=_without_query(context.url), title=context.title, route=_without_query(context.route),
        area=context.area, app_state=kept_state(context.app_state, config), errors=context.errors,
        elements=[PageElement(**e.model_dump()) for e in context.elements])
