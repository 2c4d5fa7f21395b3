"""Label sources and discovered intents over the JSON API, against SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from core.app import create_app
from core.store.tables import IntentProposalRow, TenantRow, TicketRow
from core.store.tickets import upsert_tickets
from tests.access_support import authorized_client
from tests.factories import SMALL_INBOX, make_ticket

#: The category an agent picks for each intent of the small inbox (the helpdesk has no intent field).
CATEGORY = {"card_arrival": "Cards", "refund_status": "Refunds", "password_reset": "Login"}


def unlabelled_inbox(category: dict[str, str] | None = None) -> list:
    """The small inbox as a helpdesk holds it: no intent, a category field and a one-value region."""
    category = category or CATEGORY
    return [make_ticket(f"{intent}-{i}", text, reply=reply.format(name="Ada"),
                        custom_fields={"category": category[intent], "region": "eu"})
            for intent, (texts, reply) in SMALL_INBOX.items() for i, text in enumerate(texts)]


def seed(db, slug: str, tickets) -> int:
    tenant_id = db.ensure_tenant(slug)
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, tickets)
    return tenant_id


def propose(db, slug: str) -> dict[str, list[int]]:
    """One proposed intent per intent of the small inbox (as `deskloop intents discover` stores
    them); returns each key's ticket ids."""
    tenant_id = db.tenant_id(slug)
    groups: dict[str, list[int]] = {}
    with db.transaction(tenant_id) as session:
        for ticket_id, external_id in session.execute(select(TicketRow.id, TicketRow.external_id)
                                                      .order_by(TicketRow.id)):
            groups.setdefault(external_id.rsplit("-", 1)[0], []).append(ticket_id)
        for key, ids in groups.items():
            session.add(IntentProposalRow(tenant_id=tenant_id, key=key, label=key.replace("_", " "),
                                          status="proposed", ticket_ids=ids, examples=ids[:3],
                                          reply=SMALL_INBOX[key][1].format(name="{name}")))
    return groups


def proposals(db, slug: str) -> dict[str, tuple[str, str, list[int]]]:
    with db.tenant_session(db.tenant_id(slug)) as session:
        return {p.key: (p.label, p.status, list(p.ticket_ids))
                for p in session.scalars(select(IntentProposalRow))}


def tenant_settings(db, slug: str) -> dict:
    with db.admin_session() as session:
        return dict(session.scalar(select(TenantRow.settings).where(TenantRow.slug == slug)) or {})



@pytest.fixture
def client(app):
    return authorized_client(app)


@pytest.fixture
def acme(db) -> str:
    seed(db, "acme", unlabelled_inbox())
    return "acme"


@pytest.fixture
def proposed(db, acme) -> dict[str, list[int]]:
    return propose(db, acme)


def error(response, status: int, field: str | None = None) -> str:
    assert response.status_code == status, response.json
    assert response.json["error"]["status"] == status and response.json["error"]["reason"]
    if field is not None:
        assert response.json["error"]["field"] == field
    return response.json["error"]["reason"]


# Label sources --------------------------------------------------------------------------------


def test_labels_start_with_the_intent_field_and_no_ranking(client, acme):
    assert client.get("/api/v1/tenants/acme/labels").json == {"current": "intent", "report": None}


def test_ranking_scores_the_candidates_and_is_kept(client, db, acme):
    response = client.post("/api/v1/tenants/acme/labels/suggest")
    assert response.status_code == 200
    report = response.json["report"]
    assert response.json["current"] == report["current"] == "intent"
    candidates = {c["source"]: c for c in report["candidates"]}
    category = candidates["field:category"]
    assert category["rejected"] is None and category["classes"] == 3 and category["coverage"] == 1.0
    assert category["predictability"] is not None
    assert {e["value"] for e in category["examples"]} == {"cards", "refunds", "login"}
    assert all(len(e["examples"]) == 2 for e in category["examples"])
    assert "one value" in candidates["field:region"]["rejected"]
    assert report["candidates"][0]["source"] == "field:category"  # the usable source ranks first
    kept = client.get("/api/v1/tenants/acme/labels").json
    assert kept["report"] == report
    assert tenant_settings(db, "acme")["label_report"]["candidates"][0]["source"] == "field:category"


def test_using_a_source_sets_it_and_says_what_training_will_learn(client, db, acme):
    response = client.put("/api/v1/tenants/acme/labels/source", json={"source": "field:category"})
    assert response.status_code == 200
    assert response.json == {"tenant": "acme", "source": "field:category", "previous": "intent", "labelled": 15,
                             "tickets": 15, "classes": 3}
    assert client.get("/api/v1/tenants/acme/labels").json["current"] == "field:category"
    assert tenant_settings(db, "acme")["label_source"] == "field:category"


@pytest.mark.parametrize(("body", "reason"), [
    ({"source": "field:region"}, "one value"),
    ({"source": "field:missing"}, "no value"),
    ({"source": "nonsense"}, "unknown label source"),
    ({"source": "tags:only-one"}, "at least two tags"),
    ({"source": "   "}, "at least 1 character"),
    ({}, "required"),
])
def test_a_bad_source_is_refused_with_its_reason_and_nothing_changes(client, db, acme, body, reason):
    client.put("/api/v1/tenants/acme/labels/source", json={"source": "field:category"})
    before = tenant_settings(db, "acme")
    response = client.put("/api/v1/tenants/acme/labels/source", json=body)
    assert reason in error(response, 400, "source")
    assert tenant_settings(db, "acme") == before
    assert client.get("/api/v1/tenants/acme/labels").json["current"] == "field:category"


def test_a_source_body_must_be_a_json_object(client, acme):
    error(client.put("/api/v1/tenants/acme/labels/source", data="field:category"), 415)
    error(client.put("/api/v1/tenants/acme/labels/source", json=["field:category"]), 400)
    error(client.put("/api/v1/tenants/acme/labels/source", json={"source": "type", "also": 1}), 400, "also")


def test_ranking_a_tenant_without_tickets_says_so(client, db):
    db.ensure_tenant("empty")
    assert "no tickets" in error(client.post("/api/v1/tenants/empty/labels/suggest"), 400)
    assert "label_report" not in tenant_settings(db, "empty")


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "labels", None),
    ("POST", "labels/suggest", None),
    ("PUT", "labels/source", {"source": "type"}),
    ("GET", "intents", None),
    ("POST", "intents/discover", None),
    ("POST", "intents/accept", {"keys": ["a"]}),
    ("POST", "intents/a/rename", {"label": "b"}),
    ("POST", "intents/merge", {"keys": ["a", "b"]}),
    ("POST", "intents/a/split", {"parts": 2}),
])
def test_an_unknown_tenant_is_a_404(client, acme, method, path, body):
    response = client.open(f"/api/v1/tenants/nobody/{path}", method=method, json=body)
    assert "nobody" in error(response, 404)


# Discovered intents ---------------------------------------------------------------------------


def test_the_listing_shows_each_intent_with_examples_and_reply(client, proposed):
    listing = client.get("/api/v1/tenants/acme/intents").json
    assert listing["tenant"] == "acme"
    assert [i["key"] for i in listing["intents"]] == ["card_arrival", "password_reset", "refund_status"]
    card = listing["intents"][0]
    assert card["label"] == "card arrival" and card["status"] == "proposed" and card["size"] == 5
    assert card["examples"][0] == "My new card still has not arrived" and len(card["examples"]) == 3
    assert card["external_ids"] == [f"card_arrival-{i}" for i in range(5)]
    assert card["reply"].startswith("Hi {name}, cards arrive")


def test_a_tenant_with_no_proposals_lists_none(client, acme):
    assert client.get("/api/v1/tenants/acme/intents").json == {"tenant": "acme", "intents": []}


def test_accepting_intents_makes_them_the_label_source(client, db, proposed):
    response = client.post("/api/v1/tenants/acme/intents/accept", json={"keys": ["card_arrival"]})
    assert response.status_code == 200
    assert response.json == {"accepted": ["card_arrival"], "label_source": "discovered",
                             "previous_label_source": "intent"}
    assert proposals(db, "acme")["card_arrival"][1] == "accepted"
    assert proposals(db, "acme")["refund_status"][1] == "proposed"
    assert client.get("/api/v1/tenants/acme/labels").json["current"] == "discovered"
    every = client.post("/api/v1/tenants/acme/intents/accept", json={"all": True}).json
    assert sorted(every["accepted"]) == ["password_reset", "refund_status"]
    assert {status for _, status, _ in proposals(db, "acme").values()} == {"accepted"}


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"keys": ["card_arrival", "no_such_intent"]}, 404, "key"),
    ({}, 400, "keys"),
    ({"keys": []}, 400, "keys"),
    ({"keys": ["card_arrival"], "all": True}, 400, "keys"),
    ({"keys": "card_arrival"}, 400, "keys"),
])
def test_a_bad_accept_changes_nothing(client, db, proposed, body, status, field):
    before = proposals(db, "acme")
    error(client.post("/api/v1/tenants/acme/intents/accept", json=body), status, field)
    assert proposals(db, "acme") == before
    assert "label_source" not in tenant_settings(db, "acme")


def test_accepting_all_with_nothing_proposed_says_to_discover(client, acme):
    assert "discover" in error(client.post("/api/v1/tenants/acme/intents/accept", json={"all": True}), 400)


def test_renaming_an_intent_moves_its_key(client, db, proposed):
    response = client.post("/api/v1/tenants/acme/intents/card_arrival/rename", json={"label": "Card delivery  "})
    assert response.status_code == 200
    assert response.json == {"key": "card_delivery", "label": "Card delivery", "previous_key": "card_arrival"}
    stored = proposals(db, "acme")
    assert "card_arrival" not in stored and stored["card_delivery"][:2] == ("Card delivery", "proposed")
    assert stored["card_delivery"][2] == proposed["card_arrival"]


@pytest.mark.parametrize(("key", "body", "status", "field"), [
    ("no_such_intent", {"label": "Anything"}, 404, "key"),
    ("card_arrival", {"label": ""}, 400, "label"),
    ("card_arrival", {"label": "   "}, 400, "label"),
    ("card_arrival", {}, 400, "label"),
    ("card_arrival", {"label": "Refund status"}, 400, "label"),  # another intent's name: merge instead
])
def test_a_bad_rename_changes_nothing(client, db, proposed, key, body, status, field):
    before = proposals(db, "acme")
    error(client.post(f"/api/v1/tenants/acme/intents/{key}/rename", json=body), status, field)
    assert proposals(db, "acme") == before


def test_merging_two_intents_keeps_one_with_every_ticket(client, db, proposed):
    response = client.post("/api/v1/tenants/acme/intents/merge",
                           json={"keys": ["refund_status", "card_arrival"], "into": "card_arrival"})
    assert response.status_code == 200
    assert response.json == {"key": "card_arrival", "merged": ["refund_status"], "size": 10}
    stored = proposals(db, "acme")
    assert sorted(stored) == ["card_arrival", "password_reset"]
    assert sorted(stored["card_arrival"][2]) == sorted(proposed["card_arrival"] + proposed["refund_status"])
    listed = client.get("/api/v1/tenants/acme/intents").json["intents"]
    assert [(i["key"], i["size"]) for i in listed] == [("card_arrival", 10), ("password_reset", 5)]


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"keys": ["card_arrival"]}, 400, "key"),
    ({"keys": ["card_arrival", "card_arrival"]}, 400, "key"),
    ({"keys": []}, 400, "key"),
    ({"keys": ["card_arrival", "no_such_intent"]}, 404, "key"),
    ({"keys": ["card_arrival", "refund_status"], "into": "no_such_intent"}, 404, "key"),
    ({"into": "card_arrival"}, 400, "keys"),
])
def test_a_bad_merge_changes_nothing(client, db, proposed, body, status, field):
    before = proposals(db, "acme")
    error(client.post("/api/v1/tenants/acme/intents/merge", json=body), status, field)
    assert proposals(db, "acme") == before


@pytest.mark.parametrize(("key", "body", "status", "field"), [
    ("no_such_intent", {"parts": 2}, 404, "key"),
    ("card_arrival", {"parts": 1}, 400, "parts"),
    ("card_arrival", {"parts": 3}, 400, "parts"),  # five tickets: too few for three parts
    ("card_arrival", {"parts": "two"}, 400, "parts"),
])
def test_a_bad_split_changes_nothing(client, db, proposed, key, body, status, field):
    before = proposals(db, "acme")
    error(client.post(f"/api/v1/tenants/acme/intents/{key}/split", json=body), status, field)
    assert proposals(db, "acme") == before


def test_splitting_an_intent_makes_new_proposals_from_its_tickets(client, db, proposed):
    merged = client.post("/api/v1/tenants/acme/intents/merge", json={"keys": ["card_arrival", "password_reset"]})
    assert merged.status_code == 200
    response = client.post("/api/v1/tenants/acme/intents/card_arrival/split", json={})  # two parts by default
    assert response.status_code == 200, response.json
    assert response.json["split"] == "card_arrival" and len(response.json["into"]) == 2
    stored = proposals(db, "acme")
    new = [stored[k] for k in response.json["into"]]
    assert all(status == "proposed" for _, status, _ in new)
    assert sorted(i for _, _, ids in new for i in ids) == sorted(proposed["card_arrival"] + proposed["password_reset"])


def test_discovering_in_process_answers_the_new_listing(client, db):
    seed(db, "acme", unlabelled_inbox() + [make_ticket(f"more-{intent}-{i}", f"{text} please help", reply="ok")
                                           for intent, (texts, _) in SMALL_INBOX.items()
                                           for i, text in enumerate(texts)])
    response = client.post("/api/v1/tenants/acme/intents/discover")
    assert response.status_code == 200, response.json
    intents = response.json["intents"]
    assert intents and all(i["status"] == "proposed" and i["size"] >= 5 for i in intents)
    assert client.get("/api/v1/tenants/acme/intents").json["intents"] == intents


def test_discovering_on_too_few_tickets_says_so(client, db):
    seed(db, "tiny", unlabelled_inbox()[:3])
    assert "too few" in error(client.post("/api/v1/tenants/tiny/intents/discover"), 400)


def test_discovering_with_redis_queues_one_job(settings, db, acme, redis_url):
    from rq import Queue
    from rq.serializers import JSONSerializer

    queued_settings = dataclasses.replace(settings, redis_url=redis_url)
    app = create_app(queued_settings)
    try:
        client = authorized_client(app)
        first = client.post("/api/v1/tenants/acme/intents/discover")
        assert first.status_code == 202 and first.json["status"] == "queued" and first.json["job_id"]
        again = client.post("/api/v1/tenants/acme/intents/discover")
        assert again.status_code == 202 and again.json == {"job_id": first.json["job_id"], "status": "duplicate"}
        from core.dispatch.queue import redis_connection

        jobs = Queue(queued_settings.queue_name, connection=redis_connection(queued_settings),
                     serializer=JSONSerializer).jobs
        expected = [(first.json["job_id"], "core.background.tasks.discover_intents", ["acme"])]
        assert [(j.id, j.func_name, j.args) for j in jobs] == expected
        assert proposals(db, "acme") == {}  # nothing ran in the request
    finally:
        app.extensions["deskloop"].close()
