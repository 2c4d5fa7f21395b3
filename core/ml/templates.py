"""Reply templates: which words of a resolved ticket's reply may reach another customer's draft.

A reply to one customer carries that customer's details in shapes no list of patterns will ever
cover: an address without a street suffix ("Calle Mayor 12", "Kingsway"), the last digits of a card
("ending 0004"), a city ("should reach Osaka by Friday"), a relative named in passing. So a draft
copies only what is shown *not* to belong to one customer, what recurs in the replies to several
different customers, and everything else is a *slot*: filled from the current ticket (its own order
id, address, city) or left as a visible placeholder such as ``[delivery address]`` or ``[detail]``.

A reply is cut into units, and each kind must earn its place differently:

- an ordinary lower-case word (or a common word opening a sentence) is template when replies to at
  least :data:`MIN_CUSTOMERS` distinct customers of the tenant use it (the tenant's *lexicon*);
- a *marked* unit, in the shapes personal details take (a run of capitalized words and numbers such
  as "Calle Mayor 12", "Osaka" or "0004", a detector's entity such as an email or an amount, a word
  of an uncased script), is template only when replies to at least :data:`MIN_CUSTOMERS` distinct
  customers *and* :data:`MIN_SHARE` of the customers of its group use it (:data:`ECHOED_SHARE` when
  it was mostly copied from those tickets' own messages, :data:`MAX_ECHO`). A group is the reply's intent, or for
  a tenant without intents its :data:`NEIGHBOURS` nearest resolved tickets, the neighbours the
  day-one draft rule drafts from;
- the evidence customer's own names are always slots (filled with this customer's).

A macro's menu paths, product names and the "5" of "5 working days" pass; a street, a city, card
digits or an account number recur for one customer, or for a few among many, and do not. Templates
are learned at training time (one :class:`Skeleton` per resolved reply) so a suggestion only fills
slots; a reply no training saw (an agent's edited reply, an LLM rewrite) is cut the same way at
suggestion time by :meth:`ReplyTemplates.adapt`.
"""

from __future__ import annotations

import re
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import cast

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from core.text.entities import PERSONAL_TYPES, find_entities
from core.text.vocabulary import is_common_word

#: A unit is template only when replies to at least this many distinct customers use it: one
#: customer's details recur in every reply to that customer, and two customers can share a street.
MIN_CUSTOMERS = 3
#: ... and, for a marked unit, at least this share of its group's customers. A macro's words are in
#: nearly every reply of its intent; even a big city is the city of a minority of an intent's
#: customers, and a value a minority shares is still another customer's value for the rest.
MIN_SHARE = 0.5
#: A marked unit that, where replies use it, was also in the ticket's own messages this often (or
#: more) is copied from the customer: a slot, unless nearly every customer of the group gets it
#: (:data:`ECHOED_SHARE`): customers asking how to change their PIN write "PIN", and so does the
#: macro that answers them.
MAX_ECHO = 0.5
ECHOED_SHARE = 0.8
#: Without intents, a reply's group is this many nearest resolved tickets (by the similarity index)
#: besides itself: enough for :data:`MIN_SHARE` of them to show a template.
NEIGHBOURS = 24
#: ... searched among at most this many resolved tickets (a random sample beyond), which bounds
#: training time on a large history without intents.
NEIGHBOUR_POOL = 5000
#: An intent's template is learned from at most this many of its newest replies: a macro shows in
#: the first hundred, and a large history would otherwise read every reply twice.
PER_INTENT = 500

#: Detector types that are always one unit (never split into words).
ENTITY_TYPES = PERSONAL_TYPES | {"date"}
#: How a slot made from a detector's entity is named.
ENTITY_KIND = {
    "email": "email", "url": "link", "iban": "iban", "card_number": "card number", "address": "address",
    "order_id": "order id", "account_id": "account number", "money": "amount", "phone": "phone",
    "person": "name", "date": "date",
}
NAME_KINDS = frozenset({"first name", "last name", "full name", "name"})

#: (kind, text): kind ``""`` is literal text, ``"="`` a detector entity learned as template (the
#: second net in :mod:`core.suggesting.drafting` spares it), anything else a slot of that kind (text empty:
#: a skeleton never stores the evidence's value).
Piece = tuple[str, str]
Skeleton = tuple[Piece, ...]

_TOKEN = re.compile(r"\[[a-z][a-z ]{0,30}\]|\s+|[^\W_](?:[\w'’.\-]*[^\W_])?|.", re.S)
_PLACEHOLDER = re.compile(r"\[([a-z][a-z ]{0,30})\]")
_ALNUM = re.compile(r"[^\W_]+")
_DIGIT = re.compile(r"\d")
_SENTENCE_END = frozenset(".!?…")
#: Words whose dot ends no sentence ("ul. Marszałkowska", "Dr. Okafor", "no. 12").
_ABBREVIATIONS = frozenset({"ul", "al", "pl", "os", "no", "nr", "st", "mr", "mrs", "ms", "dr", "prof", "apt", "approx",
                            "etc", "vs", "ca", "str", "av", "avda", "co", "ltd", "inc", "jr", "sr", "mt", "ft"}
                           | set("abcdefghijklmnopqrstuvwxyz"))
_FIRST_PERSON = frozenset({"i", "i'm", "i've", "i'll", "i'd", "i’m", "i’ve", "i’ll", "i’d"})
_COMMON = frozenset(ENGLISH_STOP_WORDS) | {"hi", "hello", "hey", "dear", "thanks", "thank", "please", "sorry"}
_MONTHS_DAYS = frozenset("""january february march april may june july august september october november
december jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday friday
saturday sunday""".split())
#: Words right before a number that make it an identifier rather than a quantity ("flat 3", "no. 12").
_ID_CUES = frozenset({"ending", "ends", "digits", "no", "number", "nr", "flat", "apt", "apartment", "unit", "house",
                      "suite", "room", "floor", "box", "id", "ref", "reference", "account", "order", "card"})
_CARD_CUE = re.compile(r"(?:ending|ends (?:in|with)|last (?:four|4)(?: digits)?|digits)\W*$")
_DELIVERY_CUE = re.compile(r"\b(?:address|deliver\w*|sent|send|ship\w*|post\w*|courier|parcel|dispatch\w*|mail\w*)\b")
_PLACE_CUE = frozenset({"in", "to", "at", "from", "near", "reach", "reaches", "around", "into", "via", "towards"})
#: Abbreviations that open an address ("ul. Marszałkowska 84"): right before an address slot, part of it.
_ADDRESS_PREFIXES = frozenset({"ul", "al", "pl", "os", "rue", "calle", "c/o", "apt", "flat", "unit", "suite"})
#: Short particles of addresses and names in several languages ("12 rue de Rivoli", "Jan van der Berg"):
#: between two slots they belong to one detail, so the draft shows one placeholder, not three.
_PARTICLES = frozenset({"de", "la", "le", "les", "du", "des", "del", "della", "di", "da", "do", "dos", "das", "van",
                        "der", "den", "von", "am", "im", "an", "y", "e", "rue", "via", "calle", "c/o", "bis"})


def is_common(word: str) -> bool:
    """Ordinary English: a stop word or one of :mod:`core.text.vocabulary`'s common words."""
    low = word.lower()
    return low in _COMMON or is_common_word(low)


@dataclass(frozen=True, slots=True)
class Unit:
    """One piece of a reply. ``kind``: ``space``, ``punct``, ``word`` (ordinary lower-case word),
    ``marked`` (capitalized words and numbers, or an uncased script), ``entity`` (a detector's
    span; ``entity`` holds its type) or ``placeholder`` (``key`` is its kind)."""

    text: str
    kind: str
    key: str
    opens_sentence: bool = False
    entity: str = ""


def cut(text: str, people: frozenset[str] = frozenset()) -> list[Unit]:
    """``text`` as units, in order; joining their texts gives ``text`` back."""
    raw: list[Unit] = []
    at_start, cursor = True, 0
    spans = [e for e in find_entities(text) if e.type in ENTITY_TYPES]
    for entity in [*spans, None]:
        end = entity.start if entity is not None else len(text)
        for match in _TOKEN.finditer(text, cursor, end):
            token = match.group()
            if token.isspace():
                raw.append(Unit(token, "space", token))
                at_start = at_start or "\n" in token
            elif len(token) == 1 and not token.isalnum():
                abbreviation = token == "." and raw and raw[-1].text.lower() in _ABBREVIATIONS
                raw.append(Unit(token, "punct", token))
                at_start = at_start or (token in _SENTENCE_END and not abbreviation)
            elif _PLACEHOLDER.fullmatch(token):
                raw.append(Unit(token, "placeholder", token[1:-1]))
                at_start = False
            else:
                raw.append(_word(token, at_start))
                at_start = False
        if entity is not None:
            raw.append(Unit(entity.text, "entity", f"{entity.type}:{entity.text}", at_start, entity.type))
            at_start, cursor = False, entity.end
    return _joined(_names_before_commas(raw, people))


def _word(token: str, at_start: bool) -> Unit:
    if _DIGIT.search(token):
        return Unit(token, "marked", token, at_start)
    if token.islower():
        return Unit(token, "word", token)
    low = token.lower()
    if low in _FIRST_PERSON or token[0].isupper() and at_start and (low in _COMMON or is_common_word(low)):
        return Unit(token, "word", low, at_start)
    return Unit(token, "marked", token, at_start)


def _names_before_commas(units: list[Unit], people: frozenset[str]) -> list[Unit]:
    """"Will, your card ..." opens with a name, "Will you ..." with a word: a known customer name
    that is also a common word is marked when a comma follows it."""
    if not people:
        return units
    out = list(units)
    for i, unit in enumerate(units):
        if unit.kind == "word" and unit.text in people and unit.text[0].isupper():
            after = i + 1  # walked, not sliced: a slice per name made a reply of names quadratic
            while after < len(units) and units[after].kind == "space":
                after += 1
            if after < len(units) and units[after].text == ",":
                out[i] = Unit(unit.text, "marked", unit.text, unit.opens_sentence)
    return out


def _joined(units: list[Unit]) -> list[Unit]:
    """Marked units separated by one space are one unit: "Calle Mayor 12" is one detail. A word
    capitalized only because it opens a sentence starts no unit ("Enjoy Osaka!")."""
    out: list[Unit] = []
    texts: list[list[str]] = []  # what each unit of ``out`` joins, joined once at the end (joining
    # as the run grows copied it for every word: a long run of capitalized words was quadratic)
    for unit in units:
        if (unit.kind == "marked" and len(out) >= 2 and out[-1].text == " " and out[-2].kind == "marked"
                and not (out[-2].opens_sentence and len(texts[-2]) == 1 and out[-2].text.isalpha())):
            out.pop()
            texts.pop()
            texts[-1].append(unit.text)
        else:
            out.append(unit)
            texts.append([unit.text])
    return [unit if len(parts) == 1 else Unit(" ".join(parts), "marked", " ".join(parts), unit.opens_sentence)
            for unit, parts in zip(out, texts, strict=True)]


def words_of(text: str) -> set[str]:
    """Lower-case letter and digit runs of ``text``: what "appears in the ticket" is checked against."""
    return {w.lower() for w in _ALNUM.findall(text)}


def _telling(word: str) -> bool:
    """A word that says something about a customer when two texts share it (not "the", not "5")."""
    if any(c.isdigit() for c in word):
        return len(word) >= 2
    return len(word) >= 3 and not is_common(word)


def echoes(unit: Unit, own: set[str]) -> bool:
    """``unit`` repeats something written in the ticket itself (its messages, requester, fields)."""
    return any(_telling(w) and w in own for w in words_of(unit.text))


@dataclass(frozen=True)
class ReplySource:
    """A resolved reply and what training knows of the ticket it answered."""

    ticket_id: int
    reply: str
    customer: str  # who the reply was written to: distinct customers are counted by this
    requester_name: str | None = None
    agent_name: str | None = None
    own_text: str = ""  # the ticket's own messages, requester, organization and field values


@dataclass(frozen=True)
class _Profile:
    words: frozenset[str]  # word keys (the lexicon counts them)
    marked: frozenset[str]  # marked and entity keys
    echoed: frozenset[str]  # the marked keys that repeat the ticket's own text
    openers: frozenset[str]  # capitalized words that open a sentence ("Enjoy", "Osaka")
    inner: frozenset[str]  # words capitalized inside a sentence ("Osaka" in "trip to Osaka")


def _name_parts(name: str | None) -> tuple[str, ...]:
    return tuple(p for p in (name or "").split() if len(p) > 1)


def _bare(word: str) -> str:
    """``word`` without a possessive: "Ada's" is Ada."""
    return word[:-2] if word.endswith(("'s", "’s")) else word


def _profile(source: ReplySource, people: frozenset[str]) -> _Profile:
    names = set(_name_parts(source.requester_name))
    lowered = {n.lower() for n in names}
    own = words_of(source.own_text) | lowered
    words, marked, echoed, openers, inner = set(), set(), set(), set(), set()
    units = cut(source.reply, people)
    for i, unit in enumerate(units):
        if unit.kind == "word" and unit.key not in lowered:
            words.add(unit.key)
        elif unit.kind in ("marked", "entity") and not names & {_bare(p) for p in unit.text.split()}:
            marked.add(unit.key)
            if echoes(unit, own):
                echoed.add(unit.key)
            if unit.kind == "marked" and unit.opens_sentence and _opener(units, i):
                openers.add(unit.text)
            elif unit.kind == "marked":
                inner.update(unit.text.split())
    return _Profile(frozenset(words), frozenset(marked), frozenset(echoed), frozenset(openers), frozenset(inner))


def _opener(units: list[Unit], i: int) -> bool:
    """A single word opening a sentence that goes on ("Enjoy Osaka!"), not a name alone on a line
    ("— Sam")."""
    unit = units[i]
    return (" " not in unit.text and unit.text.isalpha() and i + 2 < len(units) and units[i + 1].text == " "
            and units[i + 2].kind in ("word", "marked", "entity"))


def _lexicon(profiles: Sequence[_Profile], customers: Sequence[str],
             people: frozenset[str]) -> tuple[frozenset[str], frozenset[str]]:
    """The tenant's ordinary words: lower-case words in replies to :data:`MIN_CUSTOMERS` distinct
    customers; and capitalized words that open sentences in as many replies but are never
    capitalized inside one and rarely copied from the ticket ("Enjoy" is grammar, "Osaka" a name:
    it is capitalized wherever it stands)."""
    words: dict[str, set[str]] = defaultdict(set)
    openers: dict[str, set[str]] = defaultdict(set)
    inner: dict[str, set[str]] = defaultdict(set)
    echoed: dict[str, set[str]] = defaultdict(set)
    for profile, customer in zip(profiles, customers, strict=True):
        words[customer] |= profile.words
        openers[customer] |= profile.openers
        inner[customer] |= profile.inner
        echoed[customer] |= profile.echoed & profile.openers
    counts = Counter(w for found in words.values() for w in found)
    lowered_people = {p.lower() for p in people}
    lexicon = frozenset(w for w, n in counts.items()
                        if n >= MIN_CUSTOMERS and not (w in lowered_people and not is_common(w)))
    opened = Counter(w for found in openers.values() for w in found)
    capitalized = Counter(w for found in inner.values() for w in found)
    copied = Counter(w for found in echoed.values() for w in found)
    ordinary = frozenset(w for w, n in opened.items()
                         if n >= MIN_CUSTOMERS and not capitalized[w] and copied[w] < MAX_ECHO * n and w not in people)
    return lexicon, ordinary


def _template_keys(members: Iterable[int], profiles: Sequence[_Profile], customers: Sequence[str],
                   only: frozenset[str] | None = None) -> frozenset[str]:
    """The marked keys (of ``only``, when given) that are template among ``members``."""
    marked: dict[str, set[str]] = defaultdict(set)
    echoed: dict[str, set[str]] = defaultdict(set)
    for i in members:
        marked[customers[i]] |= profiles[i].marked if only is None else profiles[i].marked & only
        echoed[customers[i]] |= profiles[i].echoed
    need = max(MIN_CUSTOMERS, MIN_SHARE * len(marked))
    need_copied = max(MIN_CUSTOMERS, ECHOED_SHARE * len(marked))
    used = Counter(k for keys in marked.values() for k in keys)
    copied = Counter(k for c, keys in echoed.items() for k in keys & marked[c])
    return frozenset(k for k, n in used.items() if n >= (need if copied[k] < MAX_ECHO * n else need_copied))


@dataclass
class ReplyTemplates:
    """What drafts may copy, learned from a tenant's resolved replies (see the module docstring)."""

    skeletons: dict[int, Skeleton] = field(default_factory=dict)  # by resolved ticket id
    groups: dict[str, frozenset[str]] = field(default_factory=dict)  # intent -> its template marked keys
    shared: frozenset[str] = frozenset()  # marked keys template in some group
    lexicon: frozenset[str] = frozenset()
    openers: frozenset[str] = frozenset()  # capitalized words that are ordinary at a sentence's start
    people: frozenset[str] = frozenset()
    summary: dict = field(default_factory=dict)

    @classmethod
    def learn(cls, sources: Sequence[ReplySource], people: frozenset[str] = frozenset(),
              intents: Sequence[str | None] | None = None,
              neighbours: Sequence[np.ndarray] | None = None) -> ReplyTemplates:
        """Templates from ``sources``, grouped by ``intents`` (one per source; ``None`` stays
        ungrouped) or, without intents, by ``neighbours`` (positions of each source's nearest
        other sources)."""
        customers = [s.customer for s in sources]
        members: dict[str, list[int]] = defaultdict(list)
        if intents is not None:
            for i, intent in enumerate(intents):
                if intent:
                    members[intent].append(i)
            members = {g: rows[-PER_INTENT:] for g, rows in members.items()}
            read: Sequence[int] = sorted({i for rows in members.values() for i in rows})
        else:
            read = range(len(sources))
        profiles: list[_Profile | None] = [None] * len(sources)
        for i in read:
            profiles[i] = _profile(sources[i], people)
        profiled = cast(list[_Profile], profiles)  # what follows reads only the rows read above
        lexicon, openers = _lexicon([profiled[i] for i in read], [customers[i] for i in read], people)
        templates = cls(lexicon=lexicon, openers=openers, people=people)
        per_source: list[frozenset[str]] = []
        if intents is not None:
            templates.groups = {g: _template_keys(rows, profiled, customers) for g, rows in members.items()}
            per_source = [templates.groups.get(intent or "", frozenset()) for intent in intents]
        else:
            per_source = [
                _template_keys([i, *map(int, neighbours[i])], profiled, customers, profiled[i].marked)
                if neighbours is not None else frozenset()
                for i in range(len(sources))
            ]
        templates.shared = frozenset().union(*per_source) if per_source else frozenset()
        interned: dict[Skeleton, Skeleton] = {}
        for source, keys in zip(sources, per_source, strict=True):
            skeleton = templates.build(source.reply, source.requester_name, keys, agent_name=source.agent_name)
            templates.skeletons[source.ticket_id] = interned.setdefault(skeleton, skeleton)
        templates.summary = templates._summarize(len({c for c in customers}))
        return templates

    def build(self, reply: str, requester_name: str | None, template: frozenset[str], *, lenient: bool = False,
              allowed: frozenset[str] = frozenset(), agent_name: str | None = None) -> Skeleton:
        """The skeleton of ``reply`` (written to ``requester_name``) given its group's ``template``
        keys. ``lenient`` (a reply no training saw): ordinary lower-case words, small quantities
        ("2 working days") and marked units whose words are all in ``allowed`` are kept too."""
        units = cut(reply, self.people)
        names = _name_parts(requester_name)
        agents = frozenset(_name_parts(agent_name))
        lowered_people = {p.lower() for p in self.people}
        pieces: list[Piece] = []
        for i, unit in enumerate(units):
            if unit.kind in ("space", "punct"):
                pieces.append(("", unit.text))
            elif unit.kind == "placeholder":
                pieces.append((unit.key, ""))
            elif (name := _name_kind(unit, names)) is not None:
                pieces.append((name, ""))
            elif unit.kind == "word":
                ordinary = unit.key in self.lexicon or (
                    lenient and not (unit.key in lowered_people and not is_common(unit.key)))
                pieces.append(("", unit.text) if ordinary else ("detail", ""))
            elif unit.key in template:
                pieces.append(("=" if unit.kind == "entity" else "", unit.text))
            elif (unit.kind == "marked" and unit.opens_sentence and _opener(units, i) and unit.text not in self.people
                  and (unit.text.lower() in self.lexicon or unit.text in self.openers)):
                pieces.append(("", unit.text))  # "Refunds take ...", "Enjoy ...": grammar, not a name
            elif lenient and (_quantity(units, i) or _allowed(unit, allowed)):
                pieces.append(("=" if unit.kind == "entity" else "", unit.text))
            elif unit.kind == "marked" and agents and set(unit.text.split()) <= agents:
                pieces.append(("agent name", ""))
            else:
                pieces.append((_slot_kind(unit, pieces, self.people), ""))
        return _merged(pieces)

    def adapt(self, reply: str, requester_name: str | None, group: str | None = None,
              allowed: Iterable[str] = ()) -> Skeleton:
        """The skeleton of a reply no training saw (an agent's edited reply, a rewrite): lenient,
        with what is template in ``group`` or any group, and the words in ``allowed``."""
        keys = self.groups.get(group or "", frozenset()) | self.shared
        return self.build(reply, requester_name, keys, lenient=True, allowed=frozenset(allowed))

    def skeleton_for(self, ticket_id: int, reply: str, requester_name: str | None,
                     group: str | None = None) -> Skeleton:
        """The learned skeleton of a resolved reply (built strictly now when training did not)."""
        known = self.skeletons.get(ticket_id)
        if known is not None:
            return known
        return self.build(reply, requester_name, self.groups.get(group or "", frozenset()))

    def _summarize(self, customers: int) -> dict:
        unique = set(self.skeletons.values())
        slots = [sum(1 for kind, _ in s if kind not in ("", "=") and kind not in NAME_KINDS) for s in unique]
        return {"replies": len(self.skeletons), "templates": len(unique), "customers": customers,
                "groups": len(self.groups), "lexicon": len(self.lexicon),
                "median_placeholders": float(np.median(slots)) if slots else 0.0}


def _name_kind(unit: Unit, names: tuple[str, ...]) -> str | None:
    """The slot kind when ``unit`` is (part of) the evidence customer's name."""
    if not names or unit.kind not in ("word", "marked"):
        return None
    parts = [_bare(p) for p in unit.text.split()]
    if unit.kind == "word":  # "hi ada": lower-case, but still her name
        hit = [n for n in names if n.lower() == unit.key and not is_common(n)]
        return ("first name" if hit[0] == names[0] else "last name") if hit else None
    if not set(parts) & set(names):
        return None
    if parts == [names[0]]:
        return "first name"
    if parts == list(names):
        return "full name"
    if len(parts) == 1:
        return "last name"
    return "name"


def _quantity(units: list[Unit], i: int) -> bool:
    """A small number followed by an ordinary word and not preceded by an identifier cue: "2 working
    days", not "flat 3" or "ending 0004"."""
    unit = units[i]
    if unit.kind != "marked" or not re.fullmatch(r"[1-9]\d{0,2}", unit.text):
        return False
    after = units[i + 2] if i + 2 < len(units) and units[i + 1].text == " " else None
    before = next((u for u in reversed(units[:i]) if u.kind != "space"), None)
    if before is not None and (before.kind in ("marked", "entity") or before.text.lower() in _ID_CUES
                               or before.text in "#№"):
        return False
    return after is not None and after.kind == "word"


def _allowed(unit: Unit, allowed: frozenset[str]) -> bool:
    words = words_of(unit.text)
    return bool(words) and words <= allowed


def _slot_kind(unit: Unit, before: list[Piece], people: frozenset[str]) -> str:
    """A name for what the slot holds, from its shape and the words just before it: it names the
    placeholder and says which of the current ticket's details may fill it."""
    context = "".join(text for _, text in before[-12:]).lower()
    last = (context.split() or [""])[-1]
    if unit.kind == "entity":
        kind = ENTITY_KIND.get(unit.entity, "detail")
        return "delivery address" if kind == "address" and _DELIVERY_CUE.search(context) else kind
    if unit.kind == "word":
        return "detail"
    parts = unit.text.split()
    if {_bare(p) for p in parts} & people:
        return "name"
    words = {w.lower() for w in parts}
    if any(c.isdigit() for c in unit.text):
        if re.fullmatch(r"\d{4}", unit.text) and _CARD_CUE.search(context):
            return "card digits"
        if words & _MONTHS_DAYS:
            return "date"
        if any(c.isalpha() for c in unit.text) and any(p[:1].isupper() for p in parts):
            return "delivery address" if _DELIVERY_CUE.search(context) else "address"
        return "account number" if re.fullmatch(r"\d{6,}", unit.text) else "number"
    if words <= _MONTHS_DAYS:
        return "date"
    if not any(c.isupper() for c in unit.text):
        return "detail"  # an uncased script
    if last in ("to", "at") and _DELIVERY_CUE.search(context):
        return "delivery address"
    if last in _PLACE_CUE:
        return "city"
    return "detail"


#: When two slots are merged, the more specific kind names the result.
_KIND_ORDER = ("delivery address", "address", "card digits", "card number", "iban", "account number", "order id",
               "email", "phone", "amount", "date", "city", "number", "link", "agent name", "detail")


def _merged(pieces: list[Piece]) -> Skeleton:
    """Slots separated only by spaces, commas, dashes, slashes or address particles are one
    detail ("Calle Mayor 12, 28013 Madrid" is one address, not three placeholders)."""
    out: list[Piece] = []
    for kind, text in pieces:
        if kind in ("", "=") or not out:
            out.append((kind, text))
            continue
        if kind in _ADDRESS_SLOTS:
            start = len(out)
            while start > 0 and out[start - 1][0] == "" and out[start - 1][1] in (" ", "."):
                start -= 1
            if start > 0 and out[start - 1][0] == "" and out[start - 1][1].lower() in _ADDRESS_PREFIXES:
                del out[start - 1:]
                kind = kind if "address" in kind else "address"
        gap_end = len(out)
        if kind in ("address", "delivery address", "detail", "city") and _word_after_house_number(out):
            gap_end = len(out) - 3  # "12 boulevard Haussmann": one address
        while gap_end > 0 and out[gap_end - 1][0] == "" and _joins(out[gap_end - 1][1]):
            gap_end -= 1
        previous = out[gap_end - 1][0] if gap_end > 0 else ""
        gap = "".join(t for _, t in out[gap_end:])
        if (previous not in ("", "=") and "\n" not in gap and len(gap) <= 12
                and (previous == kind == "name" or not {previous, kind} & NAME_KINDS)):
            del out[gap_end:]
            out[-1] = (_specific(previous, kind), "")
        else:
            out.append((kind, text))
    return tuple(_coalesce(out))


_ADDRESS_SLOTS = frozenset({"delivery address", "address", "number", "detail", "city"})


def _word_after_house_number(out: list[Piece]) -> bool:
    """``out`` ends with a number slot, a space, one lower-case word and a space ("12 boulevard ")."""
    if len(out) < 4:
        return False
    (before, _), (_, space1), (kind_word, word), (_, space2) = out[-4:]
    return (before == "number" and kind_word == "" and word.isalpha() and word.islower()
            and space1 == space2 == " ")


def _joins(text: str) -> bool:
    return text.isspace() or text in ",-/–" or text.lower() in _PARTICLES


def _specific(a: str, b: str) -> str:
    if a in NAME_KINDS or b in NAME_KINDS:
        return a if a == b else "name"
    rank = {k: i for i, k in enumerate(_KIND_ORDER)}
    if {a, b} == {"city", "number"}:
        return "address"
    return min((a, b), key=lambda k: rank.get(k, len(rank)))


def _coalesce(pieces: list[Piece]) -> list[Piece]:
    """Adjacent literal pieces as one (a smaller artifact, a faster fill)."""
    out: list[Piece] = []
    for kind, text in pieces:
        if kind == "" and out and out[-1][0] == "":
            out[-1] = ("", out[-1][1] + text)
        else:
            out.append((kind, text))
    return out


def nearest_resolved(matrix, k: int = NEIGHBOURS, pool: int = NEIGHBOUR_POOL, chunk: int = 512,
                     seed: int = 0) -> list[np.ndarray]:
    """For each row of ``matrix`` (unit rows of resolved tickets), the positions of its ``k`` nearest
    other rows, searched among at most ``pool`` rows."""
    n = matrix.shape[0]
    candidates = np.arange(n) if n <= pool else np.sort(np.random.default_rng(seed).choice(n, pool, replace=False))
    pool_rows = matrix[candidates]
    out: list[np.ndarray] = []
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        sims = matrix[start:stop] @ pool_rows.T
        sims = sims.toarray() if sparse.issparse(sims) else np.asarray(sims)
        own = np.searchsorted(candidates, np.arange(start, stop))
        hit = (own < len(candidates)) & (candidates[np.minimum(own, len(candidates) - 1)] == np.arange(start, stop))
        sims[np.nonzero(hit)[0], own[hit]] = -np.inf
        take = min(k, max(len(candidates) - 1, 0))
        if take == 0:
            out.extend(np.zeros(0, np.int64) for _ in range(stop - start))
            continue
        top = np.argpartition(-sims, take - 1, axis=1)[:, :take]
        out.extend(candidates[row] for row in top)
    return out


def learn_for_model(model, sources: Sequence[ReplySource]) -> ReplyTemplates:
    """Templates for ``model``'s resolved replies: grouped by intent when it has intents, by
    nearest resolved tickets in its similarity index otherwise."""
    people = model.vocabulary.people
    if model.intents is not None:
        return ReplyTemplates.learn(sources, people, intents=[model.resolutions[s.ticket_id].intent for s in sources])
    index = model.index
    row_of = {int(tid): pos for pos, tid in enumerate(index.ticket_ids[index.resolved_rows])}
    ordered = sorted(sources, key=lambda s: row_of.get(s.ticket_id, len(row_of)))
    known = [s for s in ordered if s.ticket_id in row_of]
    positions = np.asarray([row_of[s.ticket_id] for s in known], dtype=np.int64)
    matrix = index.matrix[index.resolved_rows[positions]] if len(known) else None
    neighbours = nearest_resolved(matrix) if matrix is not None and matrix.shape[0] > 1 else None
    return ReplyTemplates.learn(known, people, neighbours=neighbours)


def sources_from_resolutions(model) -> list[ReplySource]:
    """What a model alone says of its resolved replies (no ticket context): for models trained
    without templates."""
    return [ReplySource(tid, r.reply, r.requester_name or f"ticket:{tid}", r.requester_name)
            for tid, r in model.resolutions.items() if r.reply]


_lazy_lock = threading.Lock()


def templates_for(model) -> ReplyTemplates:
    """The model's templates: stored by training, or learned once from its resolved replies for a
    model trained before templates existed (or fitted directly, as replay and benchmarks do)."""
    templates = getattr(model, "reply_templates", None)
    if templates is not None:
        return templates
    with _lazy_lock:
        templates = getattr(model, "reply_templates", None)
        if templates is None:
            templates = learn_for_model(model, sources_from_resolutions(model))
            model.reply_templates = templates
    return templates


def mask_echoes(reply: str, own_text: str, requester_name: str | None = None) -> str:
    """``reply`` with every marked detail that repeats its own ticket (``own_text``: the
    customer's message) replaced by a placeholder: an agent's edited reply keeps the words it
    would give anyone, not the address or digits it copied from this customer. Names are left for
    the draft's name slots."""
    own = words_of(own_text)
    names = _name_parts(requester_name)
    pieces: list[Piece] = []
    for unit in cut(reply):
        if unit.kind in ("marked", "entity") and _name_kind(unit, names) is None and echoes(unit, own):
            pieces.append((_slot_kind(unit, pieces, frozenset()), ""))
        else:
            pieces.append(("", unit.text))
    return "".join(text or f"[{'name' if kind in NAME_KINDS else kind}]" for kind, text in _merged(pieces))
