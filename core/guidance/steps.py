"""Navigation steps written in a support reply, in order: "Settings > Export > Export data",
"Go to Reports and click Download", "click Reports, then Download", "1. Open Settings 2. Click
Export". The steps are the names of the things to click, so the widget can find them on the
customer's page (:mod:`core.guidance.matching`).

Only a name that reads as one is taken: a quoted one, or words starting with a capital letter
("click Download my data", not "click the member's row"), which keeps ordinary prose ("open a
ticket", "go to bed") out of the steps. A reply without such a step has no guide.

Replies come from the tenant's helpdesk and may be anything, so the work is bounded: the text is
cut at :data:`MAX_TEXT_CHARS` before it is read, every pattern is linear (bounded repetitions,
no nested ones), and at most :data:`MAX_STEPS` steps of :data:`MAX_STEP_CHARS` are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Text read per reply; a reply longer than this is a document, not a set of directions.
MAX_TEXT_CHARS = 20_000
#: Steps kept: a guide longer than this is not one a customer follows on screen.
MAX_STEPS = 10
#: Longest step name kept (a button's or a menu's name is short).
MAX_STEP_CHARS = 60
#: Words a name may have.
MAX_NAME_WORDS = 6

_VERB = (r"go\s+to|navigate\s+to|head\s+(?:over\s+)?to|open(?:\s+up)?|click(?:\s+on)?|tap(?:\s+on)?|press|"
         r"select|choose|pick|visit|switch\s+to|hit")
#: Words that end a name: what follows says where or why, not what.
_STOPS = frozenset("""and then to in on at for from with by or if when where which that so but as into onto
under over near next below above inside via until again once the a an your you it this there here""".split())
#: Words that end a name and say what kind of thing it was ("the Export button").
_KINDS = frozenset("button buttons tab tabs link links menu menus page pages icon option options section "
                   "screen panel field dropdown item entry toggle switch checkbox card area view".split())
_QUOTED = r"\"([^\"\n]{1,60})\"|“([^”\n]{1,60})”|'([^'\n]{1,60})'|‘([^’\n]{1,60})’"
#: A word of a name: letters, digits and the joiners a button's name has ("Sign-in", "Q&A", "2FA").
_REST = r"[\w&'’/-]{0,30}"
#: Verbs start the next step ("Save, click Close").
VERBS = frozenset("go navigate head open click tap press select choose pick visit switch hit".split())
_ENDS = "|".join(sorted(_STOPS | _KINDS | VERBS))
_NAME = (rf"(?:{_QUOTED}|(?P<name>[A-Z0-9]{_REST}"
         rf"(?:[ \t]+(?!(?i:{_ENDS})\b)[^\W_]{_REST}){{0,{MAX_NAME_WORDS - 1}}}))")
#: "click Reports", "go to the Settings page", "then Download", "and click 'Save'".
_ACTION = re.compile(rf"(?i:\b(?:{_VERB})|(?:^|[,;]|\band)\s*then)[ \t]+(?i:(?:the|your|on|to)[ \t]+){{0,2}}{_NAME}",
                     re.MULTILINE)
#: A breadcrumb's separators: "Settings > Export", "Settings → Export", "Settings » Export".
_CRUMB = re.compile(r"[ \t]*(?:>|→|»|->|=>|›)[ \t]*")
#: A numbered or bulleted list's marker, read as the end of a sentence.
_MARKER = re.compile(r"(?:^|(?<=\s))(?:\d{1,2}[.)]|[-*•])(?=\s)", re.MULTILINE)
_SENTENCE_END = re.compile(r"[.!?;:\n]|,(?!\s*then\b)")


@dataclass(frozen=True)
class Step:
    """One thing to click, by its name as the reply wrote it; ``at``: where it starts in the text."""

    text: str
    at: int


def _trimmed(words: list[str]) -> str:
    """The name in ``words``: up to the first word that says where, why or what kind."""
    kept: list[str] = []
    for word in words:
        if word.lower() in _STOPS or word.lower() in _KINDS or kept and word.lower() in VERBS:
            break
        kept.append(word)
    return " ".join(kept).strip(" '’-/&")[:MAX_STEP_CHARS].strip()


def _name(match: re.Match) -> tuple[str, int]:
    for group in (1, 2, 3, 4):
        if match.group(group):
            return match.group(group).strip()[:MAX_STEP_CHARS], match.start(group)
    return _trimmed(match.group("name").split()), match.start("name")


def _actions(text: str) -> list[Step]:
    found = []
    for match in _ACTION.finditer(text):
        name, at = _name(match)
        if name:
            found.append(Step(name, at))
    return found


def _leading_name(part: str) -> str:
    """The name a breadcrumb part starts with ("Export data and pick CSV" -> "Export data")."""
    name = _trimmed(_SENTENCE_END.split(part, maxsplit=1)[0].split()[:MAX_NAME_WORDS])
    return name if name[:1].isalpha() else ""  # "3 > 2" compares numbers


def _trailing_name(part: str) -> str:
    """The name a breadcrumb's first part ends with ("You can track it under Cards" -> "Cards"):
    the capitalised words after the last word that says where."""
    words = re.split(r"[.!?;:,\n]", part)[-1].split()[-MAX_NAME_WORDS:]
    kept: list[str] = []
    for word in reversed(words):
        if word.lower() in _STOPS or re.fullmatch(_VERB, word, re.IGNORECASE) or not word[:1].isupper() and not kept:
            break
        kept.insert(0, word)
    while kept and not kept[0][:1].isupper():
        kept.pop(0)
    return " ".join(kept)[:MAX_STEP_CHARS].strip()


def _breadcrumbs(text: str) -> list[Step]:
    """Every "A > B > C" chain's names, with their positions."""
    found: list[Step] = []
    separators = list(_CRUMB.finditer(text))
    index = 0
    while index < len(separators):
        chain = [separators[index]]
        while index + 1 < len(separators):
            between = text[chain[-1].end():separators[index + 1].start()]
            if len(between) > MAX_STEP_CHARS or _SENTENCE_END.search(between):
                break
            chain.append(separators[index + 1])
            index += 1
        index += 1
        start = max(0, chain[0].start() - MAX_STEP_CHARS * 2)
        first = _trailing_name(text[start:chain[0].start()])
        if first:
            found.append(Step(first, chain[0].start() - len(first)))
        for left, right in zip(chain, chain[1:], strict=False):
            middle = _leading_name(text[left.end():right.start()])
            if middle:
                found.append(Step(middle, left.end()))
        last = _leading_name(text[chain[-1].end():chain[-1].end() + MAX_STEP_CHARS * 2])
        if last:
            found.append(Step(last, chain[-1].end()))
    return found


def extract_steps(reply: str | None) -> list[str]:
    """The names to click, in the order the reply gives them; empty when it gives none.

    >>> extract_steps("Go to Settings > Export and click Export data.")
    ['Settings', 'Export', 'Export data']
    """
    if not reply:
        return []
    text = _MARKER.sub(";", reply[:MAX_TEXT_CHARS])
    steps = sorted([*_actions(text), *_breadcrumbs(text)], key=lambda s: s.at)
    names: list[str] = []
    last_at = -1
    for step in steps:
        if step.at == last_at:
            continue  # one name found by both readings ("go to Settings > Export")
        last_at = step.at
        if names and names[-1].casefold() == step.text.casefold():
            continue
        names.append(step.text)
        if len(names) == MAX_STEPS:
            break
    return names
