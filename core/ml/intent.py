"""Intent classification with calibrated confidence and an abstention threshold chosen from data.

Word and character n-gram TF-IDF feed a linear SVM whose scores are calibrated (Platt, 3-fold), so
``confidence`` can be read as a probability. The abstention threshold is the lowest confidence at
which out-of-fold predictions still reach the tenant's target precision: below it Deskloop says
"needs a human" instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

DEFAULT_TARGET_PRECISION = 0.9


def text_features() -> FeatureUnion:
    return FeatureUnion(
        [
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)),
        ]
    )


def _classifier(folds: int) -> CalibratedClassifierCV:
    return CalibratedClassifierCV(LinearSVC(C=0.5), cv=folds)


def threshold_for_precision(confidence: np.ndarray, correct: np.ndarray, target: float) -> float:
    """The smallest confidence above which answers are right at least ``target`` of the time."""
    order = np.argsort(-confidence)
    precision = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)
    meeting = np.nonzero(precision >= target)[0]
    if len(meeting) == 0:
        return 1.0
    return float(confidence[order][meeting[-1]])


@dataclass
class IntentClassifier:
    pipeline: Pipeline
    classes: np.ndarray
    threshold: float
    cv_accuracy: float | None

    @classmethod
    def fit(cls, texts: list[str], labels: list[str], target_precision: float = DEFAULT_TARGET_PRECISION):
        labels_arr = np.asarray(labels)
        _, counts = np.unique(labels_arr, return_counts=True)
        folds = int(min(3, counts.min())) if len(counts) > 1 else 0
        if folds < 2:
            raise ValueError("intent training needs at least two labels with two examples each")
        # Out-of-fold confidences choose the abstention threshold honestly. Each outer training
        # split holds only (folds-1)/folds of the rarest label, which bounds the inner calibration folds.
        inner = max(2, min(folds, int(counts.min()) * (folds - 1) // folds))
        splitter = StratifiedKFold(folds, shuffle=True, random_state=0)
        oof_pipeline = Pipeline([("features", text_features()), ("classify", _classifier(inner))])
        oof = cross_val_predict(oof_pipeline, texts, labels_arr, cv=splitter, method="predict_proba")
        pipeline = Pipeline([("features", text_features()), ("classify", _classifier(folds))])
        classes = np.unique(labels_arr)
        predicted = classes[oof.argmax(axis=1)]
        correct = (predicted == labels_arr).astype(float)
        threshold = threshold_for_precision(oof.max(axis=1), correct, target_precision)
        pipeline.fit(texts, labels_arr)
        return cls(pipeline, pipeline.classes_, threshold, float(correct.mean()))

    def probabilities(self, text: str, top: int = 5) -> dict[str, float]:
        """The ``top`` most likely intents with their calibrated probabilities, best first."""
        row = self.pipeline.predict_proba([text])[0]
        best = np.argsort(-row)[:top]
        return {str(self.classes[i]): float(row[i]) for i in best}
