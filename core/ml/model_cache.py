"""Each machine's own copy of the model artifacts it serves, checked against the database's checksum.

joblib loads from a file, and fetching a large model from the database for every process start
would be slow, so a machine keeps the artifacts it has fetched under its own ``DESKLOOP_HOME``:
``<models>/<tenant>/<name>/<version>/model.joblib`` (where models were kept before they moved to
the database, so an older install's files serve as its cache). A copy is trusted only while its
SHA-256 matches the one recorded in the database: a damaged or edited copy is thrown away and
fetched again. A fetch writes to a temporary file in the same folder and renames it into place once
verified, so another process never reads half a file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import time
from collections.abc import Iterable
from pathlib import Path

ARTIFACT = "model.joblib"
TEMPORARY = ".fetching-"

#: A temporary file older than this was left by a process that died mid-fetch.
STALE_SECONDS = 3600

log = logging.getLogger(__name__)


class FetchFailed(RuntimeError):
    """What the database sent does not match what it recorded (size or checksum)."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ModelCache:
    """The verified local copies of one tenant's model name, under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, version: str) -> Path:
        return self.root / version / ARTIFACT

    def verified(self, version: str, sha256: str) -> Path | None:
        """The cached copy of ``version`` if it is intact; a copy that fails ``sha256`` is removed."""
        path = self.path(version)
        if not path.is_file():
            return None
        if file_sha256(path) == sha256:
            return path
        log.warning("cached model %s in %s failed its checksum; fetching it again", version, self.root)
        path.unlink(missing_ok=True)
        return None

    def temporary(self, version: str) -> Path:
        """A file name no other process uses, in the version's folder (so the rename is atomic)."""
        folder = self.root / version
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return folder / f"{TEMPORARY}{os.getpid()}-{secrets.token_hex(4)}"

    def keep(self, version: str, temporary: Path) -> Path:
        """Move a verified temporary file into place."""
        path = self.path(version)
        os.replace(temporary, path)
        return path

    def fill(self, version: str, sha256: str, size: int, chunks: Iterable[bytes]) -> Path:
        """Write ``chunks`` to the cache as ``version`` if they make exactly ``size`` bytes with
        ``sha256``; otherwise nothing is kept and :class:`FetchFailed` says why. Stops reading as
        soon as more than ``size`` bytes arrive, so a bad row cannot fill the disk."""
        temporary = self.temporary(version)
        try:
            digest, written = hashlib.sha256(), 0
            with temporary.open("wb") as handle:
                for block in chunks:
                    written += len(block)
                    if written > size:
                        raise FetchFailed(f"model {version} is larger than the {size:,} bytes recorded")
                    digest.update(block)
                    handle.write(block)
                handle.flush()
                os.fsync(handle.fileno())
            if written != size:
                raise FetchFailed(f"model {version} has {written:,} bytes, {size:,} were recorded")
            if digest.hexdigest() != sha256:
                raise FetchFailed(f"model {version} failed its checksum; the stored artifact was changed")
            return self.keep(version, temporary)
        finally:
            temporary.unlink(missing_ok=True)

    def versions(self) -> list[str]:
        """The versions with a copy here."""
        if not self.root.is_dir():
            return []
        return sorted(p.parent.name for p in self.root.glob(f"*/{ARTIFACT}"))

    def remove_stale(self, now: float | None = None) -> int:
        """Remove temporary files left by processes that died mid-fetch; how many were removed."""
        now = time.time() if now is None else now
        removed = 0
        for leftover in self.root.glob(f"*/{TEMPORARY}*") if self.root.is_dir() else ():
            if now - leftover.stat().st_mtime > STALE_SECONDS:
                leftover.unlink(missing_ok=True)
                removed += 1
        return removed
