"""The importers, fed files no one should have to write: they import, or stop with BadInput.

Whatever the bytes (any encoding, a BOM, odd JSON types, generated CSV cells under every mapped
column), reading a JSONL or CSV file either yields tickets or raises :class:`core.errors.BadInput`
naming the file and the line (and the field, for a value); never another exception, which the CLI
would print as a traceback. ``import_file`` keeps the same promise on SQLite and PostgreSQL.
Bounded for CI by hypothesis' ``max_examples``.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import BadInput
from core.ingest.importer import import_file
from core.ingest.readers import CsvReader, FieldMap, JsonlReader
from core.store.tickets import list_tickets

PROPERTY_SETTINGS = settings(max_examples=150, derandomize=True, database=None, deadline=None,
                             suppress_health_check=list(HealthCheck))
IMPORT_SETTINGS = settings(PROPERTY_SETTINGS, max_examples=40)

TICKET: dict[str, Any] = {
    "external_id": "48213", "source": "zendesk", "subject": "Card declined at checkout",
    "requester": {"name": "Mia Novak", "email": "mia@harbor.example", "external_id": "u-77"},
    "organization": "Harbor Labs", "tags": ["cards", "declined"], "intent": "declined_card_payment",
    "priority": "high", "status": "solved", "channel": "web", "created_at": "2026-10-02T09:14:00Z",
    "solved_at": "2026-10-02T10:05:00Z", "csat": {"score": 5, "comment": "Quick"}, "reopen_count": 0,
    "custom_fields": {"plan": "business"}, "ticket_type": "problem", "group": "Billing", "form": "Default",
    "macros": ["Declined card"],
    "page_context": {"url": "https://app.example/checkout", "title": "Checkout", "app_state": {"step": "pay"}},
    "messages": [
        {"author_role": "customer", "public": True, "created_at": "2026-10-02T09:14:00Z",
         "body": "<p>My card was declined twice.</p>"},
        {"author_role": "agent", "public": True, "author_name": "Sam", "body": "Please retry."},
    ],
}
CSV_MAPPING = FieldMap(text="text", subject="subject", label="label", id="id", created="created", tags="tags",
                       requester="requester", email="email", organization="organization", status="status",
                       priority="priority", reply="reply")
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-32", "latin-1", "cp1252"]

scalars = (st.none() | st.booleans() | st.integers(min_value=-(10**40), max_value=10**40) | st.floats()
           | st.text(max_size=30))
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20)
#: Text a spreadsheet cell may hold: the awkward characters (quotes, separators, line ends, NUL) often.
cells = st.text(alphabet=st.sampled_from('ab 1-:T.Z,;"\'\r\n\t\x00\ufeffé€') | st.characters(), max_size=30)


def read_all(reader) -> int:
    """How many tickets the reader yields; BadInput must name the file and the line."""
    try:
        return len(list(reader))
    except BadInput as exc:
        assert exc.file == str(reader.path) and exc.line is not None and exc.line >= 1, exc
        return -1


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _mutated(data, value: Any, depth: int = 0):
    """A strategy for ``value`` with one field (at any depth) replaced, removed or kept."""
    if isinstance(value, dict) and value:
        return st.sampled_from(sorted(value)).flatmap(lambda key: st.one_of(
            st.just({k: v for k, v in value.items() if k != key}),
            json_values.map(lambda new: {**value, key: new}),
            _mutated(data, value[key], depth + 1).map(lambda new: {**value, key: new})))
    if isinstance(value, list) and value:
        return st.integers(0, len(value) - 1).flatmap(lambda i: st.one_of(
            json_values.map(lambda new: [*value[:i], new, *value[i + 1:]]),
            _mutated(data, value[i], depth + 1).map(lambda new: [*value[:i], new, *value[i + 1:]])))
    return json_values


@pytest.mark.parametrize("bad", [
    "\u0000", "a\u0000b", "x" * 300, math.nan, 2**70, -1, [], {}, None, True, "not a date", "9999-99-99",
    "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00",
])
def test_each_ticket_field_with_an_odd_value(tmp_path, bad):
    """Every top-level field (and each field of a message and the requester) replaced in turn."""
    lines = []
    for key in TICKET:
        lines.append({**TICKET, key: bad})
    for key in TICKET["messages"][0]:
        lines.append({**TICKET, "messages": [{**TICKET["messages"][0], key: bad}]})
    for key in TICKET["requester"]:
        lines.append({**TICKET, "requester": {**TICKET["requester"], key: bad}})
    for i, line in enumerate(lines):
        path = _write(tmp_path, f"odd-{i}.jsonl", json.dumps(line).encode())
        read_all(JsonlReader(path, None))


def test_jsonl_tickets_mutated_field_by_field(tmp_path):
    @PROPERTY_SETTINGS
    @given(lines=st.lists(_mutated(None, TICKET), min_size=1, max_size=3), encoding=st.sampled_from(ENCODINGS))
    def run(lines, encoding):
        text = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n"
        try:
            data = text.encode(encoding)
        except UnicodeEncodeError:
            data = text.encode("utf-8")
        read_all(JsonlReader(_write(tmp_path, "mutated.jsonl", data), None))

    run()


def test_jsonl_of_arbitrary_json_and_bytes(tmp_path):
    @PROPERTY_SETTINGS
    @given(body=st.lists(json_values, max_size=4).map(lambda values: "\n".join(map(json.dumps, values)).encode())
           | st.binary(max_size=400))
    def run(body):
        read_all(JsonlReader(_write(tmp_path, "arbitrary.jsonl", body), "import"))

    run()


def test_csv_with_generated_cells_under_every_mapped_column(tmp_path):
    columns = list(CSV_MAPPING.columns().values())

    @PROPERTY_SETTINGS
    @given(rows=st.lists(st.fixed_dictionaries({c: cells for c in columns}), max_size=4),
           header=st.permutations(columns), encoding=st.sampled_from(ENCODINGS))
    def run(rows, header, encoding):
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows([row[c] for c in header] for row in rows)
        try:
            data = out.getvalue().encode(encoding)
        except UnicodeEncodeError:
            data = out.getvalue().encode("utf-8", "surrogatepass")
        read_all(CsvReader(_write(tmp_path, "cells.csv", data), CSV_MAPPING))

    run()


def test_csv_of_arbitrary_bytes(tmp_path):
    @PROPERTY_SETTINGS
    @given(body=st.binary(max_size=400) | st.text(max_size=400).map(lambda t: ("text,id\n" + t).encode("utf-8",
                                                                                                      "replace")))
    def run(body):
        read_all(CsvReader(_write(tmp_path, "arbitrary.csv", body), FieldMap(id="id")))

    run()


def test_import_file_imports_or_refuses_on_either_database(tmp_path, db):
    """The whole import (length checks, tag aliases, the upsert) on the real database."""

    @IMPORT_SETTINGS
    @given(lines=st.lists(_mutated(None, TICKET), min_size=1, max_size=3))
    def run(lines):
        path = _write(tmp_path, "history.jsonl", "\n".join(json.dumps(line) for line in lines).encode())
        try:
            import_file(db, path, "acme", show_progress=False)
        except BadInput as exc:
            assert exc.file == str(path) and exc.line is not None, exc

    run()


def test_nul_characters_are_dropped_and_times_outside_utc_refused_on_either_database(tmp_path, db):
    """PostgreSQL stores no NUL character and Python no time before year 1 in UTC: the import
    behaves the same on both databases, dropping the one and refusing the other with its field."""
    nul = {**TICKET, "external_id": "nul-\u0000", "subject": "a\u0000b", "intent": "i\u0000",
           "tags": ["x\u0000y"], "csat": {"score": 5, "comment": "\u0000ok"},
           "messages": [{**TICKET["messages"][0], "body": "my card\u0000 was declined"}]}
    path = _write(tmp_path, "nul.jsonl", json.dumps(nul).encode())
    assert import_file(db, path, "acme", show_progress=False).rows == 1
    with db.tenant_session(db.tenant_id("acme")) as session:
        stored = list_tickets(session)
    assert [s.ticket.external_id for s in stored] == ["nul-"]
    stored = stored[0]
    assert stored.ticket.subject == "ab" and stored.ticket.tags == ["xy"] and stored.ticket.intent == "i"
    assert stored.ticket.messages[0].body == "my card was declined"
    for when in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"):
        path = _write(tmp_path, "edge.jsonl", json.dumps({**TICKET, "created_at": when}).encode())
        with pytest.raises(BadInput) as refused:
            import_file(db, path, "acme", show_progress=False)
        assert refused.value.line == 1 and refused.value.field == "created_at"
        path = _write(tmp_path, "edge.csv", f"text,created\nhello,{when}\n".encode())
        with pytest.raises(BadInput) as refused:
            import_file(db, path, "acme", mapping=FieldMap(created="created"), show_progress=False)
        assert refused.value.line == 2 and refused.value.field == "created"
