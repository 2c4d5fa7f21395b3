"""Values fitted to their columns before the database sees them, the same way on both databases.

PostgreSQL refuses a string longer than its ``String(n)`` column and any text holding a NUL
character; SQLite stores both silently; both refuse a lone UTF-16 surrogate (a JSON ``"\\ud800"``
decodes to one) when encoding to UTF-8. One refused value used to abort a whole import on
PostgreSQL only, or block every later webhook event of a tenant. So every text written to a ticket
or a message goes through :func:`fit_values` first: NULs are removed, lone surrogates become
U+FFFD, and a string too long for its column is cut to the column's length (read from the table
metadata, never repeated here) with a log line naming the column, never the value.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from sqlalchemy import String, Table

log = logging.getLogger(__name__)

#: Characters no database here can store: NUL, and lone surrogates (not valid in UTF-8).
_NUL = "\x00"
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(value: str) -> str:
    """``value`` without NUL characters and with lone surrogates replaced by U+FFFD."""
    if _NUL in value:
        value = value.replace(_NUL, "")
    return _SURROGATE.sub("\ufffd", value) if _SURROGATE.search(value) else value


def clean_json(value: Any) -> Any:
    """A JSON value (dicts, lists, strings, numbers) with every string, keys included, cleaned."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(k) if isinstance(k, str) else k: clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    return value


@cache
def column_limits(table: Table) -> dict[str, int]:
    """The length of every ``String(n)`` column of ``table``, by column name."""
    return {column.name: column.type.length for column in table.columns
            if isinstance(column.type, String) and column.type.length is not None}


def fit_values(table: Table, values: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``values`` (column name -> value) made storable in ``table``; returns them and the names of
    the columns whose value was cut to length. Keys that are not columns pass through unchanged."""
    limits = column_limits(table)
    fitted: dict[str, Any] = {}
    cut: list[str] = []
    for name, value in values.items():
        if isinstance(value, str):
            value = clean_text(value)
            limit = limits.get(name)
            if limit is not None and len(value) > limit:
                value = value[:limit]
                cut.append(name)
        elif isinstance(value, dict | list):
            value = clean_json(value)
        fitted[name] = value
    return fitted, cut


def fit_and_note(table: Table, values: Mapping[str, Any], what: str) -> dict[str, Any]:
    """:func:`fit_values`, with a log line (column names only, no value) when something was cut.
    ``what`` names the row for that line without saying anything personal (e.g. a ticket's source
    and id)."""
    fitted, cut = fit_values(table, values)
    if cut:
        log.warning("%s: %s cut to the column length", what, ", ".join(sorted(cut)))
    return fitted
