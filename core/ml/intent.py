"""Intent classification with calibrated confidence and an abstention threshold chosen from data.

One linear SVM reads two views of the text side by side: sparse word and character n-grams (exact
wording, product names, typos) and dense sentence vectors from a small transformer (meaning, when
the words differ). Chosen by 5-fold cross-validation on Banking77 (10,003 queries, 77 intents):
n-grams alone 0.90 accuracy, sentence vectors alone 0.92, both together 0.932; adding the
nearest-example term (:data:`NEIGHBOUR_WEIGHT`) 0.9355.

Confidence is a softmax over the SVM's scores with one temperature fitted on out-of-fold scores,
so it can be read as a probability. When to abstain is decided in :mod:`core.ml.abstention`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import cast

import numpy as np
from scipy import sparse
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC

from core.ml.encoder import sentence_part
from core.ml.ngrams import NgramRows, text_features

#: Weight of the sentence vectors against the n-grams (cross-validated on Banking77).
VECTOR_WEIGHT = 1.5
#: Weight of the nearest-example term: per intent, the cosine between the text's sentence
#: embedding and its nearest reference example of that intent, added to the SVM's decision value.
#: The linear model draws one boundary per intent; the term rewards a close paraphrase of a known
#: question even where that boundary is crowded. 5-fold CV on Banking77, two fold seeds
#: (bench/intent_neighbour_term.py): accuracy 0.9318 / 0.9316 without it, 0.9355 / 0.9350 at 2
#: (a plateau from 1.5 to 3).
NEIGHBOUR_WEIGHT = 2.0
SVM_C = 1.0
OOF_FOLDS = 5

Encode = Callable[[list[str]], np.ndarray]


#: Lowest temperature allowed: with few tickets every out-of-fold answer can be right, and the
#: log loss would then drive the temperature to zero and every confidence to 100%.
MIN_TEMPERATURE = 0.1


def fit_temperature(scores: np.ndarray, truth: np.ndarray) -> float:
    """The softmax temperature that makes out-of-fold scores most likely (minimum log loss)."""
    def loss(log_t: float) -> float:
        return -float(log_softmax(scores / np.exp(log_t), axis=1)[np.arange(len(truth)), truth].mean())

    return float(np.exp(minimize_scalar(loss, bounds=(float(np.log(MIN_TEMPERATURE)), 3.0), method="bounded").x))


@dataclass
class IntentClassifier:
    ngrams: FeatureUnion
    weights: np.ndarray  # (features, classes) float32, C-contiguous: one sparse-dense product per query
    intercept: np.ndarray
    classes: np.ndarray
    temperature: float
    cv_accuracy: float | None
    uses_vectors: bool
    #: Out-of-fold (scores, truth) from training, for choosing the abstention rule; not kept in
    #: the saved model (:class:`core.ml.model.TicketModel` drops it).
    out_of_fold: tuple[np.ndarray, np.ndarray] | None = None
    #: The nearest-example term (see :data:`NEIGHBOUR_WEIGHT`): unit sentence embeddings of the
    #: reference examples (the same rows, in the same order, as the similarity index's reference
    #: set, so a suggestion computes their cosines once) and each one's class index. Models
    #: trained before the term existed load with weight 0 and score as they always did.
    neighbour_weight: float = 0.0
    neighbours: np.ndarray | None = None
    neighbour_labels: np.ndarray | None = None

    def scores(self, texts: list[str], vectors: np.ndarray | None = None, neighbours: bool = True) -> np.ndarray:
        """The SVM's decision values. Computed here rather than by ``LinearSVC.decision_function``,
        which converts the whole weight matrix on every call (20-30 ms for one text), and block
        by block, so the dense vectors are never copied into a sparse matrix. The n-grams are
        float32 like the weights: a float64 operand would copy the whole weight matrix."""
        ngrams = self.ngrams.transform(texts).astype(np.float32)
        n_ngrams = ngrams.shape[1]
        out = np.asarray(ngrams @ self.weights[:n_ngrams]) / np.sqrt(2)
        if self.uses_vectors:
            out += (np.asarray(vectors, dtype=np.float32) * VECTOR_WEIGHT) @ self.weights[n_ngrams:]
        if self.neighbour_weight and neighbours:
            references = cast(np.ndarray, self.neighbours)  # set with the term (neighbour_weight)
            cosines = _unit_rows(sentence_part(np.asarray(vectors, dtype=np.float32))) @ references.T
            out += self.neighbour_weight * self._nearest_per_class(cosines)
        return out + self.intercept

    def _nearest_per_class(self, cosines: np.ndarray) -> np.ndarray:
        """Per row of cosines to the reference examples, the best one of each class."""
        order, starts, present = self._neighbour_groups
        best = np.maximum.reduceat(cosines[..., order], starts, axis=-1)
        out = np.zeros((*cosines.shape[:-1], len(self.classes)), dtype=np.float32)
        out[..., present] = best
        return out

    @cached_property
    def _neighbour_groups(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(order grouping the reference rows by class, where each group starts, its class)."""
        labels = cast(np.ndarray, self.neighbour_labels)  # set with the term (neighbour_weight)
        order = np.argsort(labels, kind="stable")
        present, starts = np.unique(labels[order], return_index=True)
        return order, starts, present

    def ngram_row(self, text: str) -> sparse.csr_matrix:
        """``ngrams.transform([text])`` for one text, fast (see :class:`core.ml.ngrams.NgramRows`)."""
        return self._ngram_rows.row(text)

    @cached_property
    def _ngram_rows(self) -> NgramRows:
        return NgramRows(self.ngrams)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_ngram_rows", None)  # rebuilt from the vectorizers after loading
        state.pop("_ngram_parts", None)
        state.pop("_neighbour_groups", None)
        return state

    def score_one(self, text: str, vector: np.ndarray | None = None, ngrams: sparse.csr_matrix | None = None,
                  reference_cosines: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Decision values for one text, with and without the nearest-example term (``ngrams``
        is its :meth:`ngram_row` when already made; ``reference_cosines`` its cosines to the
        reference examples, when already computed)."""
        row = self.ngram_row(text) if ngrams is None else ngrams
        n_ngrams = row.shape[1]
        out = (row.data @ self.weights[row.indices]) / np.sqrt(2)
        if self.uses_vectors:
            vector = np.asarray(vector, dtype=np.float32).ravel()
            out = out + (vector * VECTOR_WEIGHT) @ self.weights[n_ngrams:]
        out = out + self.intercept
        if not self.neighbour_weight:
            return out, out
        if reference_cosines is None:
            # The nearest-example term needs the sentence vector when the cosines are not given.
            vector = cast(np.ndarray, vector)
            reference_cosines = cast(np.ndarray, self.neighbours) @ _unit_rows(sentence_part(vector.reshape(1, -1)))[0]
        term = self._nearest_per_class(np.asarray(reference_cosines, np.float32))
        return out + self.neighbour_weight * term, out

    def probabilities(self, text: str, vector: np.ndarray | None = None, top: int = 5,
                      ngrams: sparse.csr_matrix | None = None,
                      reference_cosines: np.ndarray | None = None) -> tuple[dict[str, float], float]:
        """The ``top`` most likely intents with calibrated probabilities, best first, and the top
        decision value of the linear model alone (one of the inputs of the abstention rule, which
        keeps judging the linear model's certainty: the nearest-example term reranks intents, and
        on a small, templated history it would make every question look equally close)."""
        scores, linear = self.score_one(text, vector, ngrams, reference_cosines)
        row = softmax(scores / self.temperature)
        best = np.argsort(-row)[:top]
        return {str(self.classes[i]): float(row[i]) for i in best}, float(linear.max())

    @classmethod
    def fit(cls, texts: list[str], labels: list[str], vectors: np.ndarray | None = None,
            out_of_fold_rows: np.ndarray | None = None, calibrate: bool = True) -> IntentClassifier:
        """Train on ``texts`` (with their sentence ``vectors`` when an encoder is in use).

        Works from two examples per label. Out-of-fold scores, computed by cross-validation within
        ``out_of_fold_rows`` (every row when ``None``; a bounded sample keeps a large history
        affordable), set the temperature and are kept in ``out_of_fold`` for the abstention rule.
        The same rows are the reference examples of the nearest-example term.
        ``calibrate=False`` skips them (a model only compared by its top intent).
        """
        labels_arr = np.asarray(labels)
        classes = np.unique(labels_arr)
        if len(classes) < 2:
            raise ValueError("intent training needs at least two different labels")
        truth = np.searchsorted(classes, labels_arr)
        rows = np.arange(len(texts)) if out_of_fold_rows is None else np.asarray(out_of_fold_rows)
        out_of_fold, temperature, cv_accuracy = None, 1.0, None
        if calibrate:
            oof, term = _out_of_fold_scores([texts[i] for i in rows], truth[rows], _rows(vectors, rows), len(classes))
            weight = NEIGHBOUR_WEIGHT if vectors is not None else 0.0
            temperature = fit_temperature(oof + weight * term, truth[rows])
            cv_accuracy = float(((oof + weight * term).argmax(axis=1) == truth[rows]).mean())
            out_of_fold = (oof, truth[rows])  # the linear model's own values: what abstention reads

        ngrams = text_features()
        svm = LinearSVC(C=SVM_C).fit(_stack(ngrams.fit_transform(texts), vectors), truth)
        coef = svm.coef_ if len(classes) > 2 else np.vstack([-svm.coef_[0], svm.coef_[0]])
        intercept = svm.intercept_ if len(classes) > 2 else np.array([-svm.intercept_[0], svm.intercept_[0]])
        neighbours = None if vectors is None else _unit_rows(sentence_part(np.asarray(vectors, np.float32)[rows]))
        return cls(ngrams, np.ascontiguousarray(coef.T, dtype=np.float32), intercept.astype(np.float32), classes,
                   temperature, cv_accuracy, vectors is not None, out_of_fold,
                   NEIGHBOUR_WEIGHT if vectors is not None else 0.0, neighbours,
                   None if vectors is None else truth[rows])


def _out_of_fold_scores(texts: list[str], truth: np.ndarray, vectors: np.ndarray | None,
                        n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Decision values for every text from a model that did not train on it (-10 where a fold
    lacked the class), and the nearest-example term against that fold's training rows (zeros
    without sentence vectors)."""
    counts = np.bincount(truth, minlength=n_classes)
    present = counts[counts > 0]
    stratified = present.min() >= 2
    folds = int(min(OOF_FOLDS, present.min())) if stratified else 2
    oof = np.full((len(texts), n_classes), -10.0)
    term = np.zeros((len(texts), n_classes))
    embedding = None if vectors is None else _unit_rows(sentence_part(np.asarray(vectors, np.float32)))
    splitter = StratifiedKFold(folds, shuffle=True, random_state=0).split(texts, truth) if stratified \
        else _plain_folds(len(texts), folds)
    for train, test in splitter:
        if len(np.unique(truth[train])) < 2:
            continue
        fold_features = text_features()
        train_x = _stack(fold_features.fit_transform([texts[i] for i in train]), _rows(vectors, train))
        svm = LinearSVC(C=SVM_C).fit(train_x, truth[train])
        test_x = _stack(fold_features.transform([texts[i] for i in test]), _rows(vectors, test))
        decision = svm.decision_function(test_x)
        oof[np.ix_(test, svm.classes_)] = decision if decision.ndim == 2 else np.c_[-decision, decision]
        if embedding is not None:  # the nearest-example term, against this fold's training rows only
            cosines = embedding[test] @ embedding[train].T
            for c in np.unique(truth[train]):
                term[test, c] = cosines[:, truth[train] == c].max(axis=1)
    return oof, term


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)


def _rows(vectors: np.ndarray | None, index: np.ndarray) -> np.ndarray | None:
    return None if vectors is None else vectors[index]


def _stack(ngram_features, vectors: np.ndarray | None) -> sparse.csr_matrix:
    """n-grams (scaled so the two TF-IDF blocks together have unit length) beside weighted vectors."""
    scaled = ngram_features / np.sqrt(2)
    if vectors is None:
        return sparse.csr_matrix(scaled)
    return sparse.hstack([scaled, sparse.csr_matrix(vectors * VECTOR_WEIGHT)], format="csr")


def _plain_folds(n: int, folds: int):
    """Folds for data with a label seen once (stratification is impossible)."""
    order = np.random.default_rng(0).permutation(n)
    for k in range(folds):
        test = order[k::folds]
        yield np.setdiff1d(order, test), test
