"""Optional rewrite of a draft through any OpenAI-compatible chat endpoint (``DESKLOOP_LLM_URL``).

Off by default. When on, the model sees only redacted text: this customer's message, the draft
and the evidence replies, with every personal detail and every name replaced by a numbered
placeholder such as ``[name 1]`` or ``[order id 2]``. It is told to use no fact that is not in the
evidence. The answer is accepted only if it keeps every placeholder of the draft and adds no
personal detail of its own; the placeholders are then filled back in. Anything else (an error,
a timeout, a dropped or invented detail) keeps the original draft. An accepted answer then goes
through the drafts' slot rule (:func:`core.suggesting.drafting.guard_rewrite`): a capitalized word, number or
detected detail that is neither template, in the draft, nor this customer's own becomes a
placeholder, so a detail copied from an evidence reply (one the detectors do not know, such as a
street without a suffix) cannot reach the draft either.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from core.config import Settings
from core.ml.templates import ReplyTemplates
from core.suggesting.drafting import guard_rewrite
from core.text.entities import PERSONAL_TYPES, find_entities, replace_personal
from core.text.limits import MESSAGE_MODEL_CHARS, truncated

log = logging.getLogger(__name__)

SYSTEM_PROMPT = (
    "You improve a customer support agent's reply draft. Keep it short, warm and specific. Use only facts "
    "stated in the draft or in the resolved replies given as evidence; never invent a fact, a promise, a "
    "number or a policy. Text in square brackets such as [name 1] or [order id 2] is a placeholder: keep every "
    "placeholder of the draft exactly as written, and add no other names, emails, phone numbers, ids, "
    "addresses or amounts. Answer with the reply only."
)
_PLACEHOLDER = re.compile(r"\[[a-z ]+ \d+\]")


@dataclass
class Redactor:
    """Replaces personal details and names with numbered placeholders, and puts them back."""

    names: tuple[str, ...] = ()
    by_value: dict[str, str] = field(default_factory=dict)

    def redact(self, text: str) -> str:
        redacted = replace_personal(text, lambda e: self._placeholder(e.type.replace("_", " "), e.text))
        if self.names:
            alternation = "|".join(re.escape(n) for n in sorted(self.names, key=len, reverse=True))
            redacted = re.sub(rf"\b(?:{alternation})\b", lambda m: self._placeholder("name", m.group(0)), redacted)
        return redacted

    def restore(self, text: str) -> str:
        values = {placeholder: value for value, placeholder in self.by_value.items()}
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(0), m.group(0)), text)

    def _placeholder(self, kind: str, value: str) -> str:
        if value not in self.by_value:
            self.by_value[value] = f"[{kind} {len(self.by_value) + 1}]"
        return self.by_value[value]


def _client(settings: Settings):
    from openai import OpenAI

    return OpenAI(base_url=settings.llm_url, api_key=settings.llm_api_key or "not-needed", timeout=15.0,
                  max_retries=1)


def rewrite_draft(settings: Settings, draft: str, customer_text: str, evidence_replies: list[str],
                  names: tuple[str, ...] = (), customer_name: str | None = None,
                  templates: ReplyTemplates | None = None, group: str | None = None) -> str | None:
    """The rewritten draft, or ``None`` when rewriting is off or the answer cannot be trusted.

    ``names`` are the people to hide from the endpoint (this customer's names, other customers');
    ``templates`` and ``group`` (the suggested intent) say which details the answer may keep
    besides the draft's and this customer's own.
    """
    if not settings.llm_url:
        return None
    # Each text the endpoint reads, and its answer, is at most one message long (core.text.limits).
    customer_text = truncated(customer_text, MESSAGE_MODEL_CHARS)
    evidence_replies = [truncated(r, MESSAGE_MODEL_CHARS) for r in evidence_replies]
    redactor = Redactor(names=tuple({n for n in names if n and len(n) > 1}))
    redacted_draft = redactor.redact(draft)
    evidence = "\n\n".join(f"Resolved reply {i + 1}:\n{redactor.redact(r)}" for i, r in enumerate(evidence_replies))
    user = (f"Customer message:\n{redactor.redact(customer_text)}\n\n{evidence}\n\n"
            f"Draft to improve:\n{redacted_draft}")
    try:
        response = _client(settings).chat.completions.create(
            model=settings.llm_model, temperature=0.2,
            messages=[{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}],
        )
        answer = truncated((response.choices[0].message.content or "").strip(), MESSAGE_MODEL_CHARS)
    except Exception as exc:  # any failure of an optional helper keeps the original draft
        log.warning("draft rewrite failed (%s); keeping the original draft", type(exc).__name__)
        return None
    if not _trustworthy(answer, redacted_draft):
        log.warning("draft rewrite dropped a placeholder or added a personal detail; keeping the original draft")
        return None
    return guard_rewrite(redactor.restore(answer), draft, customer_text, customer_name, templates, group)


def _trustworthy(answer: str, redacted_draft: str) -> bool:
    """Exactly the draft's placeholders (an evidence placeholder would restore another customer's
    detail) and no personal detail outside them."""
    if not answer:
        return False
    if set(_PLACEHOLDER.findall(answer)) != set(_PLACEHOLDER.findall(redacted_draft)):
        return False
    return not any(e.type in PERSONAL_TYPES for e in find_entities(_PLACEHOLDER.sub("", answer)))
