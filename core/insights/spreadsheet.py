"""CSV for people who open it in a spreadsheet: a cell a customer's words could start with ``=``,
``+``, ``-`` or ``@`` would run as a formula there (CSV injection), so such a cell is prefixed
with an apostrophe, which spreadsheets show as text. Tabs and carriage returns at the start
count too (OWASP's list)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(header: list[str], rows: Iterable[Iterable[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    writer.writerows([safe_cell(v) for v in row] for row in rows)
    return out.getvalue()
