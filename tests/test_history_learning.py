"""A helpdesk history with no intent field, through the commands a team would run: train at once
(similar tickets, drafts, tags), `labels suggest`, `labels use`, train again with intents, evaluate."""

from __future__ import annotations

import json
from datetime import date

from click.testing import CliRunner
from sqlalchemy import select

from core.cli import main
from core.demo.helpdesk_shaped import CATEGORY_FIELD, PLAN_FIELD, REGION_FIELD, write_helpdesk_history
from core.runtime import Runtime
from core.store.tables import TenantRow

END = date(2026, 11, 1)
CATEGORY = f"field:{CATEGORY_FIELD}"


def _invoke(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _settings_of(settings, tenant: str) -> dict:
    runtime = Runtime(settings)
    with runtime.db.admin_session() as session:
        value = dict(session.scalar(select(TenantRow.settings).where(TenantRow.slug == tenant)) or {})
    runtime.close()
    return value


def test_a_history_without_intents_gets_suggestions_then_learns_intents_from_the_chosen_source(settings, db, tmp_path):
    history = tmp_path / "history.jsonl"
    write_helpdesk_history(history, count=1500, seed=3, end=END)
    assert _invoke("import", str(history), "--tenant", "acme").exit_code == 0

    trained = _invoke("train", "--tenant", "acme")
    assert trained.exit_code == 0, trained.output
    assert "without intents" in trained.output

    text = "My new card still has not arrived, when will it come?"
    day_one = json.loads(_invoke("suggest", "--tenant", "acme", "--text", text, "--json").output)
    assert day_one["intent_model"] == "not_trained" and day_one["intent"] is None
    assert day_one["evidence"], "similar resolved tickets from day one"
    assert day_one["draft"] and not day_one["abstained"], "a close paraphrase gets a draft from its neighbour"
    assert day_one["tags"], "tags are learned without intents"
    assert not {t["tag"] for t in day_one["tags"]} & {"zd_sla_policy", "email_in", "web_widget", "zopim_chat"}

    ranked = json.loads(_invoke("labels", "suggest", "--tenant", "acme", "--json").output)
    assert ranked["current"] == "intent"
    usable = [c for c in ranked["candidates"] if not c["rejected"]]
    assert usable[0]["source"] == CATEGORY, [c["source"] for c in usable[:3]]
    by_source = {c["source"]: c for c in ranked["candidates"]}
    assert by_source[f"field:{REGION_FIELD}"]["rejected"]
    assert by_source[f"field:{PLAN_FIELD}"]["predictability"] < 0.2

    for bad in (f"field:{REGION_FIELD}", "field:nope", "tags:zz-nothing*", "sideways"):
        refused = CliRunner().invoke(main, ["labels", "use", "--tenant", "acme", bad])
        assert refused.exit_code == 2, (bad, refused.output)
        assert "Error:" in refused.output
    assert "label_source" not in _settings_of(settings, "acme"), "a refused source changes nothing"

    chosen = _invoke("labels", "use", "--tenant", "acme", CATEGORY)
    assert chosen.exit_code == 0 and "run `deskloop train" in chosen.output
    assert _settings_of(settings, "acme")["label_source"] == CATEGORY

    retrained = _invoke("train", "--tenant", "acme")
    assert retrained.exit_code == 0 and " intents, cross-validated accuracy" in retrained.output, retrained.output
    # (the day-one text also asks "when will it come?": as much card_delivery_time as card_not_arrived)
    arrived = "My new card still has not arrived, it has been two weeks."
    with_intents = json.loads(_invoke("suggest", "--tenant", "acme", "--text", arrived, "--json").output)
    assert with_intents["intent_model"] == "trained"
    assert with_intents["intent"] == "card_not_arrived"

    held_out = tmp_path / "held-out.jsonl"
    write_helpdesk_history(held_out, count=200, seed=99, end=END)
    figures = json.loads(_invoke("evaluate", str(held_out), "--tenant", "acme", "--json").output)
    assert figures["label_source"] == CATEGORY
    assert figures["known_n"] > 80 and figures["accuracy"] > 0.6
    assert figures["tags_n"] == 200 and figures["tags_micro_f1"] > 0.5
