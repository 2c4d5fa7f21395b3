"""File readers: each yields ``(line, Ticket)`` and raises :class:`BadInput` naming file, line, field.

Files are read as bytes and decoded line by line, so a byte that is not UTF-8 is reported on its
own line (a text-mode reader fails somewhere inside an 8 KiB buffer) and memory stays bounded
whatever the file size. ``bytes_read`` lets the importer draw a progress bar.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import BinaryIO

from pydantic import ValidationError

from core.errors import BadInput
from core.ingest.dates import parse_timestamp
from core.types import Ticket

_TAG_SEPARATORS = re.compile(r"[;,]")


@dataclass(frozen=True)
class FieldMap:
    """Which CSV column holds which ticket field. ``None`` means the file has no such column."""

    text: str = "text"
    subject: str | None = None
    label: str | None = None
    id: str | None = None
    created: str | None = None
    tags: str | None = None
    requester: str | None = None
    email: str | None = None
    organization: str | None = None
    status: str | None = None
    priority: str | None = None
    reply: str | None = None

    def columns(self) -> dict[str, str]:
        """Mapped field name -> column name, for the fields that are mapped."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}


#: Ticket field (first element of a pydantic error location) -> FieldMap attribute, to name the column.
_TICKET_FIELD_TO_MAP = {"external_id": "id", "subject": "subject", "intent": "label", "tags": "tags",
                        "status": "status", "priority": "priority", "organization": "organization",
                        "created_at": "created"}


def derived_external_id(text: str, subject: str = "") -> str:
    """A stable id for rows without one, so importing the same file twice does not duplicate it.

    Built from the whitespace-normalized text (and subject): two rows with the same words are the
    same ticket, which is what "import this labelled dataset" means.
    """
    key = " ".join(text.split())
    if subject:
        key = " ".join(subject.split()) + "\x1f" + key
    return hashlib.sha1(key.encode()).hexdigest()[:20]


def _lines(handle: BinaryIO, path: Path, reader: _Reader) -> Iterator[str]:
    for number, raw in enumerate(handle, start=1):
        reader.bytes_read += len(raw)
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadInput(
                f"not UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1}); re-save the file as UTF-8",
                file=str(path), line=number,
            ) from None
        if number == 1:
            line = line.removeprefix("\ufeff")  # Excel's byte-order mark
        yield line


def _pydantic_problem(error: ValidationError) -> tuple[str, str]:
    """The first error as (field path, reason), e.g. ("messages.0.author_role", "Input should be ...")."""
    first = error.errors(include_url=False)[0]
    return ".".join(str(part) for part in first["loc"]), first["msg"]


class _Reader:
    bytes_read = 0

    def __init__(self, path: Path, source: str | None):
        self.path = path
        self.source = source
        self.size = path.stat().st_size


class CsvReader(_Reader):
    """One ticket per CSV row: a customer message, and an agent message when a reply column is mapped."""

    def __init__(self, path: Path, mapping: FieldMap, source: str | None = None):
        super().__init__(path, source)
        self.mapping = mapping

    def __iter__(self) -> Iterator[tuple[int, Ticket]]:
        file = str(self.path)
        with self.path.open("rb") as handle:
            rows = csv.reader(_lines(handle, self.path, self))
            try:
                header = next(rows, None)
            except csv.Error as exc:
                raise BadInput(f"not a valid CSV header: {exc}", file=file, line=1) from None
            if header is None or not any(h.strip() for h in header):
                raise BadInput("the file is empty", file=file, line=1)
            header = [h.strip() for h in header]
            positions = self._positions(header)
            seen_rows = False
            last_line = rows.line_num
            while True:
                start = last_line + 1
                try:
                    row = next(rows, None)
                except csv.Error as exc:
                    raise BadInput(f"malformed CSV: {exc}", file=file, line=start) from None
                if row is None:
                    break
                last_line = rows.line_num
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if len(row) != len(header):
                    raise BadInput(f"{len(row)} values but the header has {len(header)} columns",
                                   file=file, line=start)
                seen_rows = True
                yield start, self._ticket(row, positions, start)
            if not seen_rows:
                raise BadInput("no rows after the header", file=file, line=1)

    def _positions(self, header: list[str]) -> dict[str, int]:
        positions = {}
        for name, column in self.mapping.columns().items():
            if column not in header:
                raise BadInput(f"no column {column!r} (--{name}-field); the columns are: {', '.join(header)}",
                               file=str(self.path), line=1, field=column)
            positions[name] = header.index(column)
        return positions

    def _ticket(self, row: list[str], positions: dict[str, int], line: int) -> Ticket:
        file, columns = str(self.path), self.mapping.columns()

        def value(name: str) -> str | None:
            position = positions.get(name)
            if position is None:
                return None
            cell = row[position].strip()
            return cell or None

        text = value("text")
        if text is None:
            raise BadInput("the text is empty", file=file, line=line, field=columns["text"])
        subject = value("subject") or ""
        data: dict = {
            "source": self.source or "import",
            "external_id": value("id") or derived_external_id(text, subject),
            "subject": subject,
            "intent": value("label"),
            "organization": value("organization"),
            "status": value("status"),
            "priority": value("priority"),
        }
        requester, email = value("requester"), value("email")
        if requester or email:
            data["requester"] = {"name": requester, "email": email}
        data["messages"] = [{"author_role": "customer", "body": text, "author_name": requester}]
        reply = value("reply")
        if reply:
            data["messages"].append({"author_role": "agent", "body": reply})
        tags = value("tags")
        if tags:
            data["tags"] = _TAG_SEPARATORS.split(tags)
        created = value("created")
        if created:
            try:
                data["created_at"] = parse_timestamp(created)
            except ValueError as exc:
                raise BadInput(str(exc), file=file, line=line, field=columns["created"]) from None
        try:
            return Ticket.model_validate(data)
        except ValidationError as exc:
            path, reason = _pydantic_problem(exc)
            head = path.split(".", 1)[0]
            mapped = _TICKET_FIELD_TO_MAP.get(head)
            if head == "requester":
                mapped = "email" if path.endswith("email") else "requester"
            elif head == "messages":
                mapped = "reply" if path.startswith("messages.1") else "text"
            blamed = columns.get(mapped, path) if mapped is not None else path
            raise BadInput(reason, file=file, line=line, field=blamed) from None


class JsonlReader(_Reader):
    """One whole ticket in the common shape per line (blank lines are skipped)."""

    def __iter__(self) -> Iterator[tuple[int, Ticket]]:
        file, seen = str(self.path), False
        with self.path.open("rb") as handle:
            for number, line in enumerate(_lines(handle, self.path, self), start=1):
                if not line.strip():
                    continue
                try:
                    ticket = Ticket.model_validate_json(line)
                except ValidationError as exc:
                    first = exc.errors(include_url=False)[0]
                    if first["type"] == "json_invalid":
                        raise BadInput(f"invalid JSON: {first['msg']}", file=file, line=number) from None
                    if first["type"] == "model_type":
                        raise BadInput("expected a JSON object (one ticket per line)", file=file,
                                       line=number) from None
                    path, reason = _pydantic_problem(exc)
                    raise BadInput(reason, file=file, line=number, field=path) from None
                if self.source and "source" not in ticket.model_fields_set:
                    ticket.source = self.source
                seen = True
                yield number, ticket
        if not seen:
            raise BadInput("the file is empty", file=file, line=1)
