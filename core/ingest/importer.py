"""Write a file's tickets in one transaction, in bounded chunks, with a progress bar.

One transaction for the whole file is what makes an import safe to retry: a bad value on the last
of 100,000 lines rolls back the 99,999 before it, so the user fixes the file and runs the same
command again, never wondering which half got in. Rows stream through in chunks, so memory does
not grow with the file.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from core.errors import BadInput
from core.ingest.readers import CsvReader, FieldMap, JsonlReader
from core.labelling import taxonomy
from core.store.db import Database
from core.store.tickets import FieldTooLong, UpsertCounts, check_lengths, upsert_tickets
from core.types import check_slug

Format = Literal["csv", "jsonl"]
_EXTENSIONS: dict[str, Format] = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}

#: Tickets per upsert call: the unit of memory while streaming (and of the progress bar's steps).
CHUNK_SIZE = 2000


@dataclass(frozen=True)
class ImportResult:
    tenant: str
    rows: int
    counts: UpsertCounts
    repeated: int
    seconds: float

    def summary(self) -> str:
        """One line for the user: what happened, where, and how long it took."""
        parts = f"{self.counts.inserted} new, {self.counts.updated} updated"
        if self.counts.unchanged:
            parts += f", {self.counts.unchanged} unchanged"
        line = f"imported {self.rows} tickets ({parts}) into tenant {self.tenant} in {self.seconds:.1f} s"
        if self.repeated:
            line += f"; {self.repeated} rows repeated an earlier row's id (the last one was kept)"
        return line


def detect_format(path: Path, fmt: str | None) -> Format:
    if fmt:
        return fmt  # type: ignore[return-value]
    try:
        return _EXTENSIONS[path.suffix.lower()]
    except KeyError:
        raise BadInput(f"cannot tell the format from the extension {path.suffix!r}; pass --format csv or jsonl",
                       file=str(path)) from None


def open_reader(path: Path, fmt: str | None = None, mapping: FieldMap | None = None,
                source: str | None = None) -> CsvReader | JsonlReader:
    """The reader for ``path``: CSV through ``mapping``, or JSONL in the common shape."""
    if detect_format(path, fmt) == "csv":
        return CsvReader(path, mapping or FieldMap(), source)
    return JsonlReader(path, source)


def import_file(db: Database, path: str | Path, tenant: str, *, fmt: str | None = None,
                mapping: FieldMap | None = None, source: str | None = None,
                show_progress: bool = True, chunk_size: int = CHUNK_SIZE) -> ImportResult:
    """Import ``path`` into ``tenant`` (created if missing, in the import's own transaction); all
    or nothing: a failed or killed import leaves neither tickets nor a new tenant behind.

    Raises:
        BadInput: the file cannot be read or a value is invalid; nothing from the file was written.
    """
    started = time.perf_counter()
    path = Path(path)
    if not path.is_file():
        raise BadInput("no such file", file=str(path))
    check_slug(tenant)
    reader = open_reader(path, fmt, mapping, source)

    rows, repeated = 0, 0
    counts = UpsertCounts()
    seen: set[tuple[str, str]] = set()
    console = Console(stderr=True)
    progress = Progress(TextColumn("importing"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                        console=console, disable=not (show_progress and console.is_terminal), transient=True)
    with progress, db.creating_tenant(tenant) as (session, tenant_id):
        task = progress.add_task("import", total=reader.size)
        aliases = taxonomy.load_aliases(session)
        chunk = []
        for line, ticket in reader:
            try:
                check_lengths(ticket)
            except FieldTooLong as exc:
                raise BadInput(str(exc), file=str(path), line=line, field=exc.field) from None
            key = (ticket.source, ticket.external_id)
            if key in seen:
                repeated += 1
            else:
                seen.add(key)
            chunk.append(ticket)
            if len(chunk) >= chunk_size:
                counts += upsert_tickets(session, tenant_id, chunk, aliases)
                rows += len(chunk)
                chunk = []
                progress.update(task, completed=reader.bytes_read)
        if chunk:
            counts += upsert_tickets(session, tenant_id, chunk, aliases)
            rows += len(chunk)
        progress.update(task, completed=reader.size)
    return ImportResult(tenant, rows, counts, repeated, time.perf_counter() - started)
