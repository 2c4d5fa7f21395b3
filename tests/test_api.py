"""The JSON API over the real app factory, against SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from core.learning.training import train_tenant
from core.store.tickets import upsert_tickets
from tests.access_support import authorized_client
from tests.factories import make_ticket, small_inbox


@pytest.fixture
def client(app):
    return authorized_client(app)


def _seed(db, slug: str, tickets) -> int:
    tenant_id = db.ensure_tenant(slug)
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, tickets)
    return tenant_id


@pytest.fixture
def trained(app, db):
    _seed(db, "acme", small_inbox())
    train_tenant(app.extensions["deskloop"], "acme")
    return "acme"


def _ticket_id(client, slug: str, external_id: str) -> int:
    page = client.get(f"/api/v1/tenants/{slug}/tickets?limit=200").json
    return next(t["id"] for t in page["tickets"] if t["external_id"] == external_id)


def test_health_names_the_database(client, backend):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json["status"] == "ok" and response.json["database"] == backend
    assert response.json["jobs"] == "inline"


def test_tenants_list_ticket_counts_and_model(client, db, trained):
    _seed(db, "other", [make_ticket("x-1", "hello")])
    tenants = {t["slug"]: t for t in client.get("/api/v1/tenants").json["tenants"]}
    assert tenants["acme"]["tickets"] == 15 and tenants["acme"]["model_version"]
    assert tenants["other"]["tickets"] == 1 and tenants["other"]["model_version"] is None


def test_tickets_page_filter_and_detail(client, db):
    _seed(db, "acme", small_inbox())
    page = client.get("/api/v1/tenants/acme/tickets?limit=4&offset=2").json
    assert page["total"] == 15 and page["limit"] == 4 and len(page["tickets"]) == 4
    refunds = client.get("/api/v1/tenants/acme/tickets?intent=refund_status").json
    assert refunds["total"] == 5 and {t["intent"] for t in refunds["tickets"]} == {"refund_status"}
    tagged = client.get("/api/v1/tenants/acme/tickets?tag=password").json
    assert tagged["total"] == 5
    detail = client.get(f"/api/v1/tenants/acme/tickets/{refunds['tickets'][0]['id']}").json
    assert [m["author_role"] for m in detail["messages"]] == ["customer", "agent"]
    assert detail["requester"]["email"].endswith("@example.com")


def test_a_tenant_cannot_read_another_tenants_ticket(client, db):
    _seed(db, "acme", small_inbox())
    _seed(db, "other", [make_ticket("x-1", "hello")])
    acme_id = _ticket_id(client, "acme", "refund_status-0")
    response = client.get(f"/api/v1/tenants/other/tickets/{acme_id}")
    assert response.status_code == 404
    assert client.post(f"/api/v1/tenants/other/tickets/{acme_id}/suggestion").status_code == 404


def test_ticket_suggestion_has_intent_draft_and_evidence(client, trained):
    ticket_id = _ticket_id(client, "acme", "card_arrival-0")
    suggestion = client.post(f"/api/v1/tenants/acme/tickets/{ticket_id}/suggestion").json
    assert suggestion["intent"] == "card_arrival" and suggestion["id"] and suggestion["ticket_id"] == ticket_id
    assert suggestion["draft"].startswith("Hi Ada")  # greets this ticket's own customer
    assert suggestion["evidence"] and ticket_id not in {e["ticket_id"] for e in suggestion["evidence"]}


def test_suggest_raw_text(client, trained):
    response = client.post("/api/v1/tenants/acme/suggest", json={"text": "my refund is still missing",
                                                                   "customer_name": "Linus Pauling"})
    assert response.status_code == 200
    assert response.json["intent"] == "refund_status"
    assert response.json["model_version"]


def test_posting_an_edited_draft_records_a_signal_once(client, trained):
    suggestion = client.post("/api/v1/tenants/acme/suggest", json={"text": "where is my new card"}).json
    body = {"kind": "draft_sent", "suggestion_id": suggestion["id"], "actor": "agent-7",
            "payload": {"sent": suggestion["draft"] + " Thanks for waiting."}, "source_event": "evt-1"}
    first = client.post("/api/v1/tenants/acme/signals", json=body)
    assert first.status_code == 201
    assert first.json["kind"] == "draft_edited" and 0.5 < first.json["payload"]["similarity"] < 1
    again = client.post("/api/v1/tenants/acme/signals", json=body)
    assert again.status_code == 200 and again.json["id"] == first.json["id"]
    listed = client.get("/api/v1/tenants/acme/signals").json["signals"]
    assert [s["id"] for s in listed] == [first.json["id"]]


def test_unchanged_draft_is_draft_sent(client, trained):
    suggestion = client.post("/api/v1/tenants/acme/suggest", json={"text": "where is my new card"}).json
    body = {"kind": "draft_edited", "suggestion_id": suggestion["id"], "payload": {"sent": suggestion["draft"]}}
    assert client.post("/api/v1/tenants/acme/signals", json=body).json["kind"] == "draft_sent"


@pytest.mark.parametrize(("request_args", "status", "field"), [
    ({"data": "text=hi"}, 415, None),
    ({"data": "{not json", "content_type": "application/json"}, 400, None),
    ({"json": ["a list"]}, 400, None),
    ({"json": {}}, 400, "text"),
    ({"json": {"text": ""}}, 400, "text"),
    ({"json": {"text": "hi", "surprise": 1}}, 400, "surprise"),
])
def test_bad_suggest_bodies_get_a_reason(client, trained, request_args, status, field):
    response = client.post("/api/v1/tenants/acme/suggest", **request_args)
    assert response.status_code == status
    assert response.json["error"]["reason"]
    assert response.json["error"].get("field") == field


@pytest.mark.parametrize(("body", "field"), [
    ({"kind": "liked_it", "ticket_id": 1}, "kind"),
    ({"kind": "confirmed"}, "ticket_id"),
    ({"kind": "confirmed", "ticket_id": 999999}, "ticket_id"),
    ({"kind": "draft_sent", "suggestion_id": 999999, "payload": {"sent": "x"}}, "suggestion_id"),
])
def test_bad_signals_are_refused_and_nothing_is_stored(client, trained, body, field):
    response = client.post("/api/v1/tenants/acme/signals", json=body)
    assert response.status_code == 400 and response.json["error"]["field"] == field
    assert client.get("/api/v1/tenants/acme/signals").json["signals"] == []


def test_not_found_and_no_model(client, db):
    _seed(db, "fresh", small_inbox())
    assert client.get("/api/v1/tenants/nobody/tickets").status_code == 404
    assert client.get("/api/v1/tenants/fresh/tickets/999999").status_code == 404
    assert client.get("/api/v1/nowhere").json["error"]["status"] == 404
    no_model = client.post("/api/v1/tenants/fresh/suggest", json={"text": "hello"})
    assert no_model.status_code == 409 and "deskloop train" in no_model.json["error"]["reason"]


@pytest.mark.parametrize("query", ["limit=0", "limit=abc", "limit=201", "offset=-1"])
def test_bad_paging_is_a_400(client, db, query):
    _seed(db, "acme", small_inbox())
    response = client.get(f"/api/v1/tenants/acme/tickets?{query}")
    assert response.status_code == 400 and response.json["error"]["field"] in query


def test_wrong_method_is_json(client):
    response = client.delete("/api/v1/health")
    assert response.status_code == 405 and response.json["error"]["status"] == 405


def test_signal_times_carry_their_zone_when_listed(client, trained):
    suggestion = client.post("/api/v1/tenants/acme/suggest", json={"text": "where is my new card"}).json
    posted = client.post("/api/v1/tenants/acme/signals", json={"kind": "confirmed", "ticket_id": None,
                                                               "suggestion_id": suggestion["id"]}).json
    listed = client.get("/api/v1/tenants/acme/signals").json["signals"][0]
    assert listed["created_at"] == posted["created_at"] and listed["created_at"].endswith("Z")


def test_no_model_reason_names_no_server_path(client, db, settings):
    _seed(db, "fresh", small_inbox())
    reason = client.post("/api/v1/tenants/fresh/suggest", json={"text": "hello"}).json["error"]["reason"]
    assert str(settings.home) not in reason and "fresh" in reason


def test_a_question_about_something_never_seen_needs_a_human(client, trained):
    for text in ("Can I open a joint account for my kids?", "What are your opening hours in Paris?"):
        suggestion = client.post("/api/v1/tenants/acme/suggest", json={"text": text}).json
        assert suggestion["abstained"] is True and suggestion["draft"] is None
        assert suggestion["abstain_reason"] == "unfamiliar", text
    known = client.post("/api/v1/tenants/acme/suggest", json={"text": "I can't remember my password"}).json
    assert known["abstained"] is False and known["intent"] == "password_reset" and known["draft"]
    assert known["abstain_reason"] is None and known["ambiguous_between"] == []


def test_cluster_times_carry_their_offset(client, trained):
    """SQLite reads times back without a zone; the answer still gives each one as UTC (RFC 3339)."""
    clusters = client.get("/api/v1/tenants/acme/clusters").json["clusters"]
    assert clusters
    for cluster in clusters:
        for name in ("first_seen_at", "updated_at"):
            assert datetime.fromisoformat(cluster[name]).utcoffset() == timedelta(0), cluster[name]


@pytest.mark.parametrize("path", [
    "/api/v1/tenants/acme/tickets/9223372036854775808",
    "/api/v1/tenants/acme/tickets/44823458050604734146425126912/similar",
    "/api/v1/tenants/acme/tickets/" + "9" * 5000,
])
def test_ids_past_the_largest_row_id_name_nothing(client, db, path):
    _seed(db, "acme", small_inbox())
    response = client.get(path)
    assert response.status_code == 404 and response.json["error"]["reason"]
    revoke = client.post("/api/v1/tenants/acme/signals/44823458050604734146425126912/revoke")
    assert revoke.status_code == 404 and revoke.json["error"]["reason"]


@pytest.mark.parametrize("field", ["ticket_id", "suggestion_id"])
def test_a_signal_naming_an_id_past_the_largest_is_refused(client, db, field):
    _seed(db, "acme", small_inbox())
    response = client.post("/api/v1/tenants/acme/signals", json={"kind": "confirmed", field: -(2**100)})
    assert response.status_code == 400 and response.json["error"]["field"] == field
    response = client.post("/api/v1/tenants/acme/signals", json={"kind": "confirmed", field: 2**63})
    assert response.status_code == 400 and response.json["error"]["field"] == field
    assert client.get("/api/v1/tenants/acme/signals").json["signals"] == []


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/v1/tenants/acme/suggest", {"text": "my card\u0000 is late"}, "text"),
    ("/api/v1/tenants/acme/intents/merge", {"keys": ["refunds", "card\u0000"]}, "keys"),
    ("/api/v1/tenants/acme/intents/accept", {"keys": ["\u0000"]}, "keys"),
    ("/api/v1/tenants/acme/signals", {"kind": "confirmed", "ticket_id": 1, "payload": {"note": ["ok", "\u0000"]}},
     "payload"),
])
def test_a_nul_character_in_a_body_is_refused_on_either_database(client, db, path, body, field):
    _seed(db, "acme", small_inbox())
    response = client.post(path, json=body)
    assert response.status_code == 400 and response.json["error"]["field"] == field
    assert "NUL" in response.json["error"]["reason"]


def test_a_nul_character_in_the_url_is_refused_on_either_database(client, db):
    _seed(db, "acme", small_inbox())
    response = client.get("/api/v1/tenants/acme/tickets?intent=refund%00")
    assert response.status_code == 400 and response.json["error"]["field"] == "intent"
    for path in ("/api/v1/tenants/ac%00me/clusters", "/api/v1/tenants/acme/intents/re%00fund/split"):
        response = client.open(path, method="POST" if path.endswith("split") else "GET", json={"parts": 2})
        assert response.status_code == 404 and response.json["error"]["reason"]


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/v1/tenants/acme/intents/accept", {"all": "T"}, "all"),
    ("/api/v1/tenants/acme/intents/x/split", {"parts": "3"}, "parts"),
    ("/api/v1/tenants/acme/signals", {"kind": "confirmed", "ticket_id": "1"}, "ticket_id"),
])
def test_body_values_must_have_the_documented_type(client, db, path, body, field):
    _seed(db, "acme", small_inbox())
    response = client.post(path, json=body)
    assert response.status_code == 400 and response.json["error"]["field"] == field


def test_an_integral_number_is_an_integer_as_json_schema_reads_it(client, db):
    _seed(db, "acme", small_inbox())
    ticket_id = _ticket_id(client, "acme", "refund_status-0")
    refused = client.post("/api/v1/tenants/acme/signals", json={"kind": "confirmed", "ticket_id": ticket_id + 0.5})
    assert refused.status_code == 400 and refused.json["error"]["field"] == "ticket_id"
    made = client.post("/api/v1/tenants/acme/signals", json={"kind": "confirmed", "ticket_id": float(ticket_id)})
    assert made.status_code == 201 and made.json["ticket_id"] == ticket_id


def test_a_signal_naming_only_a_ticket_is_recorded_while_the_tenants_memory_is_live(client, trained):
    """A suggestion loads the tenant's live memory; a later signal with no suggestion behind it
    (a customer's confirmation of a ticket) is recorded, not a 500."""
    suggested = _ticket_id(client, "acme", "card_arrival-1")
    assert client.post(f"/api/v1/tenants/acme/tickets/{suggested}/suggestion").status_code == 200
    ticket_id = _ticket_id(client, "acme", "refund_status-2")  # no suggestion was made for it
    for kind in ("confirmed", "intent_changed"):
        payload = {"intent": "card_arrival"} if kind == "intent_changed" else {}
        response = client.post("/api/v1/tenants/acme/signals", json={"kind": kind, "ticket_id": ticket_id,
                                                                     "payload": payload})
        assert response.status_code == 201, response.json


def test_an_empty_source_event_names_no_event(client, db):
    _seed(db, "acme", small_inbox())
    ticket_id = _ticket_id(client, "acme", "refund_status-0")
    for _ in range(2):
        response = client.post("/api/v1/tenants/acme/signals",
                               json={"kind": "confirmed", "ticket_id": ticket_id, "source_event": "  "})
        assert response.status_code == 201 and response.json["source_event"] is None, response.json
    assert len(client.get("/api/v1/tenants/acme/signals").json["signals"]) == 2
