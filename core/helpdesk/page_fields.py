"""Which helpdesk ticket fields carry the customer's page, per tenant, and the two directions of
that mapping: fields into :class:`core.types.PageContext` (adapters, for webhooks and backfill) and
a page context into fields or a note (clients filing a widget ticket).

A helpdesk keeps page context only where its admin put it: a Zendesk ticket field filled by the
messenger's ``conversationFields``, an Intercom conversation custom attribute, a Freshdesk
``cf_*`` field prefilled by its help widget. Which one is the tenant's choice, so it is a setting
(``deskloop tenant app NAME --set page_url_field=360001``); each integration declares the four
settings with its own spelling of a field key (:func:`page_field_settings`). Vendor-neutral: the
adapters hand in the ticket's custom fields already read as ``{key: value}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.helpdesk.contract import SettingSpec
from core.types import PageContext

URL_SETTING = "page_url_field"
TITLE_SETTING = "page_title_field"
AREA_SETTING = "page_area_field"
STATE_SETTING = "page_state_field"
#: App-state keys never kept or shown, whatever the field carries: they name credentials.
SECRET_KEY = re.compile(r"(secret|token|passw|pwd|api[_-]?key|auth|cookie|session|credential|card|ssn)", re.I)
#: The most app-state keys kept from one field (a panel shows a few; a field is not a database).
MAX_STATE_KEYS = 20
MAX_TEXT = 2048


def page_field_settings(what: str, pattern: str) -> tuple[SettingSpec, ...]:
    """The four settings an integration declares, ``what`` naming its kind of field key
    ("the ticket field id") and ``pattern`` how such a key is spelled."""
    return (
        SettingSpec(URL_SETTING, f"{what} holding the page URL the customer wrote from", pattern),
        SettingSpec(TITLE_SETTING, f"{what} holding the page title", pattern),
        SettingSpec(AREA_SETTING, f"{what} holding the product area", pattern),
        SettingSpec(STATE_SETTING, f"{what} holding the app state (a JSON object, e.g. plan and flags)", pattern),
    )


@dataclass(frozen=True)
class PageFields:
    """The tenant's mapping: the field key for each part of a page context (``None``: not mapped)."""

    url: str | None = None
    title: str | None = None
    area: str | None = None
    state: str | None = None

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None) -> PageFields:
        settings = settings or {}

        def key(name: str) -> str | None:
            value = settings.get(name)
            return str(value).strip() or None if value not in (None, "") else None

        return cls(key(URL_SETTING), key(TITLE_SETTING), key(AREA_SETTING), key(STATE_SETTING))

    @property
    def mapped(self) -> bool:
        return any((self.url, self.title, self.area, self.state))

    def context(self, fields: Mapping[str, Any] | None, base: PageContext | None = None) -> PageContext | None:
        """The page context the ticket's custom ``fields`` carry, over ``base`` (what the helpdesk
        itself knows, e.g. Intercom's ``source.url``); ``None`` when neither says anything."""
        fields = fields or {}
        found: dict[str, Any] = {}
        for part in ("url", "title", "area"):
            key = getattr(self, part)
            text = _text(fields.get(key)) if key else None
            if text:
                found[part] = text
        state = app_state(fields.get(self.state)) if self.state else {}
        if state:
            found["app_state"] = state
        if not found:
            return base
        return (base or PageContext()).model_copy(update=found)

    def fields(self, context: PageContext | None) -> dict[str, Any]:
        """The custom field values that carry ``context`` (mapped parts only), for filing a ticket."""
        if context is None:
            return {}
        out: dict[str, Any] = {}
        for part in ("url", "title", "area"):
            key, value = getattr(self, part), getattr(context, part)
            if key and value:
                out[key] = value
        state = safe_state(context.app_state)
        if self.state and state:
            out[self.state] = json.dumps(state, sort_keys=True)
        return out

    def unmapped(self, context: PageContext | None) -> bool:
        """Whether some of ``context`` has no field to go in (a note then carries it)."""
        if context is None:
            return False
        return any(getattr(context, part) and not getattr(self, part) for part in ("url", "title", "area")) \
            or bool(context.route) or bool(safe_state(context.app_state) and not self.state)


def merged(stored: Mapping[str, Any] | None, new: PageContext) -> dict[str, Any]:
    """A stored page context (JSON) with what ``new`` says over it: a webhook often tells one field
    at a time (Zendesk's custom-field events), and a part it does not mention stays as it was."""
    said = new.model_dump(mode="json", exclude_defaults=True)
    out = {**(stored or {}), **said}
    if "app_state" in said:
        out["app_state"] = {**((stored or {}).get("app_state") or {}), **said["app_state"]}
    return PageContext.model_validate(out).model_dump(mode="json")


def app_state(value: Any) -> dict[str, Any]:
    """A field's app state: an object as is, or JSON object text; anything else is none."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return safe_state(value) if isinstance(value, Mapping) else {}


def safe_state(state: Mapping[str, Any] | None) -> dict[str, Any]:
    """App state without credential-named keys, capped, its values scalars (nested ones as text)."""
    out: dict[str, Any] = {}
    for key, value in (state or {}).items():
        if len(out) >= MAX_STATE_KEYS:
            break
        if SECRET_KEY.search(str(key)):
            continue
        out[str(key)[:64]] = value if isinstance(value, bool | int | float) or value is None else _text(value)
    return out


def context_note(context: PageContext) -> str:
    """The page context as a private note's text, for a helpdesk with no field mapped for it."""
    lines = ["Page context (from the Deskloop widget):"]
    for label, value in (("Page", context.url), ("Title", context.title), ("Area", context.area),
                         ("Route", context.route)):
        if value:
            lines.append(f"{label}: {value}")
    for key, value in safe_state(context.app_state).items():
        lines.append(f"{key}: {value}")
    if context.errors:
        lines.append("Recent errors: " + "; ".join(e[:200] for e in context.errors[:5]))
    return "\n".join(lines)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, Mapping | list):
        return json.dumps(value)[:MAX_TEXT] if value else None
    text = str(value).strip()
    return text[:MAX_TEXT] or None
