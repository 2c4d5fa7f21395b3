"""``deskloop simulate --incidents N``: the histories the spike benchmark measures, as files a tenant
can import, so anyone can watch Deskloop find (or miss) the incidents planted in them.

The arrivals come from :func:`core.demo.incidents.simulate` (the benchmark's own generator); each
becomes a ticket of the demo simulator, worded by a Banking77 query of its category's intent. The
categories are the 16 intents with the most queries, busiest first. Beside the history go the
deploy markers (JSONL, one ``deskloop deploy mark --from`` reads) and the planted incidents (CSV:
the truth to compare alerts against). The history ends on the Monday 00:00 UTC at or before the
day after ``end``, so no ticket lies in the future.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from core.demo.incidents import PEAK_RATES, simulate
from core.demo.simulate import HistorySimulator, Query, load_queries


@dataclass(frozen=True)
class IncidentHistoryFiles:
    tickets: int
    incidents: Path
    deploys: Path


def incidents_path_for(history: Path) -> Path:
    return history.with_suffix(".incidents.csv")


def deploys_path_for(history: Path) -> Path:
    return history.with_suffix(".deploys.jsonl")


def _start(weeks: int, end: date | None) -> datetime:
    last = (end or datetime.now(UTC).date()) + timedelta(days=1)
    monday = last - timedelta(days=last.weekday())
    return datetime.combine(monday, time(0), tzinfo=UTC) - timedelta(weeks=weeks)


def _categories() -> tuple[list[str], dict[str, list[Query]]]:
    by_intent: dict[str, list[Query]] = defaultdict(list)
    for query in load_queries():
        by_intent[query.intent].append(query)
    busiest = sorted(by_intent, key=lambda intent: (-len(by_intent[intent]), intent))[:len(PEAK_RATES)]
    return busiest, by_intent


def write_incident_history(out: Path, seed: int = 7, weeks: int = 7, incidents: int = 3, busy: bool = False,
                           end: date | None = None) -> IncidentHistoryFiles:
    """Write the history, its deploy markers and its planted incidents (``incidents`` 0: a quiet one)."""
    history = simulate(seed, weeks=weeks, incidents=incidents, busy=busy)
    start = _start(weeks, end)
    intents, queries = _categories()
    tickets = HistorySimulator(seed=seed, weeks=weeks, end=end)
    arrivals = sorted((int(minute), category) for category, found in enumerate(history.arrivals) for minute in found)
    newest = start + timedelta(minutes=arrivals[-1][0]) if arrivals else start
    written = 0
    with out.open("w", encoding="utf-8") as handle:
        for number, (minute, category) in enumerate(arrivals, start=1):
            query = tickets.random.choice(queries[intents[category]])
            ticket = tickets.ticket(number, query, start + timedelta(minutes=minute), newest)
            handle.write(json.dumps(ticket, ensure_ascii=False) + "\n")
            written += 1
    deploys = deploys_path_for(out)
    with deploys.open("w", encoding="utf-8") as handle:
        for number, minute in enumerate(history.deploys, start=1):
            handle.write(json.dumps({"service": "api", "version": f"v{number}",
                                     "deployed_at": (start + timedelta(minutes=minute)).isoformat()}) + "\n")
    planted = incidents_path_for(out)
    with planted.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["intent", "started_at", "minutes", "multiplier", "extra_tickets", "deploy_at"])
        for incident in history.incidents:
            deploy = (start + timedelta(minutes=incident.deploy_minute)).isoformat() \
                if incident.deploy_minute is not None else ""
            writer.writerow([intents[incident.category], (start + timedelta(minutes=incident.start_minute)).isoformat(),
                             incident.minutes, f"{incident.multiplier:.2f}", incident.extra, deploy])
    return IncidentHistoryFiles(written, planted, deploys)
