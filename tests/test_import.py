"""`deskloop import`: CSV and JSONL files in, tickets out; all or nothing; idempotent; tenant-safe."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from core.cli import main
from core.store.tables import MessageRow, TenantRow, TicketRow
from core.store.tickets import count_tickets, get_ticket, list_tickets

DATA = Path(__file__).parent / "data"
BANKING77 = Path("/work/shared/datasets/banking77/train.csv")


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def ticket_count(db, tenant: str) -> int:
    with db.admin_session() as session:
        tenant_id = session.scalar(select(TenantRow.id).where(TenantRow.slug == tenant))
    if tenant_id is None:
        return 0
    with db.tenant_session(tenant_id) as session:
        return count_tickets(session)


def message_count(db, tenant: str) -> int:
    with db.tenant_session(db.tenant_id(tenant)) as session:
        return session.scalar(select(func.count(MessageRow.id)))


def by_external_id(db, tenant: str, external_id: str):
    with db.tenant_session(db.tenant_id(tenant)) as session:
        ticket_id = session.scalar(select(TicketRow.id).where(TicketRow.external_id == external_id))
        return get_ticket(session, ticket_id)


def test_banking77_csv_imports_with_labels_and_is_idempotent(db):
    result = run("import", str(DATA / "banking77_sample.csv"), "--tenant", "b77", "--text-field", "text",
                 "--label-field", "category")
    assert result.exit_code == 0, result.output
    assert "imported 40 tickets (40 new, 0 updated) into tenant b77" in result.output
    with db.tenant_session(db.tenant_id("b77")) as session:
        assert count_tickets(session) == 40
        assert count_tickets(session, intent="card_arrival") == 10
        first = list_tickets(session, limit=100)[-1]
    assert first.ticket.messages[0].author_role == "customer"
    assert first.text == first.ticket.messages[0].body.strip()

    again = run("import", str(DATA / "banking77_sample.csv"), "--tenant", "b77", "--label-field", "category")
    assert again.exit_code == 0
    assert "(0 new, 0 updated, 40 unchanged)" in again.output
    assert ticket_count(db, "b77") == 40
    assert message_count(db, "b77") == 40


def test_changed_rows_are_updated_in_place(db, tmp_path):
    path = tmp_path / "tickets.csv"
    rows = [["id", "text", "category", "reply"], ["t-1", "My card has not arrived", "card_arrival", "Sent today"],
            ["t-2", "Refund please", "request_refund", ""]]
    _write_csv(path, rows)
    args = ["import", str(path), "--tenant", "acme", "--id-field", "id", "--label-field", "category",
            "--reply-field", "reply"]
    assert run(*args).exit_code == 0
    rows[1][2], rows[1][3] = "card_delivery_estimate", "Arrives Friday"
    _write_csv(path, rows)
    result = run(*args)
    assert "(0 new, 1 updated, 1 unchanged)" in result.output
    assert ticket_count(db, "acme") == 2
    assert message_count(db, "acme") == 3
    stored = by_external_id(db, "acme", "t-1")
    assert stored.ticket.intent == "card_delivery_estimate"
    assert [m.body for m in stored.ticket.messages] == ["My card has not arrived", "Arrives Friday"]


def test_full_banking77_file_imports_into_sqlite(tmp_path, monkeypatch):
    """The shared dataset as a user would load it; ids are derived from the text, so count = distinct texts."""
    if not BANKING77.exists():
        pytest.skip("shared Banking77 file not present")
    monkeypatch.setenv("DESKLOOP_HOME", str(tmp_path))
    monkeypatch.setenv("DESKLOOP_DATABASE_URL", f"sqlite:///{tmp_path / 'deskloop.db'}")
    result = run("import", str(BANKING77), "--tenant", "b77", "--text-field", "text", "--label-field", "category")
    assert result.exit_code == 0, result.output
    with BANKING77.open(newline="", encoding="utf-8") as handle:
        texts = {" ".join(row["text"].split()) for row in csv.DictReader(handle)}
    from core.store.db import Database

    db = Database(f"sqlite:///{tmp_path / 'deskloop.db'}")
    assert ticket_count(db, "b77") == len(texts)
    with db.tenant_session(db.tenant_id("b77")) as session:
        intents = session.scalars(select(TicketRow.intent).distinct()).all()
    assert len(intents) == 77
    db.dispose()


def test_jsonl_tickets_keep_raw_bodies_and_store_cleaned_text(db):
    result = run("import", str(DATA / "tickets.jsonl"), "--tenant", "acme")
    assert result.exit_code == 0, result.output
    assert "imported 3 tickets (3 new, 0 updated)" in result.output
    stored = by_external_id(db, "acme", "zd-1001")
    ticket = stored.ticket
    assert ticket.source == "zendesk"
    assert ticket.tags == ["card", "delivery"]
    assert ticket.csat.score == 5 and ticket.csat.comment == "Quick and kind, thanks!"
    assert ticket.page_context.app_state == {"card_status": "shipped"}
    assert ticket.custom_fields == {"plan": "premium", "card_type": "debit"}
    assert ticket.requester.email == "ada@engines.example" and ticket.organization == "Analytical Engines Ltd"
    assert ticket.created_at == datetime(2026, 1, 5, 9, 12, tzinfo=UTC)
    assert "<p>" in ticket.messages[0].body and "gmail_quote" in ticket.messages[0].body  # raw kept
    assert stored.clean_bodies[0] == ("Hello,\n\nMy new card still hasn't arrived and it's been two weeks.\n"
                                      "Can you send another one?")
    assert ticket.messages[1].public is False
    # What models read: the subject without "Re:" and the customer's words without the greeting,
    # never the agents'.
    assert stored.text == "Card not arrived\nMy new card still hasn't arrived and it's been two weeks.\n" \
                          "Can you send another one?"

    refund = by_external_id(db, "acme", "zd-1002")
    assert refund.clean_bodies[0] == "The refund for order 4411 is still missing."
    assert refund.ticket.created_at == datetime(2026, 1, 5, 10, tzinfo=UTC)  # naive means UTC
    assert refund.ticket.messages[0].created_at == datetime.fromtimestamp(1767607200, UTC)  # epoch seconds
    locked = by_external_id(db, "acme", "zd-1003")
    assert locked.text == "Locked out\nI can't log in since the update.\nStill locked out."

    assert run("import", str(DATA / "tickets.jsonl"), "--tenant", "acme").exit_code == 0
    assert ticket_count(db, "acme") == 3
    assert message_count(db, "acme") == 7


def test_same_external_id_in_two_tenants_stays_separate(db, tmp_path):
    for tenant, label in (("acme", "card_arrival"), ("globex", "request_refund")):
        path = tmp_path / f"{tenant}.csv"
        _write_csv(path, [["id", "text", "label"], ["42", f"ticket of {tenant}", label]])
        assert run("import", str(path), "--tenant", tenant, "--id-field", "id", "--label-field", "label").exit_code == 0
    assert by_external_id(db, "acme", "42").ticket.intent == "card_arrival"
    assert by_external_id(db, "globex", "42").ticket.intent == "request_refund"
    assert ticket_count(db, "acme") == ticket_count(db, "globex") == 1
    with db.tenant_session(db.tenant_id("acme")) as session:
        other = by_external_id(db, "globex", "42").id
        assert get_ticket(session, other) is None


def _write_csv(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)


def _good_rows(n: int) -> list[list[str]]:
    return [[f"id-{i}", f"customer message number {i}", "2026-01-05T10:00:00Z", "open"] for i in range(n)]


HEADER = ["id", "text", "created", "status"]
CSV_ARGS = ["--id-field", "id", "--created-field", "created", "--status-field", "status"]


def _bad_csv(tmp_path, case):
    path = tmp_path / "bad.csv"
    if case == "missing column":
        _write_csv(path, [["id", "body", "created", "status"], *_good_rows(2)])
        return path, 1, "'text'", "the columns are: id, body, created, status"
    if case == "bad encoding":
        _write_csv(path, [HEADER, *_good_rows(3)])
        path.write_bytes(path.read_bytes() + "id-x,caf\xe9 latin-1,2026-01-05,open\n".encode("latin-1"))
        return path, 5, None, "not UTF-8"
    if case == "bad date":
        _write_csv(path, [HEADER, *_good_rows(2), ["id-x", "hello", "05/01/2026", "open"]])
        return path, 4, "'created'", "neither ISO 8601"
    if case == "empty file":
        path.write_bytes(b"")
        return path, 1, None, "empty"
    if case == "bad status":
        _write_csv(path, [HEADER, *_good_rows(2), ["id-x", "hello", "2026-01-05", "done"]])
        return path, 4, "'status'", "'new', 'open'"
    if case == "last line of many":
        _write_csv(path, [HEADER, *_good_rows(4500), ["id-x", "hello", "not a date", "open"]])
        return path, 4502, "'created'", "neither ISO 8601"
    raise AssertionError(case)


@pytest.mark.parametrize("case", ["missing column", "bad encoding", "bad date", "empty file", "bad status",
                                  "last line of many"])
def test_bad_csv_exits_2_names_the_place_and_writes_nothing(db, tmp_path, case):
    path, line, field, reason = _bad_csv(tmp_path, case)
    result = CliRunner().invoke(main, ["import", str(path), "--tenant", "acme", *CSV_ARGS])
    assert result.exit_code == 2, result.output
    assert str(path) in result.output and f"line {line}" in result.output
    if field:
        assert f"field {field}" in result.output
    assert reason in result.output
    assert "Traceback" not in result.output
    assert ticket_count(db, "acme") == 0


def _jsonl(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _good_ticket(i: int) -> str:
    return json.dumps({"external_id": f"t-{i}", "messages": [{"author_role": "customer", "body": f"hello {i}"}]})


@pytest.mark.parametrize(("bad", "field", "reason"), [
    ('{"external_id": "t-x", "messages": [', None, "invalid JSON"),
    ('{"external_id": "t-x", "messages": [{"author_role": "robot", "body": "hi"}]}', "'messages.0.author_role'",
     "'customer', 'agent' or 'bot'"),
    ('{"external_id": "t-x", "messages": [{"author_role": "customer", "body": "hi"}], "csat": {"score": 9}}',
     "'csat.score'", "less than or equal to 5"),
    ('{"external_id": "t-x", "messages": [{"author_role": "customer", "body": "hi"}], "created_at": "soon"}',
     "'created_at'", "datetime"),
], ids=["invalid-json", "bad-role", "bad-csat", "bad-date"])
def test_bad_jsonl_line_after_many_good_ones_writes_nothing(db, tmp_path, bad, field, reason):
    path = tmp_path / "tickets.jsonl"
    _jsonl(path, [_good_ticket(i) for i in range(2500)] + [bad])
    result = CliRunner().invoke(main, ["import", str(path), "--tenant", "acme"])
    assert result.exit_code == 2, result.output
    assert f"{path}, line 2501" in result.output
    if field:
        assert f"field {field}" in result.output
    assert reason in result.output
    assert ticket_count(db, "acme") == 0


def test_jsonl_tickets_keep_how_the_helpdesk_sorted_them(db, tmp_path):
    """Type, group, form and applied macros import as they are; a later import that does not say
    the group leaves the stored one (None is "not said"), while macros come whole from the line."""
    path = tmp_path / "sorted.jsonl"
    sorted_ticket = {"external_id": "zd-7", "source": "zendesk", "ticket_type": "incident", "group": "Billing",
                     "form": "Refund request", "macros": ["Ask for order number", "Refund issued"],
                     "custom_fields": {"360001923399": "refund_status"},
                     "messages": [{"author_role": "customer", "body": "Where is my refund?"}]}
    _jsonl(path, [json.dumps(sorted_ticket)])
    assert run("import", str(path), "--tenant", "acme").exit_code == 0
    ticket = by_external_id(db, "acme", "zd-7").ticket
    assert (ticket.ticket_type, ticket.group, ticket.form, ticket.macros) == (
        "incident", "Billing", "Refund request", ["Ask for order number", "Refund issued"])

    unsaid = {k: v for k, v in sorted_ticket.items() if k not in ("group", "macros")}
    _jsonl(path, [json.dumps({**unsaid, "ticket_type": "question", "subject": "Refund"})])
    assert run("import", str(path), "--tenant", "acme").exit_code == 0
    ticket = by_external_id(db, "acme", "zd-7").ticket
    assert (ticket.ticket_type, ticket.group, ticket.form, ticket.macros) == ("question", "Billing",
                                                                              "Refund request", [])

    _jsonl(path, [json.dumps({**sorted_ticket, "external_id": "zd-8", "group": "g" * 256})])
    result = CliRunner().invoke(main, ["import", str(path), "--tenant", "acme"])
    assert result.exit_code == 2 and "field 'group'" in result.output


def test_over_long_value_is_refused_before_postgresql_would(db, tmp_path):
    path = tmp_path / "long.csv"
    _write_csv(path, [["text", "org"], ["hello", "x" * 300]])
    result = CliRunner().invoke(main, ["import", str(path), "--tenant", "acme", "--organization-field", "org"])
    assert result.exit_code == 2
    assert "line 2, field 'organization': 300 characters, at most 255 allowed" in result.output
    assert ticket_count(db, "acme") == 0


def test_end_to_end_through_the_installed_command(db, settings, tmp_path):
    env = {**os.environ, "DESKLOOP_HOME": str(settings.home), "DESKLOOP_DATABASE_URL": settings.database_url}
    command = shutil.which("deskloop", path=str(Path(sys.executable).parent)) or "deskloop"
    done = subprocess.run([command, "import", str(DATA / "banking77_sample.csv"), "--tenant", "b77",
                           "--label-field", "category"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "imported 40 tickets (40 new, 0 updated) into tenant b77 in" in done.stdout
    assert ticket_count(db, "b77") == 40
