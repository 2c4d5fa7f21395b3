"""The ``slack-alert`` listener: a job per incident change that posts or updates one message.

Idempotent: what was posted (channel, ts) is recorded right after Slack answers, and each job
first looks there, so a retried job updates the message instead of posting a second one; a
change already applied (same occurrence key) is skipped. An ``opened`` job that finds a message
already posted (a later change's job ran first) leaves it alone, as does growth after the end.
"""

from __future__ import annotations

import logging
from typing import Any

from core.dispatch.listeners import Occurrence, listen
from core.insights.incidents import INCIDENT_KINDS, Incident
from core.notify.contract import NotifierRejected, NotifierUnauthorized
from core.notify.store import has_notifier, load_notifier, posted_alert, remember_posted
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
    if posted is not None and (posted.last_key == occurrence.key or occurrence.kind == "opened"
                               or (posted.ended_at is not None and occurrence.kind != "ended")):
        return {"skipped": "already applied", "ts": posted.ref}
    notifier = load_notifier(runtime, occurrence.tenant, KIND)
    client = SlackClient(notifier)
    try:
        message = build_message(incident, client.mention(incident.owner))
        if posted is None:
            channel, ts = client.post(notifier.settings["channel"], message)
        else:
            channel, ts = posted.target, str(posted.ref)
            client.update(channel, ts, message)
    except (NotifierUnauthorized, NotifierRejected) as exc:  # retrying will not help: say so, once
        log.error("slack alert for incident %s of tenant %s failed for good: %s (check the bot token and channel: "
                  "`deskloop notifier add slack --tenant %s --replace ...`)", incident.incident_id,
                  occurrence.tenant, exc, occurrence.tenant)
        return {"failed": type(exc).__name__, "reason": str(exc)}
    remember_posted(runtime, occurrence.tenant, KIND, incident.incident_id, incident.category, channel, ts, None,
                    occurrence.key, ended_at=incident.ended_at)
    return {"posted" if posted is None else "updated": ts, "channel": channel}
