"""Knowledge gaps on a seeded tenant: one intent where Deskloop abstains, drafts are rewritten and
customers come back, one where everything goes well. The first ranks above the second; its
proposed article is drafted from the well-rated replies, never the reopened ones, and carries no
customer's details (the privacy history of ``tests/personal_data.py``); the Markdown export, the
API and the CLI are checked as a help center, a client and an operator would meet them."""

from __future__ import annotations

import csv
import io
import json

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import select

from core.cli import main
from core.insights import gap_measures
from core.insights.gap_export import slug, write_articles
from core.insights.knowledge_gaps import knowledge_gap_report
from core.store.tables import ClusterRow, TicketRow
from core.store.tickets import upsert_tickets
from tests.access_support import authorized_client
from tests.knowledge_gaps_support import BAD, CUSTOMER_QUESTIONS, HEALTHY, NOW, seed_knowledge_gaps
from tests.personal_data import leaks, personal_history


def test_the_troubled_intent_ranks_above_the_healthy_one_for_its_reasons(app, db):
    seed_knowledge_gaps(app.extensions["deskloop"])
    report = knowledge_gap_report(app.extensions["deskloop"], "acme", days=90, min_score=0, now=NOW)
    ranked = [g.key for g in report.gaps]
    assert ranked[0] == f"intent:{BAD}", ranked
    assert f"intent:{HEALTHY}" in ranked and report.groups_measured == 6
    bad = report.gaps[0]
    healthy = next(g for g in report.gaps if g.key == f"intent:{HEALTHY}")
    assert bad.tickets == 50 and bad.suggestions == 50
    assert bad.abstention_rate == pytest.approx(37 / 50) and set(bad.abstain_reasons) == {
        "low_confidence", "novel"}
    assert bad.edit_rate == 1.0 and 0.2 < bad.mean_edit_size < 1
    assert bad.reopen_rate == pytest.approx(16 / 50) and bad.bad_csat_rate == pytest.approx(16 / 50)
    assert [r.measure for r in bad.reasons][:2] == ["abstention", "edits"]
    assert healthy.edit_rate == 0.0 and healthy.reopen_rate == 0.0 and healthy.abstention_rate == 0.0
    assert healthy.score == 0.0 and bad.score > 40
    default = knowledge_gap_report(app.extensions["deskloop"], "acme", days=90, now=NOW)
    assert f"intent:{HEALTHY}" not in [g.key for g in default.gaps]  # under the default minimum score


def test_the_article_is_drafted_from_well_rated_replies_and_carries_nobodys_details(app, db):
    customers, reopened_ids = seed_knowledge_gaps(app.extensions["deskloop"])
    report = knowledge_gap_report(app.extensions["deskloop"], "acme", days=90, now=NOW)
    article = report.gaps[0].article
    assert article.status == "draft" and article.basis == "rated_good" and article.title == "Refund"
    assert article.source_ticket_ids and not set(article.source_ticket_ids) & set(reopened_ids)
    everything = "\n".join([article.title, article.answer, *article.alternatives, *article.questions])
    assert "5 to 10 working days to show on your statement" in article.answer
    assert "stuck in processing" not in everything  # the reopened tickets' answer
    assert not leaks(everything, customers, None, CUSTOMER_QUESTIONS), everything
    for customer in customers:
        for kind in ("email", "phone", "order", "account"):
            assert customer.values[kind] not in everything
    assert not article.answer.lower().startswith(("hi", "hello", "thanks"))  # no greeting, so no name
    assert any("[order id]" in q or "[order_id]" in q for q in article.questions), article.questions
    for gap in report.gaps:  # every gap's article, not only the first
        text = "\n".join([gap.label, gap.article.answer, *gap.article.alternatives, *gap.article.questions])
        assert not leaks(text, customers, None, CUSTOMER_QUESTIONS), (gap.key, text)


def test_the_markdown_export_parses_and_hostile_labels_name_safe_files(app, db, tmp_path):
    runtime = app.extensions["deskloop"]
    seed_knowledge_gaps(app.extensions["deskloop"])
    tenant_id = db.ensure_tenant("acme")
    with db.transaction(tenant_id) as session:  # intents named by someone hostile
        for intent, hostile in ((BAD, "../x"), ("identity_check", "a/b"), ("travel_notice", '---\ntitle: "x": y')):
            for row in session.scalars(select(TicketRow).where(TicketRow.intent == intent)):
                row.intent = hostile
    report = knowledge_gap_report(runtime, "acme", days=90, min_score=0, now=NOW)
    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / "articles"
    written = write_articles(report, target)
    assert len(written) == len(report.gaps) and sorted(p.name for p in target.iterdir()) == sorted(
        p.name for p in written)
    assert all(p.parent == target and p.suffix == ".md" for p in written)
    assert not (tmp_path / "x.md").exists() and [p.name for p in (tmp_path / "out").iterdir()] == ["articles"]
    for path, gap in zip(written, report.gaps, strict=True):
        text = path.read_text(encoding="utf-8")
        _, front, body = text.split("---\n", 2)
        meta = yaml.safe_load(front)
        assert meta["title"] == gap.article.title and meta["status"] == "draft" and meta["score"] == gap.score
        assert meta["tickets"] == gap.tickets and meta["generated"] == "2026-02-15"
        assert meta["reasons"] == [r.detail for r in gap.reasons] and meta["kind"] == "intent"
        assert meta["intent"] == " ".join(gap.label.split())  # one line: a label cannot end the front matter
        assert (gap.article.answer or "No well-rated reply") in body
    assert {slug("../x"), slug("a/b"), slug("../../etc/passwd"), slug("Ünïcode name!")} == {
        "x", "a-b", "etc-passwd", "unicode-name"}
    with pytest.raises(Exception, match="not an empty folder"):
        write_articles(report, target)  # never over what is already there


def test_tickets_without_an_intent_are_grouped_by_cluster_and_another_tenant_sees_none(app, db, tmp_path):
    runtime = app.extensions["deskloop"]
    tickets, customers = personal_history(seed=11, customers=60, tickets=120, intents=False)
    tenant_id = db.ensure_tenant("acme")
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, tickets)
    with db.transaction(tenant_id) as session:
        rows = session.scalars(select(TicketRow).order_by(TicketRow.id)).all()
        for i, row in enumerate(rows):  # personal_history writes its intents in turn: six clusters
            row.cluster_key = 100 + i % 6
            row.reopen_count = int(i % 6 == 2 and i % 4 == 0)
        for key, label in ((102, "refund · money · back"), *((100 + k, f"topic {k}") for k in (0, 1, 3, 4, 5))):
            session.add(ClusterRow(tenant_id=tenant_id, key=key, label=label, size=20))
        session.add(TicketRow(tenant_id=tenant_id, source="api", external_id="lone", text="hello", content_hash="x",
                              created_at=NOW))  # no intent, no cluster: in no group
    report = knowledge_gap_report(runtime, "acme", days=90, now=NOW)
    assert [g.key for g in report.gaps] == ["cluster:102"] and report.tickets_read == 120
    gap = report.gaps[0]
    assert gap.kind == "cluster" and gap.label == "refund · money · back" and gap.reopen_rate == 0.5
    assert gap.article.title == "Refund · money · back" and gap.article.basis == "unrated"
    everything = "\n".join([gap.article.answer, *gap.article.alternatives, *gap.article.questions])
    assert not leaks(everything, customers, None, CUSTOMER_QUESTIONS), everything
    meta = yaml.safe_load(write_articles(report, tmp_path / "a")[0].read_text(encoding="utf-8").split("---\n")[1])
    assert meta["kind"] == "cluster" and meta["cluster"] == "refund · money · back"
    db.ensure_tenant("beta")
    other = knowledge_gap_report(runtime, "beta", days=90, min_score=0, now=NOW)
    assert other.tickets_read == 0 and other.gaps == []


def test_the_gap_score_never_falls_when_a_measure_rises():
    base = gap_measures.GroupTally(tickets=10, suggestions=10, abstained=2, drafts_sent=5, drafts_edited=2,
                                   edit_sizes=[0.3, 0.5], reopened=1, rated=4, rated_bad=1, replies=10,
                                   long_unique_replies=1)
    worse = [
        gap_measures.GroupTally(**{**base.__dict__, "abstained": 5}),
        gap_measures.GroupTally(**{**base.__dict__, "drafts_edited": 4}),
        gap_measures.GroupTally(**{**base.__dict__, "edit_sizes": [0.9, 0.9]}),
        gap_measures.GroupTally(**{**base.__dict__, "reopened": 3}),
        gap_measures.GroupTally(**{**base.__dict__, "rated_bad": 3}),
        gap_measures.GroupTally(**{**base.__dict__, "long_unique_replies": 4}),
    ]
    assert all(gap_measures.gap_score(w) > gap_measures.gap_score(base) for w in worse)
    assert gap_measures.gap_score(gap_measures.GroupTally(tickets=5)) == 0.0
    assert sum(gap_measures.WEIGHTS.values()) == 100


def test_long_replies_unlike_the_rest_are_counted():
    usual = "Refunds go back to the card you paid with and take five to ten working days to show."
    odd = " ".join(f"word{i}" for i in range(gap_measures.LONG_REPLY_WORDS + 5))
    replies = [usual] * 6 + [odd, usual + " " + " ".join(["Refunds go back to the card"] * 20)]
    vectors = gap_measures.reply_vectors(replies)
    assert gap_measures.long_unique_count(replies, vectors) == 1


def test_the_api_answers_a_reader_of_that_tenant_only_and_refuses_bad_arguments(app, db):
    seed_knowledge_gaps(app.extensions["deskloop"], "acme")
    db.ensure_tenant("beta")
    path = "/api/v1/tenants/acme/insights/knowledge-gaps"
    assert app.test_client().get(path).status_code == 401
    reader = authorized_client(app, scopes=("read",), tenant="acme")
    answer = reader.get(path + "?days=3650&top=3&min_score=0")
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["tenant"] == "acme" and len(body["gaps"]) == 3
    first = body["gaps"][0]
    assert first["key"] == f"intent:{BAD}" and set(first) >= {
        "label", "score", "reasons", "tickets", "abstention_rate", "edit_rate", "mean_edit_size", "reopen_rate",
        "bad_csat_rate", "long_unique_reply_rate", "article"}
    assert first["article"]["status"] == "draft"
    assert reader.get("/api/v1/tenants/beta/insights/knowledge-gaps").status_code == 404  # another tenant
    assert authorized_client(app, scopes=("read",), tenant="beta").get(path).status_code == 404
    assert reader.get("/api/v1/tenants/nobody/insights/knowledge-gaps").status_code == 404
    assert authorized_client(app, scopes=("signals",), tenant="acme").get(path).status_code == 403
    for query in ("days=3", "days=9999", "top=0", "top=500", "min_score=-1", "min_score=101", "days=ten"):
        refused = reader.get(f"{path}?{query}")
        assert refused.status_code == 400 and query.split("=")[0] in json.dumps(refused.get_json()), query
    exported = reader.get(path + ".csv?days=3650&min_score=0")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert rows[0]["key"] == f"intent:{BAD}" and rows[0]["rank"] == "1"
    assert reader.get("/api/v1/tenants/beta/insights/knowledge-gaps.csv").status_code == 404
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    for route in ("knowledge-gaps", "knowledge-gaps.csv"):
        operation = document["paths"][f"/api/v1/tenants/{{slug}}/insights/{route}"]["get"]
        assert operation["x-deskloop-scope"] == "read"
        assert {p["name"] for p in operation["parameters"]} >= {"days", "top", "min_score"}


def test_the_cli_prints_writes_csv_and_articles_and_exits_2_on_bad_input(app, db, tmp_path):
    seed_knowledge_gaps(app.extensions["deskloop"], "acme")
    runner = CliRunner()
    out, articles = tmp_path / "gaps.csv", tmp_path / "articles"
    good = runner.invoke(main, ["insights", "knowledge-gaps", "--tenant", "acme", "--days", "3650", "--top", "5",
                                "--csv", str(out), "--export", str(articles)])
    assert good.exit_code == 0, good.output
    assert "1. refund (intent:refund)" in good.output and "draft article(s) written" in good.output
    assert next(csv.reader(out.open(encoding="utf-8")))[:3] == ["rank", "key", "label"]
    assert any(p.name.endswith("-refund.md") for p in articles.iterdir())
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.md").write_text("mine", encoding="utf-8")
    for args in (["--tenant", "nobody"], ["--tenant", "acme", "--days", "3"], ["--tenant", "acme", "--top", "0"],
                 ["--tenant", "acme", "--min-score", "101"],
                 ["--tenant", "acme", "--csv", str(tmp_path / "missing" / "x.csv")],
                 ["--tenant", "acme", "--export", str(tmp_path / "missing" / "articles")],
                 ["--tenant", "acme", "--export", str(taken)]):
        bad = runner.invoke(main, ["insights", "knowledge-gaps", *args])
        assert bad.exit_code == 2, (args, bad.output)
    assert not (tmp_path / "missing").exists() and [p.name for p in taken.iterdir()] == ["keep.md"]


def test_one_gaps_article_is_served_as_the_markdown_the_export_writes(app, db, tmp_path):
    seed_knowledge_gaps(app.extensions["deskloop"], "acme")
    db.ensure_tenant("beta")
    reader = authorized_client(app, scopes=("read",), tenant="acme")
    path = "/api/v1/tenants/acme/insights/knowledge-gaps"
    gaps = reader.get(path + "?days=3650&min_score=0").get_json()["gaps"]
    assert [round(sum(g["points"].values()), 1) for g in gaps] == pytest.approx([g["score"] for g in gaps], abs=0.3)
    written = write_articles(knowledge_gap_report(app.extensions["deskloop"], "acme", days=3650, min_score=0),
                             tmp_path / "articles")
    for rank, (gap, exported) in enumerate(zip(gaps, written, strict=True), 1):
        served = reader.get(f"{path}/{gap['key']}.md?days=3650&min_score=0")
        assert served.status_code == 200 and served.mimetype == "text/markdown", gap["key"]
        assert _without_date(served.get_data(as_text=True)) == _without_date(exported.read_text(encoding="utf-8"))
        assert exported.name in served.headers["Content-Disposition"] and exported.name.startswith(f"{rank:02d}-")
    missing = reader.get(f"{path}/intent:{HEALTHY}.md")  # measured, but under the default minimum score
    assert missing.status_code == 404 and "min_score" in missing.get_json()["error"]["reason"]
    assert reader.get(f"{path}/intent:nothing.md?min_score=0").status_code == 404
    assert reader.get(f"{path}/intent:{BAD}.md?days=3").status_code == 400
    assert reader.get(f"/api/v1/tenants/beta/insights/knowledge-gaps/intent:{BAD}.md").status_code == 404
    assert authorized_client(app, scopes=("read",), tenant="beta").get(f"{path}/intent:{BAD}.md").status_code == 404
    assert app.test_client().get(f"{path}/intent:{BAD}.md").status_code == 401
    operation = app.test_client().get("/api/v1/openapi.json").get_json()["paths"][
        "/api/v1/tenants/{slug}/insights/knowledge-gaps/{key}.md"]["get"]
    assert operation["x-deskloop-scope"] == "read" and "text/markdown" in operation["responses"]["200"]["content"]


def _without_date(text: str) -> list[str]:
    """The lines of an article but its generation date (a test may straddle midnight)."""
    return [line for line in text.splitlines() if not line.startswith("generated:")]
