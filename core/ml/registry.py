"""Versioned model artifacts on local disk, following scikit-learn's persistence guidance.

A joblib file can run code when loaded and is tied to the library versions that wrote it, so each
version lives in its own folder ``<models>/<tenant>/<name>/<version>/`` beside a ``metadata.json``
(library versions, data snapshot, metrics, SHA-256 checksum); a version is never overwritten, the
checksum is verified before loading, and a file written by another scikit-learn is refused with a
clear message instead of failing in obscure ways. ``current`` names the version in service.
"""

from __future__ import annotations

import hashlib
import json
import platform
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import sklearn

ARTIFACT = "model.joblib"
METADATA = "metadata.json"
CURRENT = "current"
REFUSALS = "refused.jsonl"


class ModelLoadError(RuntimeError):
    """A stored model cannot be used: missing, tampered with, or written by another library version."""


class ModelUnusable(ModelLoadError):
    """A model is in service but cannot be loaded (tampered with, incomplete, or written by another
    library version): the operator's to fix, not the caller's (HTTP 503, not 409)."""


@dataclass(frozen=True)
class StoredModel:
    version: str
    path: Path
    metadata: dict[str, Any]


#: Bumped whenever the saved model's shape changes, so an older artifact is refused with a message
#: instead of failing halfway through a suggestion. 2: bounded reference set in the similarity index.
MODEL_FORMAT = "2"


def library_versions() -> dict[str, str]:
    import numpy
    import scipy

    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "joblib": joblib.__version__,
        "deskloop-model-format": MODEL_FORMAT,
    }


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ModelRegistry:
    """The model versions of one tenant and one model name."""

    def __init__(self, models_dir: Path, tenant: str, name: str) -> None:
        self.tenant, self.name = tenant, name
        self.root = models_dir / tenant / name

    def new_version(self) -> str:
        """A name that sorts in training order: two versions trained within one second (a test,
        a replay) must still list oldest first, so the time goes down to microseconds."""
        return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f") + "-" + secrets.token_hex(3)

    def save(self, model: Any, metadata: dict[str, Any], promote: bool = True) -> StoredModel:
        version = self.new_version()
        folder = self.root / version
        folder.mkdir(parents=True, exist_ok=False)
        artifact = folder / ARTIFACT
        joblib.dump(model, artifact, compress=3)
        full = {
            **metadata,
            "version": version,
            "created_at": datetime.now(UTC).isoformat(),
            "libraries": library_versions(),
            "sha256": file_sha256(artifact),
        }
        (folder / METADATA).write_text(json.dumps(full, indent=2, sort_keys=True, default=str))
        if promote:
            self.promote(version)
        return StoredModel(version, folder, full)

    def promote(self, version: str) -> None:
        if not (self.root / version / METADATA).is_file():
            raise ModelLoadError(f"no model version {version!r} in {self.root}")
        tmp = self.root / f".{CURRENT}.tmp"
        tmp.write_text(version)
        tmp.replace(self.root / CURRENT)  # atomic: readers never see a half-written pointer

    def record_refusal(self, details: dict[str, Any]) -> None:
        """Keep a refused retrain on record (``refused.jsonl``) for ``deskloop models``."""
        self.root.mkdir(parents=True, exist_ok=True)
        entry = {"at": datetime.now(UTC).isoformat(), "in_service": self.current_version(), **details}
        with (self.root / REFUSALS).open("a") as handle:
            handle.write(json.dumps(entry, default=str) + "\n")

    def refusals(self) -> list[dict[str, Any]]:
        path = self.root / REFUSALS
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []

    def current_version(self) -> str | None:
        pointer = self.root / CURRENT
        return pointer.read_text().strip() if pointer.is_file() else None

    def versions(self) -> list[StoredModel]:
        if not self.root.is_dir():
            return []
        found = []
        for folder in sorted(p for p in self.root.iterdir() if (p / METADATA).is_file()):
            found.append(StoredModel(folder.name, folder, json.loads((folder / METADATA).read_text())))
        return found

    def load(self, version: str | None = None) -> tuple[Any, StoredModel]:
        version = version or self.current_version()
        if version is None:
            raise ModelLoadError(
                f"tenant {self.tenant!r} has no trained {self.name} model yet; "
                f"run `deskloop train --tenant {self.tenant}`"
            )
        folder = self.root / version
        try:
            metadata = json.loads((folder / METADATA).read_text())
        except FileNotFoundError as exc:
            raise ModelUnusable(f"model version {version!r} has no metadata in {folder}") from exc
        written_with = metadata.get("libraries", {}).get("scikit-learn")
        if written_with != sklearn.__version__:
            raise ModelUnusable(
                f"model {version} was written by scikit-learn {written_with}, this is {sklearn.__version__}; "
                "retrain with `deskloop train` (loading it could give wrong answers)"
            )
        written_format = metadata.get("libraries", {}).get("deskloop-model-format", "1")
        if written_format != MODEL_FORMAT:
            raise ModelUnusable(
                f"model {version} is in Deskloop model format {written_format}, this release reads {MODEL_FORMAT}; "
                "retrain with `deskloop train`"
            )
        artifact = folder / ARTIFACT
        if file_sha256(artifact) != metadata.get("sha256"):
            raise ModelUnusable(f"model {version} failed its checksum; the file was changed after it was saved")
        return joblib.load(artifact), StoredModel(version, folder, metadata)
