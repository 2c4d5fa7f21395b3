"""Ranked accounts as CSV: one writer for ``deskloop insights churn --csv`` and the API's
``accounts.csv``, so a file from either has the same columns. Account names are customers' words
and land in spreadsheets, so every cell goes through :func:`core.insights.spreadsheet.csv_text`
(a name starting with ``=`` stays text)."""

from __future__ import annotations

from core.insights.churn.ranking import Ranking
from core.insights.spreadsheet import csv_text

COLUMNS = ["rank", "account", "score", "method", "tickets", "reasons", "ticket_ids"]


def ranking_csv(ranking: Ranking) -> str:
    """Every account of ``ranking`` in its order, with its reasons' features and the ids behind them."""
    return csv_text(COLUMNS, (
        (place, account.account, account.score, ranking.method, account.tickets,
         "; ".join(r.feature for r in account.reasons),
         " ".join(str(i) for r in account.reasons for i in r.ticket_ids))
        for place, account in enumerate(ranking.accounts, start=1)))
