"""What can go wrong talking to Freshdesk, as errors that say what to do about it.

python-freshdesk raises its own ``FreshdeskError`` family (subclasses of ``requests.HTTPError``)
whose messages are Freshdesk's; :class:`~integrations.freshdesk.client.FreshdeskClient` raises
these instead, ``from`` the library's error, once its retries are spent. No message carries the
API key (it only ever travels as the basic-auth user name).
"""

from __future__ import annotations

from core.errors import BadInput
from core.helpdesk.contract import (
    HelpdeskError,
    HelpdeskNotFound,
    HelpdeskRateLimited,
    HelpdeskRejected,
    HelpdeskUnauthorized,
    HelpdeskUnavailable,
)


class FreshdeskAPIError(HelpdeskError):
    """A Freshdesk request failed for good."""


class FreshdeskAuthError(FreshdeskAPIError, HelpdeskUnauthorized):
    """401/403: the API key is wrong, revoked, or its agent may not do this."""


class FreshdeskRequestRejected(FreshdeskAPIError, HelpdeskRejected):
    """400/404/409...: Freshdesk understood the request and refused it (retrying will not help)."""


class FreshdeskUnavailable(FreshdeskAPIError, HelpdeskUnavailable):
    """5xx, timeouts, unreachable host, or rate limited for longer than we wait: try again later."""


class FreshdeskNotFound(FreshdeskRequestRejected, HelpdeskNotFound):
    """404: the ticket (or contact) does not exist, or no longer does."""


class FreshdeskRateLimited(FreshdeskUnavailable, HelpdeskRateLimited):
    """429 for longer than the client waits out (``retry_after``: what Freshdesk last asked)."""


class FreshdeskConfigError(BadInput):
    """The tenant's connection cannot reach Freshdesk as configured (domain, api_key)."""
