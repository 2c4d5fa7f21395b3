"""The ranked accounts as CSV over the API: scope ``read``, tenant-scoped, the CLI's columns in the
JSON listing's order, cells a spreadsheet would run as formulas escaped, and ``accounts.csv`` not
taken for an account's name."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from core.insights.churn.export import COLUMNS
from core.runtime import Runtime
from core.store.tickets import upsert_tickets
from tests.access_support import authorized_client
from tests.accounts_support import DEGRADING, HOSTILE_ACCOUNT, seed_accounts
from tests.factories import make_ticket

CSV = "/api/v1/tenants/acme/insights/accounts.csv"
FORMULA_ACCOUNT = '=HYPERLINK("https://evil.example","Open")'


@pytest.fixture
def acme(app, settings):
    runtime = Runtime(settings)
    try:
        seed_accounts(runtime)
        tenant_id = runtime.db.tenant_id("acme")
        created = datetime.now(UTC) - timedelta(days=4)
        with runtime.db.transaction(tenant_id) as session:
            upsert_tickets(session, tenant_id, [
                make_ticket("f-1", "We will cancel our contract.", organization=FORMULA_ACCOUNT, created=created),
                make_ticket("f-2", "Our contract ends, we will not renew.", organization="accounts.csv",
                            created=created)])
        runtime.db.ensure_tenant("globex")
    finally:
        runtime.close()
    return app


def rows(answer) -> list[dict]:
    return list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))


def test_the_csv_holds_the_listings_accounts_in_order_with_the_clis_columns(acme):
    client = authorized_client(acme, scopes=("read",), tenant="acme")
    answer = client.get(CSV)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.mimetype == "text/csv"
    assert answer.headers["Content-Disposition"] == 'attachment; filename="acme-accounts-at-risk.csv"'
    listing = client.get("/api/v1/tenants/acme/insights/accounts?limit=500").get_json()
    found = rows(answer)
    assert list(found[0]) == COLUMNS
    assert len(found) == listing["total"] == 7
    by_name = {r["account"]: r for r in found}
    assert [r["account"].removeprefix("'") if r["account"].startswith("'=") else r["account"] for r in found] == [
        a["account"] for a in listing["accounts"]]
    assert [float(r["score"]) for r in found] == [a["score"] for a in listing["accounts"]]
    assert found[0]["account"] == DEGRADING and found[0]["rank"] == "1" and found[0]["method"] == "rules"
    degrading = listing["accounts"][0]
    assert found[0]["reasons"] == "; ".join(r["feature"] for r in degrading["reasons"])
    assert found[0]["ticket_ids"] == " ".join(str(i) for r in degrading["reasons"] for i in r["ticket_ids"])
    assert HOSTILE_ACCOUNT in by_name  # customer text, verbatim: a spreadsheet shows it as text
    assert "'" + FORMULA_ACCOUNT in by_name and FORMULA_ACCOUNT not in by_name  # never runs as a formula
    assert [r["account"] for r in rows(client.get(CSV + "?limit=2"))] == [a["account"] for a in listing["accounts"][:2]]


def test_an_account_named_like_the_csv_is_still_its_own_timeline(acme):
    client = authorized_client(acme, scopes=("read",), tenant="acme")
    answer = client.get("/api/v1/tenants/acme/insights/accounts/accounts.csv")
    assert answer.status_code == 200 and answer.get_json()["account"] == "accounts.csv"


def test_bad_limits_get_a_reason_and_nothing_else_reaches_the_csv(acme):
    client = authorized_client(acme, scopes=("read",), tenant="acme")
    for limit in ("0", "10001", "all"):
        answer = client.get(f"{CSV}?limit={limit}")
        assert answer.status_code == 400 and answer.get_json()["error"]["field"] == "limit"
    assert client.get("/api/v1/tenants/nobody/insights/accounts.csv").status_code == 404
    outsider = authorized_client(acme, scopes=("read",), tenant="globex")
    assert outsider.get(CSV).status_code == 404  # another tenant's token: not even said to exist
    assert rows(outsider.get("/api/v1/tenants/globex/insights/accounts.csv")) == []
    assert authorized_client(acme, scopes=("suggest",)).get(CSV).status_code == 403
    assert acme.test_client().get(CSV).status_code == 401


def test_the_csv_route_is_in_the_openapi_document(app):
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/api/v1/tenants/{slug}/insights/accounts.csv"]["get"]
    assert "text/csv" in operation["responses"]["200"]["content"]
    assert [p["name"] for p in operation["parameters"] if p["in"] == "query"] == ["limit"]
    assert operation["security"]
