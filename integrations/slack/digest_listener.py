"""The ``slack-digest`` listener: one Block Kit message per weekly digest in the tenant's channel,
for a tenant whose Slack notifier has ``digest=on``.

Never posted twice: the attempt is recorded (a posted-alert row under the digest's key) before
posting and the message's ts right after; a retried job that finds the ts posts nothing, and one
that finds only the attempt looks for the message (tagged with the key in its metadata) first.
"""

from __future__ import annotations

import logging
from datetime import UTC
from typing import Any

from core.dispatch.listeners import Occurrence, listen
from core.notify.contract import NotifierRejected, NotifierUnauthorized
from core.notify.store import has_notifier, load_notifier, posted_alert, remember_posted
from core.runtime import Runtime

log = logging.getLogger(__name__)

KIND = "slack"
DIGEST_SETTING = "digest"


def wanted(runtime: Runtime, occurrence: Occurrence) -> bool:
    return (has_notifier(runtime, occurrence.tenant, KIND)
            and load_notifier(runtime, occurrence.tenant, KIND).settings.get(DIGEST_SETTING) == "on")


@listen("slack-digest", "digest", kinds=("weekly",), as_job=True, wanted=wanted)
def post_digest(runtime: Runtime, occurrence: Occurrence) -> dict[str, Any]:
    from core.insights.digest import WeeklyDigest
    from integrations.slack.client import SlackClient
    from integrations.slack.digest_message import build_digest_message

    notifier = load_notifier(runtime, occurrence.tenant, KIND)
    if notifier.settings.get(DIGEST_SETTING) != "on":  # turned off since the job was queued
        return {"skipped": "digest is off"}
    key = occurrence.key
    posted = posted_alert(runtime, occurrence.tenant, KIND, key)
    if posted is not None and posted.ref is not None:
        return {"skipped": "already posted", "ts": posted.ref}
    digest = WeeklyDigest.model_validate(occurrence.data)
    client = SlackClient(notifier)
    message = build_digest_message(digest)
    try:
        if posted is None:
            channel = notifier.settings["channel"]
            remember_posted(runtime, occurrence.tenant, KIND, key, "digest", channel, None, None, None)
            found = None
        else:
            channel = posted.target
            tried = posted.posted_at if posted.posted_at.tzinfo else posted.posted_at.replace(tzinfo=UTC)  # SQLite
            found = client.find_posted(channel, key, since=tried.timestamp() - 60)
        ts = found if found is not None else client.post(channel, message, key)[1]
    except (NotifierUnauthorized, NotifierRejected) as exc:  # retrying will not help: say so, once
        log.error("slack digest %s failed for good: %s (check the bot token and channel: "
                  "`deskloop notifier add slack --tenant %s --replace ...`)", key, exc, occurrence.tenant)
        return {"failed": type(exc).__name__, "reason": str(exc)}
    remember_posted(runtime, occurrence.tenant, KIND, key, "digest", channel, ts, None, key)
    return {"posted": ts, "channel": channel}
