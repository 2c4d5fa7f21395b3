"""A tenant's own words: product and feature names, and the names of its customers.

Learned at training time from the tenant's tags and ticket text, so entities know that "Apple
Pay" or "virtual card" are things this helpdesk talks about, and drafts know which capitalized
words are other customers' names that must never be copied into a reply.

- A *feature* is a tag whose words occur in ticket text ("virtual-cards" matches "virtual card").
- A *product* is a capitalized phrase that several tickets write capitalized mid-sentence
  ("Google Pay", "Northwind Plus"), which is how people write names of things.
- *People* are the first and last names of requesters, minus the names agents sign with.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

#: Capitalized words that are ordinary English at the start of a name-like phrase.
_COMMON = frozenset("""
i im i'm ive hi hello hey dear thanks thank please the a an my your our their this that these those
monday tuesday wednesday thursday friday saturday sunday january february march april may june july
august september october november december today yesterday tomorrow ok okay yes no can could would
will what when where why how who which is are was were do does did have has had it its also and but
or so if for to of in on at by with from as not just still again sorry help hope bill mark grace
rose june april august will may art dawn faith joy rob pat sue ray
""".split())

_CAPITALIZED_PHRASE = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-zA-Z0-9]+(?: [A-Z][a-zA-Z0-9]+){0,2})\b", re.M)
_WORD = re.compile(r"[a-z0-9]+")


def is_common_word(word: str) -> bool:
    """True for words like "Grace" or "May" that are ordinary English when they start a sentence."""
    return word.lower() in _COMMON


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


@dataclass
class Vocabulary:
    """What entity finding and drafting need to know about one tenant's words."""

    terms: dict[str, str] = field(default_factory=dict)  # lower-case phrase -> "product" | "feature"
    people: frozenset[str] = frozenset()  # name tokens, as written (capitalized)

    @classmethod
    def learn(cls, texts: Iterable[str], tags: Iterable[str], customer_names: Iterable[str | None],
              agent_names: Iterable[str | None], min_tickets: int = 5) -> Vocabulary:
        texts = list(texts)
        lowered = [" ".join(_singular(w) for w in _WORD.findall(t.lower())) for t in texts]
        terms: dict[str, str] = {}
        for tag in set(tags):
            phrase = " ".join(_singular(w) for w in _WORD.findall(tag.replace("-", " ").lower()))
            if len(phrase) >= 3 and phrase not in _COMMON:
                padded = f" {phrase} "
                if sum(padded in f" {text} " for text in lowered) >= min_tickets:
                    terms[phrase] = "feature"
        agents = {part for name in agent_names if name for part in name.split()}
        people = frozenset(
            part for name in customer_names if name for part in name.split()
            if len(part) > 1 and part[0].isupper() and part not in agents
        )
        seen_in: dict[str, set[int]] = defaultdict(set)
        for i, text in enumerate(texts):
            for match in _CAPITALIZED_PHRASE.finditer(text):
                phrase = match.group(1)
                first = phrase.split()[0]
                if first.lower() in _COMMON or first in people or phrase.isupper() and len(phrase) <= 2:
                    continue
                seen_in[phrase].add(i)
        frequent = {p for p, ids in seen_in.items() if len(ids) >= min_tickets}
        # Customers write names capitalized often ("Apple Pay" at least a third of the time, even
        # in lower-case chat); "There" or "Now" are capitalized only where a sentence starts
        # without punctuation before it, a small share of their uses.
        anywhere: Counter[str] = Counter()
        for text in texts:
            low = text.lower()
            for phrase in frequent:
                if phrase.lower() in low:
                    anywhere[phrase] += 1
        capitalized = Counter({p: len(seen_in[p]) for p in frequent if len(seen_in[p]) >= 0.35 * anywhere[p]})
        for phrase, _ in capitalized.most_common(200):
            terms.setdefault(phrase.lower(), "product")
        return cls(terms, people)

    @cached_property
    def patterns(self) -> list[tuple[str, re.Pattern[str]]]:
        """(type, pattern) pairs for :func:`core.text.entities.find_entities`, longest phrases first."""
        by_type: dict[str, list[str]] = defaultdict(list)
        for phrase, kind in self.terms.items():
            words = [re.escape(w) + ("s?" if kind == "feature" else "") for w in phrase.split()]
            by_type[kind].append(r"[\s-]".join(words))
        return [
            (kind, re.compile(r"\b(?:" + "|".join(sorted(alternatives, key=len, reverse=True)) + r")\b", re.I))
            for kind, alternatives in sorted(by_type.items())
        ]

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("patterns", None)  # compiled lazily after loading
        return state
