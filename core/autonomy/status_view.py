"""The shape of :func:`core.autonomy.settings.status` for the API and its OpenAPI document: the
kill switch, the target precision, the configuration and each intent's chosen and applied mode."""

from __future__ import annotations

from pydantic import BaseModel, Field

from core.autonomy.config import AutonomyConfig
from core.autonomy.settings import status
from core.runtime import Runtime


class Pause(BaseModel):
    by: str | None = Field(description="who pulled the kill switch (a user, a token, the CLI)")
    at: str | None = Field(description="when (ISO 8601)")


class IntentStatus(BaseModel):
    intent: str
    mode: str = Field(description="the mode a person chose: off, shadow or autonomous")
    threshold: float = Field(description="the confidence an autonomous reply needs")
    effective: str = Field(description="the mode that applies after the sensitive lists and the kill switch")
    reason: str
    sensitive: bool


class AutonomyStatus(BaseModel):
    tenant: str
    paused: Pause | None = Field(description="set while the kill switch is on: no autonomous reply is sent")
    target_precision: float
    config: AutonomyConfig
    intents: list[IntentStatus]
    sensitive_intents: list[str]
    sensitive_accounts: list[str]


def autonomy_status(runtime: Runtime, tenant: str) -> AutonomyStatus:
    """The policy as read now from the database (no cache), validated into :class:`AutonomyStatus`."""
    return AutonomyStatus.model_validate(status(runtime, tenant))
