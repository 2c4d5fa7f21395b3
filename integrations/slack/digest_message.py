"""The weekly digest as one Block Kit message: pure, so the layout is tested without Slack.

A header, one section per part of the digest that has something to say, and a context line
with the notes on parts left out. Organization names, capability and gap labels and categories
are escaped (:func:`integrations.slack.message.escape`), so none can forge a mention or a link;
the digest itself carries no requester's details or message text.
"""

from __future__ import annotations

from typing import Any

from core.insights.digest import WeeklyDigest
from integrations.slack.message import HEADER_LIMIT, TEXT_LIMIT, _cut, _lines, escape


def _percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate:.0%}"


def _sections(digest: WeeklyDigest) -> list[tuple[str, list[str]]]:
    parts: list[tuple[str, list[str]]] = []
    if digest.churn_risks:
        parts.append(("*Churn risks*", [f"• *{escape(r.account)}* {r.score:g}: " + escape("; ".join(r.reasons))
                                        for r in digest.churn_risks]))
    if digest.rising_capabilities:
        parts.append(("*Rising feature requests*", [
            f"• {escape(c.label)}: {c.requests_this_week} this week ({c.trend}, {c.last_4_weeks} in 4 weeks)"
            for c in digest.rising_capabilities]))
    if digest.knowledge_gaps:
        parts.append(("*Knowledge gaps*", [f"• {escape(g.label)} ({g.score:g}): " + escape("; ".join(g.reasons[:2]))
                                           for g in digest.knowledge_gaps]))
    if digest.incidents:
        parts.append(("*Spikes this week*", [
            f"• {escape(i.category)}: {i.observed} tickets, ~{i.expected:.0f} expected"
            + (f" (after deploy {escape(i.deploy)})" if i.deploy else "") for i in digest.incidents]))
    if digest.learning is not None:
        loop = digest.learning
        kinds = ", ".join(f"{escape(k)} {n}" for k, n in loop.signals_by_kind.items()) or "none"
        trend = " → ".join(_percent(w.acceptance) for w in loop.trend)
        parts.append(("*Learning loop*", [f"• Signals: {kinds}",
                                          f"• Drafts sent unchanged: {loop.sent_unchanged} of {loop.drafts_sent} "
                                          f"({_percent(loop.acceptance)})",
                                          f"• Acceptance, last {len(loop.trend)} weeks: {trend}"]))
    return parts


def digest_summary(digest: WeeklyDigest) -> str:
    """The fallback text: what a notification says."""
    return _cut(f"Weekly digest {digest.week}: {len(digest.churn_risks or [])} churn risk(s), "
                f"{len(digest.rising_capabilities or [])} rising request(s), {len(digest.incidents or [])} spike(s)",
                TEXT_LIMIT)


def build_digest_message(digest: WeeklyDigest) -> dict[str, Any]:
    """``{"text": …, "blocks": […]}`` for chat.postMessage."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(f"Weekly digest {digest.week}", HEADER_LIMIT)}}]
    for heading, lines in _sections(digest):
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _lines(heading, lines)}})
    if digest.notes:
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": _cut(escape("Left out: " + "; ".join(digest.notes)), TEXT_LIMIT)}]})
    return {"text": digest_summary(digest), "blocks": blocks[:50]}
