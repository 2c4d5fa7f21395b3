"""A proposed help-center article or macro for a knowledge gap, as a draft nobody's details reach.

The answer is assembled from the group's best-rated agent replies: on tickets rated well (a score
of 4 or 5, a good ``csat`` or a ``confirmed`` signal) that were never reopened and got no negative
signal afterwards (``reopened``, ``not_helpful``, a bad rating); when no ticket was rated, the
solved tickets without any negative signal (the draft then says so). Among them the most central
(TF-IDF cosine to their centroid) comes first.

A reply was written to one customer, and no list of patterns finds every shape their details take,
so the article copies a reply the way a draft does (:mod:`core.suggesting.drafting`): its learned
skeleton (:class:`core.ml.templates.ReplyTemplates`, the words that recur in replies to several
customers of the group), every other detail a placeholder, then the entity detectors as a second
net; the greeting with its name and the sign-off are dropped. The example questions are ticket
subjects (or the first sentence of the customer's message) through the entity scrubber
(:func:`core.text.entities.redact`) with the tenant's customer names replaced, and only in a
wording several different customers used (:func:`example_questions`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from core.ml.templates import MIN_CUSTOMERS, ReplySource, ReplyTemplates
from core.suggesting.drafting import fill
from core.text.entities import redact

ANSWERS_SHOWN = 3
QUESTIONS_SHOWN = 5
QUESTION_CHARS = 140
#: A question's wording is shown only when this many different customers used it.
MIN_ASKERS = MIN_CUSTOMERS
_NAME_WORD = re.compile(r"[^\W\d_][\w'’-]*")
_GREETING = re.compile(
    r"^\s*(?:(?:hi|hello|hey|dear|thanks|thank you|good (?:morning|afternoon|evening))"
    r"(?:\s+(?:there|\[[a-z ]+\]))\s*[,!.:;-]*|(?:hi|hello|hey|dear)\s*[,!.:;-]+)\s*", re.I)
_SIGN_OFF = re.compile(
    r"(?:[\s,.!]*(?:best(?: regards| wishes)?|kind regards|regards|cheers|thanks|many thanks|speak soon)[,!.]?)?"
    r"[\s,]*(?:\[(?:name|agent name|first name|last name|full name)\][.!]?\s*)$", re.I)
_SIGN_OFF_WORD = re.compile(r"\n\s*(?:best(?: regards| wishes)?|kind regards|regards|cheers|many thanks)[,!.]?\s*$",
                            re.I)
_SENTENCE_END = re.compile(r"[.?!\n]")
_PLACEHOLDER = re.compile(r"\[[a-z_ ]+\]")

Basis = Literal["rated_good", "unrated", "none"]


@dataclass(frozen=True)
class Candidate:
    """One ticket's last public agent reply and how the ticket went."""

    ticket_id: int
    reply: str
    customer: str
    requester_name: str | None
    agent_name: str | None
    own_text: str
    rated_good: bool
    negative: bool
    solved: bool


@dataclass(frozen=True)
class Article:
    title: str
    answer: str
    alternatives: list[str]
    questions: list[str]
    source_ticket_ids: list[int]
    basis: Basis


def people_of(customer_names: Sequence[str | None], agent_names: Sequence[str | None]) -> frozenset[str]:
    """The parts of the tenant's customers' names (not its agents'), as the tenant vocabulary counts them."""
    agents = {part for name in agent_names if name for part in name.split()}
    return frozenset(part for name in customer_names if name for part in name.split()
                     if len(part) > 1 and part[0].isupper() and part not in agents)


def learn_templates(candidates: Sequence[Candidate], groups: Sequence[str],
                    people: frozenset[str]) -> ReplyTemplates:
    """Reply templates over every candidate reply, each grouped by its gap group."""
    sources = [ReplySource(c.ticket_id, c.reply, c.customer, c.requester_name, c.agent_name, c.own_text)
               for c in candidates]
    return ReplyTemplates.learn(sources, people, intents=list(groups))


def scrub_reply(templates: ReplyTemplates, candidate: Candidate, group: str) -> str:
    """The reply as its group's skeleton, nobody's details in it, without greeting or sign-off."""
    skeleton = templates.skeleton_for(candidate.ticket_id, candidate.reply, candidate.requester_name, group)
    text = fill(skeleton, None, "")
    text = _GREETING.sub("", text, count=1)
    for _ in range(3):
        trimmed = _SIGN_OFF_WORD.sub("", _SIGN_OFF.sub("", text)).rstrip()
        if trimmed == text:
            break
        text = trimmed
    text = text.strip()
    return text[:1].upper() + text[1:]


def same_answer(a: str, b: str) -> bool:
    """Whether two scrubbed answers differ only in which placeholders they show."""
    return _PLACEHOLDER.sub("[]", a) == _PLACEHOLDER.sub("[]", b)


def scrub_question(text: str, people: frozenset[str]) -> str:
    """A subject or first sentence: personal entities and customers' names become placeholders."""
    redacted = redact(text)
    return _NAME_WORD.sub(lambda m: "[name]" if m.group(0) in people else m.group(0), redacted).strip()


def question_of(subject: str, first_message: str) -> str:
    """What the customer asked: the subject, else the first sentence of their first message."""
    text = subject.strip()
    if not text:
        match = _SENTENCE_END.search(first_message)
        text = first_message[:match.end()] if match else first_message
    text = " ".join(text.split())
    return text if len(text) <= QUESTION_CHARS else text[:QUESTION_CHARS - 1].rstrip() + "…"


def example_questions(asked: Sequence[tuple[str, str]], people: frozenset[str]) -> list[str]:
    """The most asked questions among ``(customer, question)`` pairs, scrubbed: only a wording
    :data:`MIN_ASKERS` different customers used is shown, by the same rule as reply templates (a
    detail no detector knows, such as an address without a street word, belongs to one customer;
    a wording many customers share does not)."""
    askers: dict[str, set[str]] = {}
    for customer, question in asked:
        if scrubbed := scrub_question(question, people):
            askers.setdefault(scrubbed, set()).add(customer)
    shared = [(q, len(c)) for q, c in askers.items() if len(c) >= MIN_ASKERS]
    return [q for q, _ in sorted(shared, key=lambda p: (-p[1], p[0]))[:QUESTIONS_SHOWN]]


def best_replies(candidates: Sequence[Candidate], central: Sequence[float]) -> tuple[list[int], Basis]:
    """Positions of the candidates to build the answer from, most central first, and on what basis."""
    good = [i for i, c in enumerate(candidates) if c.rated_good and not c.negative]
    basis: Basis = "rated_good"
    if not good:
        good = [i for i, c in enumerate(candidates) if c.solved and not c.negative]
        basis = "unrated"
    if not good:
        return [], "none"
    return sorted(good, key=lambda i: (-central[i], candidates[i].ticket_id)), basis


def title_of(kind: str, label: str) -> str:
    """A readable title: ``billing_refund`` becomes "Billing refund"; a cluster keeps its terms."""
    words = " ".join(re.sub(r"[_\s]+", " ", label).split()) if kind == "intent" else " ".join(label.split())
    return (words[:1].upper() + words[1:]) or "Untitled"
