"""Clusters of related tickets: readable labels, and keys that survive retraining as data grows."""

from __future__ import annotations

import random

import numpy as np

from core.demo.simulate import load_queries
from core.learning.training import train_tenant
from core.ml.clusters import build_clusters
from core.store.tickets import upsert_tickets
from tests.access_support import authorized_client
from tests.factories import make_ticket


def _banking(n: int) -> list[tuple[str, str]]:
    rows = [(q.text, q.intent) for q in load_queries()]  # the Banking77 copy shipped for the demo
    random.Random(0).shuffle(rows)
    return rows[:n]


def _vectors(texts):
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    matrix = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2)).fit_transform(texts)
    return normalize(TruncatedSVD(50, random_state=0).fit_transform(matrix))


def test_keys_survive_when_the_data_grows():
    rows = _banking(1200)
    texts = [t for t, _ in rows]
    ids = list(range(1, len(rows) + 1))
    first, next_key = build_clusters(_vectors(texts[:800]), texts[:800], ids[:800])
    previous = {c.key: set(c.ticket_ids) for c in first}
    second, _ = build_clusters(_vectors(texts), texts, ids, previous, next_key)
    surviving = set(previous) & {c.key for c in second}
    assert len(surviving) >= 0.85 * len(previous)
    before = {t: c.key for c in first for t in c.ticket_ids}
    after = {t: c.key for c in second for t in c.ticket_ids}
    assert np.mean([before[t] == after[t] for t in ids[:800]]) >= 0.6
    assert len(second) > len(first)  # more data, more (new) clusters, with new keys
    assert min(c.key for c in second if c.key not in previous) >= next_key


def test_the_same_data_gives_the_same_keys():
    rows = _banking(600)
    texts = [t for t, _ in rows]
    ids = list(range(1, 601))
    first, next_key = build_clusters(_vectors(texts), texts, ids)
    second, after = build_clusters(_vectors(texts), texts, ids, {c.key: set(c.ticket_ids) for c in first}, next_key)
    assert {c.key for c in first} == {c.key for c in second} and after == next_key
    before = {t: c.key for c in first for t in c.ticket_ids}
    again = {t: c.key for c in second for t in c.ticket_ids}
    assert np.mean([before[t] == again[t] for t in ids]) >= 0.9



def test_training_stores_clusters_and_the_api_lists_them(app, db):
    rows = _banking(400)
    tenant_id = db.ensure_tenant("b77")
    tickets = [make_ticket(f"b-{i}", text, label, f"Reply about {label}.", created=None)
               for i, (text, label) in enumerate(rows)]
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, tickets[:300])
    runtime = app.extensions["deskloop"]
    train_tenant(runtime, "b77")
    client = authorized_client(app)
    listed = client.get("/api/v1/tenants/b77/clusters").json["clusters"]
    assert len(listed) >= 2 and sum(c["size"] for c in listed) == 300
    assert all(c["label"] and "cluster" not in c["label"] for c in listed)
    keys_before = {c["key"] for c in listed}
    page = client.get("/api/v1/tenants/b77/tickets?limit=5").json["tickets"]
    assert all(t["cluster"] in keys_before for t in page)

    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, tickets[300:])
    train_tenant(runtime, "b77")
    keys_after = {c["key"] for c in client.get("/api/v1/tenants/b77/clusters").json["clusters"]}
    assert len(keys_before & keys_after) >= 0.8 * len(keys_before)


def test_similar_tickets_for_any_ticket(app, db):
    tenant_id = db.ensure_tenant("b77")
    rows = _banking(200)
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id,
                       [make_ticket(f"b-{i}", t, c, f"About {c}.") for i, (t, c) in enumerate(rows)])
    train_tenant(app.extensions["deskloop"], "b77")
    client = authorized_client(app)
    first = client.get("/api/v1/tenants/b77/tickets?limit=1").json["tickets"][0]
    found = client.get(f"/api/v1/tenants/b77/tickets/{first['id']}/similar?limit=5").json
    scores = [s["score"] for s in found["similar"]]
    assert len(scores) == 5 and scores == sorted(scores, reverse=True)
    assert first["id"] not in {s["ticket_id"] for s in found["similar"]}
    assert client.get("/api/v1/tenants/b77/tickets/999999/similar").status_code == 404
