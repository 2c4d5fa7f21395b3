"""The other names a reply gives a thing: "Preferences (the gear icon)", "Settings, also called
Preferences", "Export (or Download)". A guide's step names one of them; the customer's page may
show the other, so a step is looked for under every name (:mod:`core.guidance.matching`).

Bounded like :mod:`core.guidance.steps`: the text is cut before it is read, the pattern is linear
and at most :data:`MAX_ALIASES` pairs are kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from core.guidance.steps import MAX_STEP_CHARS, MAX_TEXT_CHARS, VERBS

MAX_ALIASES = 20
_KIND = r"(?:icon|button|menu|tab|link|symbol)"
_PHRASE = r"[\w&-]{1,30}(?:[ \t][\w&-]{1,30}){0,3}"
#: "X (the gear icon)", "X (also called Y)", "X, also known as Y", "X (or Y)", "X, aka Y".
_ALIAS = re.compile(
    rf"(?P<name>[A-Z][\w&-]{{0,30}}(?:[ \t][A-Z][\w&-]{{0,30}}){{0,3}})[ \t]*(?:\([ \t]*|,[ \t]*)"
    rf"(?:(?i:the|a)[ \t]+(?P<icon>{_PHRASE}?)[ \t]+(?i:{_KIND})\b|"
    rf"(?i:(?:also|sometimes|formerly|now)[ \t]+)?(?i:called|known[ \t]+as|named|labell?ed|aka|or)[ \t]+"
    rf"[\"“']?(?P<other>[A-Z0-9][\w&-]{{0,30}}(?:[ \t][A-Z][\w&-]{{0,30}}){{0,3}}))")


def extract_aliases(reply: str | None) -> list[tuple[str, str]]:
    """``(name, other name)`` pairs the reply states, in its order.

    >>> extract_aliases("Open Preferences (the gear icon), also called Settings.")
    [('Preferences', 'gear')]
    """
    if not reply:
        return []
    pairs: list[tuple[str, str]] = []
    for match in _ALIAS.finditer(reply[:MAX_TEXT_CHARS]):
        other = (match.group("icon") or match.group("other") or "").strip()[:MAX_STEP_CHARS]
        words = match.group("name").split()
        while len(words) > 1 and words[0].lower() in VERBS:  # "Open Preferences (...)": the verb is not the name
            words.pop(0)
        name = " ".join(words)[:MAX_STEP_CHARS]
        if other and other.casefold() != name.casefold():
            pairs.append((name, other))
            if len(pairs) == MAX_ALIASES:
                break
    return pairs


def names_for(step: str, pairs: Iterable[tuple[str, str]]) -> list[str]:
    """``step`` and every other name ``pairs`` give it (either way round), step first."""
    names = [step]
    seen = {step.casefold()}
    for a, b in pairs:
        for this, other in ((a, b), (b, a)):
            if this.casefold() == step.casefold() and other.casefold() not in seen:
                seen.add(other.casefold())
                names.append(other)
    return names
