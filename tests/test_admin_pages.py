"""The admin pages, driven as a browser without JavaScript would: an admin issues a token through
the form and sees it once, revokes one, reads the users and the audit trail; nobody else gets in,
and a form posted without its CSRF token is refused."""

from __future__ import annotations

import dataclasses
import re

import pytest

from core.access.audit import list_events
from core.access.operators import add_operator, set_disabled
from core.access.tokens import list_tokens
from core.app import create_app
from tests.access_support import STRONG_PASSWORD, authorized_client, signed_in_client, token_for

ADMIN_PAGES = ("/admin", "/admin/users", "/admin/tokens", "/admin/audit", "/admin/events")


@pytest.fixture
def app(settings, db):
    db.ensure_tenant("acme")
    db.ensure_tenant("beta")
    app = create_app(dataclasses.replace(settings, secure_cookies=False))
    yield app
    app.extensions["deskloop"].close()


@pytest.fixture
def runtime(app):
    return app.extensions["deskloop"]


@pytest.fixture
def admin(app):
    """A signed-in admin's browser and the CSRF token its forms carry."""
    return signed_in_client(app, "admin", email="root@example.com")


def _issue(client, csrf: str, **form):
    return client.post("/admin/tokens", data={"csrf_token": csrf, **form})


def _shown_token(page: str) -> str:
    found = re.search(r'value="(dlk_[^"]+)"', page)
    assert found, "the new token is on the page"
    return found.group(1)


def _actions(runtime, tenant: str | None = None) -> list[str]:
    return [e.action for e in list_events(runtime, tenant) if e.action != "user.sign_in"]


def test_pages_are_served_with_no_inline_script_or_style(admin):
    client, _ = admin
    overview = client.get("/admin")
    assert overview.status_code == 200
    page = overview.get_data(as_text=True)
    for link in ADMIN_PAGES[1:]:
        assert f'href="{link}"' in page
    for path in ADMIN_PAGES:
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
        html = answer.get_data(as_text=True)
        assert "<script" not in html and "style=" not in html and "<style" not in html, path


def test_an_admin_issues_a_token_through_the_form_and_sees_it_once(app, runtime, admin):
    client, csrf = admin
    form = client.get("/admin/tokens").get_data(as_text=True)
    assert 'name="csrf_token"' in form and 'value="acme"' in form and 'value="*"' in form

    created = _issue(client, csrf, name="zapier", scope=["read", "suggest"], tenant="acme")
    assert created.status_code == 201
    assert created.headers["Cache-Control"] == "no-store"
    page = created.get_data(as_text=True)
    token = _shown_token(page)
    assert "shown once" in page

    api = app.test_client().get("/api/v1/tenants", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200 and [t["slug"] for t in api.get_json()["tenants"]] == ["acme"]

    [issued] = list_tokens(runtime)
    assert issued.name == "zapier" and issued.scopes == ("read", "suggest") and issued.tenant == "acme"
    assert issued.created_by == "user:root@example.com"
    listing = client.get("/admin/tokens").get_data(as_text=True)
    assert f"dlk_{issued.prefix}" in listing and "zapier" in listing
    assert token not in listing and token.split("_", 2)[2] not in listing

    [entry] = [e for e in list_events(runtime) if e.action == "token.create"]
    assert entry.actor == "user:root@example.com" and entry.tenant == "acme" and entry.target == f"dlk_{issued.prefix}"
    assert token.split("_", 2)[2] not in str(entry.detail)


def test_an_every_tenant_token_from_the_form(app, runtime, admin):
    client, csrf = admin
    created = _issue(client, csrf, name="backup", scope=["read", "admin"], tenant="*")
    assert created.status_code == 201
    token = _shown_token(created.get_data(as_text=True))
    api = app.test_client().get("/api/v1/tenants", headers={"Authorization": f"Bearer {token}"})
    assert [t["slug"] for t in api.get_json()["tenants"]] == ["acme", "beta"]
    [issued] = list_tokens(runtime)
    assert issued.tenant is None and issued.scopes == ("read", "admin")


@pytest.mark.parametrize("form, reason", [
    ({"name": "zapier", "tenant": "acme"}, "scopes must be one or more of"),
    ({"name": "zapier", "scope": "write", "tenant": "acme"}, "not &#39;write&#39;"),
    ({"name": "  ", "scope": "read", "tenant": "acme"}, "give the token a name"),
    ({"name": "zapier", "scope": "read", "tenant": "nobody"}, "no tenant named &#39;nobody&#39;"),
    ({"name": "zapier", "scope": "read"}, "choose the tenant the token covers"),
])
def test_a_bad_form_is_shown_again_with_the_reason_and_issues_nothing(runtime, admin, form, reason):
    client, csrf = admin
    refused = _issue(client, csrf, **form)
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert 'data-testid="token-problem"' in page and reason in page
    assert f'value="{form["name"]}"' in page, "what was typed is kept"
    assert "token-value" not in page
    assert list_tokens(runtime) == [] and _actions(runtime) == []


def test_the_revoke_button_revokes_the_token(app, runtime, admin):
    client, csrf = admin
    token = token_for(app, ("read",), "beta", name="old-script")
    [issued] = list_tokens(runtime)
    listing = client.get("/admin/tokens").get_data(as_text=True)
    assert f'action="/admin/tokens/{issued.prefix}/revoke"' in listing

    revoked = client.post(f"/admin/tokens/{issued.prefix}/revoke", data={"csrf_token": csrf})
    assert revoked.status_code == 303 and revoked.headers["Location"].endswith("/admin/tokens")
    after = client.get("/admin/tokens").get_data(as_text=True)
    assert f"dlk_{issued.prefix} (old-script) is revoked" in after
    assert f'action="/admin/tokens/{issued.prefix}/revoke"' not in after
    assert app.test_client().get("/api/v1/tenants", headers={"Authorization": f"Bearer {token}"}).status_code == 401

    again = client.post(f"/admin/tokens/{issued.prefix}/revoke", data={"csrf_token": csrf})
    assert again.status_code == 303
    assert _actions(runtime) == ["token.revoke"]
    [entry] = list_events(runtime, "beta")
    assert entry.actor == "user:root@example.com" and entry.target == f"dlk_{issued.prefix}"

    missing = client.post("/admin/tokens/000000000000/revoke", data={"csrf_token": csrf})
    assert missing.status_code == 404 and "no API token dlk_000000000000" in missing.get_data(as_text=True)


def test_forms_posted_without_the_csrf_token_are_refused(app, runtime, admin):
    client, _ = admin
    token_for(app, ("read",), "acme")
    [issued] = list_tokens(runtime)
    assert _issue(client, "", name="zapier", scope="read", tenant="acme").status_code == 400
    assert client.post("/admin/tokens", data={"name": "zapier", "scope": "read", "tenant": "acme"}).status_code == 400
    assert client.post(f"/admin/tokens/{issued.prefix}/revoke").status_code == 400
    [still] = list_tokens(runtime)
    assert still.revoked_at is None and _actions(runtime) == []


@pytest.mark.parametrize("role", ["viewer", "agent"])
def test_viewers_and_agents_are_refused(app, runtime, role):
    client, csrf = signed_in_client(app, role, ("acme",))
    for path in ADMIN_PAGES:
        assert client.get(path).status_code == 403, path
    assert _issue(client, csrf, name="mine", scope="read", tenant="acme").status_code == 403
    assert list_tokens(runtime) == []


def test_only_an_every_tenant_admin_proof_gets_in(app, runtime):
    one_tenant_admin = authorized_client(app, ("read", "admin"), "acme")
    for path in ADMIN_PAGES:
        assert one_tenant_admin.get(path).status_code == 403, path
    refused = one_tenant_admin.post("/admin/tokens", data={"name": "escalate", "scope": "admin", "tenant": "*"})
    assert refused.status_code == 403
    assert authorized_client(app, ("read", "suggest", "signals")).get("/admin").status_code == 403
    assert app.test_client().get("/admin", headers={"Accept": "text/html"}).status_code == 302
    assert app.test_client().get("/admin").status_code == 401
    assert [t.name for t in list_tokens(runtime)] == ["tests", "tests"]

    machine = authorized_client(app, ("admin",))
    assert machine.get("/admin/tokens").status_code == 200
    created = machine.post("/admin/tokens", data={"name": "from-a-script", "scope": "read", "tenant": "beta"})
    assert created.status_code == 201, "an API token is not a cookie: no CSRF token needed"
    [entry] = [e for e in list_events(runtime) if e.action == "token.create"]
    assert entry.actor.startswith("token:dlk_")


def test_users_page_lists_operators(app, runtime, admin):
    client, _ = admin
    add_operator(runtime, "viv@example.com", "viewer", ("acme", "beta"), password=STRONG_PASSWORD)
    add_operator(runtime, "sso@example.com", "agent", ("beta",))
    set_disabled(runtime, "viv@example.com", True)
    page = client.get("/admin/users").get_data(as_text=True)
    rows = {email: row for email, row in re.findall(r'<tr data-email="([^"]+)"[^>]*>(.*?)</tr>', page, re.S)}
    assert set(rows) == {"root@example.com", "viv@example.com", "sso@example.com"}
    assert "every tenant" in rows["root@example.com"]
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", rows["root@example.com"])
    assert "acme, beta" in rows["viv@example.com"] and "disabled" in rows["viv@example.com"]
    assert "never" in rows["viv@example.com"]
    assert "single sign-on" in rows["sso@example.com"] and "active" in rows["sso@example.com"]
    assert "argon2" not in page


def test_audit_page_lists_the_actions_and_filters_by_tenant(app, runtime, admin):
    client, csrf = admin
    assert _issue(client, csrf, name="acme-bot", scope="read", tenant="acme").status_code == 201
    assert _issue(client, csrf, name="beta-bot", scope="read", tenant="beta").status_code == 201
    beta_token = next(t for t in list_tokens(runtime) if t.tenant == "beta")
    assert client.post(f"/admin/tokens/{beta_token.prefix}/revoke", data={"csrf_token": csrf}).status_code == 303

    every = client.get("/admin/audit").get_data(as_text=True)
    actions = re.findall(r'<tr data-action="([^"]+)"', every)
    assert actions == ["token.revoke", "token.create", "token.create", "user.sign_in"]
    assert "user:root@example.com" in every and "acme-bot" in every and f"dlk_{beta_token.prefix}" in every

    acme = client.get("/admin/audit?tenant=acme").get_data(as_text=True)
    assert re.findall(r'<tr data-action="([^"]+)"', acme) == ["token.create"]
    assert "acme-bot" in acme and "beta-bot" not in acme
    nobody = client.get("/admin/audit?tenant=nobody")
    assert nobody.status_code == 200 and 'data-testid="no-events"' in nobody.get_data(as_text=True)


def test_the_failed_events_page_lists_quarantined_events_and_retries_one(app, runtime, admin, db):
    """An event the database refused every time is listed with its error; the retry button (with
    the CSRF token) applies it once the cause is gone. Another tenant's id is a 404."""
    from datetime import UTC, datetime

    from sqlalchemy import select, update

    from core.events import HelpdeskEvent
    from core.helpdesk.event_failures import record_failure
    from core.helpdesk.webhook_events import store_events
    from core.store.tables import HelpdeskEventRow
    from core.types import Message

    client, csrf = admin
    assert "No quarantined events" in client.get("/admin/events").get_data(as_text=True)
    tenant_id = db.tenant_id("acme")
    [event_id] = store_events(runtime, tenant_id, "zendesk", [HelpdeskEvent(
        kind="customer_replied", event_id="e-1", ticket_external_id="T-7", occurred_at=datetime.now(UTC),
        message=Message(author_role="customer", body="Where is my parcel?"))])
    with db.engine.begin() as connection:  # as if it had failed every attempt
        connection.execute(update(HelpdeskEventRow).values(attempts=4))
    record_failure(runtime, tenant_id, event_id, ValueError("secret value"))
    page = client.get("/admin/events").get_data(as_text=True)
    assert f'data-event-id="{event_id}"' in page and "T-7" in page and "ValueError" in page
    assert "secret value" not in page and "Where is my parcel" not in page

    assert client.post(f"/admin/events/acme/{event_id}/retry").status_code == 400  # no CSRF token
    assert client.post(f"/admin/events/beta/{event_id}/retry", data={"csrf_token": csrf}).status_code == 404
    viewer, viewer_csrf = signed_in_client(app, "viewer", ("acme",))
    assert viewer.get("/admin/events").status_code == 403
    assert viewer.post(f"/admin/events/acme/{event_id}/retry", data={"csrf_token": viewer_csrf}).status_code == 403

    retried = client.post(f"/admin/events/acme/{event_id}/retry", data={"csrf_token": csrf})
    assert retried.status_code == 303
    assert "applied" in client.get("/admin/events").get_data(as_text=True)
    with db.tenant_session(tenant_id) as session:
        assert session.scalar(select(HelpdeskEventRow.processed_at)) is not None
    assert "event.retry" in _actions(runtime, "acme")
    again = client.post(f"/admin/events/acme/{event_id}/retry", data={"csrf_token": csrf})
    assert again.status_code == 400 and "already applied" in again.get_data(as_text=True)
