"""Which Freshdesk account a tenant is: its host name, from whatever form the admin typed.

Its own module (no python-freshdesk) so the integration can name the account when a tenant is
connected without loading the API client.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from core.errors import BadInput


def account_host(domain: str | None) -> str:
    """``acme.freshdesk.com`` from ``acme.freshdesk.com`` or ``https://ACME.freshdesk.com/``."""
    raw = (domain or "").strip()
    host = urlsplit(raw if "//" in raw else f"//{raw}").hostname or ""  # lower-cased by urlsplit
    if not host:
        raise BadInput("a Freshdesk domain such as acme.freshdesk.com is required", field="domain")
    if not host.endswith(".freshdesk.com"):
        raise BadInput(f"{host!r} is not a *.freshdesk.com domain: Freshdesk's API is only served there, so give "
                       "the account's acme.freshdesk.com name even when agents use a custom domain", field="domain")
    return host
