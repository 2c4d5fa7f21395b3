"""Which Zendesk account a tenant is: its host name, from whatever form the admin typed.

Its own module so the sidebar (loaded with the web app) can name the account without importing
the API client and zenpy.
"""

from __future__ import annotations

from core.errors import BadInput


def account_host(domain: str | None) -> str:
    """``acme.zendesk.com`` from ``acme``, ``acme.zendesk.com`` or ``https://acme.zendesk.com/``."""
    host = (domain or "").strip().removeprefix("https://").removeprefix("http://").strip("/").lower()
    if not host:
        raise BadInput("a Zendesk tenant needs its domain, e.g. --domain acme.zendesk.com")
    return host if "." in host else f"{host}.zendesk.com"
