"""Versioned model artifacts in the database, following scikit-learn's persistence guidance.

A joblib file can run code when loaded and is tied to the library versions that wrote it, so each
version is kept with its metadata (library versions, data snapshot, metrics, SHA-256 checksum); a
version is never overwritten, the checksum is verified before loading, and a file written by
another scikit-learn is refused with a clear message instead of failing in obscure ways.

The artifacts and the version in service are in the database (:mod:`core.store.artifacts`), so a
model trained by any worker machine is served by every web machine connected to the same database;
each machine loads from its own verified copy (:mod:`core.ml.model_cache`). The embedded default
(SQLite) takes the same path: its database is on the local disk anyway. Models an older release
saved on local disk are moved into the database the first time they are asked for
(:mod:`core.ml.legacy_models`).
"""

from __future__ import annotations

import json
import platform
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import joblib
import sklearn

from core.ml.legacy_models import Imported, has_models_on_disk, import_from_disk
from core.ml.model_cache import ARTIFACT, FetchFailed, ModelCache, file_sha256
from core.store.artifacts import CHUNK_BYTES, ArtifactStore, StoredArtifact, VersionNotStored
from core.store.db import Database

__all__ = ["ARTIFACT", "MODEL_FORMAT", "ModelLoadError", "ModelRegistry", "ModelTooLarge", "StoredModel",
           "file_sha256", "library_versions"]

#: The largest artifact stored or fetched by default (``DESKLOOP_MAX_MODEL_BYTES`` overrides it): a
#: model this big is a training bug, and every web machine would have to hold it in memory.
MAX_MODEL_BYTES = 1024 * 1024 * 1024

#: What a version name may look like: it becomes a folder name in every machine's cache.
VERSION_NAME = re.compile(r"[0-9A-Za-z][0-9A-Za-z_-]{0,63}")


#: (database, folder) pairs this process has already looked in for models kept on disk.
_looked_on_disk: set[tuple[str, Path]] = set()


class ModelLoadError(RuntimeError):
    """A stored model cannot be used: missing, tampered with, or written by another library version."""


class ModelUnusable(ModelLoadError):
    """A model is in service but cannot be loaded (tampered with, incomplete, or written by another
    library version): the operator's to fix, not the caller's (HTTP 503, not 409)."""


class ModelTooLarge(ModelUnusable):
    """An artifact above the size limit: refused when saved, and never fetched."""


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


class ModelRegistry:
    """The model versions of one tenant and one model name.

    ``models_dir`` is this machine's cache (and where an older release kept models); ``db`` holds
    the versions every machine shares."""

    def __init__(self, models_dir: Path, tenant: str, name: str, *, db: Database,
                 max_bytes: int = MAX_MODEL_BYTES, chunk_bytes: int = CHUNK_BYTES) -> None:
        self.tenant, self.name, self.db = tenant, name, db
        self.max_bytes, self.chunk_bytes = max_bytes, chunk_bytes
        self.root = models_dir / tenant / name
        self.cache = ModelCache(self.root)
        self._imported = False

    @property
    def identity(self) -> tuple[str, str, str]:
        """Which model this is, across registries made for it: database, tenant, name."""
        return self.db.url, self.tenant, self.name

    @cached_property
    def _store(self) -> ArtifactStore:
        return ArtifactStore(self.db, self.db.tenant_id(self.tenant), self.name, self.chunk_bytes)

    @property
    def store(self) -> ArtifactStore:
        """The database side, once models an older release left on this disk are in it (looked
        for once per process and folder: a registry is made per request)."""
        store = self._store  # an unknown tenant stops here, before its folder is looked at
        if not self._imported:
            self._imported = True
            looked = (self.db.url, self.root)
            if looked not in _looked_on_disk:
                if has_models_on_disk(self.root):
                    import_from_disk(self.root, store)
                _looked_on_disk.add(looked)
        return store

    def import_from_disk(self) -> Imported | None:
        """Move the models an older release saved under this machine's folder into the database
        now (``deskloop migrate``) rather than when first asked for; ``None`` if there were none."""
        store, self._imported = self._store, True
        return import_from_disk(self.root, store) if has_models_on_disk(self.root) else None

    def new_version(self) -> str:
        """A name that sorts in training order: two versions trained within one second (a test,
        a replay) must still list oldest first, so the time goes down to microseconds."""
        return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f") + "-" + secrets.token_hex(3)

    def save(self, model: Any, metadata: dict[str, Any], promote: bool = True) -> StoredModel:
        """Store a new version (in the database, and in this machine's cache) and, by default,
        put it in service."""
        store = self.store  # an unknown tenant stops here, before anything is written
        version = self.new_version()
        temporary = self.cache.temporary(version)
        try:
            joblib.dump(model, temporary, compress=3)
            size = temporary.stat().st_size
            if size > self.max_bytes:
                raise ModelTooLarge(f"model for {self.tenant} is {size:,} bytes, above the limit of "
                                    f"{self.max_bytes:,} (DESKLOOP_MAX_MODEL_BYTES); it was not stored")
            sha256 = file_sha256(temporary)
            # As JSON reads it back (numpy numbers and the like as text, as metadata.json had them).
            full = _as_json({
                **metadata,
                "version": version,
                "created_at": datetime.now(UTC).isoformat(),
                "libraries": library_versions(),
                "sha256": sha256,
                "size": size,
            })
            store.put(version, temporary, sha256, full)
            self.cache.keep(version, temporary)
        finally:
            temporary.unlink(missing_ok=True)
        if promote:
            self.promote(version)
        return StoredModel(version, self.root / version, full)

    def promote(self, version: str) -> None:
        """Put ``version`` in service on every machine: one row update in the database."""
        try:
            self.store.set_current(self._checked_name(version))
        except VersionNotStored:
            raise ModelLoadError(f"no model version {version!r} for tenant {self.tenant!r}") from None

    def record_refusal(self, details: dict[str, Any]) -> None:
        """Keep a refused retrain on record for ``deskloop models``."""
        self.store.add_refusal(_as_json({"at": datetime.now(UTC).isoformat(), "in_service": self.current_version(),
                                         **details}))

    def refusals(self) -> list[dict[str, Any]]:
        return self.store.refusals()

    def current_version(self) -> str | None:
        """The version in service, read from the database each time: a promotion on any machine
        is seen by the next request everywhere."""
        return self.store.current()

    def versions(self) -> list[StoredModel]:
        return [self._described(a) for a in self.store.versions()]

    def load(self, version: str | None = None) -> tuple[Any, StoredModel]:
        stored = self._usable(version)
        return joblib.load(self.local_copy(stored)), self._described(stored)

    def check(self, version: str | None = None) -> StoredModel:
        """What :meth:`load` checks before it reads the artifact (the version in service by default):
        it is stored, and this release and library can read it. Cheap enough for a readiness probe;
        fetching and verifying the artifact is left to :meth:`load`."""
        return self._described(self._usable(version))

    def _usable(self, version: str | None) -> StoredArtifact:
        version = version or self.current_version()
        if version is None:
            raise ModelLoadError(
                f"tenant {self.tenant!r} has no trained {self.name} model yet; "
                f"run `deskloop train --tenant {self.tenant}`"
            )
        try:
            stored = self.store.get(self._checked_name(version))
        except VersionNotStored:
            raise ModelLoadError(f"no model version {version!r} for tenant {self.tenant!r}") from None
        _check_libraries(version, stored.metadata)
        return stored

    def local_copy(self, stored: StoredArtifact) -> Path:
        """This machine's verified copy of ``stored``, fetched from the database when missing or damaged."""
        if stored.size > self.max_bytes:
            raise ModelTooLarge(f"model {stored.version} is {stored.size:,} bytes, above the limit of "
                                f"{self.max_bytes:,} (DESKLOOP_MAX_MODEL_BYTES); it is not loaded")
        path = self.cache.verified(stored.version, stored.sha256)
        if path is not None:
            return path
        try:
            return self.cache.fill(stored.version, stored.sha256, stored.size, self.store.chunks(stored.version))
        except (FetchFailed, VersionNotStored) as exc:
            raise ModelUnusable(f"{exc}; retrain with `deskloop train` or roll back to another version") from exc

    def check_cache(self, fetch: bool = False) -> dict[str, str]:
        """Each version's copy on this machine: ``ok``, ``missing``, ``damaged`` (removed) or,
        with ``fetch``, ``fetched`` (a missing or damaged copy fetched again and verified)."""
        self.cache.remove_stale()
        found = {}
        for stored in self.store.versions():
            had_copy = self.cache.path(stored.version).is_file()
            if self.cache.verified(stored.version, stored.sha256) is not None:
                found[stored.version] = "ok"
            elif fetch:
                self.local_copy(stored)
                found[stored.version] = "fetched"
            else:
                found[stored.version] = "damaged" if had_copy else "missing"
        return found

    def _described(self, stored: StoredArtifact) -> StoredModel:
        return StoredModel(stored.version, self.root / stored.version, {**stored.metadata, "size": stored.size})

    def _checked_name(self, version: str) -> str:
        """``version`` if it can be a version name at all (it names a folder in the cache)."""
        if not VERSION_NAME.fullmatch(version):
            raise ModelLoadError(f"no model version {version!r} for tenant {self.tenant!r}")
        return version


def _as_json(metadata: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(metadata, default=str))


def _check_libraries(version: str, metadata: dict[str, Any]) -> None:
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
