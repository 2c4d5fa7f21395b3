"""``/livez``, ``/readyz`` and ``/metrics`` through the app factory, on SQLite and PostgreSQL.

Readiness fails for real: a database URL or a Redis URL on a port nothing listens on. ``/metrics``
is parsed with prometheus-client's own parser, and its access rule is tried by an outsider, a token
without the scope and a token for one tenant only.
"""

from __future__ import annotations

import socket
import time
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, text

from core.app import create_app
from core.dispatch.queue import enqueue
from core.learning import live
from core.learning.training import registry_for
from core.store.tables import HelpdeskEventRow, ModelVersionRow
from tests.access_support import authorized_client

SECRET_PASSWORD = "pg-pass-Zq81vX"  # in the broken database URL: must never be shown


@pytest.fixture(autouse=True)
def _fresh_memory():
    """Suggestions here fill the process's live memory; later tests start without it."""
    live.forget()
    yield
    live.forget()


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]



def scrape(client) -> dict[str, list]:
    answer = client.get("/metrics")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.content_type.startswith("text/plain")
    return {family.name: family.samples for family in text_string_to_metric_families(answer.get_data(as_text=True))}


def value_or_zero(samples, name: str, **labels) -> float:
    """For counters of this test process, which earlier tests in the same process have moved too."""
    found = [s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
    return found[0] if found else 0.0


def value(samples, name: str, **labels) -> float:
    found = [s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(found) == 1, f"{name} {labels}: {found}"
    return found[0]


def test_livez_and_readyz_answer_when_all_is_well(app):
    client = app.test_client()
    assert client.get("/livez").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json == {"status": "ready", "checks": {"database": "ok", "redis": "not configured",
                                                        "migrations": "ok", "models": "ok"}}


def test_readyz_fails_when_the_database_is_unreachable(settings):
    url = f"postgresql+psycopg://postgres:{SECRET_PASSWORD}@127.0.0.1:{closed_port()}/deskloop"
    app = create_app(replace(settings, database_url=url))  # starts: the database is first asked for lazily
    client = app.test_client()
    assert client.get("/livez").status_code == 200  # alive: restarting would not bring the database back
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json["checks"]["database"] == "unreachable"
    assert answer.json["checks"]["migrations"] == "skipped" and answer.json["checks"]["models"] == "skipped"
    assert SECRET_PASSWORD not in answer.get_data(as_text=True) and "postgres" not in answer.get_data(as_text=True)


def test_readyz_fails_when_redis_is_down(settings, db):
    app = create_app(replace(settings, redis_url=f"redis://:{SECRET_PASSWORD}@127.0.0.1:{closed_port()}/0"))
    answer = app.test_client().get("/readyz")
    assert answer.status_code == 503
    assert answer.json["checks"] == {"database": "ok", "redis": "unreachable", "migrations": "ok", "models": "ok"}
    assert SECRET_PASSWORD not in answer.get_data(as_text=True)


def test_readyz_fails_when_the_schema_is_behind(app, db):
    client = app.test_client()
    assert client.get("/readyz").status_code == 200  # the server has opened (and migrated) its database
    with db.engine.begin() as connection:
        head = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    try:
        answer = client.get("/readyz")
        assert answer.status_code == 503 and answer.json["checks"]["migrations"] == "behind"
        connection_ahead = "9999_from_a_newer_release"
        with db.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": connection_ahead})
        answer = client.get("/readyz")  # a rolling deploy: the old release keeps serving
        assert answer.status_code == 200 and answer.json["checks"]["migrations"] == "ahead"
    finally:
        with db.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head})


def test_readyz_fails_when_a_model_in_service_cannot_be_loaded(app, db):
    db.ensure_tenant("acme")
    registry = registry_for(app.extensions["deskloop"], "acme")
    stored = registry.save({"weights": [1, 2, 3]}, {"note": "a stand-in artifact"})
    client = app.test_client()
    assert client.get("/readyz").json["checks"]["models"] == "ok"
    with db.transaction(db.tenant_id("acme")) as session:  # written by another library version
        row = session.scalar(select(ModelVersionRow).where(ModelVersionRow.version == stored.version))
        row.details = {**row.details, "libraries": {**row.details["libraries"], "scikit-learn": "0.0.1"}}
    answer = client.get("/readyz")
    assert answer.status_code == 503 and answer.json["checks"]["models"] == "1 unloadable"
    assert "acme" not in answer.get_data(as_text=True)  # which tenant is for the log, not the public probe


def test_an_outsider_cannot_read_metrics(app, db):
    db.ensure_tenant("acme")
    assert app.test_client().get("/metrics").status_code == 401
    garbage = app.test_client().get("/metrics", headers={"Authorization": "Bearer dlk_nope_nope"})
    assert garbage.status_code == 401
    for scope in ("read", "admin"):
        assert authorized_client(app, scopes=(scope,)).get("/metrics").status_code == 403
    one_tenant = authorized_client(app, scopes=("metrics",), tenant="acme").get("/metrics")
    assert one_tenant.status_code == 403 and "deskloop_" not in one_tenant.get_data(as_text=True)
    assert authorized_client(app, scopes=("metrics",)).get("/metrics").status_code == 200


def _event(tenant_id: int, number: int, processed: bool, outcome: str | None) -> dict:
    now = datetime.now(UTC)
    return {"tenant_id": tenant_id, "helpdesk": "zendesk", "event_id": f"ev-{number}", "kind": "ticket_updated",
            "ticket_external_id": "1", "occurred_at": now, "data": {}, "received_at": now,
            "processed_at": now if processed else None, "outcome": outcome}


def test_metrics_count_requests_by_url_rule_and_read_state_at_scrape_time(app, db, backend):
    tenant_id = db.ensure_tenant("acme")
    rows = [_event(tenant_id, 1, False, None), _event(tenant_id, 2, False, None),
            _event(tenant_id, 3, True, "applied; message added"), _event(tenant_id, 4, True, "stale: fields kept")]
    with db.engine.begin() as connection:
        connection.execute(HelpdeskEventRow.__table__.insert(), rows)
    version = registry_for(app.extensions["deskloop"], "acme").save({"w": 1}, {}).version
    client = authorized_client(app, scopes=("metrics",))
    rule = "/api/v1/tenants/<slug>/tickets/<int:ticket_id>"
    before = scrape(client)
    reader = authorized_client(app, scopes=("read",))
    for _ in range(3):
        assert reader.get("/api/v1/tenants/acme/tickets/987654").status_code == 404
    families = scrape(client)

    requests_total = families["deskloop_http_requests"]
    counted = ("deskloop_http_requests_total", {"route": rule, "status": "404", "method": "GET"})
    assert value(requests_total, counted[0], **counted[1]) - value_or_zero(
        before.get("deskloop_http_requests", []), counted[0], **counted[1]) == 3
    assert not [s for s in requests_total if "987654" in s.labels["route"]], "a raw path became a label"
    latency = families["deskloop_http_request_duration_seconds"]
    timed = ("deskloop_http_request_duration_seconds_count", {"route": rule, "method": "GET"})
    assert value(latency, timed[0], **timed[1]) - value_or_zero(
        before.get("deskloop_http_request_duration_seconds", []), timed[0], **timed[1]) == 3
    events = families["deskloop_webhook_events"]
    assert value(events, "deskloop_webhook_events", tenant="acme", state="pending") == 2
    assert value(events, "deskloop_webhook_events", tenant="acme", state="applied") == 1
    assert value(events, "deskloop_webhook_events", tenant="acme", state="stale") == 1
    assert value(families["deskloop_model_in_service"], "deskloop_model_in_service", tenant="acme",
                  version=version) == 1
    assert value(families["deskloop_scrape_source_up"], "deskloop_scrape_source_up", source="database") == 1
    assert "deskloop_job_queue_jobs" not in families  # no Redis: jobs run in-process, nothing waits
    assert any(name.startswith("process_") for name in families), "the process's default metrics"

    # A quarantined event (set aside after its last failed attempt) is counted apart from the pending.
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE helpdesk_events SET quarantined_at = CURRENT_TIMESTAMP "
                                "WHERE event_id = 'ev-1'"))
    events = scrape(client)["deskloop_webhook_events"]
    assert value(events, "deskloop_webhook_events", tenant="acme", state="quarantined") == 1
    assert value(events, "deskloop_webhook_events", tenant="acme", state="pending") == 1


def test_metrics_read_the_job_queue_and_survive_redis_going_down(settings, db, redis_url):
    app = create_app(replace(settings, redis_url=redis_url))
    try:
        client = authorized_client(app, scopes=("metrics",))
        for number in range(3):
            enqueue(closed_port, job_id=f"waiting-{number}", settings=app.extensions["deskloop"].settings)
        jobs = scrape(client)["deskloop_job_queue_jobs"]
        assert value(jobs, "deskloop_job_queue_jobs", queue="deskloop", state="queued") == 3
        assert value(jobs, "deskloop_job_queue_jobs", queue="deskloop", state="failed") == 0
    finally:
        app.extensions["deskloop"].close()
    down = create_app(replace(settings, redis_url=f"redis://127.0.0.1:{closed_port()}/0"))
    families = scrape(authorized_client(down, scopes=("metrics",)))
    up = families["deskloop_scrape_source_up"]
    assert value(up, "deskloop_scrape_source_up", source="redis") == 0
    assert value(up, "deskloop_scrape_source_up", source="database") == 1
    assert "deskloop_webhook_events" in families
    down.extensions["deskloop"].close()


def test_metrics_count_suggestions_and_abstentions_by_reason(app, db):
    from core.learning.training import train_tenant
    from core.store.tickets import upsert_tickets
    from tests.factories import small_inbox

    tenant_id = db.ensure_tenant("acme")
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, small_inbox())
    train_tenant(app.extensions["deskloop"], "acme")
    scraper = authorized_client(app, scopes=("metrics",))
    agent = authorized_client(app, scopes=("suggest",))
    before = scrape(scraper)
    texts = ("I can't remember my password", "Can I open a joint account for my kids?",
             "What are your opening hours in Paris?")
    answers = [agent.post("/api/v1/tenants/acme/suggest", json={"text": text}).json for text in texts]
    assert [a["abstain_reason"] for a in answers] == [None, "unfamiliar", "unfamiliar"]
    after = scrape(scraper)

    def moved(family: str, name: str, **labels) -> float:
        return value(after[family], name, **labels) - value_or_zero(before.get(family, []), name, **labels)

    assert moved("deskloop_suggestions", "deskloop_suggestions_total", tenant="acme", outcome="answered") == 1
    assert moved("deskloop_suggestions", "deskloop_suggestions_total", tenant="acme", outcome="abstained") == 2
    assert moved("deskloop_abstentions", "deskloop_abstentions_total", tenant="acme", reason="unfamiliar") == 2


@pytest.fixture
def silent_server():
    """A TCP port that accepts connections and never says a word: a hung Redis or PostgreSQL, or a
    proxy in front of one that died."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    yield server.getsockname()[1]
    server.close()


def test_readyz_answers_within_seconds_when_redis_accepts_and_never_answers(settings, db, silent_server):
    app = create_app(replace(settings, redis_url=f"redis://127.0.0.1:{silent_server}/0"))
    began = time.monotonic()
    answer = app.test_client().get("/readyz")
    assert time.monotonic() - began < 10
    assert answer.status_code == 503 and answer.json["checks"]["redis"] == "unreachable"


def test_a_postgresql_that_never_answers_fails_a_connection_within_seconds(silent_server):
    from sqlalchemy.exc import OperationalError

    from core.store.db import Database

    database = Database(f"postgresql+psycopg://postgres@127.0.0.1:{silent_server}/deskloop")
    began = time.monotonic()
    with pytest.raises(OperationalError):
        with database.engine.connect():
            pass
    assert time.monotonic() - began < 15
    database.engine.dispose()
