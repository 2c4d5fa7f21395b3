"""Which element of a page a step names: the one whose visible text or accessible label reads as
one of the step's names (:func:`core.guidance.aliases.names_for`).

A name and an element's words are compared after case and punctuation are dropped, in order of
trust: the same words (1.0), the name's words all among the element's ("Export" and "Export
CSV", 0.9), the element's words all among the name's ("Download my data" and "Download", 0.85),
else, with ``fuzzy``, :class:`difflib.SequenceMatcher`'s ratio (a typo, a plural: "Setting" and
"Settings"). A name other than the step's own scores a little less (:data:`ALIAS_FACTOR`), so an
element named as the reply named it wins a tie. Below :data:`THRESHOLD` nothing matches: a
wrong highlight is worse than the written steps. The standard library's matcher is enough for
names of a few words; no fuzzy-matching package is installed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from difflib import SequenceMatcher

from core.types import PageElement

THRESHOLD = 0.8
ALIAS_FACTOR = 0.95
#: Roles a customer clicks to move on; one of them wins a tie against a text field or a heading.
CLICKABLE = frozenset({"button", "link", "tab", "menuitem", "option", "checkbox", "switch", "radio"})
#: Characters of an element's text compared (its name is at the start).
_COMPARED = 100
_NOT_WORD = re.compile(r"[\W_]+")


def normalized(text: str | None) -> str:
    return _NOT_WORD.sub(" ", (text or "")[:_COMPARED * 2].casefold()).strip()


def similarity(name: str, candidate: str, fuzzy: bool = True) -> float:
    """How surely ``candidate`` (an element's text or label, normalized) is called ``name`` (normalized)."""
    if not name or not candidate:
        return 0.0
    if name == candidate:
        return 1.0
    words, theirs = name.split(), candidate.split()
    if set(words) <= set(theirs) and len(theirs) <= len(words) + 3:
        return 0.9
    if set(theirs) <= set(words):
        return 0.85
    if not fuzzy:
        return 0.0
    matcher = SequenceMatcher(None, name[:_COMPARED], candidate[:_COMPARED], autojunk=False)
    if matcher.real_quick_ratio() < THRESHOLD or matcher.quick_ratio() < THRESHOLD:
        return 0.0
    return matcher.ratio()


def score(names: Sequence[str], element: PageElement, fuzzy: bool = True) -> float:
    fields = [f for f in (normalized(element.text), normalized(element.label)) if f]
    best = 0.0
    for index, name in enumerate(names):
        wanted = normalized(name)
        factor = 1.0 if index == 0 else ALIAS_FACTOR
        for field in fields:
            best = max(best, similarity(wanted, field, fuzzy) * factor)
    return best


def best_element(names: Sequence[str], elements: Sequence[PageElement], fuzzy: bool = True) -> PageElement | None:
    """The element ``names`` (a step's name first, then its other names) most surely names, or
    ``None`` when none reaches :data:`THRESHOLD`; on a tie the clickable one, then the first on
    the page."""
    chosen, chosen_rank = None, (THRESHOLD, False)
    for element in elements:
        rank = (score(names, element, fuzzy), (element.role or "") in CLICKABLE)
        if rank >= chosen_rank and (chosen is None or rank > chosen_rank):
            chosen, chosen_rank = element, rank
    return chosen
