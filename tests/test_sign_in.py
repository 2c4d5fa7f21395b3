"""Signing in with a password, staying signed in, and being signed out, over the real app factory,
against SQLite and PostgreSQL.

Each test drives the login form as a browser would (GET for the CSRF token, POST the form), then
checks what the session proves at the next request: the session is only as good as the operator
behind it (disabled, password reset, lifetime over) and a cookie alone never outlives them.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from core.access.operators import add_operator, find_operator, set_disabled, set_password
from core.app import create_app
from core.errors import BadInput, NotFound
from core.store.tables import AuditEventRow
from tests.access_support import STRONG_PASSWORD, csrf_token_from

EMAIL = "agent.smith@example.com"


def _app(settings, **changes):
    return create_app(dataclasses.replace(settings, secure_cookies=False, **changes))


@pytest.fixture
def app(settings, db):
    app = _app(settings)
    yield app
    app.extensions["deskloop"].close()


@pytest.fixture
def operator(app):
    """An admin with a password (admins see every tenant, so no tenant is needed)."""
    return add_operator(app.extensions["deskloop"], EMAIL, "admin", password=STRONG_PASSWORD)


def _sign_in(client, email=EMAIL, password=STRONG_PASSWORD, next_=None):
    form = client.get("/login").get_data(as_text=True)
    data = {"email": email, "password": password, "csrf_token": csrf_token_from(form)}
    if next_ is not None:
        data["next"] = next_
    return client.post("/login", data=data)


def _proves_a_session(client) -> bool:
    """Whether the client's cookie still signs it in (the API answers 401 JSON, never a redirect)."""
    answer = client.get("/api/v1/tenants")
    assert answer.status_code in (200, 401), answer.get_data(as_text=True)
    return answer.status_code == 200


def _page_token(client) -> str:
    return csrf_token_from(client.get("/playground").get_data(as_text=True))


def test_password_sign_in_lands_on_the_playground(app, operator):
    client = app.test_client()
    assert not _proves_a_session(client)
    answer = _sign_in(client)
    assert answer.status_code == 302 and answer.headers["Location"] == "/playground"
    assert client.get("/playground").status_code == 200
    assert _proves_a_session(client)


def test_an_unauthenticated_page_visit_goes_to_login_and_back(app, operator):
    client = app.test_client()
    visit = client.get("/playground?ticket=7", headers={"Accept": "text/html"})
    assert visit.status_code == 302
    login_url = visit.headers["Location"]
    assert login_url.startswith("/login?next=")
    form = client.get(login_url).get_data(as_text=True)
    nxt = re.search(r'name="next" value="([^"]+)"', form).group(1).replace("&amp;", "&")
    assert nxt == "/playground?ticket=7"
    answer = _sign_in(client, next_=nxt)
    assert answer.status_code == 302 and answer.headers["Location"] == "/playground?ticket=7"


@pytest.mark.parametrize("target", [
    "https://evil.example/steal",
    "//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "javascript:alert(1)",
    "http:/evil.example",
])
def test_sign_in_never_redirects_off_site(app, operator, target):
    client = app.test_client()
    assert 'name="next"' not in client.get("/login", query_string={"next": target}).get_data(as_text=True)
    answer = _sign_in(client, next_=target)
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/playground"


def _comparable(page: str) -> str:
    """The page with what legitimately differs between two answers taken out: the echoed email
    and the CSRF token (signed with a timestamp)."""
    page = re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token" value=""', page)
    return re.sub(r'id="email" name="email" type="email"([^>]*?)value="[^"]*"', r'\1value=""', page)


def test_wrong_password_and_unknown_email_get_the_same_answer(app, operator):
    wrong = _sign_in(app.test_client(), password="not-" + STRONG_PASSWORD)
    unknown = _sign_in(app.test_client(), email="nobody.here@example.com")
    malformed = _sign_in(app.test_client(), email="not an email")
    for answer in (wrong, unknown, malformed):
        assert answer.status_code == 401
        assert "That email and password do not match an active account." in answer.get_data(as_text=True)
    assert _comparable(wrong.get_data(as_text=True)) == _comparable(unknown.get_data(as_text=True))
    assert _comparable(wrong.get_data(as_text=True)) == _comparable(malformed.get_data(as_text=True))


def test_a_failed_sign_in_leaves_no_session(app, operator):
    client = app.test_client()
    assert _sign_in(client, password="not-" + STRONG_PASSWORD).status_code == 401
    assert not _proves_a_session(client)
    with client.session_transaction() as session:
        assert "_user_id" not in session and "signed_in_at" not in session


def test_a_disabled_operator_cannot_sign_in(app, operator):
    set_disabled(app.extensions["deskloop"], EMAIL, True)
    client = app.test_client()
    assert _sign_in(client).status_code == 401
    assert not _proves_a_session(client)


def test_disabling_ends_an_open_session_at_the_next_request(app, operator):
    client = app.test_client()
    assert _sign_in(client).status_code == 302 and _proves_a_session(client)
    set_disabled(app.extensions["deskloop"], EMAIL, True)
    assert not _proves_a_session(client)
    page = client.get("/playground", headers={"Accept": "text/html"})
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")
    set_disabled(app.extensions["deskloop"], EMAIL, False)
    assert not _proves_a_session(client), "enabling again must not revive the old session"
    assert _sign_in(client).status_code == 302 and _proves_a_session(client)


def test_a_password_reset_ends_open_sessions(app, operator):
    laptop, phone = app.test_client(), app.test_client()
    assert _sign_in(laptop).status_code == 302 and _sign_in(phone).status_code == 302
    new_password = "saffron-glacier-tumble-89-orchid"
    set_password(app.extensions["deskloop"], EMAIL, new_password)
    assert not _proves_a_session(laptop) and not _proves_a_session(phone)
    assert _sign_in(laptop).status_code == 401  # the old password is gone too
    assert _sign_in(laptop, password=new_password).status_code == 302 and _proves_a_session(laptop)


def test_logout_ends_the_session(app, operator):
    client = app.test_client()
    _sign_in(client)
    answer = client.post("/logout", data={"csrf_token": _page_token(client)})
    assert answer.status_code == 302 and answer.headers["Location"] == "/login"
    assert not _proves_a_session(client)
    with client.session_transaction() as session:
        assert dict(session) == {} or "_user_id" not in session


def test_logout_with_the_header_token_works_too(app, operator):
    client = app.test_client()
    _sign_in(client)
    answer = client.post("/logout", headers={"X-CSRFToken": _page_token(client)})
    assert answer.status_code == 302 and not _proves_a_session(client)


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_logout_without_the_csrf_token_is_refused_and_the_session_remains(app, operator, token):
    client = app.test_client()
    _sign_in(client)
    data = {} if token is None else {"csrf_token": token}
    assert client.post("/logout", data=data).status_code == 400
    assert _proves_a_session(client)


def test_a_logged_out_cookie_replayed_does_not_sign_in_again(app, operator):
    """Sessions live in the signed cookie, so signing out bumps the operator's session version:
    a copy of the cookie taken before (another tab, device, or a thief) proves nothing after."""
    client = app.test_client()
    _sign_in(client)
    other_device = app.test_client()
    _sign_in(other_device)
    stolen = client.get_cookie("deskloop_session").value
    client.post("/logout", data={"csrf_token": _page_token(client)})
    thief = app.test_client()
    thief.set_cookie("deskloop_session", stolen)
    assert not _proves_a_session(thief)
    assert not _proves_a_session(other_device)  # signing out ends every session of that operator


def test_a_session_ends_after_its_lifetime_however_active(app, operator):
    client = app.test_client()
    _sign_in(client)
    lifetime = app.permanent_session_lifetime
    with client.session_transaction() as session:
        session["signed_in_at"] -= lifetime.total_seconds() - 60  # a minute left
    assert _proves_a_session(client)  # activity does not move signed_in_at
    with client.session_transaction() as session:
        session["signed_in_at"] -= 61
    assert not _proves_a_session(client)


def test_the_lifetime_follows_session_hours(settings, db):
    app = _app(settings, session_hours=1)
    try:
        add_operator(app.extensions["deskloop"], EMAIL, "admin", password=STRONG_PASSWORD)
        client = app.test_client()
        _sign_in(client)
        assert app.permanent_session_lifetime == timedelta(hours=1)
        with client.session_transaction() as session:
            started = session["signed_in_at"]
            assert abs(started - datetime.now(UTC).timestamp()) < 60
            session["signed_in_at"] = started - 3601
        assert not _proves_a_session(client)
    finally:
        app.extensions["deskloop"].close()


@pytest.mark.parametrize("value", [None, "yesterday", "1e999"])
def test_a_session_without_a_valid_sign_in_time_does_not_authenticate(app, operator, value):
    client = app.test_client()
    _sign_in(client)
    with client.session_transaction() as session:
        if value is None:
            del session["signed_in_at"]
        else:
            session["signed_in_at"] = value
    assert not _proves_a_session(client)


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_a_login_post_without_the_csrf_token_is_refused(app, operator, token):
    client = app.test_client()
    client.get("/login")
    data = {"email": EMAIL, "password": STRONG_PASSWORD}
    if token is not None:
        data["csrf_token"] = token
    assert client.post("/login", data=data).status_code == 400
    assert not _proves_a_session(client)


def test_a_csrf_token_from_another_visitor_is_refused(app, operator):
    """Login CSRF: an attacker's page cannot post the attacker's credentials with the attacker's
    token into a victim's browser (the token is bound to the victim's own session)."""
    attacker, victim = app.test_client(), app.test_client()
    token = csrf_token_from(attacker.get("/login").get_data(as_text=True))
    victim.get("/login")
    answer = victim.post("/login", data={"email": EMAIL, "password": STRONG_PASSWORD, "csrf_token": token})
    assert answer.status_code == 400 and not _proves_a_session(victim)


def _session_cookie(response) -> str:
    found = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("deskloop_session=")]
    assert found, response.headers
    return found[-1]


def _attributes(cookie: str) -> set[str]:
    return {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}


def test_the_session_cookie_is_httponly_and_samesite_lax(app, operator):
    cookie = _session_cookie(_sign_in(app.test_client()))
    assert "httponly" in _attributes(cookie)
    assert "SameSite=Lax" in cookie
    assert "secure" not in _attributes(cookie)  # this app was made with secure_cookies=False


def test_the_session_cookie_is_secure_when_asked(settings, db):
    app = create_app(dataclasses.replace(settings, secure_cookies=True))
    try:
        add_operator(app.extensions["deskloop"], EMAIL, "admin", password=STRONG_PASSWORD)
        client = app.test_client()
        form = client.get("/login", base_url="https://localhost")
        assert "secure" in _attributes(_session_cookie(form))
        data = {"email": EMAIL, "password": STRONG_PASSWORD, "csrf_token": csrf_token_from(form.get_data(as_text=True))}
        # Over HTTPS the CSRF check also wants a same-origin Referer (sent under "same-origin").
        assert client.post("/login", base_url="https://localhost", data=data).status_code == 400
        assert client.post("/login", base_url="https://localhost", data=data,
                           headers={"Referer": "https://evil.example/login"}).status_code == 400
        answer = client.post("/login", base_url="https://localhost", data=data,
                             headers={"Referer": "https://localhost/login"})
        assert answer.status_code == 302
        cookie = _session_cookie(answer)
        assert {"secure", "httponly"} <= _attributes(cookie) and "SameSite=Lax" in cookie
        # (Werkzeug's test client sends Secure cookies over plain HTTP too; browsers do not.)
        assert client.get("/api/v1/tenants", base_url="https://localhost").status_code == 200
    finally:
        app.extensions["deskloop"].close()


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "10.0.0.5"])
def test_no_address_is_trusted(app, address):
    client = app.test_client()
    environ = {"REMOTE_ADDR": address}
    api = client.get("/api/v1/tenants", environ_base=environ)
    assert api.status_code == 401 and api.json["error"]["status"] == 401
    page = client.get("/playground", environ_base=environ, headers={"Accept": "text/html"})
    assert page.status_code == 302 and page.headers["Location"].startswith("/login?next=")
    forwarded = client.get("/api/v1/tenants", environ_base={"REMOTE_ADDR": "203.0.113.9"},
                           headers={"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1"})
    assert forwarded.status_code == 401


def test_a_sign_in_is_audited_without_the_password(app, operator):
    _sign_in(app.test_client())
    with app.extensions["deskloop"].db.admin_session() as session:
        rows = session.scalars(select(AuditEventRow).where(AuditEventRow.action == "user.sign_in")).all()
        assert [(r.actor, r.detail) for r in rows] == [(f"user:{EMAIL}", {"via": "password"})]
        assert all(STRONG_PASSWORD not in str(r.detail) for r in rows)


@pytest.mark.parametrize("password", [
    "short-1",  # under 12 characters
    "password1234",  # long enough, and among the first guesses
    "aaaaaaaaaaaaaaaaaaaa",
    "correcthorse",
])
def test_weak_passwords_are_refused(app, password):
    with pytest.raises(BadInput) as refused:
        add_operator(app.extensions["deskloop"], EMAIL, "admin", password=password)
    assert refused.value.field == "password"
    with pytest.raises(NotFound):  # nothing was added
        find_operator(app.extensions["deskloop"], EMAIL)


def test_a_password_made_of_the_email_is_refused(app):
    with pytest.raises(BadInput) as refused:
        add_operator(app.extensions["deskloop"], "velvet.tangerine.orbit@example.com", "admin",
                     password="velvet.tangerine.orbit@example.com")
    assert refused.value.field == "password"


def test_a_weak_password_is_refused_on_reset_and_the_old_one_still_works(app, operator):
    with pytest.raises(BadInput):
        set_password(app.extensions["deskloop"], EMAIL, "password1234")
    assert _sign_in(app.test_client()).status_code == 302


def test_a_request_without_the_cookie_gets_none_and_a_forged_cookie_proves_nothing(app, operator):
    """Sessions are opened only for a request that sends the cookie (:mod:`core.web.sessions`):
    one that sends none is answered without one, and a cookie that is not signed by this server
    is no session at all."""
    client = app.test_client()
    answer = client.get("/api/v1/health")
    assert answer.status_code == 200 and not answer.headers.getlist("Set-Cookie")
    assert not _proves_a_session(client)
    client.set_cookie("deskloop_session", "eyJfdXNlcl9pZCI6IjEifQ.forged.signature")
    assert not _proves_a_session(client)
    assert _sign_in(client).status_code == 302 and _proves_a_session(client)
