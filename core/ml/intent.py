"""Intent classification with calibrated confidence and an abstention threshold chosen from data.

One linear SVM reads two views of the text side by side: sparse word and character n-grams (exact
wording, product names, typos) and dense sentence vectors from a small transformer (meaning, when
the words differ). Chosen by 5-fold cross-validation on Banking77 (10,003 queries, 77 intents):
n-grams alone 0.90 accuracy, sentence vectors alone 0.92, both together 0.93.

Confidence is a softmax over the SVM's scores with one temperature fitted on out-of-fold scores,
so it can be read as a probability. The abstention threshold is the lowest confidence at which
out-of-fold answers still reach the tenant's target precision: below it Deskloop says "needs a
human" instead of guessing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC

DEFAULT_TARGET_PRECISION = 0.9
#: Weight of the sentence vectors against the n-grams (cross-validated on Banking77).
VECTOR_WEIGHT = 1.5
SVM_C = 1.0
OOF_FOLDS = 3

Encode = Callable[[list[str]], np.ndarray]


def text_features() -> FeatureUnion:
    return FeatureUnion(
        [
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)),
        ]
    )


def threshold_for_precision(confidence: np.ndarray, correct: np.ndarray, target: float) -> float:
    """The smallest confidence above which answers are right at least ``target`` of the time."""
    order = np.argsort(-confidence)
    precision = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)
    meeting = np.nonzero(precision >= target)[0]
    if len(meeting) == 0:
        return 1.0
    return float(confidence[order][meeting[-1]])


def fit_temperature(scores: np.ndarray, truth: np.ndarray) -> float:
    """The softmax temperature that makes out-of-fold scores most likely (minimum log loss)."""
    def loss(log_t: float) -> float:
        return -float(log_softmax(scores / np.exp(log_t), axis=1)[np.arange(len(truth)), truth].mean())

    return float(np.exp(minimize_scalar(loss, bounds=(-6.0, 3.0), method="bounded").x))


@dataclass
class IntentClassifier:
    ngrams: FeatureUnion
    svm: LinearSVC
    classes: np.ndarray
    temperature: float
    threshold: float
    cv_accuracy: float | None
    uses_vectors: bool

    def features(self, texts: list[str], vectors: np.ndarray | None) -> sparse.csr_matrix:
        return _stack(self.ngrams.transform(texts), vectors if self.uses_vectors else None)

    def scores(self, texts: list[str], vectors: np.ndarray | None = None) -> np.ndarray:
        return self.svm.decision_function(self.features(texts, vectors))

    def probabilities_batch(self, texts: list[str], vectors: np.ndarray | None = None) -> np.ndarray:
        return softmax(self.scores(texts, vectors) / self.temperature, axis=1)

    def probabilities(self, text: str, vector: np.ndarray | None = None, top: int = 5) -> dict[str, float]:
        """The ``top`` most likely intents with their calibrated probabilities, best first."""
        row = self.probabilities_batch([text], None if vector is None else vector.reshape(1, -1))[0]
        best = np.argsort(-row)[:top]
        return {str(self.classes[i]): float(row[i]) for i in best}

    @classmethod
    def fit(cls, texts: list[str], labels: list[str], vectors: np.ndarray | None = None,
            target_precision: float = DEFAULT_TARGET_PRECISION) -> IntentClassifier:
        """Train on ``texts`` (with their sentence ``vectors`` when an encoder is in use).

        Works from two examples per label; out-of-fold scores set the temperature and threshold.
        """
        labels_arr = np.asarray(labels)
        classes, counts = np.unique(labels_arr, return_counts=True)
        if len(classes) < 2:
            raise ValueError("intent training needs at least two different labels")
        truth = np.searchsorted(classes, labels_arr)
        folds = int(min(OOF_FOLDS, counts.min())) if counts.min() >= 2 else 2
        oof = np.full((len(texts), len(classes)), -10.0)
        splitter = StratifiedKFold(folds, shuffle=True, random_state=0)
        for train, test in splitter.split(texts, truth) if counts.min() >= 2 else _plain_folds(len(texts), folds):
            fold_features = text_features()
            train_x = _stack(fold_features.fit_transform([texts[i] for i in train]), _rows(vectors, train))
            present = np.unique(truth[train])
            if len(present) < 2:
                continue
            svm = LinearSVC(C=SVM_C).fit(train_x, truth[train])
            test_x = _stack(fold_features.transform([texts[i] for i in test]), _rows(vectors, test))
            decision = svm.decision_function(test_x)
            oof[np.ix_(test, svm.classes_)] = decision if decision.ndim == 2 else np.c_[-decision, decision]
        temperature = fit_temperature(oof, truth)
        confidence = softmax(oof / temperature, axis=1)
        correct = (confidence.argmax(axis=1) == truth).astype(float)
        threshold = threshold_for_precision(confidence.max(axis=1), correct, target_precision)

        ngrams = text_features()
        svm = LinearSVC(C=SVM_C).fit(_stack(ngrams.fit_transform(texts), vectors), truth)
        return cls(ngrams, svm, classes, temperature, threshold, float(correct.mean()), vectors is not None)


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
