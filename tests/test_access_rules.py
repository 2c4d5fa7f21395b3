"""Every route declares who may reach it, and holds to it.

The walk over the app's whole ``url_map`` fails when a route has no rule, when a non-public route
answers without proof, when a scope or role reaches a route it should not (or is refused one it
should reach), or when a token for one tenant reaches another's data. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace

import pytest

from core.access import ROLE_SCOPES, SCOPES
from core.app import create_app
from core.learning.feedback import record_signal
from core.store.tickets import upsert_tickets
from core.types import Signal
from core.web.access import rule_for
from tests.access_support import authorized_client, signed_in_client, token_for
from tests.factories import small_inbox

SECRET_SUBJECT_WORD = "card"  # every seeded ticket speaks of cards, refunds or passwords: none may leak
SAFE = {"GET", "HEAD", "OPTIONS"}


@pytest.fixture
def app(settings, db):
    app = create_app(replace(settings, secure_cookies=False, rate_auth_failures="100000/minute",
                             rate_suggest="100000/minute"))
    for slug in ("acme", "other"):
        tenant_id = db.ensure_tenant(slug)
        with db.transaction(tenant_id) as session:
            upsert_tickets(session, tenant_id, small_inbox())
    yield app
    app.extensions["deskloop"].close()


@pytest.fixture
def ids(app, db):
    """Real ids in tenant ``acme``: a ticket and a signal about it."""
    runtime = app.extensions["deskloop"]
    with db.tenant_session(db.tenant_id("acme")) as session:
        from core.store.tables import TicketRow

        ticket_id = session.query(TicketRow.id).order_by(TicketRow.id).first()[0]
    signal, _ = record_signal(runtime, "acme", Signal(kind="confirmed", ticket_id=ticket_id, payload={}))
    return {"ticket_id": ticket_id, "signal_id": signal.id}


def _routes(app, ids, slug="acme"):
    """Every (method, url, rule) of the app, with real values in the path."""
    values = {"slug": slug, "tenant": slug, "helpdesk": "zendesk", "key": "refund_status", "external_id": "1",
              "suggestion_id": 1, "name": "panel.js", "filename": "playground.css", **ids}
    for url_rule in app.url_map.iter_rules():
        path = url_rule.rule
        for arg in url_rule.arguments:
            path = re.sub(rf"<(?:[a-z]+:)?{arg}>", str(values.get(arg, 1)), path)
        for method in sorted(url_rule.methods - {"HEAD", "OPTIONS"}):
            yield method, path, rule_for(app, url_rule.endpoint), url_rule.rule


def _call(client, method, url, **kwargs):
    if method in SAFE:
        return client.open(url, method=method, **kwargs)
    return client.open(url, method=method, json={}, **kwargs)


def test_every_route_declares_an_access_rule(app, ids, capsys):
    kinds = Counter()
    for method, _url, rule, pattern in _routes(app, ids):
        assert rule is not None, f"{method} {pattern} declares no access rule"
        kinds[rule.describe()] += 1
    with capsys.disabled():
        print("\nroutes by access rule:", dict(sorted(kinds.items())))
    assert kinds["public"] and kinds["signature"] and kinds["panel"]
    assert all(kinds[f"operator:{scope}"] for scope in SCOPES)


def test_no_route_outside_the_public_ones_answers_without_proof(app, ids):
    client = app.test_client()
    for method, url, rule, pattern in _routes(app, ids):
        if rule.kind == "public":
            continue
        answer = _call(client, method, url, environ_base={"REMOTE_ADDR": "127.0.0.1"})
        where = f"{method} {pattern} ({rule.describe()})"
        if rule.kind == "operator":
            login_redirect = answer.status_code == 302 and "/login" in answer.headers["Location"]
            assert answer.status_code == 401 or login_redirect, f"{where} answered {answer.status_code}"
        else:  # a signature or panel proof is missing: refused, or the tenant is not even connected
            assert answer.status_code in (401, 404), f"{where} answered {answer.status_code}"
        assert SECRET_SUBJECT_WORD not in answer.get_data(as_text=True).lower(), where


def test_an_unknown_route_for_a_view_without_rule_is_refused(app):
    @app.get("/forgotten")
    def forgotten():
        return "tenant data"

    answer = app.test_client().get("/forgotten", headers={"Authorization": f"Bearer {token_for(app)}"})
    assert answer.status_code == 403 and "no access rule" in answer.get_data(as_text=True)


def test_each_scope_reaches_exactly_the_routes_that_need_it(app, ids):
    clients = {scope: authorized_client(app, scopes=(scope,)) for scope in SCOPES}
    checked = 0
    for method, url, rule, pattern in _routes(app, ids):
        if rule.kind != "operator":
            continue
        for scope, client in clients.items():
            status = _call(client, method, url).status_code
            if scope == rule.scope:
                assert status not in (401, 403), f"{scope} token refused {status} on {method} {pattern}"
            else:
                assert status == 403, f"{scope} token got {status} on {method} {pattern} (needs {rule.scope})"
            checked += 1
    assert checked >= 4 * 20


def test_each_role_reaches_exactly_the_routes_its_scopes_allow(app, ids):
    for role in ("viewer", "agent", "admin"):
        client, csrf = signed_in_client(app, role, tenants=() if role == "admin" else ("acme",))
        for method, url, rule, pattern in _routes(app, ids):
            if rule.kind != "operator":
                continue
            status = _call(client, method, url, headers={"X-CSRFToken": csrf}).status_code
            if rule.scope in ROLE_SCOPES[role]:
                assert status not in (401, 403), f"{role} refused {status} on {method} {pattern}"
            else:
                assert status == 403, f"{role} got {status} on {method} {pattern} (needs {rule.scope})"


def test_a_token_for_one_tenant_gets_nothing_of_another(app, ids):
    client = authorized_client(app, tenant="acme")
    reached = 0
    for method, url, rule, pattern in _routes(app, ids, slug="other"):
        if rule.kind != "operator" or "<slug>" not in pattern:
            continue
        answer = _call(client, method, url)
        assert answer.status_code == 404, f"{method} {pattern} for another tenant answered {answer.status_code}"
        assert answer.json["error"]["reason"] == "no tenant named 'other'"
        reached += 1
    assert reached >= 20
    listed = client.get("/api/v1/tenants").json["tenants"]
    assert [t["slug"] for t in listed] == ["acme"]


def test_an_agent_sees_only_the_tenants_given_to_them(app, ids):
    client, _ = signed_in_client(app, "agent", tenants=("acme",))
    assert [t["slug"] for t in client.get("/api/v1/tenants").json["tenants"]] == ["acme"]
    assert client.get("/api/v1/tenants/acme/tickets").status_code == 200
    assert client.get("/api/v1/tenants/other/tickets").status_code == 404
    assert client.get("/tenants/other/signals").status_code == 404


def test_a_revoked_or_forged_token_proves_nothing(app, ids):
    from core.access.tokens import revoke_token

    token = token_for(app)
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    assert client.get("/api/v1/tenants", headers=headers).status_code == 200
    revoke_token(app.extensions["deskloop"], token.split("_")[1])
    assert client.get("/api/v1/tenants", headers=headers).status_code == 401
    for forged in (token[:-1] + ("A" if token[-1] != "A" else "B"), "dlk_x_y", "Basic abc", "Bearer", ""):
        value = forged if forged.startswith(("Basic", "Bearer")) or not forged else f"Bearer {forged}"
        answer = client.get("/api/v1/tenants", headers={"Authorization": value})
        assert answer.status_code == 401, value
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_session_writes_need_the_csrf_token_and_cross_site_forms_are_refused(app, ids):
    client, csrf = signed_in_client(app, "admin")
    revoke = f"/api/v1/tenants/acme/signals/{ids['signal_id']}/revoke"
    without = client.post(revoke)
    assert without.status_code == 400 and "CSRF" in without.json["error"]["reason"]
    cross_site = client.post(revoke, data={"anything": "1"},
                             headers={"Origin": "https://evil.example", "Referer": "https://evil.example/x",
                                      "Content-Type": "application/x-www-form-urlencoded"})
    assert cross_site.status_code == 400
    signals = client.get("/api/v1/tenants/acme/signals").json["signals"]
    assert signals[0]["revoked_at"] is None  # nothing changed
    assert client.post(revoke, headers={"X-CSRFToken": csrf}).status_code == 200
    # A machine's token is not a cookie a browser sends by itself: it needs no CSRF token.
    assert authorized_client(app).get("/api/v1/tenants/acme/signals").status_code == 200


def test_security_headers_on_every_page(app, ids):
    client, _ = signed_in_client(app, "admin")
    for method, url, _rule, pattern in _routes(app, ids):
        if method != "GET":
            continue
        answer = client.get(url)
        policy = answer.headers.get("Content-Security-Policy", "")
        where = f"GET {pattern} ({answer.status_code})"
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy, where
        assert answer.headers["X-Content-Type-Options"] == "nosniff", where
        assert answer.headers["Referrer-Policy"] in ("same-origin", "no-referrer"), where
        if pattern != "/apps/zendesk/sidebar":  # framed by the tenant's own Zendesk (test_side_panels)
            assert "frame-ancestors 'none'" in policy and answer.headers["X-Frame-Options"] == "DENY", where


def test_a_request_from_this_machine_is_not_an_operator(app):
    for address in ("127.0.0.1", "::1"):
        answer = app.test_client().get("/api/v1/tenants", environ_base={"REMOTE_ADDR": address})
        assert answer.status_code == 401
    forwarded = app.test_client().get("/api/v1/tenants", headers={"X-Forwarded-For": "127.0.0.1"})
    assert forwarded.status_code == 401
