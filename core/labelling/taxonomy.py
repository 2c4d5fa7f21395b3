"""A tenant's tag vocabulary: aliases ("payments" is "billing"), applied retroactively and at import.

Helpdesks accumulate synonyms (one team tags "payments", another "billing"), and a classifier
trained on both learns to guess between them. An alias map fixes that without losing history: a
merge rewrites existing tickets once and is recorded, so later imports map the alias on the way in.
The map is kept flat (every alias points at a final canonical name), so lookups never chase chains.
Intents share the vocabulary with tags: ``merge payments billing`` also renames the intent.

:func:`suggest_merges` finds candidate synonyms from the data: two tags are likely the same when
near-identical tickets carry one or the other, and almost never both.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from sqlalchemy import String, bindparam, cast, func, or_, select, update

from core.errors import BadInput
from core.store.tables import TagAliasRow, TicketRow
from core.store.tickets import apply_aliases, canonical_intent
from core.text.limits import bounded_model_text
from core.types import normalize_tags


def canonical_name(name: str) -> str:
    """Tag form of a name (lower-case, dashes for spaces), or BadInput if nothing is left."""
    cleaned = normalize_tags([name])
    if not cleaned:
        raise BadInput(f"{name!r} is not a tag name")
    return cleaned[0]


def load_aliases(session) -> dict[str, str]:
    """The tenant's alias -> canonical map."""
    return {alias: canonical for alias, canonical in session.execute(select(TagAliasRow.alias, TagAliasRow.canonical))}


@dataclass(frozen=True)
class MergeResult:
    alias: str
    canonical: str
    tickets_changed: int
    aliases_repointed: int


def merge(session, tenant_id: int, alias: str, canonical: str) -> MergeResult:
    """Make ``alias`` a name for ``canonical``: rewrite the tenant's tickets and record the alias.

    Chains resolve: if ``canonical`` is itself an alias, its target is used, and aliases that pointed
    at ``alias`` now point at the final name. A merge that would make a name its own alias (directly or
    through the chain) is refused with BadInput. Runs in the caller's transaction.
    """
    alias, canonical = canonical_name(alias), canonical_name(canonical)
    aliases = load_aliases(session)
    if alias == canonical:
        raise BadInput(f"{alias!r} cannot be an alias of itself", field="CANONICAL")
    target = aliases.get(canonical, canonical)
    if target == alias:
        raise BadInput(f"merging {alias!r} into {canonical!r} would make a cycle: {canonical!r} is already "
                       f"an alias of {alias!r}", field="CANONICAL")

    repointed = [a for a, c in aliases.items() if c == alias]
    for name in repointed:
        session.execute(
            update(TagAliasRow).where(TagAliasRow.tenant_id == tenant_id, TagAliasRow.alias == name)
            .values(canonical=target),
            execution_options={"synchronize_session": False},
        )
    if alias in aliases:
        session.execute(
            update(TagAliasRow).where(TagAliasRow.tenant_id == tenant_id, TagAliasRow.alias == alias)
            .values(canonical=target),
            execution_options={"synchronize_session": False},
        )
    else:
        session.execute(TagAliasRow.__table__.insert().values(tenant_id=tenant_id, alias=alias, canonical=target))
    changed = _rewrite_tickets(session, tenant_id, {alias: target, **{a: target for a in repointed}})
    return MergeResult(alias, target, changed, len(repointed))


def _rewrite_tickets(session, tenant_id: int, mapping: dict[str, str]) -> int:
    """Apply ``mapping`` to the tags and intent of every ticket that carries one of its names."""
    conditions = [cast(TicketRow.tags, String).contains(json.dumps(name), autoescape=True) for name in mapping]
    spellings = {spelling for name in mapping for spelling in (name, name.replace("-", " "))}
    conditions.append(func.lower(TicketRow.intent).in_(spellings))
    candidates = session.execute(
        select(TicketRow.id, TicketRow.tags, TicketRow.intent).where(or_(*conditions))
    ).all()
    changes = []
    for ticket_id, tags, intent in candidates:
        new_tags = apply_aliases(tags or [], mapping)
        new_intent = canonical_intent(intent, mapping)
        if new_tags != (tags or []) or new_intent != intent:
            changes.append({"ticket_id": ticket_id, "new_tags": new_tags, "new_intent": new_intent})
    table = TicketRow.__table__
    if changes:
        session.execute(
            table.update()
            .where(table.c.tenant_id == tenant_id, table.c.id == bindparam("ticket_id"))
            .values(tags=bindparam("new_tags"), intent=bindparam("new_intent")),
            changes,
        )
    return len(changes)


def tag_counts(session) -> tuple[Counter, Counter]:
    """How many of the tenant's tickets carry each tag, and each intent."""
    tags: Counter[str] = Counter()
    intents: Counter[str] = Counter()
    for ticket_tags, intent in session.execute(select(TicketRow.tags, TicketRow.intent)):
        tags.update(ticket_tags or [])
        if intent:
            intents[intent] += 1
    return tags, intents


# Suggestions ---------------------------------------------------------------------------------


@dataclass
class MergeSuggestion:
    """Two labels that look like one: ``alias`` (the rarer) would become ``canonical``."""

    alias: str
    canonical: str
    score: float
    near_pairs: int
    alias_count: int
    canonical_count: int
    name_similarity: float
    examples: list[tuple[str, str]] = field(default_factory=list)


def _labels(tags: list[str] | None, intent: str | None) -> frozenset[str]:
    names = set(tags or [])
    if intent:
        names.add(canonical_name(intent))
    return frozenset(names)


def suggest_merges(session, *, similarity: float = 0.8, neighbours: int = 10, min_pairs: int = 3,
                   min_score: float = 0.3, min_evidence: float = 0.2, limit: int = 10,
                   max_tickets: int = 50_000) -> list[MergeSuggestion]:
    """Likely duplicate labels, best first.

    For every ticket, its nearest neighbours by TF-IDF cosine (scikit-learn ``NearestNeighbors``)
    above ``similarity`` count as near-identical. For labels a and b, ``cross`` counts near-identical
    pairs where one ticket carries a (not b) and the other b (not a). The evidence is the larger of
    "share of a's near-identical neighbours that carry b instead" and the converse, so a small alias of
    a big tag is found too. Labels that co-occur on the same ticket are complementary (billing and
    urgent), never synonyms, and are skipped. The score mixes the evidence (3/4) with name
    similarity (1/4), which only breaks ties: below ``min_evidence`` nothing is suggested.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.neighbors import NearestNeighbors

    rows = session.execute(
        select(TicketRow.external_id, TicketRow.text, TicketRow.tags, TicketRow.intent)
        .order_by(TicketRow.id.desc()).limit(max_tickets)
    ).all()
    rows = [r for r in rows if r.text and _labels(r.tags, r.intent)]
    if len(rows) < 2:
        return []
    labels = [_labels(r.tags, r.intent) for r in rows]
    counts: Counter = Counter(name for names in labels for name in names)
    together: Counter = Counter()
    for names in labels:
        ordered = sorted(names)
        for i, a in enumerate(ordered):
            for b in ordered[i + 1:]:
                together[(a, b)] += 1

    # Words only: order numbers and dates are unique per ticket and would hide that two texts say the same.
    vectorizer = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), token_pattern=r"(?u)\b[^\W\d_]{2,}\b")
    try:
        matrix = vectorizer.fit_transform(bounded_model_text(r.text) for r in rows)
    except ValueError:  # no words at all (texts of digits only): nothing to compare
        return []
    k = min(neighbours + 1, len(rows))
    distances, indices = NearestNeighbors(n_neighbors=k, metric="cosine", algorithm="brute").fit(matrix) \
        .kneighbors(matrix)

    near: Counter = Counter()  # near-identical neighbours per label
    #: (a, b): near pairs where an a-ticket's neighbour carries b instead; a pair that differs in more
    #: labels than one on each side counts fractionally, as it says less about a and b in particular.
    cross: defaultdict[tuple[str, str], float] = defaultdict(float)
    examples: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for i, (row_distances, row_indices) in enumerate(zip(distances, indices, strict=True)):
        for distance, j in zip(row_distances, row_indices, strict=True):
            if j == i or 1.0 - distance < similarity:
                continue
            only_i, only_j = labels[i] - labels[j], labels[j] - labels[i]
            weight = 1.0 / (len(only_i) * len(only_j)) if only_i and only_j else 0.0
            for a in labels[i]:
                near[a] += 1
                if a not in only_i:
                    continue
                for b in only_j:
                    cross[(a, b)] += weight
                    pair = tuple(sorted((a, b)))
                    if len(examples[pair]) < 2 and i < j:
                        examples[pair].append((rows[i].external_id, rows[j].external_id)
                                              if a == pair[0] else (rows[j].external_id, rows[i].external_id))

    suggestions = []
    for a, b in {tuple(sorted(p)) for p in cross}:
        pairs = round(cross[(a, b)] + cross[(b, a)])
        if pairs < min_pairs * 2:  # each near pair is seen from both sides
            continue
        if together[(a, b)] > 0.05 * min(counts[a], counts[b]):
            continue
        evidence = max(cross[(a, b)] / max(near[a], 1), cross[(b, a)] / max(near[b], 1))
        name_similarity = SequenceMatcher(None, a, b).ratio()
        score = 0.75 * evidence + 0.25 * name_similarity
        if evidence < min_evidence or score < min_score:
            continue
        alias, canonical = (a, b) if (counts[a], b) < (counts[b], a) else (b, a)
        suggestions.append(MergeSuggestion(alias, canonical, round(score, 3), pairs // 2, counts[alias],
                                           counts[canonical], round(name_similarity, 3), examples[(a, b)]))
    suggestions.sort(key=lambda s: (-s.score, s.alias))
    return suggestions[:limit]
