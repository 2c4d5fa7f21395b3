"""``deskloop autonomy backtest``: a tenant's resolved history replayed in time order through the
learning loop, in a scratch database; per intent, what Deskloop would have sent against what the
agent sent, and at the threshold picked for the target precision the estimated auto-resolution
rate and share of wrong replies. No ticket is predicted from itself or a later one."""

from __future__ import annotations

import csv
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from core.autonomy.backtest import (
    CURVE_THRESHOLDS,
    Replayed,
    pick_threshold,
    rate_at,
    replay_history,
    report,
    resolved_history,
    wilson_lower,
)
from core.autonomy.policy import forget_policies
from core.cli import main
from core.demo.simulate import load_replies
from core.runtime import Runtime
from core.store.tables import ModelVersionRow, SignalRow, SuggestionRow, TicketRow
from core.store.tickets import upsert_tickets
from tests.factories import NAMES, make_ticket

#: 40 Banking77 questions, 10 for each of 4 intents (tests/data/README.md).
BANKING77_SAMPLE = Path(__file__).parent / "data" / "banking77_sample.csv"
START = datetime(2026, 2, 2, 9, tzinfo=UTC)


def banking77_history(rounds: int = 2, seed: int = 5) -> list:
    """The sample's questions, shuffled per round, one an hour, each solved with the reply an agent
    sends for its intent (the demo's replies), addressed to the customer; every ninth reopened and
    every thirteenth rated 1 of 5."""
    rows = list(csv.DictReader(BANKING77_SAMPLE.open(encoding="utf-8")))
    replies = load_replies()
    rnd = random.Random(seed)
    tickets = []
    for _ in range(rounds):
        batch = rows[:]
        rnd.shuffle(batch)
        for row in batch:
            n = len(tickets)
            name = rnd.choice(NAMES)
            reply = replies[row["category"]]["reply"].format(first_name=name.split()[0], agent_name="Sam")
            extra = {}
            if n % 9 == 8:
                extra["reopen_count"] = 1
            if n % 13 == 12:
                extra["csat"] = {"score": 1}
            tickets.append(make_ticket(f"b77-{n}", row["text"], row["category"], reply, requester=name,
                                       created=START + timedelta(hours=n), **extra))
    return tickets


@pytest.fixture
def runtime(settings, db):
    forget_policies()
    runtime = Runtime(settings)
    yield runtime
    runtime.close()
    forget_policies()


def _import(runtime: Runtime, tickets: list) -> None:
    tenant_id = runtime.db.ensure_tenant("acme")
    with runtime.db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, tickets)


def _counts(runtime: Runtime) -> tuple[int, ...]:
    with runtime.db.tenant_session(runtime.db.tenant_id("acme")) as session:
        return tuple(session.scalar(select(func.count(table.id)))
                     for table in (TicketRow, SignalRow, SuggestionRow, ModelVersionRow))


def _replayed(intent: str, predicted: str, confidence: float, right: bool = True) -> Replayed:
    return Replayed(external_id="x", created_at=None, intent=intent, predicted=predicted, confidence=confidence,
                    abstained=False, draft="Hi, here is the answer", agent_reply="Hi, here is the answer",
                    similarity=1.0 if right else 0.2, reopened=False, bad_csat=False)


def test_wilson_lower_bound():
    assert wilson_lower(0, 0) == 0.0
    assert wilson_lower(10, 10) == pytest.approx(10 / (10 + 1.6449 ** 2), abs=1e-4)
    assert wilson_lower(50, 100) == pytest.approx(0.4180, abs=1e-3)
    assert wilson_lower(140, 140) >= 0.98 > wilson_lower(120, 120)


def test_the_lowest_threshold_that_reaches_the_target_is_picked():
    confident = [_replayed("a", "a", 0.99 - i * 0.01) for i in range(12)]
    shaky = [_replayed("b", "a", 0.5, right=False), _replayed("a", "a", 0.5), _replayed("a", "a", 0.4, right=False)]
    threshold, sent, right = pick_threshold(confident + shaky, 0.75)
    assert (threshold, sent, right) == (pytest.approx(0.88), 12, 12)
    # A tie is cut together: the right and the wrong reply at 0.5 are sent together or not at all.
    lenient = pick_threshold(confident + shaky, 0.7)
    assert lenient[0] == 0.5 and lenient[1:] == (14, 13)
    assert pick_threshold(confident[:3], 0.9) == (None, 0, 0)  # three right replies are not evidence enough


def test_the_estimate_weighs_each_ticket_by_what_the_model_had_learned():
    # 30 tickets of "a": the first 15 missed (an empty model), the last 15 sent right at 0.95.
    replayed = [_replayed("a", "b", 0.6, right=False) for _ in range(15)]
    replayed += [_replayed("a", "a", 0.95) for _ in range(15)]
    found = report(replayed, 0.6)
    row = found["intents"][0]
    assert row["threshold"] == 0.95 and (row["sent"], row["right"]) == (15, 15)
    # The n-th of 30 weighs n/30: the right ones (16..30) carry 345 of the 465.
    assert row["auto_resolution_rate"] == pytest.approx(345 / 465, abs=1e-4)
    assert row["auto_resolution_rate"] > 0.5  # the unweighted share: an empty model's tickets count less
    assert found["auto_resolution_rate"] == row["auto_resolution_rate"]
    assert row["wrong_reply_share"] == 0.0  # over the replies the threshold was picked on


def test_the_curve_estimates_any_threshold_and_an_intent_offered_none():
    # "a": right replies at 0.7 and 0.9, a miss at 0.8; 6 tickets are no evidence at 0.9, so no
    # threshold is offered, yet the curve says what any threshold would do.
    replayed = [_replayed("a", "a", 0.7), _replayed("a", "a", 0.9), _replayed("a", "b", 0.8, right=False)] * 2
    row = report(replayed, 0.9)["intents"][0]
    assert row["threshold"] is None and row["auto_resolution_rate"] == 0.0
    curve = dict((t, rate) for t, rate in row["curve"])
    assert [point[0] for point in row["curve"]] == list(CURVE_THRESHOLDS)
    assert 0.995 in curve and 0.9 in curve
    weighted = list(zip(replayed, [(n + 1) / 6 for n in range(6)], strict=True))
    total = sum(w for _, w in weighted)
    assert curve[0.5] == pytest.approx(sum(w for r, w in weighted if r.right) / total, abs=1e-4)
    assert curve[0.9] == pytest.approx(sum(w for r, w in weighted if r.right and r.confidence >= 0.9) / total, abs=1e-4)
    assert curve[0.95] == 0.0 and curve[1.0] == 0.0
    # An offered threshold is a point of its own curve, with the row's rate.
    offered = report(replayed * 10, 0.5)["intents"][0]
    assert [offered["threshold"], offered["auto_resolution_rate"]] in offered["curve"]
    assert rate_at(offered["curve"], offered["threshold"]) == offered["auto_resolution_rate"]


def test_rate_at_reads_a_curve_between_its_points():
    curve = [[0.5, 0.8], [0.6, 0.6], [0.7, 0.2]]
    assert rate_at(curve, 0.6) == 0.6
    assert rate_at(curve, 0.65) == pytest.approx(0.4)
    assert rate_at(curve, 0.4) == 0.8  # below the curve: as its first point
    assert rate_at(curve, 0.9) == 0.2  # above: as its last
    assert rate_at([], 0.9) == 0.0


def test_backtest_reports_per_intent_and_never_predicts_from_the_future(runtime):
    _import(runtime, banking77_history())
    before = _counts(runtime)
    history = resolved_history(runtime, "acme")
    assert [t.external_id for t, _ in history] == [f"b77-{n}" for n in range(80)]  # time order
    replayed = replay_history(runtime, "acme", history)
    assert _counts(runtime) == before  # the tenant's own data is untouched

    seen: set[str] = set()
    for one in replayed:
        if one.intent not in seen:  # nothing learned yet could name this intent
            assert one.predicted != one.intent and not one.right, one
            seen.add(one.intent)
    assert not any(r.right for r in replayed if r.reopened or r.bad_csat)
    assert any(r.right for r in replayed[40:])
    # The same first tickets replayed alone are predicted exactly alike: later tickets changed nothing.
    alone = replay_history(runtime, "acme", history[:25])
    assert [(r.predicted, r.confidence, r.draft) for r in alone] == \
        [(r.predicted, r.confidence, r.draft) for r in replayed[:25]]

    found = report(replayed, 0.7)
    rows = {row["intent"]: row for row in found["intents"]}
    assert set(rows) == {"card_arrival", "lost_or_stolen_card", "request_refund", "exchange_rate"}
    assert all(row["tickets"] == 20 for row in rows.values())
    assert sum(row["reopened"] for row in rows.values()) == 8 and sum(row["bad_csat"] for row in rows.values()) == 6
    offered = [row for row in rows.values() if row["threshold"] is not None]
    assert offered, found
    for row in offered:
        assert 0 <= row["auto_resolution_rate"] <= 1
        assert rate_at(row["curve"], row["threshold"]) == row["auto_resolution_rate"]
        rates = [rate for _, rate in row["curve"]]
        assert rates == sorted(rates, reverse=True)  # a higher threshold never resolves more
        assert row["precision_lower_bound"] >= 0.7
        assert row["wrong_reply_share"] == pytest.approx((row["sent"] - row["right"]) / row["sent"], abs=1e-4)
    # At the default target nothing this small is evidence enough.
    strict = report(replayed, 0.98)["intents"]
    assert all(row["threshold"] is None and row["auto_resolution_rate"] == 0 for row in strict)


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_cli_backtest_prints_per_intent_figures(runtime):
    _import(runtime, banking77_history(rounds=1))
    assert run("autonomy", "target-precision", "--tenant", "acme", "0.6").exit_code == 0
    result = run("autonomy", "backtest", "--tenant", "acme", "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert found["tickets"] == 40 and found["target_precision"] == 0.6
    assert {row["intent"] for row in found["intents"]} == {"card_arrival", "lost_or_stolen_card", "request_refund",
                                                         "exchange_rate"}
    since = (START + timedelta(hours=30)).isoformat()
    later = json.loads(run("autonomy", "backtest", "--tenant", "acme", "--since", since, "--json").output)
    assert later["tickets"] == 10 and later["since"].startswith("2026-02-03T15:00")
    assert found["default_threshold"] == 0.9
    for row in found["intents"]:  # what switching on at the tenant's default would do, from the curve
        assert row["rate_at_default_threshold"] == rate_at(row["curve"], 0.9)
    text = run("autonomy", "backtest", "--tenant", "acme")
    assert text.exit_code == 0 and "card_arrival" in text.output and "estimated auto-resolution" in text.output
    assert "at 0.90" in text.output
