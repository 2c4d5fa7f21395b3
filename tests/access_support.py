"""Proof for tests that call operator routes: an API token or a signed-in browser-style session.

Every operator route refuses a request without proof, so tests that exercise the API ask for a
client carrying a token with the scopes they need (all of them by default) instead of relying on
any trust by address.
"""

from __future__ import annotations

import re

from core.access.operators import add_operator
from core.access.tokens import issue_token

STRONG_PASSWORD = "plum-orbit-velvet-canyon-42"


def token_for(app, scopes=("read", "suggest", "signals", "admin"), tenant: str | None = None,
              name: str = "tests") -> str:
    """A fresh API token (every tenant unless ``tenant`` is named)."""
    token, _ = issue_token(app.extensions["deskloop"], name, tuple(scopes), tenant, "tests")
    return token


def authorized_client(app, scopes=("read", "suggest", "signals", "admin"), tenant: str | None = None):
    """A Flask test client whose every request carries a fresh API token."""
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token_for(app, scopes, tenant)}"
    return client


def csrf_token_from(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html) or re.search(
        r'name="csrf-token" content="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def signed_in_client(app, role: str = "admin", tenants: tuple[str, ...] = (), email: str | None = None):
    """A test client signed in through the login form, as a browser would be.

    Returns ``(client, csrf_token)``: state-changing requests send the token as ``X-CSRFToken``."""
    email = email or f"{role}-{len(tenants)}-{id(app)}@example.com"
    add_operator(app.extensions["deskloop"], email, role, tenants, password=STRONG_PASSWORD)
    client = app.test_client()
    form = client.get("/login").get_data(as_text=True)
    answer = client.post("/login", data={"email": email, "password": STRONG_PASSWORD,
                                         "csrf_token": csrf_token_from(form)})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    page = client.get("/playground").get_data(as_text=True)
    return client, csrf_token_from(page)
