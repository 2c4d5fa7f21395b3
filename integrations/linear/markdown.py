"""The incident as Linear Markdown (issue title, description, comments): pure, tested without Linear.

User text (category, subjects, service names) has Markdown's active characters escaped, so a
ticket subject cannot turn into a link, an image or a mention.
"""

from __future__ import annotations

import re

from core.insights.incidents import Incident

TITLE_LIMIT = 255
_ACTIVE = re.compile(r"([\\`*_{}\[\]<>()#+!|~@])")


def escape(text: str) -> str:
    return _ACTIVE.sub(r"\\\1", text.replace("\n", " "))


def link(url: str) -> str:
    """A URL safe inside Markdown's ``(…)``: a ``)`` or a space would end it early."""
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


def title(incident: Incident) -> str:
    text = f"Spike: {incident.category} ({incident.observed} tickets vs ~{incident.expected:.0f} expected)"
    return text if len(text) <= TITLE_LIMIT else text[: TITLE_LIMIT - 1] + "…"


def evidence(incident: Incident) -> str:
    """Observed versus expected, since when, example tickets, the deploy, the insights page."""
    lines = [
        f"**{escape(incident.category)}**: {incident.observed} tickets in {incident.window_hours:g} h, "
        f"~{incident.expected:.0f} expected.",
        f"Since {incident.started_at:%Y-%m-%d %H:%M} UTC"
        + (f", ended {incident.ended_at:%Y-%m-%d %H:%M} UTC." if incident.ended_at else "."),
    ]
    if incident.area:
        owner = f" (owner {escape(incident.owner)})" if incident.owner else ""
        lines.append(f"Area: {escape(incident.area)}{owner}")
    if incident.related:
        lines.append("Also seen as: " + ", ".join(f"{r.kind} {escape(r.category)}" for r in incident.related))
    if incident.examples:
        lines.append("\nExample tickets:")
        lines += [f"- [{escape(e.subject)}]({link(e.url)})" if e.url else f"- {escape(e.subject)}"
                  for e in incident.examples]
    if incident.deploy is not None:
        d = incident.deploy
        name = f"{escape(d.service)} {escape(d.version)}"
        lead = f", {incident.deploy_lead_minutes:.0f} min before it started" if incident.deploy_lead_minutes else ""
        lines.append(f"\nDeploy: {f'[{name}]({link(d.link)})' if d.link else name}{lead}")
    if incident.page_url:
        lines.append(f"\n[Open the insights page]({link(incident.page_url)})")
    return "\n".join(lines)


def comment(incident: Incident, kind: str, recurred: bool = False) -> str:
    heading = ("Recurred" if recurred else {"grew": "Grew", "ended": "Ended"}.get(kind, "Update"))
    return f"**{heading}** ({incident.updated_at:%Y-%m-%d %H:%M} UTC)\n\n{evidence(incident)}"
