"""What can go wrong talking to Intercom, as errors that say what happened.

:class:`~integrations.intercom.client.IntercomClient` raises these, ``from`` the library's own
error, once its retries are spent. Their own module so the inbox app (loaded with the web app) can
tell them apart without importing python-intercom.
"""

from __future__ import annotations

from core.helpdesk.contract import (
    HelpdeskError,
    HelpdeskNotFound,
    HelpdeskRateLimited,
    HelpdeskRejected,
    HelpdeskUnauthorized,
    HelpdeskUnavailable,
)


class IntercomError(HelpdeskError):
    """An Intercom API call failed; the message names the call and Intercom's reason."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, status, retry_after)


class IntercomUnauthorized(IntercomError, HelpdeskUnauthorized):
    """401/403: the access token is wrong, revoked, or lacks a permission the call needs."""


class IntercomNotFound(IntercomError, HelpdeskNotFound):
    """404: the conversation (or tag, admin) does not exist, or no longer does."""


class IntercomRateLimited(IntercomError, HelpdeskRateLimited):
    """429 after every retry."""


class IntercomUnavailable(IntercomError, HelpdeskUnavailable):
    """5xx, 408, 409 or a network failure, after the retries the call allows."""


class IntercomRejected(IntercomError, HelpdeskRejected):
    """Another 4xx (400, 422...): Intercom understood the request and refused it; retrying will not help."""
