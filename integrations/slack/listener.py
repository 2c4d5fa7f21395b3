"""The ``slack-alert`` listener: a job per incident change that posts or updates one message.

Idempotent: what was posted (channel, ts) is recorded right after Slack answers, and each job
first looks there, so a retried job updates the message instead of posting a second one; a
change already applied (same occurrence key) is skipped. An ``opened`` job that finds a message
already posted (a later change's job ran first) leaves it alone, as does growth after the end.
"""

from __future__ import annotations

import logging
from datetime import UTC
from typing import Any

from core.dispatch.listeners import Occurrence, listen
from core.insights.incidents import INCIDENT_KINDS, Incident
from core.notify.contract import NotifierRejected, NotifierUnauthorized
from core.notify.store import Notifier, PostedAlert, has_notifier, load_notifier, posted_alert, remember_posted
from core.runtime import Runtime

log = logging.getLogger(__name__)

KIND = "slack"


def wanted(runtime: Runtime, occurrence: Occurrence) -> bool:
    return has_notifier(runtime, occurrence.tenant, KIND)


@listen("slack-alert", "incident", kinds=INCIDENT_KINDS, as_job=True, wanted=wanted)
def alert(runtime: Runtime, occurrence: Occurrence) -> dict[str, Any]:
    from integrations.slack.client import SlackClient
    from integrations.slack.message import build_message

    incident = Incident.model_validate(occurrence.data)
    posted = posted_alert(runtime, occurrence.tenant, KIND, incident.incident_id)
    if posted is not None and posted.ref is not None and (
            posted.last_key == occurrence.key or occurrence.kind == "opened"
            or (posted.ended_at is not None and occurrence.kind != "ended")):
        return {"skipped": "already applied", "ts": posted.ref}
    notifier = load_notifier(runtime, occurrence.tenant, KIND)
    client = SlackClient(notifier)
    try:
        message = build_message(incident, client.mention(incident.owner))
        if posted is not None and posted.ref is not None:
            channel, ts = posted.target, posted.ref
            client.update(channel, ts, message)
        else:
            channel, ts = _post_once(runtime, client, notifier, incident, posted, message, occurrence)
    except (NotifierUnauthorized, NotifierRejected) as exc:  # retrying will not help: say so, once
        log.error("slack alert for incident %s of tenant %s failed for good: %s (check the bot token and channel: "
                  "`deskloop notifier add slack --tenant %s --replace ...`)", incident.incident_id,
                  occurrence.tenant, exc, occurrence.tenant)
        return {"failed": type(exc).__name__, "reason": str(exc)}
    remember_posted(runtime, occurrence.tenant, KIND, incident.incident_id, incident.category, channel, ts, None,
                    occurrence.key, ended_at=incident.ended_at)
    return {"posted" if posted is None else "updated": ts, "channel": channel}


def _post_once(runtime: Runtime, client, notifier: Notifier, incident: Incident, posted: PostedAlert | None,
               message: dict[str, Any], occurrence: Occurrence) -> tuple[str, str]:
    """Post the incident's message unless an earlier try already did. The attempt is recorded
    before posting; a retry that finds the record without a ts looks for the message (tagged with
    the incident in its metadata) and updates it rather than posting a second one."""
    if posted is None:
        channel = notifier.settings["channel"]
        remember_posted(runtime, occurrence.tenant, KIND, incident.incident_id, incident.category, channel, None,
                        None, None)
    else:
        channel = posted.target
        tried = posted.posted_at if posted.posted_at.tzinfo else posted.posted_at.replace(tzinfo=UTC)  # SQLite
        found = client.find_posted(channel, incident.incident_id, since=tried.timestamp() - 60)
        if found is not None:
            client.update(channel, found, message)
            return channel, found
    return client.post(channel, message, incident.incident_id)
