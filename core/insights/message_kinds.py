"""What a customer message is: a question, a problem, a feature request or a complaint.

A linear model over word and character n-grams and a few phrasing cues
(:mod:`core.insights.message_cues`), with calibrated probabilities. The default model is trained
from the labelled set shipped in ``core/insights/data/message_kinds.csv`` on first use (about two
seconds, deterministic) and cached on disk under the models directory, one folder per version: the
version is a digest of the data, the cues and the scikit-learn release, so a change to any of them
trains afresh instead of loading a stale or incompatible file. Only files this module wrote are
loaded, and only when their checksum matches the metadata beside them (a joblib file can run code).

A tenant whose agents tag tickets by kind (``feature-request``, ``idea``, ``bug``, ``complaint``...)
gets a model trained on the shipped set plus those tickets, weighted above the shipped rows, so its
own wording wins where the two disagree. Tags are read as stored, after the tenant's tag aliases
(``core.labelling.taxonomy``) have been applied, so an alias such as ``feat`` -> ``feature-request``
counts too.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
import sklearn
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline, make_union
from sklearn.svm import LinearSVC

from core.errors import BadInput
from core.insights.message_cues import CUES_VERSION, PhrasingCues

QUESTION, PROBLEM, FEATURE_REQUEST, COMPLAINT = "question", "problem", "feature_request", "complaint"
KINDS = (QUESTION, PROBLEM, FEATURE_REQUEST, COMPLAINT)
DATA = Path(__file__).resolve().parent / "data" / "message_kinds.csv"
#: Bumped when the pipeline's shape changes (features, model, calibration).
MODEL_SHAPE = 1
#: A message is a feature request from this probability on, even when another kind is likelier:
#: chosen by cross-validation on the shipped set (``bench/feature_requests.py``), where taking the
#: likeliest kind found 0.87 of the requests at precision 0.95, and 0.4 finds 0.90 at 0.90. A
#: missed request is lost to the product team; a wrong one is one more line to read.
FEATURE_REQUEST_THRESHOLD = 0.4
#: A tenant's own tagged ticket counts this many times a shipped row.
TENANT_WEIGHT = 3.0
#: Agent tags that say what kind a ticket is (in tag form: lower case, dashes for spaces).
TAG_KINDS = {
    "feature-request": FEATURE_REQUEST, "feature_request": FEATURE_REQUEST, "feature": FEATURE_REQUEST,
    "idea": FEATURE_REQUEST, "enhancement": FEATURE_REQUEST, "suggestion": FEATURE_REQUEST,
    "product-feedback": FEATURE_REQUEST,
    "complaint": COMPLAINT, "complaints": COMPLAINT,
    "bug": PROBLEM, "problem": PROBLEM, "defect": PROBLEM,
    "question": QUESTION, "how-to": QUESTION, "howto": QUESTION,
}
_ARTIFACT, _METADATA = "model.joblib", "metadata.json"
_TENANT_MODELS_KEPT = 8


@dataclass(frozen=True)
class LabelledMessage:
    text: str
    kind: str
    domain: str = ""
    weight: float = 1.0


@dataclass(frozen=True)
class KindJudgement:
    kind: str
    probability: float  # of that kind (calibrated)


def kind_of_tags(tags: Iterable[str]) -> str | None:
    """The kind agent tags give a ticket; ``None`` when they name none, or two different ones."""
    kinds = {TAG_KINDS[t] for t in tags if t in TAG_KINDS}
    return kinds.pop() if len(kinds) == 1 else None


def shipped_examples(path: Path = DATA) -> list[LabelledMessage]:
    """The labelled set shipped with the project (its README says where each row comes from)."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    examples = [LabelledMessage(r["text"], r["kind"], r.get("domain") or "") for r in rows]
    unknown = sorted({e.kind for e in examples} - set(KINDS))
    if unknown:
        raise BadInput(f"unknown kinds {unknown} in {path.name}")
    return examples


def build_pipeline() -> Pipeline:
    """Word 1-2-grams, character 2-5-grams within words, the phrasing cues; a linear SVM whose
    scores are calibrated to probabilities by 3-fold sigmoid fitting (deterministic: no shuffling)."""
    features = make_union(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2),
        PhrasingCues(),
    )
    model = CalibratedClassifierCV(LinearSVC(C=1.0, class_weight="balanced"), cv=3)
    return Pipeline([("features", features), ("model", model)])


def train(examples: list[LabelledMessage]) -> Pipeline:
    if len({e.kind for e in examples}) < 2:
        raise BadInput("training needs examples of at least two kinds")
    pipeline = build_pipeline()
    pipeline.fit([e.text for e in examples], [e.kind for e in examples],
                 model__sample_weight=np.asarray([e.weight for e in examples]))
    return pipeline


class KindModel:
    """A trained pipeline and the version that names it."""

    def __init__(self, pipeline: Pipeline, version: str, tenant_examples: int = 0) -> None:
        self.pipeline, self.version, self.tenant_examples = pipeline, version, tenant_examples

    def judge(self, texts: list[str]) -> list[KindJudgement]:
        if not texts:
            return []
        probabilities = self.pipeline.predict_proba(texts)
        classes = [str(c) for c in self.pipeline.classes_]
        best = probabilities.argmax(axis=1)
        if FEATURE_REQUEST in classes:
            request = classes.index(FEATURE_REQUEST)
            best = np.where(probabilities[:, request] >= FEATURE_REQUEST_THRESHOLD, request, best)
        return [KindJudgement(classes[i], float(p[i])) for i, p in zip(best, probabilities, strict=True)]

    def kinds(self, texts: list[str]) -> list[str]:
        return [j.kind for j in self.judge(texts)]


def _digest(examples: list[LabelledMessage]) -> str:
    digest = hashlib.sha256(f"shape={MODEL_SHAPE};cues={CUES_VERSION};sklearn={sklearn.__version__}".encode())
    for e in examples:
        digest.update(json.dumps([e.text, e.kind, e.weight]).encode())
    return digest.hexdigest()[:16]


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _load_verified(folder: Path) -> Pipeline | None:
    try:
        metadata = json.loads((folder / _METADATA).read_text(encoding="utf-8"))
        if _file_sha256(folder / _ARTIFACT) != metadata["sha256"]:
            return None
        return joblib.load(folder / _ARTIFACT)
    except (OSError, ValueError, KeyError):
        return None


def _save(folder: Path, pipeline: Pipeline, version: str, rows: int) -> None:
    """Written into a temporary folder and renamed into place: a reader sees the whole version or
    none, and a version is never overwritten (two processes racing keep the first)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".training-", dir=folder.parent))
    try:
        joblib.dump(pipeline, scratch / _ARTIFACT)
        (scratch / _METADATA).write_text(json.dumps({
            "version": version, "sha256": _file_sha256(scratch / _ARTIFACT), "rows": rows,
            "kinds": list(KINDS), "sklearn": sklearn.__version__, "data": DATA.name}, indent=2), encoding="utf-8")
        try:
            os.rename(scratch, folder)
        except OSError:  # another process got there first
            pass
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


_lock = threading.Lock()
_default: dict[Path, KindModel] = {}
_tenant_models: OrderedDict[str, KindModel] = OrderedDict()


def default_model(models_dir: Path) -> KindModel:
    """The model trained on the shipped set: from this process's memory, else this machine's
    disk, else trained now and saved."""
    with _lock:
        if models_dir in _default:
            return _default[models_dir]
        examples = shipped_examples()
        version = f"kinds-{_digest(examples)}"
        folder = models_dir / "message-kinds" / version
        pipeline = _load_verified(folder) if folder.exists() else None
        if pipeline is None:
            shutil.rmtree(folder, ignore_errors=True)  # a copy that failed its checksum
            pipeline = train(examples)
            _save(folder, pipeline, version, len(examples))
        _default[models_dir] = KindModel(pipeline, version)
        return _default[models_dir]


def model_for(models_dir: Path, tenant_examples: list[LabelledMessage]) -> KindModel:
    """The default model, or one that also learned from the tenant's tagged tickets (kept in this
    process's memory by the digest of those tickets, so it is trained again only when they change;
    it is never written to disk, where it would hold the tenant's customers' words)."""
    if not tenant_examples:
        return default_model(models_dir)
    examples = shipped_examples() + [LabelledMessage(e.text, e.kind, "tenant", TENANT_WEIGHT)
                                     for e in tenant_examples]
    version = f"kinds-{_digest(examples)}"
    with _lock:
        if version in _tenant_models:
            _tenant_models.move_to_end(version)
            return _tenant_models[version]
    model = KindModel(train(examples), version, len(tenant_examples))
    with _lock:
        _tenant_models[version] = model
        while len(_tenant_models) > _TENANT_MODELS_KEPT:
            _tenant_models.popitem(last=False)
    return model
