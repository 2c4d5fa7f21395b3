"""An incident opened from stored tickets, published once per change under a deterministic key
(a scan that dies after publishing publishes the same key again), naming the deploy before it,
growing and ending; and deploy markers by API and CLI, refused whole when malformed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from core.cli import main
from core.dispatch import listeners
from core.dispatch.listeners import listen
from core.insights import run as insight_run
from core.insights.areas import set_areas
from core.insights.deploys import mark
from core.insights.run import scan_tenant
from core.store.tables import DeployMarkerRow, IncidentRow
from core.store.tickets import upsert_tickets
from tests.access_support import authorized_client
from tests.factories import make_ticket

NOW = datetime(2026, 3, 4, 10, 40, tzinfo=UTC)  # a Wednesday
SPIKE_HOUR = NOW.replace(minute=0)



@pytest.fixture
def heard():
    got = []

    @listen("test-incidents", "incident")
    def probe(runtime, occurrence):
        got.append(occurrence)

    yield got
    listeners.forget("test-incidents")


def _seed_history(db) -> None:
    """Four weeks of a ticket every three hours about logins, then 18 in the spike hour."""
    tenant_id = db.ensure_tenant("acme")
    start = SPIKE_HOUR - timedelta(weeks=4)
    tickets = [make_ticket(f"h-{i}", "cannot log in", intent="login", created=start + timedelta(hours=3 * i),
                           subject="Login fails")
               for i in range(4 * 7 * 8)]
    tickets += [make_ticket(f"s-{i}", "cannot log in since the update", intent="login", subject="Login broken",
                            created=SPIKE_HOUR + timedelta(minutes=2 * i)) for i in range(18)]
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, tickets)


def test_a_spike_opens_an_incident_published_once_naming_the_deploy(app, db, heard):
    runtime = app.extensions["deskloop"]
    _seed_history(db)
    mark(runtime, "acme", {"service": "auth", "version": "2.4.1", "deployed_at": SPIKE_HOUR - timedelta(minutes=10),
                           "link": "https://ci.example.com/runs/9"})
    result = scan_tenant(runtime, "acme", now=NOW)
    opened = [o for o in heard if o.kind == "opened"]
    assert len(opened) == 1, [o.key for o in heard]
    incident = opened[0].data
    assert incident["category_kind"] == "intent" and incident["category"] == "login"
    assert incident["observed"] >= 18 and incident["expected"] < 6
    assert incident["deploy"]["version"] == "2.4.1" and 0 <= incident["deploy_lead_minutes"] <= 130
    assert incident["examples"] and all(set(e) == {"external_id", "subject", "url"} for e in incident["examples"])
    assert "Ada" not in str(incident)  # no requester's name (or message) in what notifiers get
    assert opened[0].key == f"{incident['incident_id']}:opened:0" and result.changes == [opened[0].key]
    assert scan_tenant(runtime, "acme", now=NOW + timedelta(minutes=1)).changes == []  # a re-run: no repeat
    assert len([o for o in heard if o.kind == "opened"]) == 1


def test_a_change_recorded_by_a_scan_that_died_before_publishing_goes_out_next_scan(app, db, heard, monkeypatch):
    runtime = app.extensions["deskloop"]
    _seed_history(db)

    def die(*_args, **_kw):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(insight_run, "publish", die)
    with pytest.raises(RuntimeError):
        scan_tenant(runtime, "acme", now=NOW)
    monkeypatch.undo()
    with db.tenant_session(db.tenant_id("acme")) as session:
        row = session.scalars(select(IncidentRow)).one()  # recorded, committed, not published
        assert (row.changes, row.published, row.last_change) == (1, 0, "opened")
    assert heard == []
    scan_tenant(runtime, "acme", now=NOW + timedelta(minutes=1))
    assert [o.key.split(":", 1)[1] for o in heard] == ["opened:0"]
    scan_tenant(runtime, "acme", now=NOW + timedelta(minutes=2))
    assert len(heard) == 1  # published once


def test_a_scan_that_died_after_publishing_publishes_the_same_key_again(app, db, heard):
    runtime = app.extensions["deskloop"]
    _seed_history(db)
    scan_tenant(runtime, "acme", now=NOW)
    with db.transaction(db.tenant_id("acme")) as session:
        session.scalars(select(IncidentRow)).one().published = 0  # the mark never committed
    scan_tenant(runtime, "acme", now=NOW + timedelta(minutes=1))
    keys = [o.key for o in heard]
    assert len(keys) == 2 and keys[0] == keys[1]  # the job id (and a notifier) sees one change
    with db.tenant_session(db.tenant_id("acme")) as session:
        assert session.scalars(select(IncidentRow)).one().published == 1


def test_an_incident_grows_then_ends_when_the_volume_is_back_to_normal(app, db, heard):
    runtime = app.extensions["deskloop"]
    _seed_history(db)
    scan_tenant(runtime, "acme", now=NOW)
    tenant_id = db.tenant_id("acme")
    more = [make_ticket(f"m-{i}", "still cannot log in", intent="login", created=NOW + timedelta(minutes=i))
            for i in range(25)]
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, more)
    scan_tenant(runtime, "acme", now=NOW + timedelta(minutes=30))
    scan_tenant(runtime, "acme", now=NOW + timedelta(hours=4))
    kinds = [o.kind for o in heard]
    assert kinds == ["opened", "grew", "ended"], kinds
    ids = {o.data["incident_id"] for o in heard}
    assert len(ids) == 1 and heard[-1].data["ended_at"] is not None
    assert [o.key.split(":", 1)[1] for o in heard] == ["opened:0", "grew:1", "ended:2"]


def test_no_incident_before_a_week_of_history(app, db, heard):
    runtime = app.extensions["deskloop"]
    tenant_id = db.ensure_tenant("acme")
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, [make_ticket(f"n-{i}", "hello", intent="login", created=NOW)
                                            for i in range(30)])
    assert scan_tenant(runtime, "acme", now=NOW).changes == [] and heard == []


def _deploys(db, slug: str = "acme") -> int:
    with db.tenant_session(db.tenant_id(slug)) as session:
        return session.scalar(select(func.count(DeployMarkerRow.id)))


GOOD = {"service": "api", "version": "1.2.3", "deployed_at": "2026-03-04T09:50:00Z",
        "link": "https://ci.example.com/1"}


def test_the_deploys_api_needs_a_token_and_the_tenant_and_refuses_malformed_markers(app, db):
    db.ensure_tenant("acme")
    db.ensure_tenant("beta")
    anonymous = app.test_client()
    assert anonymous.post("/api/v1/tenants/acme/deploys", json=GOOD).status_code == 401
    client = authorized_client(app, scopes=("signals",), tenant="acme")
    assert client.post("/api/v1/tenants/beta/deploys", json=GOOD).status_code == 404
    assert client.post("/api/v1/tenants/nobody/deploys", json=GOOD).status_code == 404
    for bad, field in ((dict(GOOD, version=""), "version"), ({k: v for k, v in GOOD.items() if k != "service"},
                       "service"), (dict(GOOD, deployed_at="yesterday"), "deployed_at"),
                       (dict(GOOD, deployed_at="2026-03-04T09:50:00"), "deployed_at"),
                       (dict(GOOD, deployed_at="2999-01-01T00:00:00Z"), "deployed_at"),
                       (dict(GOOD, link="javascript:alert(1)"), "link")):
        answer = client.post("/api/v1/tenants/acme/deploys", json=bad)
        assert answer.status_code == 400, (bad, answer.get_json())
        assert field in str(answer.get_json()), answer.get_json()
    assert client.post("/api/v1/tenants/acme/deploys", data="[]", content_type="application/json").status_code == 400
    assert _deploys(db) == 0  # nothing half-written
    created = client.post("/api/v1/tenants/acme/deploys", json=GOOD)
    assert created.status_code == 201 and created.get_json()["version"] == "1.2.3"
    assert _deploys(db) == 1 and _deploys(db, "beta") == 0


def test_deploy_mark_exits_2_on_bad_input_and_writes_nothing(app, db):
    db.ensure_tenant("acme")
    runner = CliRunner()
    bad = runner.invoke(main, ["deploy", "mark", "--tenant", "acme", "--service", "api", "--version", "1",
                               "--at", "2026-03-04 09:50"])
    assert bad.exit_code == 2 and "time zone" in bad.output
    unknown = runner.invoke(main, ["deploy", "mark", "--tenant", "nobody", "--service", "api", "--version", "1"])
    assert unknown.exit_code == 2
    assert _deploys(db) == 0
    good = runner.invoke(main, ["deploy", "mark", "--tenant", "acme", "--service", "api", "--version", "1",
                                "--at", "2026-03-04T09:50:00+01:00", "--link", "https://ci.example.com/2"])
    assert good.exit_code == 0, good.output
    assert _deploys(db) == 1


def test_the_incidents_api_lists_what_was_published(app, db, heard):
    runtime = app.extensions["deskloop"]
    _seed_history(db)
    scan_tenant(runtime, "acme", now=NOW)
    client = authorized_client(app, scopes=("read",), tenant="acme")
    listed = client.get("/api/v1/tenants/acme/incidents").get_json()["incidents"]
    assert [i["incident_id"] for i in listed] == [heard[0].data["incident_id"]]
    assert app.test_client().get("/api/v1/tenants/acme/incidents").status_code == 401
    assert client.get("/api/v1/tenants/acme/incidents?limit=0").status_code == 400


def test_categories_rising_on_the_same_tickets_are_one_incident(app, db, heard):
    """A login spike is also a spike of its tag and of its product area: one alert naming the
    others, not three. A rise on other tickets in the same hour stays an incident of its own."""
    runtime = app.extensions["deskloop"]
    tenant_id = db.ensure_tenant("acme")
    start = SPIKE_HOUR - timedelta(weeks=4)
    tickets = [make_ticket(f"h-{i}", "cannot log in", intent="login", tags=["auth"],
                           created=start + timedelta(hours=3 * i)) for i in range(4 * 7 * 8)]
    tickets += [make_ticket(f"r-{i}", "where is my refund", intent="refund", created=start + timedelta(hours=3 * i + 1))
                for i in range(4 * 7 * 8)]
    tickets += [make_ticket(f"s-{i}", "cannot log in since the update", intent="login", tags=["auth"],
                            created=SPIKE_HOUR + timedelta(minutes=2 * i)) for i in range(18)]
    tickets += [make_ticket(f"b-{i}", "charged twice", intent="refund", tags=["billing"],
                            created=SPIKE_HOUR + timedelta(minutes=2 * i + 1)) for i in range(18)]
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, tickets)
    set_areas(runtime, "acme", {"Accounts": {"owner": "pm@example.com", "intents": ["login"], "tags": []}})
    scan_tenant(runtime, "acme", now=NOW)
    opened = {(o.data["category_kind"], o.data["category"]): o.data for o in heard if o.kind == "opened"}
    assert set(opened) == {("intent", "login"), ("intent", "refund")}, sorted(opened)
    login = opened[("intent", "login")]
    assert {(r["kind"], r["category"]) for r in login["related"]} == {("tag", "auth"), ("area", "Accounts")}
    assert login["area"] == "Accounts" and login["owner"] == "pm@example.com"
    assert {(r["kind"], r["category"]) for r in opened[("intent", "refund")]["related"]} == {("tag", "billing")}
    scan_tenant(runtime, "acme", now=NOW + timedelta(minutes=1))  # still rising: no alert of their own later
    assert len([o for o in heard if o.kind == "opened"]) == 2
    with db.tenant_session(tenant_id) as session:
        assert session.scalar(select(func.count(IncidentRow.id))) == 2


def test_a_replay_finds_the_spike_of_a_history_counted_after_it(app, db, heard):
    """An imported history is counted all at once, after its spikes: a live scan then sees nothing
    new, a replay's scan at the spike's time tests the categories active then."""
    runtime = app.extensions["deskloop"]
    _seed_history(db)
    later = NOW + timedelta(days=2)
    scan_tenant(runtime, "acme", now=later)  # counts every ticket; the spike is long over
    assert scan_tenant(runtime, "acme", now=NOW).changes == []  # nothing new to count: no test
    replayed = scan_tenant(runtime, "acme", now=NOW, replaying=True)
    assert len(replayed.changes) == 1 and ":opened:" in replayed.changes[0]
    assert [o.data["category"] for o in heard if o.kind == "opened"] == ["login"]


def test_a_replay_counts_only_the_tickets_before_its_moment(app, db, heard):
    """An imported hour holds tickets after the replay's moment too; a replay scan must not count
    them, or an open incident 'grows' on tickets that have not arrived yet."""
    runtime = app.extensions["deskloop"]
    _seed_history(db)
    tenant_id = db.ensure_tenant("acme")
    later_in_the_hour = [make_ticket(f"l-{i}", "cannot log in since the update", intent="login", subject="Login broken",
                                     created=NOW + timedelta(minutes=5, seconds=20 * i)) for i in range(40)]
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, later_in_the_hour)
    scan_tenant(runtime, "acme", now=NOW + timedelta(days=2))  # counts every ticket, as an import's scan does
    opened = scan_tenant(runtime, "acme", now=NOW, replaying=True)
    assert len(opened.changes) == 1 and ":opened:" in opened.changes[0]
    assert scan_tenant(runtime, "acme", now=NOW + timedelta(minutes=1), replaying=True).changes == []
    assert [o.kind for o in heard] == ["opened"]
