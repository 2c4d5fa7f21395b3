"""Models saved on one machine's disk, before models moved to the database: moved in, once.

Until then each version lived only in ``<models>/<tenant>/<name>/<version>/`` (``model.joblib``
and ``metadata.json``), with a ``current`` file naming the version in service and a
``refused.jsonl`` log. An upgraded install must keep serving the model it served, so those are
copied into the database the first time the registry is asked about them (or by
``deskloop migrate``). A version whose file no longer matches the checksum in its metadata is left
out: it would have been refused when loaded anyway. The files stay where they are and serve as this
machine's cache; a marker file records that the folder was imported, so it is read only once.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import IntegrityError

from core.ml.model_cache import ARTIFACT, file_sha256
from core.store.artifacts import ArtifactStore, VersionNotStored

METADATA = "metadata.json"
CURRENT = "current"
REFUSALS = "refused.jsonl"
IMPORTED = ".in-database"

log = logging.getLogger(__name__)


@dataclass
class Imported:
    """What one import did, for ``deskloop migrate`` to report."""

    versions: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    current: str | None = None


def has_models_on_disk(root: Path) -> bool:
    """Whether ``root`` holds models saved before the database kept them, not yet imported."""
    return root.is_dir() and not (root / IMPORTED).exists() and (
        (root / CURRENT).is_file() or (root / REFUSALS).is_file() or any(root.glob(f"*/{METADATA}")))


def import_from_disk(root: Path, store: ArtifactStore) -> Imported:
    """Copy the versions, the version in service and the refusals under ``root`` into ``store``.

    Safe to run from several processes at once: a version another process stored first is kept."""
    done = Imported()
    stored = {a.version for a in store.versions()}
    for meta_path in sorted(root.glob(f"*/{METADATA}")):
        version, artifact = meta_path.parent.name, meta_path.parent / ARTIFACT
        if version in stored:
            continue
        try:
            metadata = json.loads(meta_path.read_text())
            sha256 = file_sha256(artifact)
        except (OSError, ValueError) as exc:
            log.warning("model %s in %s is unreadable, not imported: %s", version, root, exc)
            done.skipped.append(version)
            continue
        if sha256 != metadata.get("sha256"):
            log.warning("model %s in %s failed its checksum, not imported", version, root)
            done.skipped.append(version)
            continue
        try:
            store.put(version, artifact, sha256, metadata)
        except IntegrityError:  # another process imported it a moment ago
            continue
        done.versions.append(version)
    pointer = root / CURRENT
    if pointer.is_file() and store.current() is None:
        try:
            store.set_current(pointer.read_text().strip())
            done.current = pointer.read_text().strip()
        except VersionNotStored:
            log.warning("the model in service in %s was not imported; no version is in service", root)
    refusals = root / REFUSALS
    if refusals.is_file() and not store.refusals():
        for line in refusals.read_text().splitlines():
            if line.strip():
                store.add_refusal(json.loads(line))
    (root / IMPORTED).write_text("versions, current and refusals are in the database now\n")
    return done
