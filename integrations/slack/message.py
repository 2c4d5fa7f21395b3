"""The incident as a Block Kit message: pure, so the layout is tested without Slack.

Slack's limits (docs.slack.dev, checked against slack-sdk 3.43): 50 blocks, 150 characters in a
header, 3,000 in a section's text, 10 fields, and the fallback ``text`` (notifications, screen
readers) is always sent. User text (category, subjects, service names) is escaped ``& < >``
so it cannot forge a mention or a link.
"""

from __future__ import annotations

from typing import Any

from core.insights.incidents import Incident

HEADER_LIMIT, SECTION_LIMIT, TEXT_LIMIT = 150, 3000, 3000


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str) -> str:
    """A URL safe inside ``<url|text>``: escaped, and a ``|`` would end it early."""
    return escape(url).replace("|", "%7C")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _when(incident: Incident) -> str:
    started = incident.started_at
    return f"<!date^{int(started.timestamp())}^{{date_short_pretty}} {{time}}|{started:%Y-%m-%d %H:%M} UTC>"


def summary(incident: Incident) -> str:
    """The fallback text: what a notification says."""
    state = "ended" if incident.ended_at else "ongoing"
    return _cut(f"Spike in {escape(incident.category)} ({state}): {incident.observed} tickets in "
                f"{incident.window_hours:g} h, ~{incident.expected:.0f} expected", TEXT_LIMIT)


def build_message(incident: Incident, owner_mention: str | None) -> dict[str, Any]:
    """``{"text": …, "blocks": […]}`` for chat.postMessage and chat.update alike."""
    title = ("Ended: " if incident.ended_at else "Spike: ") + incident.category
    fields = [
        f"*Observed*\n{incident.observed} tickets in {incident.window_hours:g} h",
        f"*Expected*\n~{incident.expected:.0f}",
        f"*Since*\n{_when(incident)}",
    ]
    if incident.ended_at:
        fields.append(f"*Ended*\n{incident.ended_at:%Y-%m-%d %H:%M} UTC")
    if incident.area:
        fields.append(f"*Area*\n{escape(incident.area)}")
    if owner_mention:
        fields.append(f"*Owner*\n{owner_mention}")
    if incident.related:
        fields.append("*Also seen as*\n" + ", ".join(f"{r.kind} {escape(r.category)}" for r in incident.related))
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(title, HEADER_LIMIT)}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": _cut(f, 2000)} for f in fields[:10]]},
    ]
    examples = [f"• <{link(e.url)}|{escape(e.subject)}>" if e.url else f"• {escape(e.subject)}"
                for e in incident.examples]
    if examples:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _lines("*Example tickets*", examples)}})
    if incident.deploy is not None:
        d = incident.deploy
        name = f"{escape(d.service)} {escape(d.version)}"
        name = f"<{link(d.link)}|{name}>" if d.link else name
        lead = f", {incident.deploy_lead_minutes:.0f} min before it started" if incident.deploy_lead_minutes else ""
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(f"Deploy: {name}{lead}",
                                                                                        TEXT_LIMIT)}]})
    if incident.page_url:
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": _cut(f"<{link(incident.page_url)}|Open the insights page>", TEXT_LIMIT)}]})
    return {"text": summary(incident), "blocks": blocks[:50]}


def _lines(heading: str, lines: list[str]) -> str:
    """``heading`` and as many whole lines as fit in a section."""
    text = heading
    for line in lines:
        if len(text) + 1 + len(line) > SECTION_LIMIT:
            break
        text += "\n" + line
    return text
