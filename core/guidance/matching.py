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
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Candidate:
    """An element with its text and label normalized once, however many names it is compared to."""

    element: PageElement
    fields: tuple[str, ...]
    words: tuple[frozenset[str], ...]


def candidates(elements: Sequence[PageElement]) -> list[Candidate]:
    out = []
    for element in elements:
        fields = tuple(f for f in (normalized(element.text), normalized(element.label)) if f)
        out.append(Candidate(element, fields, tuple(frozenset(f.split()) for f in fields)))
    return out


def _similarity(name: str, words: frozenset[str], count: int, field: str, theirs: frozenset[str],
                fuzzy: bool) -> float:
    if name == field:
        return 1.0
    if not fuzzy and words.isdisjoint(theirs):
        return 0.0
    if words <= theirs and len(theirs) <= count + 3:
        return 0.9
    if theirs <= words:
        return 0.85
    if not fuzzy:
        return 0.0
    matcher = SequenceMatcher(None, name[:_COMPARED], field[:_COMPARED], autojunk=False)
    if matcher.real_quick_ratio() < THRESHOLD or matcher.quick_ratio() < THRESHOLD:
        return 0.0
    return matcher.ratio()


def similarity(name: str, candidate: str, fuzzy: bool = True) -> float:
    """How surely ``candidate`` (an element's text or label, normalized) is called ``name`` (normalized)."""
    if not name or not candidate:
        return 0.0
    words = frozenset(name.split())
    return _similarity(name, words, len(name.split()), candidate, frozenset(candidate.split()), fuzzy)


def _score(wanted: list[tuple[str, frozenset[str], int, float]], candidate: Candidate, fuzzy: bool) -> float:
    best = 0.0
    for name, words, count, factor in wanted:
        for field, theirs in zip(candidate.fields, candidate.words, strict=True):
            best = max(best, _similarity(name, words, count, field, theirs, fuzzy) * factor)
    return best


def _wanted(names: Sequence[str]) -> list[tuple[str, frozenset[str], int, float]]:
    out = []
    for index, name in enumerate(names):
        wanted = normalized(name)
        if wanted:
            out.append((wanted, frozenset(wanted.split()), len(wanted.split()), 1.0 if index == 0 else ALIAS_FACTOR))
    return out


def score(names: Sequence[str], element: PageElement, fuzzy: bool = True) -> float:
    return _score(_wanted(names), candidates([element])[0], fuzzy)


def best_candidate(names: Sequence[str], among: Sequence[Candidate], fuzzy: bool = True) -> PageElement | None:
    """The element ``names`` (a step's name first, then its other names) most surely names, or
    ``None`` when none reaches :data:`THRESHOLD`; on a tie the clickable one, then the first on
    the page. Without ``fuzzy`` a name and an element share a word or do not match, so a page
    without any of the names' words is passed over at once."""
    wanted = _wanted(names)
    if not fuzzy:
        every = frozenset().union(*(w for _, w, _, _ in wanted))
        among = [c for c in among if any(not every.isdisjoint(theirs) for theirs in c.words)]
    chosen, chosen_rank = None, (THRESHOLD, False)
    for candidate in among:
        rank = (_score(wanted, candidate, fuzzy), (candidate.element.role or "") in CLICKABLE)
        if rank >= chosen_rank and (chosen is None or rank > chosen_rank):
            chosen, chosen_rank = candidate.element, rank
    return chosen


def names_any(names: Sequence[str], among: Sequence[Candidate]) -> bool:
    """Whether one of ``among`` reads as one of ``names`` without fuzzy matching (the first found ends the search)."""
    wanted = _wanted(names)
    every = frozenset().union(*(w for _, w, _, _ in wanted))
    return any(_score(wanted, c, False) >= THRESHOLD for c in among
               if any(not every.isdisjoint(theirs) for theirs in c.words))


def best_element(names: Sequence[str], elements: Sequence[PageElement], fuzzy: bool = True) -> PageElement | None:
    """:func:`best_candidate` among ``elements``."""
    return best_candidate(names, candidates(elements), fuzzy)
