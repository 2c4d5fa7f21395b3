"""A tenant's model artifacts in the database, so every web and worker machine reads the same ones.

A model is trained on one machine and served by all the others; the database is the one thing they
all share. An artifact is kept as a version row (checksum, size, metadata) and its bytes in chunks
of a few MiB, written in one transaction: a writer that dies half-way leaves nothing behind, and a
reader never sees a version without all its chunks. The version in service is one row per tenant
and model name, so promotion (and rollback) is a single row update every machine sees at once.
This module moves bytes only; what a model is, and the local cache, live in :mod:`core.ml.registry`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from core.clock import utcnow
from core.store.db import Database, upsert_insert
from core.store.tables import ModelChunkRow, ModelCurrentRow, ModelRefusalRow, ModelVersionRow

#: Bytes per chunk row: small enough that neither the driver nor the server holds a large model in
#: one buffer, large enough that a 100 MB model is only 50 rows.
CHUNK_BYTES = 2 * 1024 * 1024


class VersionNotStored(LookupError):
    """No such version for this tenant and model name (another tenant's versions are never seen)."""


@dataclass(frozen=True)
class StoredArtifact:
    """A version as the database describes it: enough to fetch it and to check what was fetched."""

    version: str
    sha256: str
    size: int
    chunks: int
    metadata: dict[str, Any]
    created_at: datetime


def _described(row: ModelVersionRow) -> StoredArtifact:
    return StoredArtifact(row.version, row.sha256, row.size, row.chunks, dict(row.details), row.created_at)


class ArtifactStore:
    """The artifacts of one tenant's model ``name``, read and written through tenant-scoped sessions."""

    def __init__(self, db: Database, tenant_id: int, name: str, chunk_bytes: int = CHUNK_BYTES) -> None:
        self.db, self.tenant_id, self.name, self.chunk_bytes = db, tenant_id, name, chunk_bytes

    def put(self, version: str, artifact: Path, sha256: str, metadata: dict[str, Any]) -> StoredArtifact:
        """Store the file ``artifact`` as ``version``: the row and every chunk in one transaction.

        ``sha256`` is the caller's checksum of the file; the bytes are hashed again as they are
        sent, so a file that changed in between is refused rather than stored under a wrong sum."""
        digest, size, seq = hashlib.sha256(), 0, 0
        with self.db.transaction(self.tenant_id) as session:
            row = ModelVersionRow(tenant_id=self.tenant_id, name=self.name, version=version, sha256=sha256,
                                  size=0, chunks=0, details=metadata, created_at=utcnow())
            session.add(row)
            session.flush()
            with artifact.open("rb") as handle:
                for block in iter(lambda: handle.read(self.chunk_bytes), b""):
                    session.execute(insert(ModelChunkRow), [{"tenant_id": self.tenant_id, "version_id": row.id,
                                                             "seq": seq, "data": block}])
                    digest.update(block)
                    size += len(block)
                    seq += 1
            if digest.hexdigest() != sha256:
                raise ValueError(f"{artifact} changed while it was being stored")
            row.size, row.chunks = size, seq
            return _described(row)

    def get(self, version: str) -> StoredArtifact:
        with self.db.tenant_session(self.tenant_id) as session:
            row = session.scalar(select(ModelVersionRow).where(ModelVersionRow.name == self.name,
                                                               ModelVersionRow.version == version))
        if row is None:
            raise VersionNotStored(version)
        return _described(row)

    def versions(self) -> list[StoredArtifact]:
        """Every version, oldest first (version names sort in training order)."""
        with self.db.tenant_session(self.tenant_id) as session:
            rows = session.scalars(select(ModelVersionRow).where(ModelVersionRow.name == self.name)
                                   .order_by(ModelVersionRow.version)).all()
        return [_described(row) for row in rows]

    def chunks(self, version: str) -> Iterator[bytes]:
        """The artifact's bytes, one chunk per query: a reader holds one chunk at a time, whatever
        the model's size. Stops at the chunk count recorded with the version."""
        with self.db.tenant_session(self.tenant_id) as session:
            row = session.scalar(select(ModelVersionRow).where(ModelVersionRow.name == self.name,
                                                               ModelVersionRow.version == version))
            if row is None:
                raise VersionNotStored(version)
            for seq in range(row.chunks):
                data = session.scalar(select(ModelChunkRow.data).where(ModelChunkRow.version_id == row.id,
                                                                        ModelChunkRow.seq == seq))
                if data is None:
                    raise VersionNotStored(f"{version} (chunk {seq} of {row.chunks} is missing)")
                yield bytes(data)

    def current(self) -> str | None:
        with self.db.tenant_session(self.tenant_id) as session:
            return session.scalar(select(ModelCurrentRow.version).where(ModelCurrentRow.name == self.name))

    def set_current(self, version: str) -> None:
        """Put ``version`` in service: one row, inserted or updated, after checking the version is
        this tenant's, in the same transaction."""
        with self.db.transaction(self.tenant_id) as session:
            known = session.scalar(select(ModelVersionRow.id).where(ModelVersionRow.name == self.name,
                                                                    ModelVersionRow.version == version))
            if known is None:
                raise VersionNotStored(version)
            now = utcnow()
            statement = upsert_insert(self.db.dialect, ModelCurrentRow.__table__).values(
                tenant_id=self.tenant_id, name=self.name, version=version, promoted_at=now)
            session.execute(statement.on_conflict_do_update(index_elements=["tenant_id", "name"],
                                                            set_={"version": version, "promoted_at": now}))

    def add_refusal(self, details: dict[str, Any]) -> None:
        with self.db.transaction(self.tenant_id) as session:
            session.add(ModelRefusalRow(tenant_id=self.tenant_id, name=self.name, at=utcnow(), details=details))

    def refusals(self) -> list[dict[str, Any]]:
        with self.db.tenant_session(self.tenant_id) as session:
            return [dict(d) for d in session.scalars(select(ModelRefusalRow.details)
                                                     .where(ModelRefusalRow.name == self.name)
                                                     .order_by(ModelRefusalRow.id))]
