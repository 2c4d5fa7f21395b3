"""Entities found in ticket text, with type and character span.

Patterns are anchored on shapes support tickets really contain; card numbers must pass the Luhn
checksum so an order number of the right length is not mistaken for a card. ``PERSONAL_TYPES`` are
the kinds that identify a customer and must never travel from one customer's ticket to another's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PERSONAL_TYPES = frozenset({"email", "phone", "card_number", "url", "account_id", "order_id", "money", "address"})


@dataclass(frozen=True)
class Found:
    type: str
    text: str
    start: int
    end: int


_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("email", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    ("url", re.compile(r"\bhttps?://[^\s<>\"')]+|\bwww\.[^\s<>\"')]+", re.I)),
    ("card_number", re.compile(r"\b(?:\d[ -]?){12,18}\d\b")),
    ("order_id", re.compile(r"\b(?:order|ord)[\s#:-]*(?:no\.?|number)?[\s#:-]*([A-Z0-9][A-Z0-9-]{3,19})\b", re.I)),
    ("account_id", re.compile(r"\b(?:account|acct|customer)[\s#:-]*(?:no\.?|number|id)?[\s#:-]*([A-Z0-9][A-Z0-9-]{4,19})\b", re.I)),
    ("ticket_id", re.compile(r"(?:\bticket[\s#:-]*|#)(\d{3,10})\b", re.I)),
    ("error_code", re.compile(r"\b(?:E|ERR|ERROR)[-_ ]?\d{2,5}\b|\b[A-Z]{2,5}-\d{3,5}\b|\b(?:HTTP )?[45]\d{2}(?= error\b)", re.I)),
    ("money", re.compile(r"(?:[$€£¥]\s?\d[\d,]*(?:\.\d{1,2})?|\b\d[\d,]*(?:\.\d{1,2})?\s?(?:USD|EUR|GBP|dollars|euros|pounds)\b)", re.I)),
    ("phone", re.compile(r"(?<![\w.])\+?\d{1,3}[\s.-]?\(?\d{2,4}\)?[\s.-]?\d{3,4}[\s.-]?\d{3,4}(?![\w.])")),
    ("date", re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.? \d{1,2}(?:st|nd|rd|th)?(?:,? \d{4})?\b", re.I)),
]


def luhn_valid(digits: str) -> bool:
    numbers = [int(c) for c in digits if c.isdigit()]
    if not 13 <= len(numbers) <= 19:
        return False
    total = 0
    for i, n in enumerate(reversed(numbers)):
        if i % 2 == 1:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def find_entities(text: str) -> list[Found]:
    """All entities in ``text``, earlier-listed types winning where spans overlap."""
    taken: list[tuple[int, int]] = []
    found: list[Found] = []
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            group = 1 if pattern.groups and match.group(1) else 0
            start, end = match.span(group)
            if kind == "card_number" and not luhn_valid(match.group(0)):
                continue
            if kind == "phone" and sum(c.isdigit() for c in match.group(0)) < 8:
                continue
            if any(start < e and s < end for s, e in taken):
                continue
            taken.append((start, end))
            found.append(Found(kind, text[start:end], start, end))
    return sorted(found, key=lambda f: f.start)


def redact(text: str, types: frozenset[str] = PERSONAL_TYPES) -> str:
    """``text`` with every personal entity replaced by a ``[type]`` placeholder."""
    pieces, cursor = [], 0
    for entity in find_entities(text):
        if entity.type in types:
            pieces.append(text[cursor : entity.start])
            pieces.append(f"[{entity.type}]")
            cursor = entity.end
    pieces.append(text[cursor:])
    return "".join(pieces)
