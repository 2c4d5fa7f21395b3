"""Autonomous resolution over eight simulated weeks: does the auto-resolution rate climb, how many
autonomous replies are wrong, does every handoff carry a complete note, and was the backtest right?

A fresh embedded home gets a resolved starting history of Banking77 questions (``core/demo/data``)
answered with their intent's reply (``core/demo/replies.json``), 3% reopened and 3% rated 1 of 5
(as ``bench/autonomy_backtest.py``), imported with the importer and trained. The backtest
(``deskloop autonomy backtest``'s engine) replays it at the tenant's target precision and offers a
threshold per intent. Every intent then starts in shadow, and new tickets (Banking77 questions
not in the history; a few in German, French or Spanish) arrive week by week through the helpdesk
event path, into the in-memory helpdesk :mod:`bench.simdesk`, with the simulated customer and
agents of :mod:`bench.autonomy_world`. At each week's end the model retrains (the learning loop)
and every intent whose shadow evidence is recommended (``deskloop autonomy shadow``) is switched
autonomous with the backtest's threshold for it (the tenant's default threshold when the
backtest offered none).

Printed per week: arrivals, intents autonomous, autonomous replies, auto-resolved tickets and the
auto-resolution rate, wrong replies, handoffs by reason and how many had a complete note; then the
totals and the backtest's estimate beside what the live run did on the intents switched on. A
chart of the weekly rate goes to ``docs/autonomy-weeks.svg``.

    .venv/bin/python bench/autonomy_weeks.py [--quick] [--seed 20] [--json]

The backtest's estimate is compared per intent at the threshold the intent was switched on with
(read from the backtest's curve), so intents switched on at the default threshold compare like
with like. ``--save run.json --save-replay replay.json`` keeps a run's figures and its backtest's
replayed tickets; ``--reestimate run.json replay.json`` then compares again with the current
backtest code in seconds (the live weeks do not depend on how the estimate is read).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import random
import secrets
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TENANT = "weeks"
START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday: the history ends here and the live weeks begin
FULL = {"history": 900, "history_weeks": 3, "per_week": 300, "intents": 30, "weeks": 8}
QUICK = {"history": 100, "history_weeks": 2, "per_week": 30, "intents": 2, "weeks": 5}
#: Targets of issue 20.
WRONG_TARGET, NOTE_TARGET, ESTIMATE_POINTS = 0.02, 1.0, 5.0


def pick_questions(seed: int, intents: int, history: int, live: int):
    """(intents chosen, history questions, live questions): disjoint, in a seeded order."""
    from core.demo.simulate import load_queries

    rnd = random.Random(seed)
    queries = load_queries()
    names = sorted({q.intent for q in queries})
    rnd.shuffle(names)
    chosen = sorted(names[:intents])
    pool = [q for q in queries if q.intent in set(chosen)]
    rnd.shuffle(pool)
    if history + live > len(pool):
        raise SystemExit(f"only {len(pool)} Banking77 questions for {intents} intents; asked for {history + live}")
    return chosen, pool[:history], pool[history:history + live]


def write_history(path: Path, questions, weeks: int, seed: int) -> None:
    """The resolved starting history in the common JSONL shape, spread over ``weeks`` before START."""
    from bench.autonomy_backtest import BAD_RATING, REOPENED
    from core.demo.simulate import FIRST_NAMES, LAST_NAMES, load_replies

    replies, rnd = load_replies(), random.Random(seed + 1)
    span = timedelta(weeks=weeks).total_seconds()
    moments = sorted(rnd.uniform(0, span) for _ in questions)
    with path.open("w", encoding="utf-8") as out:
        for n, (query, offset) in enumerate(zip(questions, moments, strict=True)):
            first, last, agent = rnd.choice(FIRST_NAMES), rnd.choice(LAST_NAMES), "Sam"
            ticket = {
                "external_id": f"H-{n:05d}", "intent": query.intent, "status": "solved",
                "created_at": (START - timedelta(weeks=weeks) + timedelta(seconds=offset)).isoformat(),
                "requester": {"name": f"{first} {last}"},
                "messages": [{"author_role": "customer", "body": query.text},
                             {"author_role": "agent", "author_name": agent,
                              "body": replies[query.intent]["reply"].format(first_name=first, agent_name=agent)}],
            }
            if rnd.random() < REOPENED:
                ticket["reopen_count"] = 1
            if rnd.random() < BAD_RATING:
                ticket["csat"] = {"score": 1}
            out.write(json.dumps(ticket) + "\n")


def live_tickets(questions, weeks: int, per_week: int, chosen: list[str], seed: int):
    """The live arrivals: ``per_week`` a week at seeded moments, a few in another language."""
    from bench.autonomy_world import OTHER_LANGUAGE, LiveTicket, load_translations
    from core.demo.simulate import FIRST_NAMES, LAST_NAMES

    rnd = random.Random(seed + 2)
    foreign = [(lang, q) for lang, q in load_translations() if q.intent in set(chosen)]
    out = []
    for week in range(weeks):
        start = START + timedelta(weeks=week)
        moments = sorted(rnd.uniform(0, timedelta(weeks=1).total_seconds()) for _ in range(per_week))
        for n, offset in enumerate(moments):
            query, language = questions[week * per_week + n], "en"
            if foreign and rnd.random() < OTHER_LANGUAGE:
                language, query = rnd.choice(foreign)
            out.append(LiveTicket(external_id=f"W{week + 1}-{n:04d}", week=week + 1,
                                  at=start + timedelta(seconds=offset), text=query.text, intent=query.intent,
                                  language=language, first_name=rnd.choice(FIRST_NAMES),
                                  last_name=rnd.choice(LAST_NAMES)))
    return out


def switch_recommended(runtime, thresholds: dict[str, float | None]) -> list[str]:
    """Switch every shadow intent the shadow report recommends to autonomous, with the backtest's
    threshold for it; returns the intents switched."""
    from core.autonomy.policy import Mode
    from core.autonomy.settings import set_mode
    from core.autonomy.shadow_report import shadow_report

    switched = []
    for row in shadow_report(runtime, TENANT).intents:
        if row.recommend_autonomous and row.mode == Mode.SHADOW.value:
            set_mode(runtime, TENANT, row.intent, Mode.AUTONOMOUS, "bench", threshold=thresholds.get(row.intent))
            switched.append(row.intent)
    return switched


def measure(runtime, world, weeks: int, switched_at: dict[str, int], estimates: dict[str, dict]) -> dict:
    """The figures, read from the engine's rows (replies, handoffs) and the helpdesk's record (notes),
    with the simulation's truth (each ticket's real intent) beside them."""
    from sqlalchemy import select

    from bench.simdesk import DESK
    from core.autonomy.handoff import note_is_complete
    from core.store.tables import AutonomyHandoffRow, AutonomyReplyRow, TicketRow

    tenant_id = runtime.db.tenant_id(TENANT)
    with runtime.db.tenant_session(tenant_id) as session:
        external = dict(session.execute(select(TicketRow.id, TicketRow.external_id)).all())
        answers = list(session.execute(select(AutonomyReplyRow.ticket_id, AutonomyReplyRow.intent,
                                              AutonomyReplyRow.outcome, AutonomyReplyRow.solved_at)
                                       .where(AutonomyReplyRow.kind == "answer", AutonomyReplyRow.state == "posted")))
        handoffs = list(session.execute(select(AutonomyHandoffRow.ticket_id, AutonomyHandoffRow.reason,
                                               AutonomyHandoffRow.state)))
    tickets = world.tickets
    handed = {external[t] for t, _, _ in handoffs}
    per_week = {w: {"week": w, "arrivals": 0, "autonomous_replies": 0, "auto_resolved": 0, "wrong_replies": 0,
                    "customer_flagged": 0, "handoffs": Counter(), "notes": 0, "complete_notes": 0}
                for w in range(1, weeks + 1)}
    for ticket in tickets.values():
        per_week[ticket.week]["arrivals"] += 1
    resolved: set[str] = set()
    for ticket_id, intent, outcome, solved_at in answers:
        ticket = tickets[external[ticket_id]]
        row = per_week[ticket.week]
        row["autonomous_replies"] += 1
        row["wrong_replies"] += intent != ticket.intent
        row["customer_flagged"] += outcome in ("negative", "reopened")
        if solved_at is not None and ticket.external_id not in handed and outcome in (None, "confirmed"):
            row["auto_resolved"] += 1
            resolved.add(ticket.external_id)
    for ticket_id, reason, _ in handoffs:
        per_week[tickets[external[ticket_id]].week]["handoffs"][reason] += 1
    for external_id, notes in DESK.notes.items():
        for note, _ in notes:
            row = per_week[tickets[external_id].week]
            row["notes"] += 1
            row["complete_notes"] += note_is_complete(note)
    rows = []
    for row in per_week.values():
        row["auto_resolution_rate"] = round(row["auto_resolved"] / row["arrivals"], 4) if row["arrivals"] else None
        row["handoffs"] = dict(sorted(row["handoffs"].items()))
        rows.append(row)
    return {"weeks": rows, "resolved": resolved, "comparison": compare(tickets, resolved, switched_at, estimates)}


def compare(tickets, resolved: set[str], switched_at: dict[str, int], estimates: dict[str, dict]) -> dict:
    """The backtest's estimate against the live run, on the intents switched on, over the tickets of
    each intent that arrived while it was autonomous: the estimate at the threshold the intent was
    switched on with (the backtest's, else the tenant's default), weighted by those arrivals."""
    per_intent = []
    for intent, week in sorted(switched_at.items()):
        own = [t for t in tickets.values() if t.intent == intent and t.week > week]
        if not own:
            continue
        per_intent.append({"intent": intent, "switched_after_week": week, "tickets": len(own),
                           "auto_resolved": sum(t.external_id in resolved for t in own)})
    return comparison(per_intent, estimates)


def comparison(per_intent: list[dict], estimates: dict[str, dict]) -> dict:
    """The totals of :func:`compare` from its rows (intent, tickets, auto_resolved), with each row's
    backtest figures added from ``estimates`` (the backtest's rows by intent)."""
    from core.autonomy.backtest import rate_at
    from core.autonomy.config import DEFAULT_THRESHOLD

    for row in per_intent:
        estimate = estimates.get(row["intent"], {})
        threshold = estimate.get("threshold")
        used = DEFAULT_THRESHOLD if threshold is None else threshold
        row.update({"backtest_threshold": threshold, "threshold_used": used,
                    "backtest_rate": round(rate_at(estimate.get("curve", []), used), 4)})

    def total(rows: list[dict]) -> dict:
        n = sum(r["tickets"] for r in rows)
        if not n:
            return {"intents": len(rows), "tickets": 0, "estimated": None, "live": None, "points": None}
        estimated = sum(r["backtest_rate"] * r["tickets"] for r in rows) / n
        live = sum(r["auto_resolved"] for r in rows) / n
        return {"intents": len(rows), "tickets": n, "estimated": round(estimated, 4), "live": round(live, 4),
                "points": round(100 * (live - estimated), 1)}

    return {"all_switched": total(per_intent),
            "with_backtest_threshold": total([r for r in per_intent if r["backtest_threshold"] is not None]),
            "default_threshold": total([r for r in per_intent if r["backtest_threshold"] is None]),
            "intents": per_intent}


def chart(rows: list[dict], path: Path, title: str) -> None:
    """The weekly auto-resolution rate as a small hand-made SVG bar chart."""
    width, height, left, bottom, top = 560, 300, 50, 40, 40
    plot_w, plot_h = width - left - 20, height - top - bottom
    peak = max([r["auto_resolution_rate"] or 0 for r in rows] + [0.1])
    scale = max(0.1, -(-peak * 10 // 1) / 10)  # the next 10% up
    bar = plot_w / len(rows)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="14">{title}</text>']
    for step in range(0, 5):
        value = scale * step / 4
        y = top + plot_h - plot_h * value / scale
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 20}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{value:.0%}</text>')
    for n, row in enumerate(rows):
        rate = row["auto_resolution_rate"] or 0
        h = plot_h * rate / scale
        x = left + n * bar + bar * 0.15
        parts.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar * 0.7:.1f}" height="{h:.1f}" '
                     f'fill="#3b7dd8"/>')
        parts.append(f'<text x="{x + bar * 0.35:.1f}" y="{top + plot_h - h - 4:.1f}" text-anchor="middle">'
                     f'{rate:.1%}</text>')
        parts.append(f'<text x="{x + bar * 0.35:.1f}" y="{height - bottom + 16}" text-anchor="middle">'
                     f'week {row["week"]}</text>')
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 20}" y2="{top + plot_h}" stroke="#333"/>')
    parts.append("</svg>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")


def run(args: argparse.Namespace, size: dict, home: Path) -> dict:
    from bench import simdesk
    from bench.autonomy_world import World
    from core.autonomy.backtest import backtest
    from core.autonomy.policy import Mode
    from core.autonomy.settings import configure, set_mode, set_target_precision
    from core.demo.simulate import load_replies
    from core.helpdesk.connections import add_tenant
    from core.ingest.importer import import_file
    from core.runtime import Runtime
    from core.suggesting.replay import retrain

    simdesk.install()
    simdesk.DESK.clear()
    chosen, history, live = pick_questions(args.seed, size["intents"], size["history"],
                                           size["weeks"] * size["per_week"])
    path = home / "history.jsonl"
    write_history(path, history, size["history_weeks"], args.seed)
    runtime = Runtime()
    clocked = time.perf_counter()
    import_file(runtime.db, path, TENANT, show_progress=False)
    add_tenant(runtime, TENANT, simdesk.NAME, "bench.simdesk", {"api_key": "bench"}, {"write_back_tags": False})
    configure(runtime, TENANT, {"status_after_reply": "solved_after_days"}, "bench")
    set_target_precision(runtime, TENANT, args.target_precision, "bench")
    retrain(runtime, TENANT)
    progress(f"history of {len(history)} tickets imported and trained in {time.perf_counter() - clocked:.0f} s")

    clocked = time.perf_counter()
    if args.save_replay:
        from core.autonomy.backtest import replay_history, report, resolved_history
        replayed = replay_history(runtime, TENANT, resolved_history(runtime, TENANT))
        rows = [{**dataclasses.asdict(r), "created_at": str(r.created_at), "right": r.right} for r in replayed]
        args.save_replay.write_text(json.dumps(rows) + "\n", encoding="utf-8")
        tested = {"tenant": TENANT, **report(replayed, args.target_precision)}
    else:
        tested = backtest(runtime, TENANT)
    estimates = {row["intent"]: row for row in tested["intents"]}
    thresholds = {intent: row["threshold"] for intent, row in estimates.items()}
    backtest_seconds = time.perf_counter() - clocked
    progress(f"backtest in {backtest_seconds:.0f} s: {sum(t is not None for t in thresholds.values())} of "
             f"{len(chosen)} intents offered a threshold at {args.target_precision}")
    for intent in chosen:
        set_mode(runtime, TENANT, intent, Mode.SHADOW, "bench")

    world = World(runtime, TENANT, load_replies(), random.Random(args.seed + 3))
    for ticket in live_tickets(live, size["weeks"], size["per_week"], chosen, args.seed):
        world.arrive(ticket)
    end = START + timedelta(weeks=size["weeks"])
    day = START + timedelta(days=1)
    while day <= end + timedelta(days=4):
        world.at(day, lambda day=day: world.sweep(day))
        day += timedelta(days=1)
    switched_at: dict[str, int] = {}
    autonomous_in: dict[int, int] = {}
    for week in range(1, size["weeks"] + 1):
        autonomous_in[week] = len(switched_at)
        clocked = time.perf_counter()
        world.run_until(START + timedelta(weeks=week))
        retrain(runtime, TENANT)
        for intent in switch_recommended(runtime, thresholds):
            switched_at[intent] = week
        progress(f"week {week}: {size['per_week']} arrivals in {time.perf_counter() - clocked:.0f} s; "
                 f"{len(switched_at)} intents autonomous")
    world.run_until(end + timedelta(days=5))  # the last week's replies get their answers and sweeps
    found = measure(runtime, world, size["weeks"], switched_at, estimates)
    runtime.close()
    for row in found["weeks"]:
        row["intents_autonomous"] = autonomous_in[row["week"]]
    weeks = found["weeks"]
    replies = sum(r["autonomous_replies"] for r in weeks)
    wrong = sum(r["wrong_replies"] for r in weeks)
    notes = sum(r["notes"] for r in weeks)
    complete = sum(r["complete_notes"] for r in weeks)
    return {
        "seed": args.seed, "quick": args.quick, "target_precision": args.target_precision, **size,
        "weeks_simulated": size["weeks"], "live_tickets": len(world.tickets),
        "other_language_tickets": sum(t.language != "en" for t in world.tickets.values()),
        "backtest": {"seconds": round(backtest_seconds, 1),
                     "intents_offered": sum(t is not None for t in thresholds.values()),
                     "estimated_auto_resolution": tested["auto_resolution_rate"],
                     "estimated_wrong_reply_share": tested["wrong_reply_share"]},
        "switched": [{"intent": i, "after_week": w, "threshold": thresholds.get(i)}
                     for i, w in sorted(switched_at.items())],
        "weeks": weeks,
        "totals": {
            "autonomous_replies": replies, "wrong_replies": wrong,
            "wrong_reply_rate": round(wrong / replies, 4) if replies else None,
            "customer_flagged": sum(r["customer_flagged"] for r in weeks),
            "auto_resolved": sum(r["auto_resolved"] for r in weeks),
            "handoffs": dict(sum((Counter(r["handoffs"]) for r in weeks), Counter())),
            "notes": notes, "complete_notes": complete,
            "complete_note_share": round(complete / notes, 4) if notes else None,
        },
        "comparison": found["comparison"],
    }


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def show(summary: dict) -> None:
    t = summary["totals"]
    print(f"{summary['live_tickets']:,} live tickets over {summary['weeks_simulated']} weeks after a history of "
          f"{summary['history']:,} ({summary['intents']} Banking77 intents, seed {summary['seed']}, target precision "
          f"{summary['target_precision']}); {summary['other_language_tickets']} written in German, French or Spanish")
    b = summary["backtest"]
    print(f"backtest: {b['intents_offered']} of {summary['intents']} intents offered a threshold; estimated "
          f"auto-resolution {pct(b['estimated_auto_resolution'])}, "
          f"wrong replies {pct(b['estimated_wrong_reply_share'])}")
    print(f"{'week':>4} {'arrivals':>8} {'auto intents':>12} {'auto replies':>12} {'auto-resolved':>13} "
          f"{'rate':>6} {'wrong':>5} {'notes ok':>9}  handoffs by reason")
    for r in summary["weeks"]:
        reasons = ", ".join(f"{k} {v}" for k, v in r["handoffs"].items()) or "-"
        print(f"{r['week']:>4} {r['arrivals']:>8} {r['intents_autonomous']:>12} {r['autonomous_replies']:>12} "
              f"{r['auto_resolved']:>13} {pct(r['auto_resolution_rate']):>6} {r['wrong_replies']:>5} "
              f"{r['complete_notes']:>4}/{r['notes']:<4}  {reasons}")
    print(f"wrong-reply rate of autonomous replies: {pct(t['wrong_reply_rate'], 2)} ({t['wrong_replies']} of "
          f"{t['autonomous_replies']}; the customer said so on {t['customer_flagged']}) — target at most "
          f"{WRONG_TARGET:.0%}")
    print(f"handoffs with a complete note: {pct(t['complete_note_share'], 2)} ({t['complete_notes']} of {t['notes']}) "
          f"— target {NOTE_TARGET:.0%}")
    show_comparison(summary["comparison"])
    switched = ", ".join(f"{s['intent']} (week {s['after_week']}, threshold "
                         f"{'default' if s['threshold'] is None else s['threshold']})" for s in summary["switched"])
    print(f"switched autonomous: {switched or 'none'}")


def show_comparison(found: dict) -> None:
    for label, key in (("intents switched on", "all_switched"),
                       ("those the backtest offered a threshold", "with_backtest_threshold"),
                       ("those switched on at the default threshold", "default_threshold")):
        c = found.get(key)
        if c is None:
            continue
        print(f"backtest estimate vs live, {label} ({c['intents']} intents, {c['tickets']} tickets while on): "
              f"estimated {pct(c['estimated'])}, live {pct(c['live'])}, "
              f"{points(c['points'])} points "
              f"— target within {ESTIMATE_POINTS:.0f}")


def reestimate(saved: Path, replay: Path) -> dict:
    """The comparison of a saved run (``--save``) again, with the backtest's report made by the
    current code from that run's saved replay (``--save-replay``): the live run does not depend on
    how the estimate is read from the replay, so a change of the estimate is measured without
    simulating the eight weeks again."""
    from datetime import datetime as moment

    from core.autonomy.backtest import Replayed, report

    summary = json.loads(saved.read_text(encoding="utf-8"))
    fields = {f.name for f in dataclasses.fields(Replayed)}
    replayed = [Replayed(**{**{k: v for k, v in row.items() if k in fields},
                            "created_at": None if row["created_at"] in (None, "None")
                            else moment.fromisoformat(row["created_at"])})
                for row in json.loads(replay.read_text(encoding="utf-8"))]
    tested = report(replayed, summary["target_precision"])
    rows = [{k: r[k] for k in ("intent", "switched_after_week", "tickets", "auto_resolved")}
            for r in summary["comparison"]["intents"]]
    return {"seed": summary["seed"], "estimated_auto_resolution": tested["auto_resolution_rate"],
            "comparison": comparison(rows, {row["intent"]: row for row in tested["intents"]})}


def points(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1f}"


def pct(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}%}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="A smoke run: a few intents, a small history.")
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--weeks", type=int, help="Live weeks (8; 5 in --quick).")
    parser.add_argument("--target-precision", type=float, default=0.8,
                        help="The tenant's target precision (the backtest's and the shadow report's).")
    parser.add_argument("--history", type=int, help="Tickets in the starting history.")
    parser.add_argument("--per-week", type=int, help="Live arrivals a week.")
    parser.add_argument("--intents", type=int, help="Banking77 intents the tenant sees (of 77).")
    parser.add_argument("--chart", type=Path, help="Where the SVG chart goes (default docs/autonomy-weeks.svg; "
                                                   "none in --quick unless given).")
    parser.add_argument("--json", action="store_true", help="Print one JSON object only.")
    parser.add_argument("--save-replay", type=Path, help="Also write the backtest's replayed tickets (JSON) here.")
    parser.add_argument("--save", type=Path, help="Also write the JSON object to this file.")
    parser.add_argument("--reestimate", type=Path, nargs=2, metavar=("SAVED", "REPLAY"),
                        help="Only compare a saved run (--save) again, estimating from its saved replay "
                             "(--save-replay) with the current backtest code.")
    args = parser.parse_args()
    if args.reestimate:
        again = reestimate(*args.reestimate)
        if args.json:
            print(json.dumps(again))
        else:
            print(f"seed {again['seed']}: estimated auto-resolution {pct(again['estimated_auto_resolution'])}")
            show_comparison(again["comparison"])
        return 0
    size = dict(QUICK if args.quick else FULL)
    for key in ("history", "per_week", "intents", "weeks"):
        if getattr(args, key) is not None:
            size[key] = getattr(args, key)
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="deskloop-weeks-") as home:
        os.environ["DESKLOOP_HOME"] = home
        # The exported encoder is kept between runs, as the other benchmarks keep theirs.
        os.environ.setdefault("DESKLOOP_ENCODER_DIR", str(Path(tempfile.gettempdir()) / "deskloop-bench-encoders"))
        os.environ["DESKLOOP_SECRET_KEY"] = secrets.token_urlsafe(32)  # the throwaway home's own
        for name in ("DESKLOOP_DATABASE_URL", "DESKLOOP_REDIS_URL"):
            os.environ.pop(name, None)
        started = time.perf_counter()
        summary = run(args, size, Path(home))
        summary["seconds"] = round(time.perf_counter() - started, 1)
    target = args.chart or (None if args.quick else ROOT / "docs" / "autonomy-weeks.svg")
    if target is not None:
        chart(summary["weeks"], target, f"Auto-resolution rate per week ({summary['live_tickets']:,} simulated "
                                        f"tickets, target precision {args.target_precision})")
    if args.save:
        args.save.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(summary))
    else:
        show(summary)
        print(f"({summary['seconds']:.0f} s{'; chart: ' + str(target) if target else ''})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
