"""A GET never writes: every GET route of the app, called with an admin token, a signed-in admin's
session and no proof at all, leaves every table as it was.

The routes come from ``app.url_map``, so a new GET route is covered the day it is added (and one
with a path parameter this file cannot fill fails here until it can). The tenants are small but
have something on every page: ``acme`` a trained model, a suggestion and signals, discovered
intents, a ranked label report and a connected helpdesk; ``replayed`` a replay's learning curves
and a kept autonomy backtest.
The only write a GET may make is the API token's ``last_used_at`` (a touch, so a token's use can
be audited), left out of the comparison.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from flask import Flask
from sqlalchemy import select

from core.app import create_app
from core.autonomy.backtest_runs import keep_backtest
from core.helpdesk.connections import add_tenant, forget_connections
from core.insights.run import scan_tenant
from core.labelling.proposals import discover
from core.runtime import Runtime
from core.store.tables import Base
from core.store.tickets import upsert_tickets
from core.suggesting.replay import replay
from core.web.panel_api import PANEL_DIR
from tests.access_support import signed_in_client, token_for
from tests.factories import make_ticket, small_inbox
from tests.panel_support import CREDENTIALS, OPEN_TICKET, seed_tenant

#: Columns a GET may change: when a token was last used.
TOUCHED = {("api_tokens", "last_used_at")}
#: Files of the database itself, which SQLite touches on reads (its journal) and are compared as rows.
DATABASE_FILES = ("deskloop.db", "deskloop.db-journal", "deskloop.db-wal", "deskloop.db-shm")
#: GET routes no caller here can get a page from, by design: the Zendesk sidebar is loaded by a
#: signed POST (a GET is refused), and single sign-on is not set up in tests (404).
NOT_SERVED_TO_A_GET = {"/apps/zendesk/sidebar", "/login/sso", "/login/sso/callback"}


#: GET routes that answer only with these query arguments (filled from the seeded tenants).
REQUIRED_QUERY = {"/api/v1/tenants/<slug>/volumes": ("kind", "category"),
                  "/api/v1/tenants/<slug>/insights/knowledge-gaps/<path:key>.md": ("days", "min_score")}


@pytest.fixture
def app(settings, db) -> Iterator[Flask]:
    forget_connections()
    base = dataclasses.replace(settings, encoder="none")
    runtime = Runtime(base)
    seed_tenant(runtime, "acme", "zendesk")
    add_tenant(runtime, "acme", "zendesk", "acme.zendesk.com", CREDENTIALS, {"write_back_tags": False})
    replay(runtime, "replayed", small_inbox(), block_size=5, source="small inbox")
    keep_backtest(runtime, "replayed", {"target_precision": 0.98, "tickets": 0, "sent": 0, "right": 0,
                                        "auto_resolution_rate": None, "wrong_reply_share": None, "intents": []},
                  "cli:tests")  # what `deskloop autonomy backtest` keeps: the page reads the latest
    runtime.close()
    with_encoder = Runtime(settings)  # discovery reads the sentence encoder the app under test does without
    try:
        discover(with_encoder, "acme")
    finally:
        with_encoder.close()
    made = create_app(base)
    yield made
    made.extensions["deskloop"].close()
    forget_connections()


def _seed_activity(app: Flask, token: str) -> list[dict[str, str]]:
    """A suggestion, signals, discovered intents and a label report, made the way users make them;
    returns the values for the GET routes' path parameters, one set per tenant."""
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    tickets = client.get("/api/v1/tenants/acme/tickets?limit=200", headers=auth).get_json()["tickets"]
    ticket = next(t["id"] for t in tickets if t["external_id"] == OPEN_TICKET.external_id)
    replayed = client.get("/api/v1/tenants/replayed/tickets?limit=1", headers=auth).get_json()["tickets"][0]["id"]
    made = client.post(f"/api/v1/tenants/acme/tickets/{ticket}/suggestion", headers=auth)
    assert made.status_code == 200, made.get_json()
    suggestion = made.get_json()
    for body in ({"kind": "draft_sent", "suggestion_id": suggestion["id"],
                  "payload": {"sent": (suggestion["draft"] or "Hi") + " Thanks for waiting."}},
                 {"kind": "intent_changed", "ticket_id": ticket, "payload": {"intent": "card_arrival"}}):
        assert client.post("/api/v1/tenants/acme/signals", json=body, headers=auth).status_code == 201
    assert client.post("/api/v1/tenants/acme/labels/suggest", headers=auth).status_code == 200
    # An account with a recent ticket, for the churn-risk timeline (it reads the last 18 weeks).
    runtime = app.extensions["deskloop"]
    tenant_id = runtime.db.tenant_id("acme")
    with runtime.db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, [make_ticket("churn-1", "We will not renew our contract.",
                                                        organization="Globex", tags=["renewal"],
                                                        created=datetime.now(UTC) - timedelta(days=2))])
    scan_tenant(runtime, "acme")  # counts the volumes the spike-alerts page draws
    volume = {"kind": "tag", "category": "renewal"}
    # One knowledge gap whose article the Markdown route serves (every group measured, however old).
    gaps = client.get("/api/v1/tenants/acme/insights/knowledge-gaps?days=3650&min_score=0", headers=auth)
    assert gaps.status_code == 200 and gaps.get_json()["gaps"], gaps.get_json()
    gap = {"key": gaps.get_json()["gaps"][0]["key"], "days": "3650", "min_score": "0"}
    return [{"slug": "acme", "ticket_id": str(ticket), "account": "Globex", **volume, **gap},
            {"slug": "replayed", "ticket_id": str(replayed), "account": "Globex", **volume, **gap}]


def _a_file_in(folder: str | Path | None) -> str:
    files = sorted(p for p in Path(folder or "").rglob("*") if p.is_file())
    assert files, f"no file to serve in {folder}"
    return files[0].relative_to(folder).as_posix()


def _get_urls(app: Flask, tenants: list[dict[str, str]]) -> dict[str, list[str]]:
    """Every GET route (by its rule) with its path parameters filled, for each tenant."""
    adapter = app.url_map.bind("localhost")
    return {rule.rule: sorted({_url(app, adapter, rule, values) for values in tenants})
            for rule in app.url_map.iter_rules() if "GET" in (rule.methods or ())}


def _url(app: Flask, adapter, rule, values: dict[str, str]) -> str:
    known = dict(values)
    if rule.endpoint == "static":
        known["filename"] = _a_file_in(app.static_folder)
    elif rule.endpoint.endswith(".static"):
        known["filename"] = _a_file_in(app.blueprints[rule.endpoint.rsplit(".", 1)[0]].static_folder)
    elif rule.endpoint == "panel_assets.asset":
        known["name"] = _a_file_in(PANEL_DIR)
    missing = rule.arguments - known.keys()
    assert not missing, f"{rule.rule}: no value for {sorted(missing)}; add one to this test"
    url = adapter.build(rule.endpoint, {k: known[k] for k in rule.arguments}, method="GET")
    if rule.rule in REQUIRED_QUERY:
        url += "?" + urlencode({name: known[name] for name in REQUIRED_QUERY[rule.rule]})
    return url


def _snapshot(app: Flask) -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order, without the columns a GET may touch."""
    engine = app.extensions["deskloop"].db.engine
    tables = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if (table.name, c.name) not in TOUCHED]
            rows = conn.execute(select(*columns)).all()
            tables[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return tables


#: Caches a GET may fill: the message-kind model trained from data shipped in the project, the same
#: bytes whoever asks, one folder per version of that data (tenant data never reaches the disk there).
SHARED_CACHES = ("models/message-kinds/",)


def _home_files(app: Flask) -> dict[str, int]:
    home = app.extensions["deskloop"].settings.home
    found = {p.relative_to(home).as_posix(): p.stat().st_size for p in home.rglob("*")
             if p.is_file() and p.name not in DATABASE_FILES}
    return {path: size for path, size in found.items() if not path.startswith(SHARED_CACHES)}


def test_no_get_route_writes(app):
    token = token_for(app, name="get-walker")
    tenants = _seed_activity(app, token)
    session, _ = signed_in_client(app, "admin")  # signing in writes (audit, last sign-in): done before
    with_token = app.test_client()
    with_token.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    anonymous = app.test_client()
    anonymous.environ_base["REMOTE_ADDR"] = "10.9.9.9"  # its 401s are counted against its own address
    callers = {"token": with_token, "session": session, "anonymous": anonymous}
    by_rule = _get_urls(app, tenants)
    urls = [url for urls_of_rule in by_rule.values() for url in urls_of_rule]
    assert len(by_rule) >= 20

    before, files = _snapshot(app), _home_files(app)
    answered: dict[str, dict[str, int]] = {}
    for url in urls:
        answered[url] = {name: client.get(url).status_code for name, client in callers.items()}
    after = _snapshot(app)

    errors = {url: codes for url, codes in answered.items() if any(code >= 500 for code in codes.values())}
    assert errors == {}
    changed = {name: (len(before[name]), len(after[name])) for name in before if before[name] != after[name]}
    assert changed == {}, f"GET requests changed these tables (rows before, after): {changed}"
    assert _home_files(app) == files
    served = {rule for rule, urls_of_rule in by_rule.items()
              if any(code < 400 for url in urls_of_rule for code in answered[url].values())}
    assert by_rule.keys() - served == NOT_SERVED_TO_A_GET, answered  # the views ran, not only the access check
