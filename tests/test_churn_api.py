"""The churn-risk API: ranked accounts and one account's timeline, in the OpenAPI document, scope
``read``, bounded, tenant-scoped (another tenant's token sees nothing), account names never logged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from core.app import create_app
from tests.access_support import authorized_client
from tests.churn_support import recent_end, store_accounts
from tests.factories import make_ticket


@pytest.fixture
def app(settings, db):
    app = create_app(settings)
    yield app
    app.extensions["deskloop"].close()


@pytest.fixture
def history(db):
    return store_accounts(db, end=recent_end())


def test_accounts_are_ranked_with_reasons_and_their_tickets(app, history, caplog):
    caplog.set_level("DEBUG")
    client = authorized_client(app, scopes=("read",), tenant="acme")
    answer = client.get("/api/v1/tenants/acme/insights/accounts?limit=10")
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["method"] == "rules" and "no outcomes" in body["note"] and body["evaluation"] is None
    assert body["total"] >= 80 and len(body["accounts"]) == 10
    scores = [a["score"] for a in body["accounts"]]
    assert scores == sorted(scores, reverse=True)
    top = body["accounts"][0]
    assert top["reasons"] and all(r["ticket_ids"] for r in top["reasons"])
    assert set(top["reasons"][0]) == {"feature", "description", "value", "contribution", "ticket_ids"}

    detail = client.get(f"/api/v1/tenants/acme/insights/accounts/{quote(top['account'], safe='')}")
    assert detail.status_code == 200, detail.get_json()
    timeline = detail.get_json()
    assert timeline["account"] == top["account"] and timeline["score"] == top["score"]
    ids = {t["id"] for t in timeline["tickets"]}
    assert {i for r in top["reasons"] for i in r["ticket_ids"]} <= ids
    assert all(t["reasons"] for t in timeline["tickets"] if t["id"] in set(top["reasons"][0]["ticket_ids"]))
    assert {"created_at", "solved_at", "status", "frustrated", "tone", "csat", "reopen_count"} <= set(
        timeline["tickets"][0])
    assert top["account"] not in caplog.text


def test_an_organization_with_a_slash_in_its_name_is_reachable(app, db, history):
    tenant_id = db.tenant_id("acme")
    from core.store.tickets import upsert_tickets

    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, [make_ticket("rd-1", "We will not renew, this is useless.",
                                                        organization="R&D / Ops",
                                                        created=datetime.now(UTC) - timedelta(days=3))])
    client = authorized_client(app, scopes=("read",))
    answer = client.get("/api/v1/tenants/acme/insights/accounts/R%26D%20/%20Ops")
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["account"] == "R&D / Ops"
    assert answer.get_json()["reasons"][0]["feature"] == "cancellation"


def test_bad_arguments_and_unknown_names_get_a_reason(app, history):
    client = authorized_client(app, scopes=("read",))
    for limit in ("0", "501", "ten"):
        answer = client.get(f"/api/v1/tenants/acme/insights/accounts?limit={limit}")
        assert answer.status_code == 400 and answer.get_json()["error"]["field"] == "limit"
    assert client.get("/api/v1/tenants/acme/insights/accounts/Nobody%20Inc").status_code == 404
    assert client.get("/api/v1/tenants/acme/insights/accounts/" + "x" * 300).status_code == 400
    assert client.get("/api/v1/tenants/nobody/insights/accounts").status_code == 404
    assert client.get("/api/v1/tenants/nobody/insights/accounts/Someone").status_code == 404


def test_another_tenants_token_and_a_token_without_read_are_refused(app, db, history):
    other = db.ensure_tenant("globex")
    with db.transaction(other) as session:
        from core.store.tickets import upsert_tickets

        upsert_tickets(session, other, [make_ticket("g-1", "Please cancel our subscription", organization="Globex",
                                                    created=datetime.now(UTC) - timedelta(days=2))])
    account = history.outcomes[0][0]
    outsider = authorized_client(app, scopes=("read",), tenant="globex")
    assert outsider.get("/api/v1/tenants/acme/insights/accounts").status_code == 404
    assert outsider.get(f"/api/v1/tenants/acme/insights/accounts/{quote(account, safe='')}").status_code == 404
    # Globex's own listing shows none of Acme's accounts.
    own = outsider.get("/api/v1/tenants/globex/insights/accounts").get_json()
    assert [a["account"] for a in own["accounts"]] == ["Globex"]
    assert authorized_client(app, scopes=("suggest",)).get("/api/v1/tenants/acme/insights/accounts").status_code == 403
    assert app.test_client().get("/api/v1/tenants/acme/insights/accounts").status_code == 401


def test_the_routes_are_in_the_openapi_document(app):
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    listing = document["paths"]["/api/v1/tenants/{slug}/insights/accounts"]["get"]
    detail = document["paths"]["/api/v1/tenants/{slug}/insights/accounts/{account}"]["get"]
    assert listing["x-deskloop-scope"] == detail["x-deskloop-scope"] == "read"
    limit = next(p for p in listing["parameters"] if p["name"] == "limit")
    assert limit["schema"] == {"type": "integer", "minimum": 1, "maximum": 500}
    assert {"200", "400", "404"} <= set(detail["responses"])
