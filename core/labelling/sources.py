"""Where a tenant's intents come from when its helpdesk has no intent field.

Real helpdesk histories carry no ``intent``: they carry what the team already uses to sort
tickets. A category or reason dropdown (a custom field), the ticket type, the group a ticket went
to, the form, the macro the agent applied, or a family of tags (``reason:refund``,
``reason:late``...). A :class:`LabelSource` names one of them; the tenant's setting
``label_source`` says which one training reads (``intent`` when not set: the imported field).

Sources are written as short specs, the same on the command line, in settings and in JSON:

====================  ========================================================================
``intent``            the ticket's own intent field (labelled imports; the default)
``field:KEY``         a custom field (Zendesk's numeric field id, Freshdesk's ``cf_...`` name)
``type``              the ticket type (Zendesk's type, Freshdesk's ``type``)
``group``             the group or team the ticket went to
``form``              the ticket form
``macro``             the last macro or saved reply an agent applied
``tags:PREFIX*``      the one tag of a family sharing a prefix (``tags:reason:*``)
``tags:A,B,C``        the one tag of a listed family
``discovered``        intents discovered from the customers' words and accepted by an admin
====================  ========================================================================

:func:`rank_sources` scores every candidate on the tenant's stored tickets by what makes a label
source worth learning from: how many tickets it covers, how many classes it has and how evenly
they are used, and how predictable it is from the customer's text (a quick cross-validation: a
field the agents fill at random, like the customer's plan, scores near zero however complete it is).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from core.errors import BadInput

#: A class needs this many tickets to be learned; rarer values are left unlabelled.
MIN_PER_CLASS = 5
#: Values longer than this, or a field whose values are mostly distinct, read as free text or ids.
MAX_VALUE_LENGTH = 128
FREE_TEXT_DISTINCT_SHARE = 0.5
#: Rows the quick cross-validation reads per candidate (keeps `labels suggest` to seconds).
CV_SAMPLE = 3000
CV_FOLDS = 3
#: Separators that make a tag prefix a family (``reason:refund``, ``cat_billing``, ``topic/login``).
_FAMILY_SEPARATORS = re.compile(r"[:/_-]")

SIMPLE_KINDS = ("intent", "type", "group", "form", "macro", "discovered")
KINDS = (*SIMPLE_KINDS, "field", "tags")


@dataclass(frozen=True)
class LabelRow:
    """What a label source can read of one stored ticket."""

    intent: str | None = None
    tags: Sequence[str] = ()
    custom_fields: Mapping[str, Any] = field(default_factory=dict)
    ticket_type: str | None = None
    group: str | None = None
    form: str | None = None
    macros: Sequence[str] = ()
    discovered: str | None = None


@dataclass(frozen=True)
class LabelSource:
    kind: str
    name: str | None = None  # the field key, or the tag prefix
    tags: tuple[str, ...] = ()  # a listed tag family

    @property
    def spec(self) -> str:
        if self.kind == "field":
            return f"field:{self.name}"
        if self.kind == "tags":
            return f"tags:{self.name}*" if self.name is not None else "tags:" + ",".join(self.tags)
        return self.kind

    def __str__(self) -> str:
        return self.spec

    @classmethod
    def parse(cls, spec: str) -> LabelSource:
        """The source a spec names; :class:`BadInput` saying what is wrong otherwise."""
        text = (spec or "").strip()
        kind, sep, rest = text.partition(":")
        kind = kind.strip().lower()
        if kind in SIMPLE_KINDS and not sep:
            return cls(kind)
        if kind == "field" and rest.strip():
            return cls("field", rest.strip())
        if kind == "tags" and rest.strip():
            rest = rest.strip()
            if rest.endswith("*"):
                prefix = rest[:-1].strip().lower()
                if not prefix:
                    raise BadInput("a tag family needs a prefix before '*' (tags:reason:*)", field="source")
                return cls("tags", prefix)
            listed = tuple(dict.fromkeys(t.strip().lower() for t in rest.split(",") if t.strip()))
            if len(listed) < 2:
                raise BadInput("a listed tag family needs at least two tags (tags:refund,late,broken)", field="source")
            return cls("tags", None, listed)
        raise BadInput(f"unknown label source {spec!r}: use intent, field:KEY, type, group, form, macro, "
                       "tags:PREFIX*, tags:A,B,C or discovered", field="source")

    def label(self, row: LabelRow) -> str | None:
        """This ticket's label from the source, or ``None`` (not set, ambiguous, or not a label)."""
        if self.kind == "intent":
            return normalize_label(row.intent)
        if self.kind == "discovered":
            return normalize_label(row.discovered)
        if self.kind == "field":
            return normalize_label((row.custom_fields or {}).get(cast(str, self.name)))  # a field source names one
        if self.kind == "type":
            return normalize_label(row.ticket_type)
        if self.kind == "group":
            return normalize_label(row.group)
        if self.kind == "form":
            return normalize_label(row.form)
        if self.kind == "macro":
            return normalize_label(row.macros[-1]) if row.macros else None
        members = [t for t in row.tags if (t.startswith(self.name) and len(t) > len(self.name)
                                           if self.name is not None else t in self.tags)]
        return normalize_label(members[0]) if len(set(members)) == 1 else None

    def describe(self, field_names: Mapping[str, str] | None = None) -> str:
        names = {"intent": "the intent field", "type": "ticket type", "group": "group", "form": "ticket form",
                 "macro": "macro applied", "discovered": "discovered intents"}
        if self.kind == "field":
            shown = (field_names or {}).get(cast(str, self.name))
            return f"custom field {self.name}" + (f" ({shown})" if shown else "")
        if self.kind == "tags":
            return f"tags starting {self.name!r}" if self.name is not None else f"{len(self.tags)} listed tags"
        return names[self.kind]


def normalize_label(value: Any) -> str | None:
    """A value as an intent name: trimmed, lower case, spaces as underscores; ``None`` for empty
    values, booleans, lists (a multi-select says several things) and free text."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (list, tuple)):
        return normalize_label(value[0]) if len(value) == 1 else None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, (str, int, float)):
        return None
    text = "_".join(str(value).strip().lower().split())
    if not text or len(text) > MAX_VALUE_LENGTH or "\x00" in text:
        return None
    return text


# Candidates ------------------------------------------------------------------------------------


def candidate_sources(rows: Sequence[LabelRow], excluded_tags: Iterable[str] = ()) -> list[LabelSource]:
    """Every source worth scoring on these tickets: each custom field that holds short values,
    the helpdesk's own sortings, tag families by prefix, and the set of frequent tags that
    (almost) never appear together (how teams use tags as a category when they have no field)."""
    out: list[LabelSource] = []
    if any(r.intent for r in rows):
        out.append(LabelSource("intent"))
    if any(r.discovered for r in rows):
        out.append(LabelSource("discovered"))
    keys = Counter(k for r in rows for k, v in (r.custom_fields or {}).items() if normalize_label(v) is not None)
    out += [LabelSource("field", key) for key, _ in keys.most_common()]
    for kind, present in (("type", lambda r: r.ticket_type), ("group", lambda r: r.group),
                          ("form", lambda r: r.form), ("macro", lambda r: r.macros)):
        if any(present(r) for r in rows):
            out.append(LabelSource(kind))
    excluded = set(excluded_tags)
    out += [LabelSource("tags", prefix) for prefix in tag_families(rows, excluded)]
    exclusive = exclusive_tags(rows, excluded)
    if len(exclusive) >= 2:
        out.append(LabelSource("tags", None, tuple(exclusive)))
    return out


def tag_families(rows: Sequence[LabelRow], excluded: set[str], min_members: int = 3) -> list[str]:
    """Prefixes (up to and including a separator) shared by at least ``min_members`` tags, where a
    ticket carrying one of them rarely carries another: ``reason:refund`` and ``reason:late`` are a
    family; ``card_declined`` and ``card_lost`` share a word, which is not enough unless they also
    exclude each other."""
    members: dict[str, set[str]] = {}
    for tag in {t for r in rows for t in r.tags if t not in excluded}:
        match = _FAMILY_SEPARATORS.search(tag)
        if match and 0 < match.start() and match.end() < len(tag):
            members.setdefault(tag[:match.end()], set()).add(tag)
    families = []
    for prefix, tags in sorted(members.items()):
        if len(tags) < min_members:
            continue
        carrying = [sum(1 for t in set(r.tags) if t in tags) for r in rows]
        with_any = [c for c in carrying if c]
        if with_any and sum(1 for c in with_any if c == 1) >= 0.9 * len(with_any):
            families.append(prefix)
    return families


def exclusive_tags(rows: Sequence[LabelRow], excluded: set[str], min_count: int = MIN_PER_CLASS,
                   max_overlap: float = 0.05) -> list[str]:
    """Frequent tags that rarely share a ticket, most frequent first, chosen greedily: each tag
    joins when it shares at most ``max_overlap`` of its tickets with the tags already chosen."""
    counts = Counter(t for r in rows for t in set(r.tags) if t not in excluded)
    chosen: list[str] = []
    covered: set[int] = set()
    tickets_of: dict[str, set[int]] = {}
    for i, r in enumerate(rows):
        for t in set(r.tags):
            if counts.get(t, 0) >= min_count:
                tickets_of.setdefault(t, set()).add(i)
    for tag, n in counts.most_common():
        if n < min_count or n > 0.5 * len(rows):  # a tag on most tickets sorts nothing
            continue
        mine = tickets_of[tag]
        if len(mine & covered) <= max_overlap * n:
            chosen.append(tag)
            covered |= mine
    return chosen


# Scoring ---------------------------------------------------------------------------------------


@dataclass
class SourceReport:
    """How good a label source would be, with the evidence an admin needs to choose."""

    source: str
    description: str
    coverage: float  # share of tickets with a usable label
    labelled: int
    classes: int  # values with at least MIN_PER_CLASS tickets
    balance: float  # normalized entropy of the class sizes, 0..1
    predictability: float | None  # Cohen's kappa of a quick cross-validated text classifier
    score: float
    rejected: str | None = None  # why this source cannot be used
    examples: list[dict[str, Any]] = field(default_factory=list)  # per top class: value, count, example texts

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "description": self.description, "coverage": round(self.coverage, 4),
                "labelled": self.labelled, "classes": self.classes, "balance": round(self.balance, 4),
                "predictability": None if self.predictability is None else round(self.predictability, 4),
                "score": round(self.score, 4), "rejected": self.rejected, "examples": self.examples}


def labels_for(source: LabelSource, rows: Sequence[LabelRow], min_per_class: int = MIN_PER_CLASS) -> list[str | None]:
    """Each row's label, with values rarer than ``min_per_class`` left out (too few to learn)."""
    raw = [source.label(r) for r in rows]
    counts = Counter(x for x in raw if x is not None)
    return [x if x is not None and counts[x] >= min_per_class else None for x in raw]


def check_source(source: LabelSource, rows: Sequence[LabelRow]) -> list[str | None]:
    """The labels, or :class:`BadInput` when the source cannot train an intent model: it names
    nothing on these tickets, has one value, or its values look like free text or ids."""
    raw = [source.label(r) for r in rows]
    present = [x for x in raw if x is not None]
    if not present:
        raise BadInput(f"label source {source.spec!r} has no value on any of the tenant's {len(rows)} tickets",
                       field="source")
    distinct = Counter(present)
    if len(distinct) == 1:
        raise BadInput(f"label source {source.spec!r} has one value ({next(iter(distinct))!r}) on every "
                       "ticket that has it: nothing to tell apart", field="source")
    if len(present) >= 20 and len(distinct) > FREE_TEXT_DISTINCT_SHARE * len(present):
        raise BadInput(f"label source {source.spec!r} looks like free text or ids ({len(distinct)} distinct values "
                       f"on {len(present)} tickets)", field="source")
    labels = labels_for(source, rows)
    if len({x for x in labels if x is not None}) < 2:
        raise BadInput(f"label source {source.spec!r} has fewer than two values with at least {MIN_PER_CLASS} "
                       "tickets each", field="source")
    return labels


def rank_sources(rows: Sequence[LabelRow], texts: Sequence[str], excluded_tags: Iterable[str] = (),
                 field_names: Mapping[str, str] | None = None, examples_per_source: int = 5,
                 seed: int = 0) -> list[SourceReport]:
    """Every candidate source scored, best first; rejected ones last, with the reason."""
    reports = [score_source(source, rows, texts, field_names, examples_per_source, seed)
               for source in candidate_sources(rows, excluded_tags)]
    return sorted(reports, key=lambda r: (r.rejected is not None, -r.score, r.source))


def score_source(source: LabelSource, rows: Sequence[LabelRow], texts: Sequence[str],
                 field_names: Mapping[str, str] | None = None, examples_per_source: int = 5,
                 seed: int = 0) -> SourceReport:
    """One source's report. The score is the predictable information the source gives per ticket
    of the history, in bits: ``kappa * entropy * coverage * sufficiency``. The entropy of its
    class sizes is what a label says (ten even classes say log2(10) bits, one big class and nine
    tiny ones nearly nothing); kappa is how much of that the customer's words predict beyond chance
    (a plan field: none); coverage is the share of tickets it says it on (a macro applied to half
    the solved tickets says it on half); sufficiency falls when a class has fewer than 20 examples
    on average."""
    description = source.describe(field_names)
    try:
        labels = check_source(source, rows)
    except BadInput as exc:
        return SourceReport(source.spec, description, 0.0, 0, 0, 0.0, None, 0.0, rejected=exc.reason)
    present = [(i, x) for i, x in enumerate(labels) if x is not None]
    counts = Counter(x for _, x in present)
    shares = np.asarray(list(counts.values()), dtype=float) / len(present)
    entropy = float(-(shares * np.log2(shares)).sum())
    balance = entropy / math.log2(len(counts)) if len(counts) > 1 else 0.0
    kappa = predictability([texts[i] for i, _ in present], [x for _, x in present], seed)
    coverage = len(present) / max(len(rows), 1)
    sufficiency = min(1.0, len(present) / (20 * len(counts)))
    score = max(kappa, 0.0) * entropy * coverage * sufficiency
    examples = []
    for value, n in counts.most_common(examples_per_source):
        shown = [texts[i][:120] for i, x in present if x == value][:2]
        examples.append({"value": value, "tickets": n, "examples": shown})
    return SourceReport(source.spec, description, coverage, len(present), len(counts), balance, kappa, score,
                        examples=examples)


def predictability(texts: Sequence[str], labels: Sequence[str], seed: int = 0) -> float:
    """Cohen's kappa of a word n-gram linear classifier, cross-validated on a stratified sample:
    0 when the text says nothing about the label (a plan or region field), near 1 when it says all."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics import cohen_kappa_score
    from sklearn.model_selection import StratifiedKFold
    from sklearn.svm import LinearSVC

    y = np.asarray(labels)
    rows = np.arange(len(y))
    if len(rows) > CV_SAMPLE:
        rows = np.sort(np.random.default_rng(seed).choice(len(y), CV_SAMPLE, replace=False))
    counts = Counter(y[rows])
    rows = np.asarray([i for i in rows if counts[y[i]] >= CV_FOLDS], dtype=np.int64)
    if len(rows) < 2 * CV_FOLDS or len({y[i] for i in rows}) < 2:
        return 0.0
    sample_texts = [texts[int(i)] for i in rows]
    truth = y[rows]
    predicted = np.empty(len(rows), dtype=object)
    for train, test in StratifiedKFold(CV_FOLDS, shuffle=True, random_state=seed).split(sample_texts, truth):
        vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
        features = vectorizer.fit_transform([sample_texts[i] for i in train])
        model = LinearSVC(C=0.5).fit(features, truth[train])
        predicted[test] = model.predict(vectorizer.transform([sample_texts[i] for i in test]))
    return float(cohen_kappa_score(truth, predicted.astype(str)))
