"""Feature requests grouped into requested capabilities: "export · csv", "sso · okta · saml".

Requests are compared by the words that name the capability, not by how they ask: the asking
("is there a way to", "would be great", "please add") is stripped first, or every "any plans
for ...?" would group together. Word and word-pair TF-IDF vectors are grouped by average-linkage
agglomerative clustering under a cosine-distance threshold, so the number of capabilities follows
the data rather than being fixed in advance. (The sentence encoder in ``core.ml.encoder`` needs an
exported ONNX graph a server may not have; TF-IDF needs nothing, and on short requests that share
their key nouns it groups as well.) A group is labelled by its most distinctive words, as
``core.ml.clusters.label_clusters`` labels ticket clusters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from sklearn.preprocessing import normalize

from core.ml.clusters import label_clusters

#: Two groups merge while their average cosine distance is below this (1 - similarity).
DISTANCE_THRESHOLD = 0.85
#: Agglomerative clustering holds an n x n distance matrix: the newest this many requests are grouped.
MAX_GROUPED = 3000

_ASKING = re.compile("|".join((
    r"\b(is there (a|any) (way|option|possibility|plan)s? (to|for|of)?|is it possible (to)?",
    r"would (it|you) be possible (to)?|(do|does|will|would|could|can) (you|we|i|your|the app|there)( guys)?( ever)?",
    r"any (plans|chance|way)( of| to| for)?|(it )?would be (great|nice|useful|helpful|handy|awesome|amazing|cool)"
    r"( to| if)?|would (love|like)( to)?|it'?d be (nice|great|awesome|useful)( if| to)?",
    r"please( please)*( add| consider| let| allow| make| offer| bring back)?|feature (idea|request):?|suggestion:?",
    r"request:|idea:|on the roadmap|something you'?d consider|adding|hi|hello|hey|thanks|thank you|team)\b",
)), re.IGNORECASE)
_STOP = sorted(ENGLISH_STOP_WORDS | {"add", "adding", "support", "option", "possible", "way", "plans", "plan", "like",
                                     "love", "great", "nice", "really", "want", "need", "able", "pls", "guys",
                                     "feature", "request", "idea", "suggestion", "roadmap", "consider", "right",
                                     "currently", "moment", "just", "thing", "app", "use", "using", "wish", "make"})


@dataclass(frozen=True)
class Group:
    label: str
    rows: tuple[int, ...]  # positions in the texts grouped
    central: tuple[int, ...]  # the same rows, most typical first


def capability_words(text: str) -> str:
    """The request without its asking: what remains names the capability."""
    return _ASKING.sub(" ", text)


def group_requests(texts: list[str]) -> list[Group]:
    """Groups of ``texts`` (feature requests), largest first."""
    if not texts:
        return []
    words = [capability_words(t) for t in texts]
    vectorizer = TfidfVectorizer(stop_words=_STOP, ngram_range=(1, 2), sublinear_tf=True,
                                 token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z0-9+#.]*[a-zA-Z0-9+#]\b|\b[a-zA-Z]{2,}\b")
    try:
        vectors = normalize(vectorizer.fit_transform(words)).tocsr()
    except ValueError:  # not one word survives
        return [Group("other requests", tuple(range(len(texts))), tuple(range(len(texts))))]
    worded = np.nonzero(vectors.getnnz(axis=1))[0]
    assignment = np.full(len(texts), -1)
    if len(worded) == 1:
        assignment[worded] = 0
    elif len(worded) > 1:
        # Cosine distances from the sparse rows (n x n, the only dense matrix: 72 MB at MAX_GROUPED).
        similarity = (vectors[worded] @ vectors[worded].T).toarray()
        distances = np.clip(1.0 - similarity, 0.0, None)
        clustering = AgglomerativeClustering(n_clusters=None, metric="precomputed", linkage="average",
                                             distance_threshold=DISTANCE_THRESHOLD)
        assignment[worded] = clustering.fit_predict(distances)
    labels = label_clusters(words, assignment)
    vocabulary = np.asarray(vectorizer.get_feature_names_out())
    groups = []
    for cluster in np.unique(assignment):
        rows = np.nonzero(assignment == cluster)[0]
        if cluster == -1:
            groups.append(Group("other requests", tuple(int(r) for r in rows), tuple(int(r) for r in rows)))
            continue
        centroid = np.asarray(vectors[rows].mean(axis=0)).ravel()
        typical = rows[np.argsort(-(vectors[rows] @ centroid), kind="stable")]
        label = labels.get(int(cluster), "")
        if not label or label.startswith("cluster "):  # too few words shared across requests
            ranked = [str(vocabulary[i]) for i in np.argsort(-centroid, kind="stable") if centroid[i] > 0]
            top = [term for term in ranked if " " not in term][:3]  # words, not a word and its own pair
            label = " · ".join(top) or "other requests"
        groups.append(Group(label, tuple(int(r) for r in rows), tuple(int(r) for r in typical)))
    return sorted(groups, key=lambda g: (-len(g.rows), g.label))
