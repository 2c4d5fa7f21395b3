"""A failed or killed import leaves nothing behind, not even the tenant it would have created;
tenant slugs are taken exactly as given; NUL characters are cleaned the same way on both databases.

Run through the installed ``deskloop`` command (its own process, as a user runs it), so the exit
codes and the absence of a traceback are what a user sees.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

from core.cli import main
from core.store.tables import MessageRow, TenantRow, TicketRow

DESKLOOP = str(Path(sys.executable).with_name("deskloop"))


def deskloop(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([DESKLOOP, *args], env=os.environ.copy(), capture_output=True, text=True, timeout=300)


def tenants(db) -> list[str]:
    with db.admin_session() as session:
        return list(session.scalars(select(TenantRow.slug).order_by(TenantRow.slug)))


def jsonl(path: Path, tickets: list[dict]) -> Path:
    path.write_text("".join(json.dumps(t) + "\n" for t in tickets))
    return path


def good(n: int) -> dict:
    return {"source": "import", "external_id": f"T-{n}", "subject": "Card",
            "messages": [{"author_role": "customer", "body": f"My card {n} has not arrived"}]}


BAD_LINES = {
    "an over-long organization": {**good(2), "organization": "O" * 300},
    "an over-long external id": {**good(2), "external_id": "E" * 200},
    "an unknown field": {**good(2), "colour": "blue"},
    "a negative reopen count": {**good(2), "reopen_count": -1},
    "a reopen count past 32 bits": {**good(2), "reopen_count": 2**40},
    "a lone surrogate": {**good(2), "subject": "\ud800"},
    "no messages key type": {**good(2), "messages": "nope"},
}


@pytest.mark.parametrize("case", sorted(BAD_LINES))
def test_a_failed_import_exits_2_and_leaves_no_tenant(db, settings, tmp_path, case):
    path = jsonl(tmp_path / "bad.jsonl", [good(1), BAD_LINES[case]])
    done = deskloop("import", str(path), "--tenant", "fresh")
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr and "line 2" in done.stderr
    assert tenants(db) == []


def test_a_failed_import_into_an_existing_tenant_keeps_the_tenant_and_its_tickets(db, settings, tmp_path):
    assert deskloop("import", str(jsonl(tmp_path / "ok.jsonl", [good(1)])), "--tenant", "acme").returncode == 0
    done = deskloop("import", str(jsonl(tmp_path / "bad.jsonl", [good(5), BAD_LINES["an unknown field"]])),
                    "--tenant", "acme")
    assert done.returncode == 2
    assert tenants(db) == ["acme"]
    with db.tenant_session(db.tenant_id("acme")) as session:
        assert session.scalars(select(TicketRow.external_id)).all() == ["T-1"]


def _import_is_writing(db, wal_size_before: int) -> bool:
    """Whether the import's transaction has written (the new tenant's row included, uncommitted):
    on PostgreSQL a session holds a write lock on ``tenants``; on SQLite the write-ahead log grows."""
    if db.dialect == "postgresql":
        with db.engine.connect() as connection:
            return bool(connection.execute(text(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON l.relation = c.oid "
                "WHERE c.relname = 'tickets' AND l.mode = 'RowExclusiveLock' AND l.pid <> pg_backend_pid()")).scalar())
    wal = Path(db.url.split("///", 1)[1] + "-wal")
    return wal.exists() and wal.stat().st_size > wal_size_before + 1_000_000


def test_a_killed_import_leaves_no_tenant(db, settings, tmp_path):
    """Killed while writing a large file: its transaction never commits, the tenant with it."""
    path = jsonl(tmp_path / "big.jsonl", [good(n) for n in range(60_000)])
    wal = Path(db.url.split("///", 1)[1] + "-wal") if db.dialect == "sqlite" else None
    before = wal.stat().st_size if wal is not None and wal.exists() else 0
    process = subprocess.Popen([DESKLOOP, "import", str(path), "--tenant", "killed"], env=os.environ.copy(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not _import_is_writing(db, before) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, "the import finished before it could be killed; make the file larger"
    assert _import_is_writing(db, before), "the import never started writing"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert "killed" not in tenants(db)


@pytest.mark.parametrize("slug", [" acme", "acme ", "Acme", "ACME", "acme\n", "ac me", "-acme", "", "a" * 64])
def test_a_slug_not_valid_exactly_as_given_is_refused_everywhere(db, settings, tmp_path, slug):
    path = jsonl(tmp_path / "ok.jsonl", [good(1)])
    runner = CliRunner()
    imported = runner.invoke(main, ["import", str(path), "--tenant", slug])
    assert imported.exit_code == 2 and "not a valid slug" in imported.output, imported.output
    credentials = tmp_path / "creds.json"
    credentials.write_text(json.dumps({"email": "a@example.com", "api_token": "t", "webhook_secret": "s"}))
    added = runner.invoke(main, ["tenant", "add", "--helpdesk", "zendesk", "--domain", "acme.zendesk.com",
                                 "--credentials", str(credentials), "--no-check", "--", slug])
    assert added.exit_code == 2 and "not a valid slug" in added.output, added.output
    assert tenants(db) == []


def test_whitespace_slug_through_the_installed_command(db, settings, tmp_path):
    done = deskloop("import", str(jsonl(tmp_path / "ok.jsonl", [good(1)])), "--tenant", "acme ")
    assert done.returncode == 2 and "not a valid slug" in done.stderr and "Traceback" not in done.stderr
    assert tenants(db) == []


def test_nul_characters_are_cleaned_the_same_way_on_both_databases(db, settings, tmp_path):
    ticket = {**good(1), "subject": "Card\x00 lost", "organization": "Acme\x00", "tags": ["vip\x00"],
              "requester": {"name": "Pri\x00ya", "email": "p\x00@example.org"},
              "custom_fields": {"plan\x00": "gold\x00", "nested": {"k": ["v\x00"]}},
              "messages": [{"author_role": "customer", "body": "It never\x00 arrived", "author_name": "Pri\x00ya"}]}
    done = deskloop("import", str(jsonl(tmp_path / "nul.jsonl", [ticket])), "--tenant", "acme")
    assert done.returncode == 0, done.stderr
    with db.tenant_session(db.tenant_id("acme")) as session:
        stored = session.scalar(select(TicketRow))
        message = session.scalar(select(MessageRow))
        assert session.scalar(select(func.count(TicketRow.id))) == 1
    assert (stored.subject, stored.organization, stored.requester_name, stored.requester_email) == (
        "Card lost", "Acme", "Priya", "p@example.org")
    assert stored.custom_fields == {"plan": "gold", "nested": {"k": ["v"]}}
    assert all("\x00" not in tag for tag in stored.tags)
    assert (message.body_raw, message.author_name) == ("It never arrived", "Priya")
    assert "\x00" not in stored.text


def test_nul_in_a_csv_is_cleaned_on_both_databases(db, settings, tmp_path):
    path = tmp_path / "nul.csv"
    path.write_text("id,text,requester\n1,My card\x00 never came,Pri\x00ya\n", encoding="utf-8")
    done = deskloop("import", str(path), "--tenant", "acme", "--id-field", "id", "--requester-field", "requester")
    assert done.returncode == 0, done.stderr
    with db.tenant_session(db.tenant_id("acme")) as session:
        stored = session.scalar(select(TicketRow))
        body = session.scalar(select(MessageRow.body_raw))
    assert stored.requester_name == "Priya" and body == "My card never came" and "\x00" not in stored.text


def test_a_write_nobody_checked_first_is_fitted_not_refused(db):
    """A backfill page goes straight to upsert_tickets: an over-long value is cut to its column (the
    length read from the table) and a NUL removed, on PostgreSQL as on SQLite, in every field."""
    from core.store.tickets import upsert_tickets
    from core.types import Message, Person, Ticket

    tenant_id = db.ensure_tenant("acme")
    with db.transaction(tenant_id) as session:
        counts = upsert_tickets(session, tenant_id, [Ticket(
            source="zendesk", external_id="X\x00" + "9" * 100, subject="Hi\x00",
            requester=Person(name="N" * 300), channel="c" * 50, organization="O\x00" * 200,
            messages=[Message(author_role="customer", body="Hello\x00", author_name="A" * 300)])])
    assert counts.inserted == 1
    with db.tenant_session(tenant_id) as session:
        stored = session.scalar(select(TicketRow))
        message = session.scalar(select(MessageRow))
    assert stored.external_id == "X" + "9" * 100 and stored.subject == "Hi"
    assert len(stored.requester_name) == 255 and len(stored.channel) == 32 and stored.organization == "O" * 200
    assert message.body_raw == "Hello" and len(message.author_name) == 255
