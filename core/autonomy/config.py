"""How a tenant wants its autonomous replies handled: languages, the status a reply leaves, the
reply window, the rate cap, where handoffs go and the holding messages.

Kept in the tenant's settings under one key (:data:`CONFIG_KEY`) and validated by one pydantic
model, so the CLI, the API and the engine agree on what a valid setting is, and a bad value is
refused before anything is written. Defaults are the cautious choice: English only, the ticket
left pending (a person or the customer closes it), one reply a day per ticket, 30 replies an hour.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.errors import BadInput

CONFIG_KEY = "autonomy"
#: The confidence an autonomous intent needs when no threshold was set for it.
DEFAULT_THRESHOLD = 0.9

StatusAfterReply = Literal["pending", "solved_on_confirm", "solved_after_days"]


class AutonomyConfig(BaseModel):
    """A tenant's autonomy settings (all optional; see the module docstring for the defaults)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Languages (ISO 639-1) Deskloop may answer in; a ticket in another goes to a person.
    languages: tuple[str, ...] = ("en",)
    #: ``pending``: the reply leaves the ticket pending. ``solved_on_confirm``: solved when the
    #: customer confirms. ``solved_after_days``: also solved after ``solve_after_days`` without answer.
    status_after_reply: StatusAfterReply = "pending"
    solve_after_days: int = Field(default=3, ge=1, le=60)
    #: At most one autonomous reply per ticket within this many hours.
    reply_window_hours: int = Field(default=24, ge=1, le=24 * 30)
    #: At most this many autonomous replies per hour for the whole tenant.
    rate_per_hour: int = Field(default=30, ge=1, le=10_000)
    default_threshold: float = Field(default=DEFAULT_THRESHOLD, gt=0.0, le=1.0)
    #: Where a handoff goes: the helpdesk group (or team) per intent, else ``default_group``
    #: (``None``: the ticket stays in its group).
    groups: dict[str, str] = Field(default_factory=dict)
    default_group: str | None = Field(default=None, max_length=255)
    #: Holding messages per language, over the shipped ones (:mod:`core.autonomy.language`).
    holding_templates: dict[str, str] = Field(default_factory=dict)

    @field_validator("languages")
    @classmethod
    def _language_codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        codes = tuple(dict.fromkeys(code.strip().lower() for code in value))
        for code in codes:
            if not (2 <= len(code) <= 3 and code.isalpha() and code.isascii()):
                raise ValueError(f"{code!r} is not a language code (ISO 639-1, e.g. en, de)")
        if not codes:
            raise ValueError("at least one language")
        return codes

    @field_validator("holding_templates")
    @classmethod
    def _templates(cls, value: dict[str, str]) -> dict[str, str]:
        for code, text in value.items():
            if not (2 <= len(code) <= 3 and code.isalpha()) or not text.strip() or len(text) > 2000:
                raise ValueError(f"holding template {code!r}: a language code and 1 to 2,000 characters")
        return {code.lower(): text.strip() for code, text in value.items()}

    @field_validator("groups")
    @classmethod
    def _groups(cls, value: dict[str, str]) -> dict[str, str]:
        for intent, group in value.items():
            if not intent.strip() or not group.strip() or len(intent) > 128 or len(group) > 255:
                raise ValueError(f"group for {intent!r}: an intent (≤128) and a group name (1 to 255 characters)")
        return {intent.strip(): group.strip() for intent, group in value.items()}

    def group_for(self, intent: str | None) -> str | None:
        return self.groups.get(intent or "") or self.default_group


def config_from(settings: dict[str, Any] | None) -> AutonomyConfig:
    """The tenant's configuration from its settings; a stored value that no longer validates (an
    older release's) falls back to the defaults rather than stopping every reply."""
    try:
        return AutonomyConfig.model_validate((settings or {}).get(CONFIG_KEY) or {})
    except ValidationError:
        return AutonomyConfig()


def merged(current: AutonomyConfig, changes: dict[str, Any]) -> AutonomyConfig:
    """``current`` with ``changes`` applied, or :class:`BadInput` naming the first bad field."""
    try:
        return AutonomyConfig.model_validate({**current.model_dump(), **changes})
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or "autonomy"
        raise BadInput(f"{field}: {error['msg']}", field=field) from None
