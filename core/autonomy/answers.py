"""Placeholder until the answers module lands (replaced at merge)."""

from __future__ import annotations

import re
from typing import Literal

Answer = Literal["confirmed", "negative", "wants_human", "other"]


def read_answer(text: str) -> Answer:
    lowered = text.lower()
    if re.search(r"\b(person|human|agent)\b", lowered):
        return "wants_human"
    if re.search(r"\b(not|didn'?t|doesn'?t|still)\b", lowered):
        return "negative"
    if re.search(r"\b(thanks|worked|solved)\b", lowered):
        return "confirmed"
    return "other"
