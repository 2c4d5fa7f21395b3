"""Words and custom fields that speak of leaving: cancellation, competitors, downgrades.

The patterns are deliberately generic (no product or competitor names): they must hold for any
tenant's customers, and a tenant's own vocabulary is not known here. A plan's rank is read from
common tier names; a plan named otherwise is not ranked, so a change of it is not called a
downgrade (seats still are).
"""

from __future__ import annotations

import re
from typing import Any

CANCELLATION = re.compile(
    r"\b((cancel+(ing|ed|ation)?|terminat(e|ing|ion)|end(ing)?|clos(e|ing)|delet(e|ing)) (of )?(our|my|the|this) "
    r"(\w+ )?(account|subscription|contract|plan|service|membership|licen[cs]e|workspace)s?|"
    r"(not|won'?t|will not|don'?t plan to|do not plan to) (be )?renew(ing)?|unsubscribe|stop paying|"
    r"refund (the|our) (rest|remainder))\b",
    re.I,
)
COMPETITOR = re.compile(
    r"\b(competitor|switch(ing|ed)? (over )?(to|from)|mov(e|ing) (over )?to (another|a different|an? other)|"
    r"(another|a different|other|alternative) (provider|vendor|tool|platform|product|service|solution)s?|"
    r"alternatives?|evaluating (other|another)|migrat(e|ing) (away|off|to another))\b",
    re.I,
)
DOWNGRADE_WORDS = re.compile(
    r"\b(downgrad(e|ing|ed)|(reduce|reducing|cut|cutting|drop|dropping|remove|removing) (our |the )?"
    r"(number of )?(seats|licen[cs]es|users|plan)|fewer (seats|licen[cs]es|users)|cheaper plan)\b",
    re.I,
)

_PLAN_KEYS = re.compile(r"plan|tier|edition|subscription|package", re.I)
_SEAT_KEYS = re.compile(r"seats?|licen[cs]es?|users?_?count|user_?limit", re.I)
#: Common tier names, lowest first; a plan matching none is not ranked.
TIER_RANKS = (
    (0, re.compile(r"\b(free|trial|hobby)\b", re.I)),
    (4, re.compile(r"\b(enterprise|ultimate|unlimited)\b", re.I)),
    (3, re.compile(r"\b(business|premium|plus|scale)\b", re.I)),
    (2, re.compile(r"\b(pro|professional|team|standard|growth)\b", re.I)),
    (1, re.compile(r"\b(starter|basic|lite|essential|essentials|personal)\b", re.I)),
)


def plan_rank(value: Any) -> int | None:
    """The rank of a plan name (0 free .. 4 enterprise), or None when it names no common tier."""
    if not isinstance(value, str):
        return None
    for rank, pattern in TIER_RANKS:
        if pattern.search(value):
            return rank
    return None


def plan_of(custom_fields: dict[str, Any]) -> tuple[int | None, float | None]:
    """(plan rank, seats) from a ticket's custom fields, where a field carries them."""
    rank, seats = None, None
    for key, value in (custom_fields or {}).items():
        if rank is None and _PLAN_KEYS.search(str(key)):
            rank = plan_rank(value)
        if seats is None and _SEAT_KEYS.search(str(key)):
            seats = _number(value)
    return rank, seats


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip().replace(",", ""))
        except ValueError:
            return None
    return None
