"""Placeholder until the language module lands (replaced at merge)."""

from __future__ import annotations

from collections.abc import Mapping

DEFAULT_HOLDING = {"en": "Thanks for your message. A member of our team will get back to you shortly."}


def detect_language(text: str) -> tuple[str | None, float]:
    return None, 0.0


def holding_message(language: str | None, templates: Mapping[str, str]) -> str:
    merged = {**DEFAULT_HOLDING, **templates}
    return merged.get(language or "en") or merged["en"]
