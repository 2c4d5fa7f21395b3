"""Checked reading of untrusted vendor JSON, shared by every adapter.

A webhook body is whatever reached the URL. Reading it through :class:`Payload` makes a missing or
mistyped field fail at the boundary as :class:`core.events.MalformedPayload` naming its path
(``data.item.id: missing``), which the webhook endpoint answers with 400, rather than as a
``KeyError`` three calls deeper (a 500 that the helpdesk would retry).
"""

from __future__ import annotations

import builtins
import json
from datetime import UTC, datetime
from typing import Any, Literal, overload

from core.events import MalformedPayload

_MISSING = object()


class Payload:
    """A JSON object with its path from the document root, for error messages."""

    def __init__(self, data: Any, path: str = "") -> None:
        if not isinstance(data, dict):
            raise MalformedPayload(f"{path or 'body'}: expected an object, got {type(data).__name__}")
        self.data, self.path = data, path

    @classmethod
    def from_body(cls, body: bytes) -> Payload:
        """Parse a raw request body (UTF-8 JSON object)."""
        return cls(read_json(body))

    def _where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def _get(self, key: str, kinds: tuple[type, ...], required: bool):
        value = self.data.get(key, _MISSING)
        if value is _MISSING or value is None:
            if required:
                raise MalformedPayload(f"{self._where(key)}: missing")
            return None
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise MalformedPayload(f"{self._where(key)}: expected {'/'.join(k.__name__ for k in kinds)}, "
                                   f"got {type(value).__name__}")
        return value

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    # Each reader below returns None only when the field is absent and not required; the overloads
    # say so, so a required read types as the value itself. (The methods named str, int and bool
    # shadow the builtins inside this class body, hence ``builtins.str`` in the signatures.)
    @overload
    def obj(self, key: str, required: Literal[True] = ...) -> Payload: ...
    @overload
    def obj(self, key: str, required: bool) -> Payload | None: ...
    def obj(self, key: str, required: bool = True) -> Payload | None:
        value = self._get(key, (dict,), required)
        return None if value is None else Payload(value, self._where(key))

    def objects(self, key: str, required: bool = True) -> list[Payload]:
        """A list of objects (an empty list when absent and not required)."""
        value = self._get(key, (list,), required) or []
        return [Payload(item, f"{self._where(key)}[{i}]") for i, item in enumerate(value)]

    @overload
    def str(self, key: builtins.str, required: Literal[True] = ...) -> builtins.str: ...
    @overload
    def str(self, key: builtins.str, required: bool) -> builtins.str | None: ...
    def str(self, key: builtins.str, required: bool = True) -> builtins.str | None:
        """A string; numbers are accepted and turned into strings (vendors mix ``"123"`` and ``123`` ids)."""
        value = self._get(key, (str, int), required)
        return None if value is None else str(value)

    @overload
    def int(self, key: builtins.str, required: Literal[True] = ...) -> builtins.int: ...
    @overload
    def int(self, key: builtins.str, required: bool) -> builtins.int | None: ...
    def int(self, key: builtins.str, required: bool = True) -> builtins.int | None:
        value = self._get(key, (int, str), required)
        if value is None:
            return None
        try:
            return int(value)
        except ValueError as exc:
            raise MalformedPayload(f"{self._where(key)}: expected an integer, got {value!r}") from exc

    @overload
    def bool(self, key: builtins.str, required: Literal[True] = ...) -> builtins.bool: ...
    @overload
    def bool(self, key: builtins.str, required: builtins.bool) -> builtins.bool | None: ...
    def bool(self, key: builtins.str, required: builtins.bool = True) -> builtins.bool | None:
        return self._get(key, (bool,), required)

    @overload
    def strings(self, key: builtins.str, required: Literal[True] = ...) -> list[builtins.str]: ...
    @overload
    def strings(self, key: builtins.str, required: builtins.bool) -> list[builtins.str] | None: ...
    def strings(self, key: builtins.str, required: builtins.bool = True) -> list[builtins.str] | None:
        value = self._get(key, (list,), required)
        if value is None:
            return None
        if not all(isinstance(v, str | int) for v in value):
            raise MalformedPayload(f"{self._where(key)}: expected a list of strings")
        return [str(v) for v in value]

    @overload
    def time(self, key: builtins.str, required: Literal[True] = ...) -> datetime: ...
    @overload
    def time(self, key: builtins.str, required: builtins.bool) -> datetime | None: ...
    def time(self, key: builtins.str, required: builtins.bool = True) -> datetime | None:
        """An ISO-8601 string or a Unix timestamp, as an aware UTC datetime."""
        value = self._get(key, (str, int, float), required)
        if value is None:
            return None
        try:
            if isinstance(value, int | float):
                return datetime.fromtimestamp(value, UTC)
            parsed = datetime.fromisoformat(_trim_nanoseconds(value.replace("Z", "+00:00")))
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
        except (ValueError, OverflowError, OSError) as exc:  # OverflowError: before year 1 or after 9999 in UTC
            raise MalformedPayload(f"{self._where(key)}: not a timestamp: {value!r}") from exc

    def raw(self, key: builtins.str) -> Any:
        """The value as is (``None`` when absent), for fields passed through untouched."""
        return self.data.get(key)


def read_json(body: bytes) -> Any:
    """A raw body as JSON, or :class:`MalformedPayload`. Besides text that is not UTF-8 JSON, Python's
    parser fails on nesting deeper than its recursion limit (``RecursionError``) and on a number of
    more than 4,300 digits (``ValueError``): a body is refused for either, not answered with a 500.
    (The web app already refuses deep bodies before a parser sees them; this keeps ``parse`` safe
    wherever it is called.)"""
    try:
        return json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise MalformedPayload(f"body is not JSON: {reason}") from exc


def _trim_nanoseconds(value: str) -> str:
    """Zendesk event times carry nanoseconds (``.123456789Z``); Python reads at most microseconds."""
    if "." not in value:
        return value
    head, _, rest = value.partition(".")
    digits = len(rest) - len(rest.lstrip("0123456789"))
    return f"{head}.{rest[:min(digits, 6)]}{rest[digits:]}"
