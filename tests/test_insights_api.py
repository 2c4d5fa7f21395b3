"""The insights API the spike-alerts page draws from, on SQLite and PostgreSQL: a category's hours
with the expectation the scan held for each and its band, the busiest categories with their
incidents, deploy markers, emerging groups with example tickets; bounded arguments refused with a
reason, and nothing of one tenant for another's token."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from core.insights import spikes
from tests.access_support import authorized_client, signed_in_client
from tests.insights_support import (
    HOSTILE_SUBJECT,
    SPIKE,
    UNFAMILIAR,
    UNFAMILIAR_CLUSTER,
    office_hours,
    seed_insights,
)

BASE = "/api/v1/tenants/acme"



@pytest.fixture
def seeded(app):
    return seed_insights(app.extensions["deskloop"])


@pytest.fixture
def client(app, seeded):
    return authorized_client(app, scopes=("read",), tenant="acme")


def _hour(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_volumes_give_each_hour_its_count_expectation_and_band(client, seeded):
    answer = client.get(f"{BASE}/volumes?kind=intent&category=login&hours=72")
    assert answer.status_code == 200, answer.json
    body = answer.json
    assert (body["kind"], body["category"]) == ("intent", "login")
    points = body["points"]
    assert len(points) == 72
    hours = [_hour(p["hour"]) for p in points]
    assert all(b - a == timedelta(hours=1) for a, b in zip(hours, hours[1:], strict=False))
    assert hours[-1] == seeded.now.replace(minute=0, second=0, microsecond=0)
    assert [p["complete"] for p in points] == [True] * 71 + [False]
    assert {h: p["observed"] for h, p in zip(hours, points, strict=True) if p["observed"]} == {
        h: n for h, n in seeded.login_per_hour.items() if h >= hours[0]}
    for p in points:
        assert p["lower"] <= p["expected"] <= p["upper"] < p["opening"], p
    quiet = points[:-3]  # the weekly rhythm: two an hour in weekday office hours, one in four hours else
    assert all(p["lower"] <= p["observed"] <= p["upper"] for p in quiet)
    office = [p["expected"] for h, p in zip(hours, quiet, strict=False) if office_hours(h)]
    other = [p["expected"] for h, p in zip(hours, quiet, strict=False) if not office_hours(h)]
    if office:  # none in a 72-hour span over a weekend
        assert 1.5 < sum(office) / len(office) < 2.5
    assert 0.1 < sum(other) / len(other) < 0.5
    spike_hours = [p for p in points if p["observed"] > p["upper"]]
    assert spike_hours and sum(p["observed"] for p in spike_hours) >= SPIKE - 4
    # The spike never teaches its own hour to expect it: the expectation is still the rhythm's.
    assert all(p["expected"] < 3 for p in spike_hours)
    assert any(p["observed"] >= p["opening"] for p in spike_hours)


def test_the_band_is_the_spike_tests_own_thresholds():
    for expected in (0.02, 0.4, 3.0, 12.0, 80.0):
        lower, upper = spikes.usual_range(expected)
        assert spikes.tail(upper, expected) >= spikes.KEEP_ALPHA > spikes.tail(upper + 1, expected)
        opening = spikes.opening_count(expected)
        hot = [spikes.assess([spikes.Window(datetime(2026, 1, 1), k, expected)]).hot for k in (opening - 1, opening)]
        assert hot == [False, True], (expected, opening)
        assert lower <= expected <= upper


def test_categories_are_the_busiest_first_with_their_incidents(client, seeded):
    body = client.get(f"{BASE}/insights/categories?hours=168").json
    found = {(c["kind"], c["category"]): c for c in body["categories"]}
    tickets = [c["tickets"] for c in body["categories"]]
    assert tickets == sorted(tickets, reverse=True) and body["hours"] == 168
    login = found[("intent", "login")]
    assert login["open_incident"] and login["incidents"] == 1
    assert login["tickets"] == sum(n for h, n in seeded.login_per_hour.items()
                                   if h > seeded.now - timedelta(hours=168))
    assert found[("cluster", f"unfamiliar:{UNFAMILIAR_CLUSTER}")]["tickets"] == UNFAMILIAR
    assert not found[("cluster", f"unfamiliar:{UNFAMILIAR_CLUSTER}")]["open_incident"]
    assert len(client.get(f"{BASE}/insights/categories?limit=1").json["categories"]) == 1


def test_deploys_lists_the_markers_of_the_hours_asked_for(client, app, seeded):
    from core.insights.deploys import mark

    mark(app.extensions["deskloop"], "acme", {"service": "web", "version": "9.0",
                                              "deployed_at": seeded.now - timedelta(hours=30)})
    listed = client.get(f"{BASE}/deploys?hours=72").json["deploys"]
    assert [(d["service"], d["version"]) for d in listed] == [("web", "9.0"), ("auth", "2.4.1")]
    assert listed[1]["link"] == "https://ci.example.com/runs/9"
    assert _hour(listed[1]["deployed_at"]) == seeded.deploy_at
    # 90 minutes ago lies in the current hour or the two before it, whatever the minute now
    assert [d["version"] for d in client.get(f"{BASE}/deploys?hours=3").json["deploys"]] == ["2.4.1"]


def test_emerging_groups_carry_example_tickets_subject_and_link_only(client, seeded):
    groups = client.get(f"{BASE}/insights/emerging?hours=24").json["groups"]
    assert [g["category"] for g in groups] == [f"unfamiliar:{UNFAMILIAR_CLUSTER}"]
    group = groups[0]
    assert group["tickets"] == UNFAMILIAR and not group["open_incident"]
    assert len(group["examples"]) == 5 and all(set(e) == {"external_id", "subject", "url"} for e in group["examples"])
    assert HOSTILE_SUBJECT in [e["subject"] for e in group["examples"]]  # stored as sent: the page escapes it
    assert group["examples"][0]["url"].startswith("https://acme.zendesk.com/agent/tickets/u-")
    assert "Ada" not in str(groups)  # no requester's name or message body
    assert client.get(f"{BASE}/insights/emerging?hours=2").json["groups"] == []


@pytest.mark.parametrize(("query", "field"), [
    ("kind=intents&category=login", "kind"),
    ("category=login", "kind"),
    ("kind=intent", "category"),
    ("kind=intent&category=", "category"),
    ("kind=intent&category=" + "x" * 256, "category"),
    ("kind=intent&category=log%00in", "category"),
    ("kind=intent&category=login&hours=0", "hours"),
    ("kind=intent&category=login&hours=673", "hours"),
    ("kind=intent&category=login&hours=a+week", "hours"),
])
def test_bad_volume_arguments_are_refused_with_the_field(client, seeded, query, field):
    answer = client.get(f"{BASE}/volumes?{query}")
    assert answer.status_code == 400, answer.json
    assert answer.json["error"]["field"] == field and answer.json["error"]["reason"]


@pytest.mark.parametrize("path", ["/insights/categories?hours=0", "/insights/categories?limit=501",
                                  "/deploys?hours=-1", "/insights/emerging?limit=51"])
def test_bad_listing_arguments_are_refused(client, seeded, path):
    assert client.get(f"{BASE}{path}").status_code == 400


def test_a_category_that_counted_nothing_is_not_found(client, seeded):
    answer = client.get(f"{BASE}/volumes?kind=intent&category=logn")
    assert answer.status_code == 404 and "logn" in answer.json["error"]["reason"]


def test_an_unknown_tenant_is_not_found(app, seeded):
    every_tenant = authorized_client(app, scopes=("read",))
    for path in ("volumes?kind=intent&category=login", "insights/categories", "deploys", "insights/emerging"):
        assert every_tenant.get(f"/api/v1/tenants/nobody/{path}").status_code == 404


def test_another_tenants_token_gets_nothing(app, seeded):
    app.extensions["deskloop"].db.ensure_tenant("globex")
    stranger = authorized_client(app, scopes=("read",), tenant="globex")
    for path in ("volumes?kind=intent&category=login", "insights/categories", "deploys", "insights/emerging"):
        answer = stranger.get(f"{BASE}/{path}")
        assert answer.status_code == 404 and "login" not in answer.get_data(as_text=True)
    no_read = authorized_client(app, scopes=("signals",), tenant="acme")
    assert no_read.get(f"{BASE}/deploys").status_code == 403
    assert app.test_client().get(f"{BASE}/deploys").status_code == 401


def test_the_operations_are_documented_with_the_read_scope(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in ("volumes", "insights/categories", "deploys", "insights/emerging"):
        operation = paths[f"/api/v1/tenants/{{slug}}/{path}"]["get"]
        assert operation["x-deskloop-scope"] == "read" and "400" in operation["responses"]
    kind = next(p for p in paths["/api/v1/tenants/{slug}/volumes"]["get"]["parameters"] if p["name"] == "kind")
    assert kind["required"] and kind["schema"]["enum"] == ["intent", "tag", "cluster", "area"]


def test_the_page_is_for_operators_who_may_read_the_tenant(app, seeded):
    app.extensions["deskloop"].db.ensure_tenant("globex")
    assert app.test_client().get("/tenants/acme/insights").status_code in (302, 401)
    viewer, _ = signed_in_client(app, "viewer", tenants=("acme",))
    page = viewer.get("/tenants/acme/insights")
    assert page.status_code == 200 and "Spike alerts" in page.get_data(as_text=True)
    text = page.get_data(as_text=True)  # no tenant data in the page itself: its script asks the API
    assert "Login broken" not in text and "Widget" not in text and "auth@" not in text
    assert viewer.get("/tenants/globex/insights").status_code == 404
    assert viewer.get("/tenants/nobody/insights").status_code == 404
