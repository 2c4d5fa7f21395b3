"""The weekly digest as plain lines: what ``deskloop insights digest`` prints."""

from __future__ import annotations

from collections.abc import Iterator

from core.insights.digest import WeeklyDigest


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.0%}"


def digest_lines(digest: WeeklyDigest) -> Iterator[str]:
    yield f"{digest.tenant}: weekly digest {digest.week} ({digest.starts:%Y-%m-%d} to {digest.ends:%Y-%m-%d})"
    if digest.churn_risks is not None:
        yield f"churn risks: {len(digest.churn_risks)}"
        for r in digest.churn_risks:
            yield f"  {r.account}: {r.score:g}; " + "; ".join(r.reasons)
    if digest.rising_capabilities is not None:
        yield f"rising feature requests: {len(digest.rising_capabilities)}"
        for c in digest.rising_capabilities:
            yield f"  {c.label}: {c.requests_this_week} this week, {c.trend} ({c.last_4_weeks} in 4 weeks)"
    if digest.knowledge_gaps is not None:
        yield f"knowledge gaps: {len(digest.knowledge_gaps)}"
        for g in digest.knowledge_gaps:
            yield f"  {g.label} ({g.score:g}): " + "; ".join(g.reasons)
    if digest.incidents is not None:
        yield f"spikes opened: {len(digest.incidents)}"
        for i in digest.incidents:
            yield (f"  {i.category}: {i.observed} observed, ~{i.expected:.0f} expected"
                   + (f", after deploy {i.deploy}" if i.deploy else ""))
    if digest.learning is not None:
        loop = digest.learning
        yield ("learning loop: signals " + (", ".join(f"{k} {n}" for k, n in loop.signals_by_kind.items()) or "none")
               + f"; drafts sent unchanged {loop.sent_unchanged} of {loop.drafts_sent} ({_percent(loop.acceptance)})")
        for w in loop.trend:
            yield f"  {w.week}: acceptance {_percent(w.acceptance)}, accuracy {_percent(w.accuracy)}"
    for note in digest.notes:
        yield f"left out: {note}"
