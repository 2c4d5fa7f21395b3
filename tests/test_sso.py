"""Single sign-on against a real OpenID Connect provider running on 127.0.0.1 (tests/oidc_provider.py),
over the real app factory, against SQLite and PostgreSQL.

The browser's part is played by two clients: Flask's test client for Deskloop and ``requests`` for
the provider. Deskloop fetches discovery, keys and tokens from the provider over real HTTP.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from sqlalchemy import select

from core.access.operators import add_operator, find_operator, set_disabled
from core.app import create_app
from core.store.tables import AuditEventRow
from tests.access_support import csrf_token_from
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, OidcProvider

ADMIN = "admin@example.com"


@pytest.fixture
def provider(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")  # a proxy in the environment must not intercept
    provider = OidcProvider().start()
    yield provider
    provider.stop()


def _sso_app(settings, issuer: str | None, secret: str = CLIENT_SECRET):
    return create_app(dataclasses.replace(settings, secure_cookies=False, oidc_issuer=issuer,
                                          oidc_client_id=CLIENT_ID, oidc_client_secret=secret))


@pytest.fixture
def app(settings, db, provider):
    app = _sso_app(settings, provider.issuer)
    add_operator(app.extensions["deskloop"], ADMIN, "admin")  # no password: single sign-on only
    yield app
    app.extensions["deskloop"].close()


@pytest.fixture
def browser():
    """The browser's side of the provider's pages (it never goes through a proxy)."""
    session = requests.Session()
    session.trust_env = False
    yield session
    session.close()


def _to_provider(client, next_: str | None = None) -> str:
    start = client.get("/login/sso", query_string={"next": next_} if next_ else {})
    assert start.status_code == 302, start.get_data(as_text=True)
    return start.headers["Location"]


def _from_provider(browser, authorize_url: str) -> str:
    """The provider's redirect back to Deskloop, as a path and query for the test client."""
    approved = browser.get(authorize_url, allow_redirects=False, timeout=10)
    assert approved.status_code == 302, approved.text
    back = urlsplit(approved.headers["Location"])
    assert (back.scheme, back.netloc, back.path) == ("http", "localhost", "/login/sso/callback")
    return f"{back.path}?{back.query}"


def _sso(client, browser, next_: str | None = None):
    return client.get(_from_provider(browser, _to_provider(client, next_)))


def _signed_in(client) -> bool:
    answer = client.get("/api/v1/tenants")
    assert answer.status_code in (200, 401), answer.get_data(as_text=True)
    return answer.status_code == 200


def _no_session(client) -> bool:
    with client.session_transaction() as session:
        return "_user_id" not in session and "signed_in_at" not in session and not _signed_in(client)


def _problem(answer) -> str:
    page = answer.get_data(as_text=True)
    assert 'data-testid="login-problem"' in page, page
    return page


def test_an_existing_operator_signs_in_and_reaches_the_playground(app, provider, browser):
    client = app.test_client()
    answer = _sso(client, browser, next_="/api/v1/tenants")
    assert answer.status_code == 302 and answer.headers["Location"] == "/api/v1/tenants"
    assert client.get("/playground").status_code == 200
    assert _signed_in(client)
    runtime = app.extensions["deskloop"]
    assert find_operator(runtime, ADMIN).last_login_at is not None
    with runtime.db.admin_session() as session:
        rows = session.scalars(select(AuditEventRow).where(AuditEventRow.action == "user.sign_in")).all()
        assert [(r.actor, r.detail) for r in rows] == [(f"user:{ADMIN}", {"via": "sso"})]


def test_the_request_to_the_provider_is_a_proper_code_flow(app, provider, browser):
    client = app.test_client()
    authorize = urlsplit(_to_provider(client))
    assert f"{authorize.scheme}://{authorize.netloc}" == provider.issuer and authorize.path == "/authorize"
    params = {k: v[0] for k, v in parse_qs(authorize.query).items()}
    assert params["client_id"] == CLIENT_ID and params["response_type"] == "code"
    assert set(params["scope"].split()) == {"openid", "email", "profile"}
    assert params["redirect_uri"] == "http://localhost/login/sso/callback"
    assert len(params["state"]) >= 20 and len(params["nonce"]) >= 20
    assert params["code_challenge_method"] == "S256" and params["code_challenge"]  # PKCE
    assert CLIENT_SECRET not in authorize.query


def test_the_login_page_offers_single_sign_on_and_keeps_next(app):
    page = app.test_client().get("/login?next=/playground").get_data(as_text=True)
    assert 'data-testid="login-sso"' in page and "/login/sso?next=/playground" in page.replace("%2F", "/")


def test_the_email_matches_whatever_its_case(app, provider, browser):
    provider.email = "Admin@Example.COM"
    client = app.test_client()
    assert _sso(client, browser).status_code == 302 and _signed_in(client)


def test_sign_in_lands_on_site_only(app, provider, browser):
    for target in ("https://evil.example/", "//evil.example", "/\\evil.example"):
        client = app.test_client()
        answer = _sso(client, browser, next_=target)
        assert answer.status_code == 302 and answer.headers["Location"] == "/playground"


def test_an_unknown_email_is_refused_and_no_operator_is_created(app, provider, browser):
    provider.email = "stranger@example.com"
    client = app.test_client()
    answer = _sso(client, browser)
    assert answer.status_code == 403
    assert "ask an admin to add you" in _problem(answer)
    assert _no_session(client)
    with pytest.raises(Exception, match="no operator"):
        find_operator(app.extensions["deskloop"], "stranger@example.com")


def test_a_disabled_operator_is_refused(app, provider, browser):
    set_disabled(app.extensions["deskloop"], ADMIN, True)
    client = app.test_client()
    answer = _sso(client, browser)
    assert answer.status_code == 403 and _no_session(client)


def test_disabling_ends_a_single_sign_on_session(app, provider, browser):
    client = app.test_client()
    _sso(client, browser)
    assert _signed_in(client)
    set_disabled(app.extensions["deskloop"], ADMIN, True)
    assert not _signed_in(client)


def test_a_forged_id_token_signature_is_refused(app, provider, browser):
    provider.forge_signature = True
    client = app.test_client()
    answer = _sso(client, browser)
    assert answer.status_code == 401
    assert "could not be verified" in _problem(answer)
    assert _no_session(client)
    assert provider.token_requests == 1  # refused after a real exchange, on the signature


@pytest.mark.parametrize("verified", [False, "false", None])
def test_an_email_the_provider_has_not_verified_is_refused(app, provider, browser, verified):
    provider.email_verified = verified
    client = app.test_client()
    answer = _sso(client, browser)
    assert answer.status_code == 401 and "did not confirm an email" in _problem(answer)
    assert _no_session(client)


@pytest.mark.parametrize(("audience", "party"), [
    ("some-other-app", None),
    ("some-other-app", CLIENT_ID),  # naming us as the authorized party does not make us its audience
    (["some-other-app"], CLIENT_ID),
])
def test_an_id_token_for_another_client_is_refused(app, provider, browser, audience, party):
    provider.audience, provider.authorized_party = audience, party
    client = app.test_client()
    assert _sso(client, browser).status_code == 401 and _no_session(client)


def test_an_id_token_from_another_issuer_is_refused(app, provider, browser):
    provider.token_issuer = "http://127.0.0.1:9"
    client = app.test_client()
    assert _sso(client, browser).status_code == 401 and _no_session(client)


def test_a_provider_announcing_another_issuer_is_refused(settings, db, provider, browser):
    """The configured issuer is the one trusted; a discovery document (and tokens) naming another
    issuer is not it, even when served from the configured address."""
    app = _sso_app(settings, provider.issuer.replace("127.0.0.1", "localhost"))
    try:
        add_operator(app.extensions["deskloop"], ADMIN, "admin")
        client = app.test_client()
        assert client.get(_from_provider(browser, _to_provider(client))).status_code == 401
        assert _no_session(client)
    finally:
        app.extensions["deskloop"].close()


def test_a_replayed_nonce_is_refused(app, provider, browser):
    provider.nonce_override = "a-nonce-from-another-sign-in"
    client = app.test_client()
    assert _sso(client, browser).status_code == 401 and _no_session(client)


def test_a_state_mismatch_is_refused(app, provider, browser):
    client = app.test_client()
    callback = urlsplit(_from_provider(browser, _to_provider(client)))
    params = {k: v[0] for k, v in parse_qs(callback.query).items()}
    tampered = urlencode({**params, "state": params["state"][:-2] + "xx"})
    answer = client.get(f"{callback.path}?{tampered}")
    assert answer.status_code == 401 and _no_session(client)
    missing = urlencode({"code": params["code"]})
    assert client.get(f"{callback.path}?{missing}").status_code == 401 and _no_session(client)
    assert provider.token_requests == 0  # refused before the code was spent


def test_a_callback_started_in_another_browser_is_refused(app, provider, browser):
    """Login CSRF: an attacker's own code and state, delivered to a victim, sign the victim in as
    nobody (the state lives in the attacker's session, not the victim's)."""
    attacker, victim = app.test_client(), app.test_client()
    callback = _from_provider(browser, _to_provider(attacker))
    victim.get("/login")
    assert victim.get(callback).status_code == 401 and _no_session(victim)


def test_a_callback_works_once(app, provider, browser):
    client = app.test_client()
    callback = _from_provider(browser, _to_provider(client))
    assert client.get(callback).status_code == 302
    client.post("/logout", data={"csrf_token": _csrf(client)})
    assert client.get(callback).status_code == 401 and _no_session(client)


def _csrf(client) -> str:
    return csrf_token_from(client.get("/playground").get_data(as_text=True))


def test_a_refusal_by_the_provider_is_shown(app, provider):
    client = app.test_client()
    state = parse_qs(urlsplit(_to_provider(client)).query)["state"][0]
    answer = client.get("/login/sso/callback", query_string={"error": "access_denied", "state": state})
    assert answer.status_code == 401 and _no_session(client)


def test_a_wrong_client_secret_is_refused(settings, db, provider, browser):
    app = _sso_app(settings, provider.issuer, secret="not-the-secret")
    try:
        add_operator(app.extensions["deskloop"], ADMIN, "admin")
        client = app.test_client()
        assert _sso(client, browser).status_code == 401 and _no_session(client)
    finally:
        app.extensions["deskloop"].close()


def test_an_unreachable_provider_is_an_explained_error(settings, db, provider):
    issuer = provider.issuer
    provider.stop()
    app = _sso_app(settings, issuer)
    try:
        answer = app.test_client().get("/login/sso")
        assert answer.status_code == 502
        assert "could not be reached" in _problem(answer)
    finally:
        app.extensions["deskloop"].close()


def test_without_an_issuer_single_sign_on_is_not_there(settings, db):
    app = _sso_app(settings, None)
    try:
        client = app.test_client()
        assert client.get("/login/sso").status_code == 404
        assert client.get("/login/sso/callback?code=x&state=y").status_code == 404
        assert 'data-testid="login-sso"' not in client.get("/login").get_data(as_text=True)
    finally:
        app.extensions["deskloop"].close()
