"""Request ids and what reaches the log.

A request id comes from a well-formed ``X-Request-ID`` or is made, is echoed, is on every JSON log
line of the request, and rides with the jobs the request enqueued into the RQ worker (real Redis)
that runs them. No log line, web or worker, carries a customer's words, name or email, a password,
an API token, a helpdesk secret or a signature.
"""

from __future__ import annotations

import copy
import io
import json
import logging
from collections.abc import Iterator
from dataclasses import replace

import pytest
from redis import Redis

from core.app import create_app
from core.config import Settings
from core.dispatch.queue import run_worker
from core.helpdesk.connections import add_tenant, forget_connections
from core.learning import live
from core.learning.training import train_tenant
from core.logs import JsonFormatter
from core.store.tickets import upsert_tickets
from tests.access_support import STRONG_PASSWORD, authorized_client, csrf_token_from, token_for
from tests.factories import small_inbox
from tests.test_webhooks import CREDENTIALS, deliver, fixture


@pytest.fixture(autouse=True)
def _fresh_memory():
    """Suggestions here fill the process's live memory; later tests start without it."""
    live.forget()
    yield
    live.forget()


class Captured:
    """Every record any logger writes, formatted as production formats it (one JSON object each)."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(JsonFormatter())
        self.handler.setLevel(logging.DEBUG)

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]


@pytest.fixture
def captured() -> Iterator[Captured]:
    capture = Captured()
    root = logging.getLogger()
    level = root.level
    root.addHandler(capture.handler)
    root.setLevel(logging.DEBUG)
    yield capture
    root.removeHandler(capture.handler)
    root.setLevel(level)


@pytest.fixture
def app(settings, db):
    forget_connections()
    app = create_app(settings)
    yield app
    app.extensions["deskloop"].close()
    forget_connections()


def test_a_well_formed_request_id_is_kept_and_anything_else_replaced(app, captured):
    client = app.test_client()
    kept = client.get("/livez", headers={"X-Request-ID": "edge-01HZX3Q8Y4D6W1C2"})
    assert kept.headers["X-Request-ID"] == "edge-01HZX3Q8Y4D6W1C2"
    made = {client.get("/livez").headers["X-Request-ID"] for _ in range(2)}
    assert len(made) == 2 and all(len(rid) == 32 and int(rid, 16) >= 0 for rid in made)
    for hostile in ("short", "x" * 129, "has spaces in it", "<script>alert(1)</script>", "quote\"d-1234567"):
        replaced = client.get("/livez", headers={"X-Request-ID": hostile}).headers["X-Request-ID"]
        assert replaced != hostile and len(replaced) == 32
    assert "<script>" not in captured.text and "has spaces" not in captured.text


def test_every_line_of_a_request_carries_its_id_route_and_tenant(app, db, captured):
    tenant_id = db.ensure_tenant("acme")
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, small_inbox())
    client = authorized_client(app, scopes=("read",))
    answer = client.get("/api/v1/tenants/acme/tickets?limit=1", headers={"X-Request-ID": "trace-acme-000001"})
    assert answer.status_code == 200
    mine = [line for line in captured.lines() if line.get("request_id") == "trace-acme-000001"]
    finished = [line for line in mine if line["logger"] == "deskloop.requests"]
    assert len(finished) == 1
    assert finished[0]["route"] == "/api/v1/tenants/<slug>/tickets" and finished[0]["tenant"] == "acme"
    assert finished[0]["level"] == "info" and finished[0]["time"].endswith("+00:00")
    assert "200" in finished[0]["message"]
    after = client.get("/livez")  # the next request on the same thread starts clean
    assert after.status_code == 200
    assert all(line.get("tenant") is None for line in captured.lines()
               if line.get("request_id") == after.headers["X-Request-ID"])


@pytest.fixture
def redis_settings(settings, redis_url, monkeypatch) -> Settings:
    """Jobs go to RQ on the real Redis; the worker below reads the same environment."""
    monkeypatch.setenv("DESKLOOP_REDIS_URL", redis_url)
    return replace(settings, redis_url=redis_url)


def test_the_request_id_follows_a_webhook_into_the_worker(redis_settings, db, captured):
    forget_connections()
    app = create_app(redis_settings)
    add_tenant(app.extensions["deskloop"], "acme", "zendesk", "acme.zendesk.com", CREDENTIALS,
               {"write_back_tags": False})
    client = app.test_client()
    client.environ_base["HTTP_X_REQUEST_ID"] = "hook-req-0042abcd"
    answer = deliver(client, fixture("ticket.created"))
    assert answer.status_code == 200 and answer.headers["X-Request-ID"] == "hook-req-0042abcd"
    assert not [line for line in captured.lines() if line["logger"] == "core.helpdesk.webhook_events"]
    from rq import Queue
    from rq.serializers import JSONSerializer

    waiting = Queue("deskloop", connection=Redis.from_url(redis_settings.redis_url), serializer=JSONSerializer).jobs
    assert [(job.meta, job.description, job.args) for job in waiting] == [
        ({"request_id": "hook-req-0042abcd", "tenant": "acme"}, "core.helpdesk.webhook_events.process_events",
         ["acme"])]  # the id beside the arguments, not in them; RQ logs the description, not the arguments

    run_worker(redis_settings, burst=True)

    applied = [line for line in captured.lines() if line["logger"] == "core.helpdesk.webhook_events"]
    assert len(applied) == 1, captured.text
    assert applied[0]["request_id"] == "hook-req-0042abcd" and applied[0]["tenant"] == "acme"
    assert applied[0]["job_id"] and "1 applied" in applied[0]["message"]
    app.extensions["deskloop"].close()
    forget_connections()


def test_without_redis_the_request_id_follows_a_webhook_into_the_background_drain(settings, db, captured):
    from core.dispatch import drains

    forget_connections()
    app = create_app(settings)
    add_tenant(app.extensions["deskloop"], "acme", "zendesk", "acme.zendesk.com", CREDENTIALS,
               {"write_back_tags": False})
    client = app.test_client()
    client.environ_base["HTTP_X_REQUEST_ID"] = "inline-req-0099abcd"
    assert deliver(client, fixture("ticket.created")).status_code == 200
    drains.wait_idle()
    applied = [line for line in captured.lines() if line["logger"] == "core.helpdesk.webhook_events"]
    assert applied and all(line["request_id"] == "inline-req-0099abcd" for line in applied), captured.text
    assert any("1 applied" in line["message"] for line in applied)
    app.extensions["deskloop"].close()
    forget_connections()


# Recognisable values, each of which must stay out of every log line.
CUSTOMER_NAME = "Ximena Quetzalcoatl-Brandt"
CUSTOMER_EMAIL = "ximena.qb@harbor-pii.example"
TICKET_WORDS = "orchid marmalade parcel"
CARD = "4539 1488 0343 6467"
OPERATOR_EMAIL = "lead.verity.okonkwo@acme-pii.example"
WRONG_PASSWORD = "wrong-horse-battery-Kx81"


def test_no_log_line_carries_personal_data_or_secrets(redis_settings, db, captured):
    forget_connections()
    app = create_app(replace(redis_settings, encoder="none", secure_cookies=False))
    runtime = app.extensions["deskloop"]
    add_tenant(runtime, "acme", "zendesk", "acme.zendesk.com", CREDENTIALS, {"write_back_tags": True,
                                                                             "private_note": True})
    tenant_id = db.tenant_id("acme")
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, small_inbox())
    train_tenant(runtime, "acme")
    client = app.test_client()

    # A webhook: a new ticket and a customer's comment, full of personal details; then a forged one,
    # and one that cannot be read.
    created = copy.deepcopy(fixture("ticket.created"))
    created["detail"]["description"] = f"My {TICKET_WORDS} never came. Card {CARD}, mail me at {CUSTOMER_EMAIL}"
    created["detail"]["subject"] = f"{CUSTOMER_NAME}: {TICKET_WORDS}"
    comment = copy.deepcopy(fixture("ticket.comment_added"))
    comment["event"]["comment"]["body"] = f"Still waiting for my {TICKET_WORDS}. {CUSTOMER_NAME}, {CUSTOMER_EMAIL}"
    comment["event"]["comment"]["author"]["name"] = CUSTOMER_NAME
    assert deliver(client, created).status_code == 200
    assert deliver(client, comment).status_code == 200
    assert deliver(client, created, secret="not-" + CREDENTIALS["webhook_secret"]).status_code == 401
    broken = copy.deepcopy(created)
    broken["detail"]["id"] = {"email": CUSTOMER_EMAIL}
    assert deliver(client, broken).status_code == 400
    run_worker(redis_settings, burst=True)  # applies the events, learns, writes back (the helpdesk is absent)

    # A suggestion, by API token.
    token = token_for(app, scopes=("suggest",))
    suggested = client.post("/api/v1/tenants/acme/suggest", headers={"Authorization": f"Bearer {token}"},
                            json={"text": f"{TICKET_WORDS} lost, card {CARD}", "customer_name": CUSTOMER_NAME})
    assert suggested.status_code == 200, suggested.get_data(as_text=True)

    # Sign-ins: a wrong password, then the right one.
    from core.access.operators import add_operator

    add_operator(runtime, OPERATOR_EMAIL, "admin", password=STRONG_PASSWORD)
    for password, status in ((WRONG_PASSWORD, 401), (STRONG_PASSWORD, 302)):
        form = client.get("/login").get_data(as_text=True)
        answer = client.post("/login", data={"email": OPERATOR_EMAIL, "password": password,
                                             "csrf_token": csrf_token_from(form)})
        assert answer.status_code == status
    cookie = client.get_cookie("deskloop_session")
    assert cookie is not None

    logged = captured.text
    assert [line["logger"] for line in captured.lines()], "nothing was logged: the test would prove nothing"
    assert any(line.get("job_id") for line in captured.lines()), "the worker's lines were not captured"
    forbidden = {
        "customer name": CUSTOMER_NAME, "customer email": CUSTOMER_EMAIL, "ticket words": TICKET_WORDS,
        "card number": CARD, "card digits": CARD.replace(" ", ""), "operator email": OPERATOR_EMAIL,
        "password": STRONG_PASSWORD, "wrong password": WRONG_PASSWORD, "API token": token,
        "API token secret": token.split("_", 2)[2], "webhook secret": CREDENTIALS["webhook_secret"],
        "helpdesk API token": CREDENTIALS["api_token"], "session cookie": cookie.value,
        "secret key": redis_settings.secret_key or "",
    }
    leaked = [what for what, value in forbidden.items() if value and value.lower() in logged.lower()]
    assert not leaked, f"the log carries: {leaked}"
    app.extensions["deskloop"].close()
    forget_connections()
