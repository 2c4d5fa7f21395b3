"""Intents found in a tenant's tickets when nobody has labelled any, without being told how many.

Method, on the unit-length sentence vectors (pass :func:`core.ml.encoder.sentence_part`):

1. Each vector is averaged with those of its :data:`SMOOTHING` nearest neighbours. Paraphrases of
   one question sit close together but noisily; the average pulls each question towards its
   neighbourhood's centre and makes the groups tighter (Banking77, Ward's tree cut at the true
   77 groups: NMI 0.784 without, 0.803 with).
2. Ward's agglomerative clustering of the smoothed vectors, each row allowed to merge only along
   its :data:`CONNECTIVITY` nearest neighbours (sparse: a second or two for 10,000 rows).
3. The tree is cut where its groups stop being one question asked many ways: at the fewest groups
   whose members are, pair for pair, at least as similar as :func:`same_intent_threshold`, half
   way from two random tickets of this tenant to two identical ones. The threshold is measured
   on the tenant's own tickets (long e-mails are more alike than one-line chats) and does not
   depend on how many tickets or intents there are, which is what lets the number of intents
   come out of the data. Because that bar is an average, a group is split again when its two
   halves are less alike than half way from the typical pair to their own members (tight,
   clearly different intents would otherwise hide under the average). Both read the raw
   (unsmoothed) vectors.
4. Groups smaller than ``min_size`` are not intents; their rows join the nearest intent when
   they pass the threshold (cosine to its centre), and so must every member of an intent:
   the rest is left unassigned as noise.

Labels are the stemmed words and adjacent-word pairs most distinctive of an intent against every
other ticket (class-based TF-IDF, stop words skipped), shown in their most common spelling.

Measured by ``bench/intent_discovery.py`` on the 10,003 Banking77 queries (77 true intents,
labels hidden), every row assigned to its nearest intent: 87 intents found, NMI 0.806, ARI 0.550,
5.5% of rows unassigned (k-means told there are 77: NMI 0.763, ARI 0.473); on 30- and 50-intent
subsets and 2,000-row samples the number found is 0.95 to 1.4 times the truth and NMI 0.80 to 0.87
(the table is in the bench's docstring). 4 to 13 s for 10,000 rows on two shared, busy cores.

Everything here is pure (numpy, scipy, scikit-learn); the caller encodes and stores.
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import TfidfVectorizer

#: Neighbours each vector is averaged with before clustering.
SMOOTHING = 5
#: Neighbours each row may merge along in the Ward tree.
CONNECTIVITY = 10
#: Where between "two random tickets" (0) and "the same ticket" (1) an intent's members must
#: sit, on average, pair for pair. Half way: on Banking77 and nine subsets of it this finds 0.95
#: to 1.4 times the true number of intents (NMI 0.80 to 0.87); 0.45 finds 0.7 to 1.0 times (NMI
#: 0.78 to 0.86), 0.55 finds 1.4 to 1.9 times (NMI 0.80 to 0.85). More, smaller intents are
#: the cheaper mistake: merging two is a click, splitting one needs :func:`split_intent`.
SAME_INTENT = 0.5
#: Above this many rows a seeded random sample is clustered and the rest assigned to its intents
#: (the neighbour search is quadratic).
MAX_CLUSTERED_ROWS = 20_000
#: Terms in a label, and representative rows per intent.
LABEL_TERMS = 3
EXAMPLES = 5
#: Two examples this close (cosine) are the same wording; only the first is shown.
SAME_WORDING = 0.95
#: Replies whose normalized character n-grams are this close (cosine) are one reply.
SAME_REPLY = 0.8


@dataclass
class DiscoveredIntent:
    key: str  # stable slug made from the label, unique within one result
    label: str  # the intent's most distinctive words, e.g. "card arrive / delivery"
    rows: list[int]  # row indices of the input texts, closest to the centre first
    examples: list[int]  # up to EXAMPLES representative rows of distinct wording
    cohesion: float  # mean cosine of the rows to their centre


def discover_intents(texts: list[str], vectors: np.ndarray, *, min_size: int = 5,
                     seed: int = 0) -> tuple[list[DiscoveredIntent], list[int]]:
    """Group unlabelled tickets into intents; the number of intents comes from the data.

    Args:
        texts: One text per row (used for labels and examples only).
        vectors: One sentence vector per row (``sentence_part`` of the encoder's output); rows
            are scaled to unit length here.
        min_size: Fewest rows an intent may have.
        seed: Picks the sample clustered when there are more than :data:`MAX_CLUSTERED_ROWS`
            rows; below that the result does not depend on it.

    Returns:
        The intents, largest first, and the rows left unassigned (noise and outliers).
    """
    n = len(texts)
    if n == 0:
        return [], []
    X = _unit(vectors)
    if len(X) != n:
        raise ValueError(f"{n} texts but {len(X)} vectors")
    min_size = max(1, int(min_size))
    threshold = same_intent_threshold(X)
    clustered = np.arange(n)
    if n > MAX_CLUSTERED_ROWS:
        clustered = np.sort(np.random.default_rng(seed).choice(n, MAX_CLUSTERED_ROWS, replace=False))
    groups = _cut_by_similarity(X[clustered])
    big = [clustered[g] for g in groups if len(g) >= min_size]
    if not big:
        return [], list(range(n))
    assignment = assign_to_intents(X, _centres(X, big), threshold)
    # A row keeps the intent the tree gave it only if it also passes the threshold there.
    tree_intent = np.full(n, -1)
    for i, members in enumerate(big):
        tree_intent[members] = i
    in_tree = tree_intent >= 0
    own_cosine = np.einsum("ij,ij->i", X[in_tree], _centres(X, big)[tree_intent[in_tree]])
    assignment[in_tree] = np.where(own_cosine >= threshold, tree_intent[in_tree], -1)
    members = [np.nonzero(assignment == i)[0] for i in range(len(big))]
    members = [m for m in members if len(m) >= min_size]
    intents = _describe(texts, X, members)
    taken = np.zeros(n, dtype=bool)
    for intent in intents:
        taken[intent.rows] = True
    return intents, [int(i) for i in np.nonzero(~taken)[0]]


def split_intent(texts: list[str], vectors: np.ndarray, rows: list[int], parts: int,
                 seed: int = 0) -> list[DiscoveredIntent]:
    """Split the intent made of ``rows`` into ``parts`` intents (fewer if it has fewer rows),
    with the same tree as :func:`discover_intents`, cut at exactly ``parts`` groups. Labels are
    what distinguishes each part from its siblings and from every other ticket in ``texts``.
    ``seed`` is accepted for symmetry; the split is deterministic."""
    picked = np.asarray(sorted(set(int(r) for r in rows)), dtype=int)
    if len(picked) == 0:
        return []
    X = _unit(vectors)
    parts = max(1, min(int(parts), len(picked)))
    sub = X[picked]
    if parts == 1:
        groups = [np.arange(len(picked))]
    else:
        children = _tree(sub)
        groups = _groups_after(len(picked), children, len(picked) - parts)
    return _describe(texts, X, [picked[g] for g in groups])


def assign_to_intents(vectors_new: np.ndarray, centres: np.ndarray, min_cosine: float) -> np.ndarray:
    """Index of each new row's nearest centre (cosine), or -1 below ``min_cosine`` (or with no
    centres). Centres come from :func:`intent_centres`; a sensible ``min_cosine`` is the
    tenant's :func:`same_intent_threshold`, the bar the intents' own members passed."""
    new = _unit(vectors_new)
    out = np.full(len(new), -1, dtype=int)
    if len(new) == 0 or len(centres) == 0:
        return out
    similarity = new @ _unit(centres).T
    best = similarity.argmax(axis=1)
    keep = similarity[np.arange(len(new)), best] >= min_cosine
    out[keep] = best[keep]
    return out


def intent_centres(vectors: np.ndarray, intents: list[DiscoveredIntent]) -> np.ndarray:
    """One unit-length centre per intent, in order, from its rows' vectors."""
    X = _unit(vectors)
    if not intents:
        return np.zeros((0, X.shape[1] if X.ndim == 2 else 0))
    return _centres(X, [np.asarray(i.rows, dtype=int) for i in intents])


def same_intent_threshold(vectors: np.ndarray) -> float:
    """The cosine an intent's members must reach, on average pair for pair: half way
    (:data:`SAME_INTENT`) from the mean similarity of two of this tenant's tickets to 1."""
    typical = _typical_similarity(_unit(vectors))
    return typical + SAME_INTENT * (1.0 - typical)


def _typical_similarity(X: np.ndarray) -> float:
    """Mean cosine of two different rows (1 with fewer than two rows)."""
    n = len(X)
    if n < 2:
        return 1.0
    total = X.sum(axis=0)
    return float((total @ total - np.einsum("ij,ij->", X, X)) / (n * (n - 1)))


def most_common_reply(rows: list[int], replies: list[str | None]) -> str | None:
    """The reply that resolved most of these tickets: replies are normalized (case, spacing,
    digits), near-duplicates grouped (character n-gram cosine >= :data:`SAME_REPLY`, so a
    different greeting or order number is the same reply), and the most common wording of the
    largest group returned. ``None`` when no row has a reply."""
    found = [reply for r in rows if 0 <= r < len(replies) and (reply := replies[r]) and reply.strip()]
    if not found:
        return None
    normalized = [_normalize_reply(t) for t in found]
    first: dict[str, int] = {}
    for i, norm in enumerate(normalized):
        first.setdefault(norm, i)
    counts = Counter(normalized)
    distinct = sorted(counts, key=lambda t: (-counts[t], first[t]))  # most common wording leads
    grams = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True).fit_transform(distinct)
    leaders: list[int] = []
    weight: Counter = Counter()
    members: dict[int, list[str]] = {}
    for i, text in enumerate(distinct):
        similarity = (grams[leaders] @ grams[i].T).toarray().ravel() if leaders else np.zeros(0)
        close = np.nonzero(similarity >= SAME_REPLY)[0]
        leader = leaders[int(close[0])] if len(close) else i
        if leader == i:
            leaders.append(i)
        weight[leader] += counts[text]
        members.setdefault(leader, []).append(text)
    winner = max(leaders, key=lambda j: (weight[j], -j))
    group = set(members[winner])
    originals = Counter(t for t, norm in zip(found, normalized, strict=True) if norm in group)
    first_original: dict[str, int] = {}
    for i, t in enumerate(found):
        first_original.setdefault(t, i)
    return max(originals, key=lambda t: (originals[t], -first_original[t]))


# -- clustering -------------------------------------------------------------------------------

def _unit(vectors: np.ndarray) -> np.ndarray:
    X = np.asarray(vectors, dtype=np.float64)
    if X.ndim == 1:
        X = X.reshape(1, -1) if X.size else X.reshape(0, 0)
    norms = np.linalg.norm(X, axis=1, keepdims=True) if X.size else np.ones((len(X), 1))
    return X / np.maximum(norms, 1e-12)


def _neighbours(X: np.ndarray, k: int, block: int = 2048) -> np.ndarray:
    """The ``k`` most similar other rows of each row, most similar first (blockwise, so memory
    stays at ``block`` rows times n)."""
    n = len(X)
    k = min(k, n - 1)
    out = np.zeros((n, k), dtype=np.int64)
    single = X.astype(np.float32)  # twice as fast, and the order of neighbours is all that is kept
    for start in range(0, n, block):
        stop = min(n, start + block)
        similarity = single[start:stop] @ single.T
        similarity[np.arange(stop - start), np.arange(start, stop)] = -np.inf
        top = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(similarity, top, axis=1), axis=1, kind="stable")
        out[start:stop] = np.take_along_axis(top, order, axis=1)
    return out


def _tree(X: np.ndarray) -> np.ndarray:
    """Ward merges (sklearn's ``children_``) of the neighbour-smoothed rows of ``X``."""
    n = len(X)
    if n < 2:
        return np.zeros((0, 2), dtype=np.int64)
    if n == 2:
        return np.array([[0, 1]])
    near = _neighbours(X, max(SMOOTHING, CONNECTIVITY))
    smoothed = _unit(X + X[near[:, :min(SMOOTHING, near.shape[1])]].sum(axis=1))
    k = min(CONNECTIVITY, near.shape[1])
    graph = sp.csr_matrix((np.ones(n * k), (np.repeat(np.arange(n), k), near[:, :k].ravel())), shape=(n, n))
    with warnings.catch_warnings():  # several components: sklearn joins them, and says so
        warnings.simplefilter("ignore", UserWarning)
        model = AgglomerativeClustering(n_clusters=None, distance_threshold=0.0, connectivity=graph,
                                        compute_full_tree=True, linkage="ward").fit(smoothed)
    return model.children_


def _cut_by_similarity(X: np.ndarray) -> list[np.ndarray]:
    """Cut the tree at the fewest groups whose mean within-group pairwise cosine (over all pairs
    of rows in the same group) reaches :func:`same_intent_threshold`; then split again any group
    whose two halves are less alike than half way from the typical pair to their own members.

    The first rule is an average: when most groups are far tighter than the bar, it would let a
    few clearly different ones merge; the second catches those (on Banking77 it splits about
    one group in fifteen and leaves the scores as they were)."""
    n = len(X)
    if n == 1:
        return [np.array([0])]
    typical = _typical_similarity(X)
    threshold = typical + SAME_INTENT * (1.0 - typical)
    children = _tree(X)
    # Sum vector and size of every node; a merge of a and b adds 2 S_a.S_b to the summed
    # within-group similarity and 2 n_a n_b to the number of within-group pairs.
    sums = np.zeros((2 * n - 1, X.shape[1]))
    sums[:n] = X
    sizes = np.ones(2 * n - 1)
    for i, (a, b) in enumerate(children):
        sums[n + i] = sums[a] + sums[b]
        sizes[n + i] = sizes[a] + sizes[b]
    a, b = children[:, 0], children[:, 1]
    cross = np.einsum("ij,ij->i", sums[a], sums[b])
    within = np.cumsum(cross) / np.cumsum(sizes[a] * sizes[b])
    passing = np.nonzero(within >= threshold - 1e-9)[0]
    merges = int(passing[-1]) + 1 if len(passing) else 0

    inner = ((sums * sums).sum(axis=1) - sizes) / np.maximum(sizes * (sizes - 1), 1)  # within each node

    def distinct_halves(node: int) -> bool:
        left, right = children[node - n]
        if sizes[left] == 1 and sizes[right] == 1:
            return False
        own = min(inner[c] for c in (left, right) if sizes[c] > 1)
        mean_cross = sums[left] @ sums[right] / (sizes[left] * sizes[right])
        return mean_cross < typical + SAME_INTENT * (own - typical)

    kept, stack = [], sorted(set(_roots_after(n, children, merges).tolist()))
    while stack:
        node = stack.pop()
        if node >= n and distinct_halves(node):
            stack += [int(c) for c in children[node - n]]
        else:
            kept.append(node)
    return sorted((_leaves(n, children, node) for node in kept), key=lambda g: (-len(g), int(g[0])))


def _roots_after(n: int, children: np.ndarray, merges: int) -> np.ndarray:
    """For each row, the tree node holding it after the first ``merges`` merges."""
    parent = np.arange(2 * n - 1)

    def root(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for i in range(merges):
        a, b = children[i]
        parent[root(a)] = n + i
        parent[root(b)] = n + i
    return np.array([root(j) for j in range(n)])


def _leaves(n: int, children: np.ndarray, node: int) -> np.ndarray:
    out, stack = [], [node]
    while stack:
        v = stack.pop()
        if v < n:
            out.append(v)
        else:
            stack += [int(c) for c in children[v - n]]
    return np.sort(np.asarray(out, dtype=int))


def _groups_after(n: int, children: np.ndarray, merges: int) -> list[np.ndarray]:
    """The groups after the first ``merges`` merges of the tree, largest first."""
    _, label = np.unique(_roots_after(n, children, merges), return_inverse=True)
    groups = [np.nonzero(label == c)[0] for c in range(label.max() + 1)]
    return sorted(groups, key=lambda g: (-len(g), int(g[0])))


def _centres(X: np.ndarray, groups: list[np.ndarray]) -> np.ndarray:
    return _unit(np.vstack([X[g].mean(axis=0) for g in groups]))


# -- describing -------------------------------------------------------------------------------

def _describe(texts: list[str], X: np.ndarray, groups: list[np.ndarray]) -> list[DiscoveredIntent]:
    """Order, label, key and exemplify each group; largest first."""
    groups = [np.asarray(g, dtype=int) for g in groups if len(g)]
    if not groups:
        return []
    centres = _centres(X, groups)
    ordered, cohesions = [], []
    for g, centre in zip(groups, centres, strict=True):
        cosine = X[g] @ centre
        order = np.argsort(-cosine, kind="stable")
        ordered.append(g[order])
        cohesions.append(float(cosine.mean()))
    labels = label_groups(texts, ordered)
    keys = _unique_keys(labels)
    intents = [DiscoveredIntent(key, label, [int(r) for r in rows], _examples(texts, X, rows), round(cohesion, 4))
               for key, label, rows, cohesion in zip(keys, labels, ordered, cohesions, strict=True)]
    return sorted(intents, key=lambda i: (-len(i.rows), i.rows[0]))


def _examples(texts: list[str], X: np.ndarray, rows: np.ndarray) -> list[int]:
    """Up to :data:`EXAMPLES` rows nearest the centre, skipping repeats of a wording shown."""
    picked: list[int] = []
    seen: set[str] = set()
    for r in rows:
        wording = " ".join(_WORD.findall(texts[r].lower()))
        if wording in seen or any(float(X[r] @ X[p]) >= SAME_WORDING for p in picked):
            continue
        picked.append(int(r))
        seen.add(wording)
        if len(picked) == EXAMPLES:
            break
    return picked


_WORD = re.compile(r"[a-z][a-z'-]*[a-z]|[a-z]")
#: Function words and pleasantries. Not scikit-learn's list, which drops words that name
#: support intents ("top", "bill", "amount", "call", "system", "show", "find", "move").
_STOP = frozenset("""
a an the and or but if so than then that this these those there here it its i me my mine myself we us our
you your yours he she him her his they them their what which who whom whose when where why how is are was
were be been being am do does did doing done have has had having can could will would shall should may might
must to of in on at by for from with about into onto over under as off again also just only very too not no
nor any some all each every both few more most other such own same don't didn't doesn't can't cannot won't
isn't aren't wasn't weren't hasn't haven't hadn't couldn't wouldn't shouldn't it's i'm i've i'd i'll you're
what's there's that's let's please thanks thank hi hello hey dear ok okay get got getting want need like
know help still yet already now one anyone someone something anything way able would'nt im ive dont cant
""".split())


def _stem(word: str) -> str:
    """A crude suffix strip so "arrive", "arrived" and "arriving" count as one word."""
    for suffix in ("ing", "ed", "es", "s", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            return word[: -len(suffix)]
    return word


def _terms(text: str) -> list[tuple[str, str]]:
    """(stemmed, as written) for each content word and each pair of adjacent content words."""
    words = [w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1]
    out = [(_stem(w), w) for w in words]
    out += [(f"{_stem(a)} {_stem(b)}", f"{a} {b}") for a, b in zip(words, words[1:], strict=False) if a != b]
    return out


def label_groups(texts: list[str], groups: list[np.ndarray], terms: int = LABEL_TERMS) -> list[str]:
    """A label per group: its most distinctive terms against every other text (class-based
    TF-IDF: a term's share of the group's terms times log(1 + mean terms per class / the term's
    count over all texts)). A term must occur in two of the group's texts (one in a group of
    one); a term sharing a word with one already chosen is skipped, except that a pair replaces
    the single word it contains."""
    n = len(texts)
    owner = np.full(n, len(groups))  # the last class is everything else
    for c, g in enumerate(groups):
        owner[np.asarray(g, dtype=int)] = c
    vocabulary: dict[str, int] = {}
    spelled: dict[str, Counter] = {}
    rows, cols, docs = [], [], []
    for i, text in enumerate(texts):
        found = _terms(text or "")
        for stem, written in found:
            spelled.setdefault(stem, Counter())[written] += 1
        for stem, count in Counter(s for s, _ in found).items():
            rows.append(owner[i])
            cols.append(vocabulary.setdefault(stem, len(vocabulary)))
            docs.append(count)
    if not vocabulary:
        return [f"intent {c + 1}" for c in range(len(groups))]
    shape = (len(groups) + 1, len(vocabulary))
    counts = sp.csr_matrix((docs, (rows, cols)), shape=shape, dtype=float)  # term counts per class
    present = sp.csr_matrix((np.ones(len(docs)), (rows, cols)), shape=shape)  # texts per class with it
    per_class = np.asarray(counts.sum(axis=1)).ravel()
    rarity = np.log1p(per_class.mean() / np.maximum(np.asarray(counts.sum(axis=0)).ravel(), 1))
    stems = np.array(sorted(vocabulary, key=vocabulary.__getitem__))
    labels = []
    for c, g in enumerate(groups):
        score = counts[c].toarray().ravel() / max(per_class[c], 1) * rarity
        texts_with = present[c].toarray().ravel()
        needed = 2 if len(g) > 1 else 1
        picked: list[str] = []
        for j in np.argsort(-score, kind="stable"):
            if score[j] <= 0 or len(picked) == terms:
                break
            stem = stems[j]
            if texts_with[j] < needed:
                continue
            words = set(re.split(r"[ -]", stem))  # "top-up" and "top up" say the same
            overlapping = [i for i, p in enumerate(picked) if words & set(re.split(r"[ -]", p))]
            if not overlapping:
                picked.append(stem)
            elif len(overlapping) == 1 and set(re.split(r"[ -]", picked[overlapping[0]])) < words:
                picked[overlapping[0]] = stem  # "card" becomes "card arrive"
            # anything else repeats a word already shown
        shown = [spelled[s].most_common(1)[0][0] for s in picked]
        labels.append(" / ".join(shown) if shown else f"intent {c + 1}")
    return labels


def _unique_keys(labels: list[str]) -> list[str]:
    keys, taken = [], set()
    for label in labels:
        base = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")[:60].strip("-") or "intent"
        key, n = base, 2
        while key in taken:
            key, n = f"{base}-{n}", n + 1
        taken.add(key)
        keys.append(key)
    return keys


def _normalize_reply(text: str) -> str:
    text = re.sub(r"\d+", "0", text.lower())
    return re.sub(r"\s+", " ", text).strip()
