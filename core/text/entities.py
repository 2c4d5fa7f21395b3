"""Entities found in ticket text, with type and character span.

Patterns are anchored on shapes support tickets really contain: an order or account id must
contain a digit (so "account details" or "ordered" are words, not ids), a card number must pass
the Luhn checksum and an IBAN its mod-97 check, so a reference of the right length is not taken
for either. ``PERSONAL_TYPES`` identify a customer and must never travel from one customer's ticket
to another's. A tenant's own product and feature names come from a :class:`Vocabulary` learned
from its tags and ticket text (see :mod:`core.text.vocabulary`).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

PERSONAL_TYPES = frozenset({
    "email", "phone", "card_number", "iban", "url", "account_id", "order_id", "money", "address", "person",
})

_STREET_SUFFIX = (r"(?:Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Boulevard|Blvd|Drive|Dr|Way|Court|Ct|Place|Pl|"
                  r"Square|Sq|Terrace|Close|Crescent|Parkway|Highway|Hwy)")
_ID = r"(?=[A-Z0-9-]*\d)[A-Z0-9][A-Z0-9-]{3,19}"  # 4 to 20 characters, at least one digit

#: Where an address's local part may start: at its run's first word character, as ``\b[\w.+-]+@``
#: allowed, but once per run of address characters. With ``\b`` alone every word inside
#: "a.a.a.a..." started a scan to the run's end: quadratic in the run (0.8 s for 16,000 characters).
#: (Two addresses written with no space between them now read as one: no mail client writes that.)
EMAIL_START = r"(?<![\w.+-])[.+-]*+"
#: Where an amount before its currency word ("1,200 USD") may start: once per run of digits and
#: commas, at the first digit ``\b`` allows (the run's start, or past its first comma when a letter
#: precedes the run). Every start inside "1,1,1,..." scanned to the run's end: 11 s for 16,000.
AMOUNT_START = r"(?<![\d,])(?:(?<!\w),*+|(?<=\w)\d*+,++)"


@dataclass(frozen=True)
class Found:
    type: str
    text: str
    start: int
    end: int


_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("email", re.compile(EMAIL_START + r"(\w[\w.+-]*+@[\w-]+(?:\.[\w-]+)+\b)")),
    ("url", re.compile(r"\bhttps?://[^\s<>\"')]+|\bwww\.[^\s<>\"')]+", re.I)),
    ("iban", re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")),
    ("card_number", re.compile(r"\b(?:\d[ -]?){12,18}\d\b")),
    ("address", re.compile(
        rf"\b\d{{1,5}}[A-Za-z]?,? (?:[A-Z][a-z]+ ){{1,3}}{_STREET_SUFFIX}\b\.?"
        r"(?:,? [A-Z][a-z]+(?: [A-Z][a-z]+){0,2})?(?:,? (?:[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}|\d{5}(?:-\d{4})?))?"
        r"|\b[A-Z][a-zäöüß]+(?:straße|strasse|weg|platz|gasse|allee) \d{1,4}[a-z]?\b"
    )),
    ("order_id", re.compile(
        rf"\b(?:order|ord)(?:\s*+(?:no\.?|number|id))?(?:\s++(?:is|was))?\s*+[#:-]?\s*+#?({_ID})\b", re.I)),
    ("account_id", re.compile(
        rf"\b(?:account|acct|customer)(?:\s*+(?:no\.?|number|id))?(?:\s++(?:is|was))?\s*+[#:-]?\s*+#?({_ID})\b",
        re.I)),
    ("ticket_id", re.compile(r"(?:\bticket[\s#:-]*+|#)(\d{3,10})\b", re.I)),
    ("error_code", re.compile(
        r"\b(?:E|ERR|ERROR)[-_ ]?\d{2,5}\b|\b[A-Z]{2,5}-\d{3,5}\b|\b(?:HTTP )?[45]\d{2}(?= error\b)", re.I)),
    ("money", re.compile(
        r"[$€£¥]\s?\d[\d,]*+(?:\.\d{1,2})?"
        r"|" + AMOUNT_START + r"(\d[\d,]*+(?:\.\d{1,2})?\s?(?:USD|EUR|GBP|dollars|euros|pounds)\b)",
        re.I)),
    ("phone", re.compile(r"(?<!\w)(?<!\d\.)\+?\d{1,3}[\s.-]?\(?\d{2,4}\)?[\s.-]?\d{3,4}[\s.-]?\d{3,4}(?!\w|\.\d)")),
    ("date", re.compile(
        r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b"
        r"|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.? \d{1,2}(?:st|nd|rd|th)?(?:,? \d{4})?\b",
        re.I)),
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


def iban_valid(text: str) -> bool:
    """ISO 13616 check: move the first four characters to the end, letters to numbers, mod 97 == 1."""
    compact = text.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def _accept(kind: str, text: str) -> bool:
    if kind == "card_number":
        return luhn_valid(text)
    if kind == "iban":
        return iban_valid(text)
    if kind == "phone":
        return sum(c.isdigit() for c in text) >= 8
    return True


def find_entities(text: str, vocabulary: Iterable[tuple[str, re.Pattern[str]]] = ()) -> list[Found]:
    """All entities in ``text``, earlier-listed types winning where spans overlap.

    ``vocabulary`` adds tenant-specific (type, pattern) pairs, tried after the built-in shapes.
    """
    taken = _Spans()
    found: list[Found] = []
    for kind, pattern in [*_PATTERNS, *vocabulary]:
        for match in pattern.finditer(text):
            group = 1 if pattern.groups and match.group(1) else 0
            start, end = match.span(group)
            if not _accept(kind, match.group(group)) or not taken.add(start, end):
                continue
            found.append(Found(kind, text[start:end], start, end))
    return sorted(found, key=lambda f: f.start)


class _Spans:
    """Disjoint spans kept sorted, so checking a new one for overlap is a binary search: a text
    with thousands of dates or amounts compared every match with every earlier one."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def add(self, start: int, end: int) -> bool:
        """Keep ``[start, end)`` unless it overlaps a kept span; whether it was kept."""
        at = bisect.bisect_left(self.starts, start)
        if at > 0 and self.ends[at - 1] > start:
            return False
        if at < len(self.starts) and self.starts[at] < end:
            return False
        self.starts.insert(at, start)
        self.ends.insert(at, end)
        return True


def replace_personal(text: str, replacement: Callable[[Found], str], types: frozenset[str] = PERSONAL_TYPES) -> str:
    """``text`` with every entity of ``types`` replaced by what ``replacement`` returns for it."""
    pieces, cursor = [], 0
    for entity in find_entities(text):
        if entity.type in types:
            pieces += [text[cursor:entity.start], replacement(entity)]
            cursor = entity.end
    pieces.append(text[cursor:])
    return "".join(pieces)


def redact(text: str, types: frozenset[str] = PERSONAL_TYPES) -> str:
    """``text`` with every personal entity replaced by a ``[type]`` placeholder."""
    return replace_personal(text, lambda entity: f"[{entity.type}]", types)
