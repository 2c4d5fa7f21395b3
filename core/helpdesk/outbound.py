"""How every helpdesk client waits and retries: one policy, so backfill and write-back behave the
same against Zendesk, Freshdesk and Intercom, and a fourth helpdesk gets it for free.

A client retries what cannot have done harm (a read; a write the helpdesk refused before doing
it) and gives up with a :class:`core.helpdesk.contract.HelpdeskError`. Between attempts it waits what the
helpdesk asked (``Retry-After`` in seconds or as an HTTP date, else a rate-limit reset time),
never longer than :attr:`RetryPolicy.longest_wait`, and otherwise backs off exponentially.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` in all (the first and the retries); ``backoff`` seconds before the first
    retry, doubling; no wait longer than ``longest_wait``."""

    attempts: int = 6
    backoff: float = 1.0
    longest_wait: float = 300.0

    def backoff_wait(self, retry: int) -> float:
        """Seconds before retry number ``retry`` (1 for the first) when the helpdesk said nothing."""
        return min(self.backoff * 2 ** (retry - 1), self.longest_wait)

    def wait(self, headers: Mapping[str, str], retry: int) -> float:
        """Seconds before retry ``retry``: what the answer's headers ask, else the backoff."""
        asked = asked_wait(headers)
        return min(asked, self.longest_wait) if asked is not None else self.backoff_wait(retry)


def asked_wait(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """The seconds a helpdesk asked to wait: ``Retry-After`` (seconds or an HTTP date), else
    ``X-RateLimit-Reset`` (a Unix time, as Intercom sends); ``None`` when it said nothing usable."""
    found = {key.lower(): str(value).strip() for key, value in headers.items()}
    now = time.time() if now is None else now
    retry_after = found.get("retry-after") or ""
    if retry_after:
        try:
            return max(float(retry_after), 0.0)
        except ValueError:
            when = email.utils.parsedate_tz(retry_after)
            if when is not None:
                return max(email.utils.mktime_tz(when) - now, 0.0)
    reset = found.get("x-ratelimit-reset") or ""
    if reset.isdigit():
        return max(int(reset) - now, 0.0)
    return None
