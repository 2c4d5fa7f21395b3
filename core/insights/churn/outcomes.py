"""``deskloop import-outcomes``: which accounts churned or renewed, and when, from a CSV file.

The file has a header with ``account``, ``outcome`` (``churned`` or ``renewed``) and ``date``
(``2026-03-31``, or an ISO 8601 time). Every row is checked before anything is written: an
account no ticket of the tenant belongs to, a date that is not one (or lies in the future), an
outcome that is neither word, or a row repeating an earlier row's account and date stops the import
with the file, line and field named (exit code 2), and the database is left as it was. The rows
are then written in one transaction; importing the same file again replaces what it wrote.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.errors import BadInput
from core.ingest.dates import parse_timestamp
from core.insights.churn.facts import account_of
from core.insights.churn.learned import Outcome
from core.runtime import Runtime
from core.store.tables import AccountOutcomeRow, TicketRow

COLUMNS = ("account", "outcome", "date")
OUTCOMES = {"churned": True, "renewed": False}
#: The account column's width in the table.
ACCOUNT_CHARS = 255


@dataclass(frozen=True)
class OutcomeImport:
    rows: int
    churned: int

    def summary(self, tenant: str) -> str:
        return f"imported {self.rows} outcome(s) ({self.churned} churned) into tenant {tenant}"


def known_accounts(session: Session) -> set[str]:
    """Every account the tenant's stored tickets belong to."""
    rows = session.execute(select(TicketRow.organization, TicketRow.requester_email,
                                  TicketRow.requester_external_id, TicketRow.requester_name).distinct())
    return {name for row in rows if (name := account_of(*row)) is not None}


def _date(raw: str) -> datetime:
    text = raw.strip()
    if len(text) == 10:  # a plain date: the start of that day, UTC
        return datetime.combine(datetime.strptime(text, "%Y-%m-%d").date(), time(0), UTC)
    return parse_timestamp(text)


def read_outcomes(path: Path, known: set[str], now: datetime) -> list[Outcome]:
    """The file's outcomes, or :class:`BadInput` naming the first bad line and field."""
    where = str(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = [h.strip().lower() for h in next(reader, [])]
            missing = [c for c in COLUMNS if c not in header]
            if missing:
                raise BadInput(f"the header needs the columns {', '.join(COLUMNS)}", file=where, line=1,
                               field=missing[0])
            index = {c: header.index(c) for c in COLUMNS}
            found: list[Outcome] = []
            seen: dict[tuple[str, datetime], int] = {}
            for row in reader:
                line = reader.line_num
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) < len(header):
                    raise BadInput(f"{len(row)} value(s) where the header has {len(header)}", file=where, line=line)
                found.append(_outcome(row, index, known, now, seen, where, line))
    except UnicodeDecodeError:
        raise BadInput("not UTF-8 text", file=where) from None
    except csv.Error as exc:
        raise BadInput(f"not CSV: {exc}", file=where) from None
    return found


def _outcome(row: list[str], index: dict[str, int], known: set[str], now: datetime,
             seen: dict[tuple[str, datetime], int], where: str, line: int) -> Outcome:
    account = row[index["account"]].strip()
    if not account:
        raise BadInput("no account", file=where, line=line, field="account")
    if len(account) > ACCOUNT_CHARS or account not in known:
        # The account itself is not repeated here: it is customer data, and messages reach logs.
        raise BadInput("no ticket of the tenant belongs to this account (an organization, or a requester's email "
                       "where there is none)", file=where, line=line, field="account")
    word = row[index["outcome"]].strip().lower()
    if word not in OUTCOMES:
        raise BadInput(f"{word!r} is not an outcome: churned or renewed", file=where, line=line, field="outcome")
    try:
        on = _date(row[index["date"]])
    except ValueError:
        raise BadInput(f"{row[index['date']]!r} is not a date (2026-03-31, or ISO 8601 with a time)", file=where,
                       line=line, field="date") from None
    if on > now:
        raise BadInput("the date is in the future", file=where, line=line, field="date")
    earlier = seen.setdefault((account, on), line)
    if earlier != line:
        raise BadInput(f"repeats the account and date of line {earlier}", file=where, line=line, field="account")
    return Outcome(account, OUTCOMES[word], on)


def import_outcomes(runtime: Runtime, slug: str, path: str | Path, now: datetime | None = None) -> OutcomeImport:
    """Check every row of ``path``, then write them all in one transaction (or nothing)."""
    path = Path(path)
    if not path.is_file():
        raise BadInput("no such file", file=str(path))
    tenant_id = runtime.db.tenant_id(slug)
    with runtime.db.transaction(tenant_id) as session:
        outcomes = read_outcomes(path, known_accounts(session), now or datetime.now(UTC))
        for outcome in outcomes:
            session.execute(delete(AccountOutcomeRow).where(AccountOutcomeRow.account == outcome.account,
                                                            AccountOutcomeRow.occurred_at == outcome.on))
            session.add(AccountOutcomeRow(tenant_id=tenant_id, account=outcome.account, churned=outcome.churned,
                                          occurred_at=outcome.on))
    return OutcomeImport(len(outcomes), sum(o.churned for o in outcomes))


def load_outcomes(session: Session) -> list[Outcome]:
    rows = session.scalars(select(AccountOutcomeRow).order_by(AccountOutcomeRow.occurred_at, AccountOutcomeRow.id))
    return [Outcome(r.account, r.churned,
                    r.occurred_at if r.occurred_at.tzinfo else r.occurred_at.replace(tzinfo=UTC)) for r in rows]
