"""Errors that mean "the input is wrong", as opposed to a bug in Deskloop.

The CLI turns :class:`BadInput` into exit code 2 with its message; the web app turns it into HTTP 400.
Anything else is our bug and is allowed to surface with a traceback.
"""

from __future__ import annotations


class BadInput(ValueError):
    """Input Deskloop cannot accept, located as precisely as we can (file, line, field)."""

    def __init__(self, reason: str, *, file: str | None = None, line: int | None = None, field: str | None = None):
        self.reason, self.file, self.line, self.field = reason, file, line, field
        super().__init__(self.describe())

    def describe(self) -> str:
        where = []
        if self.file is not None:
            where.append(str(self.file))
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        return f"{', '.join(where)}: {self.reason}" if where else self.reason


class NotFound(BadInput):
    """The input names something the tenant does not have (HTTP 404 rather than 400)."""
