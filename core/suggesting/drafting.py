"""Reply drafts built from how a similar resolved ticket was actually answered, safe by construction.

The evidence reply belongs to another customer, and no list of patterns finds every shape their
details take. So a draft is the evidence reply's *skeleton* (see :mod:`core.ml.templates`): the
words that recur in replies to several different customers, with every other detail a slot. A slot
is filled only from the current ticket (this customer's name, order id, amount, address, city,
card digits when they wrote them) and otherwise shows as a placeholder the agent fills in, such as
``[delivery address]`` or ``[detail]``; the evidence's own value is never stored in the skeleton,
so it cannot come back. The pattern detectors (:func:`core.text.entities.find_entities`) then run over
what is left as a second net: a detected personal detail that is neither learned template nor this
customer's own becomes a placeholder too.
"""

from __future__ import annotations

import re

from core.ml.templates import ENTITY_KIND, NAME_KINDS, ReplyTemplates, Skeleton, words_of
from core.text.entities import find_entities, replace_personal
from core.text.limits import MESSAGE_MODEL_CHARS, TICKET_MODEL_CHARS, truncated

#: Slot kinds the current ticket may fill, and the detail of the ticket that fills each.
_FILLED_BY = {
    "first name": "first name", "last name": "last name", "full name": "full name",
    "delivery address": "address", "address": "address", "card digits": "card digits",
    "card number": "card number", "iban": "iban", "account number": "account number", "order id": "order id",
    "email": "email", "phone": "phone", "amount": "amount", "city": "city",
}
_GREETING = re.compile(r"\b(?:hi|hello|hey)[\s,]*$", re.I)
_OWN_CARD_DIGITS = re.compile(r"\b(?:ending(?: in| with)?|ends (?:in|with)|last (?:four|4)(?: digits)?(?: (?:are|is))?)"
                              r"\W{0,3}(\d{4})\b", re.I)
_OWN_ADDRESS = re.compile(r"\b(?:my (?:new |delivery |home )?address is|i live at|deliver(?:ed)? (?:it )?to|"
                          r"send (?:it |the card )?to|ship (?:it )?to)\s+([^\n.!?;]{3,80}\d[^\n.!?;]{0,40}|"
                          r"[^\n.!?;]{0,40}\d[^\n.!?;]{0,40})", re.I)
_OWN_CITY = re.compile(r"\b(?:[Ll]ive in|[Ll]iving in|[Mm]oved to|[Bb]ased in|I'm in|I am in|[Ss]taying in)\s+"
                       r"([A-Z][\w'’-]+(?: [A-Z][\w'’-]+){0,2})")


def first_name(full_name: str | None) -> str | None:
    if not full_name:
        return None
    parts = full_name.strip().split()
    return parts[0] if parts else None


def own_details(customer_text: str, customer_name: str | None) -> dict[str, str]:
    """What the current ticket says of its own customer, by slot kind (only these fill slots)."""
    own: dict[str, str] = {}
    for entity in find_entities(customer_text):
        kind = ENTITY_KIND.get(entity.type)
        if kind is not None:
            own.setdefault(kind, entity.text)
    if "card number" in own:
        own.setdefault("card digits", re.sub(r"\D", "", own["card number"])[-4:])
    if (match := _OWN_CARD_DIGITS.search(customer_text)) is not None:
        own.setdefault("card digits", match.group(1))
    if (match := _OWN_ADDRESS.search(customer_text)) is not None:
        own.setdefault("address", match.group(1).strip(" ,"))
    if (match := _OWN_CITY.search(customer_text)) is not None:
        own.setdefault("city", match.group(1))
    parts = (customer_name or "").split()
    if parts:
        own["first name"] = parts[0]
        own["full name"] = " ".join(parts)
        if len(parts) > 1:
            own["last name"] = parts[-1]
    return own


def label(kind: str) -> str:
    return "[name]" if kind in NAME_KINDS else f"[{kind}]"


def fill(skeleton: Skeleton, customer_name: str | None, customer_text: str) -> str:
    """``skeleton`` for the customer who wrote ``customer_text``: slots filled from their ticket or
    shown as placeholders, then the detectors' second net over the copied text."""
    own = own_details(truncated(customer_text, TICKET_MODEL_CHARS), customer_name)
    text: list[str] = []
    fills: dict[str, str] = {}
    spared: set[str] = set()
    for kind, piece in skeleton:
        if kind in ("", "="):
            text.append(piece)
            if kind == "=":
                spared.add(piece)
            continue
        value = own.get(_FILLED_BY.get(kind, ""))
        if value is None and kind == "first name" and _GREETING.search("".join(text[-3:])):
            value = "there"
        sentinel = chr(0xE000 + len(fills))  # no letter or digit: no detector matches across it
        fills[sentinel] = value if value is not None else label(kind)
        text.append(sentinel)

    def second_net(entity) -> str:
        return entity.text if entity.text in spared else label(ENTITY_KIND.get(entity.type, "detail"))

    checked = replace_personal("".join(text), second_net)
    return "".join(fills.get(c, c) for c in checked).strip()


def draft_from_evidence(templates: ReplyTemplates, ticket_id: int, reply: str, requester_name: str | None,
                        customer_name: str | None, customer_text: str, group: str | None = None) -> str:
    """The draft from a resolved ticket's reply: its learned skeleton, filled for this customer."""
    return fill(templates.skeleton_for(ticket_id, reply, requester_name, group), customer_name, customer_text)


def draft_reply(evidence_reply: str, evidence_customer: str | None, customer_name: str | None, customer_text: str,
                people: frozenset[str] = frozenset(), templates: ReplyTemplates | None = None,
                group: str | None = None) -> str:
    """Adapt a reply no training saw (an agent's edited reply that became the preferred answer, or
    a single reply) written to ``evidence_customer`` for the customer who wrote ``customer_text``.

    Its ordinary words stay; a marked detail (capitalized words, numbers, a detected entity) stays
    only when it is template in ``group`` or another group of ``templates``; names of
    ``evidence_customer`` become this customer's and ``people`` (the tenant's known customer
    names) placeholders.
    """
    if templates is None:
        templates = ReplyTemplates(people=people)
    # A reply an agent sent (kept whole up to a raw body's cap in its signal) is read as one message.
    evidence_reply = truncated(evidence_reply, MESSAGE_MODEL_CHARS)
    return fill(templates.adapt(evidence_reply, evidence_customer, group), customer_name, customer_text)


def outline(templates: ReplyTemplates, ticket_id: int, reply: str, requester_name: str | None,
            group: str | None = None) -> str:
    """A resolved reply as its skeleton with every slot a placeholder: what may be shown to an
    outside helper (the optional LLM rewrite) instead of another customer's reply."""
    skeleton = templates.skeleton_for(ticket_id, reply, requester_name, group)
    return "".join(text or label(kind) for kind, text in skeleton)


def guard_rewrite(rewritten: str, draft: str, customer_text: str, customer_name: str | None,
                  templates: ReplyTemplates | None = None, group: str | None = None) -> str:
    """A rewritten draft through the same slot rule: a marked detail that is neither template, in
    the draft, nor in this customer's own text or name becomes a placeholder."""
    templates = templates if templates is not None else ReplyTemplates()
    allowed = words_of(draft) | words_of(customer_text) | words_of(customer_name or "")
    return fill(templates.adapt(rewritten, None, group, allowed), customer_name, customer_text)
