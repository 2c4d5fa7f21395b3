"""Reply drafts built from how a similar resolved ticket was actually answered.

The evidence reply belongs to another customer, so before it is shown: that customer's name is
replaced by this customer's, any other known customer's name is removed, and every personal detail (email, phone, card, order and account ids,
amounts, links) is replaced by this ticket's own value of the same kind when it has one, or removed.
"""

from __future__ import annotations

import re

from core.entities import find_entities, replace_personal
from core.vocabulary import is_common_word


def first_name(full_name: str | None) -> str | None:
    if not full_name:
        return None
    parts = full_name.strip().split()
    return parts[0] if parts else None


def _replace_name(reply: str, other_name: str | None, greeting_name: str) -> str:
    if not other_name:
        return reply
    parts = [p for p in re.split(r"\s+", other_name.strip()) if len(p) > 1]
    for i, part in enumerate(parts):
        replacement = greeting_name if i == 0 else ""
        reply = re.sub(rf"\b{re.escape(part)}\b", replacement, reply)
    return re.sub(r"[ \t]{2,}", " ", reply).replace(" ,", ",")


def _remove_other_people(reply: str, people: frozenset[str], own_name: str | None) -> str:
    """Replace every known customer name token (other than this customer's) with ``[name]``."""
    if not people:
        return reply
    own = set((own_name or "").split())

    def replace(match: re.Match[str]) -> str:
        word = match.group(0)
        if word not in people or word in own:
            return word
        sentence_start = not reply[: match.start()].rstrip(" \t\"'(") or reply[: match.start()].rstrip()[-1] in ".!?\n:"
        return word if sentence_start and is_common_word(word) else "[name]"

    return re.sub(r"\b[A-Z][\w'-]+\b", replace, reply)


def draft_reply(evidence_reply: str, evidence_customer: str | None, customer_name: str | None, customer_text: str,
                people: frozenset[str] = frozenset()) -> str:
    """Adapt ``evidence_reply`` (sent to ``evidence_customer``) for the customer who wrote ``customer_text``.

    ``people`` are the tenant's known customer name tokens: any of them left in the reply (a
    colleague or a previous customer mentioned by name) is replaced by ``[name]``.
    """
    greeting = first_name(customer_name) or "there"
    reply = _replace_name(evidence_reply, evidence_customer, greeting)
    reply = _remove_other_people(reply, people, customer_name)
    own: dict[str, str] = {}
    for entity in find_entities(customer_text):
        own.setdefault(entity.type, entity.text)
    return replace_personal(reply, lambda e: own.get(e.type, f"[{e.type.replace('_', ' ')}]")).strip()
