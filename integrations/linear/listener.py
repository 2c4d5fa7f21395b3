"""The ``linear-alert`` listener: a job per incident change that opens one issue or comments on it.

Idempotent without trusting our own bookkeeping alone: the issue's id and each comment's id are
UUIDs derived from the incident (and change), so a job retried after Linear created them but
before we recorded it finds them by id instead of creating duplicates.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import timedelta
from typing import Any

from core.dispatch.listeners import Occurrence, listen
from core.insights.incidents import INCIDENT_KINDS, Incident
from core.notify.contract import NotifierRejected, NotifierUnauthorized
from core.notify.store import (
    Notifier,
    PostedAlert,
    has_notifier,
    load_notifier,
    posted_alert,
    recently_ended,
    remember_posted,
)
from core.runtime import Runtime

log = logging.getLogger(__name__)

KIND = "linear"


def stable_id(*parts: str) -> str:
    """A UUID v4-shaped id that is the same for the same parts (issueCreate and commentCreate take
    the client's own ``id``)."""
    digest = hashlib.sha256("\x1f".join(("deskloop-linear", *parts)).encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def wanted(runtime: Runtime, occurrence: Occurrence) -> bool:
    return has_notifier(runtime, occurrence.tenant, KIND)


@listen("linear-alert", "incident", kinds=INCIDENT_KINDS, as_job=True, wanted=wanted)
def alert(runtime: Runtime, occurrence: Occurrence) -> dict[str, Any]:
    from integrations.linear.client import LinearClient

    incident = Incident.model_validate(occurrence.data)
    posted = posted_alert(runtime, occurrence.tenant, KIND, incident.incident_id)
    if posted is not None and (posted.last_key == occurrence.key or occurrence.kind == "opened"):
        return {"skipped": "already applied", "issue": posted.ref}
    notifier = load_notifier(runtime, occurrence.tenant, KIND)
    client = LinearClient(notifier)
    try:
        if posted is None:
            return _open(runtime, client, notifier, incident, occurrence)
        _comment(client, posted.target, incident, occurrence, recurred=False)
        remember_posted(runtime, occurrence.tenant, KIND, incident.incident_id, incident.category, posted.target,
                        posted.ref, posted.url, occurrence.key, ended_at=incident.ended_at)
        return {"commented": posted.ref}
    except (NotifierUnauthorized, NotifierRejected) as exc:  # retrying will not help: say so, once
        log.error("linear alert for incident %s of tenant %s failed for good: %s (check the API key and team ids: "
                  "`deskloop notifier add linear --tenant %s --replace ...`)", incident.incident_id,
                  occurrence.tenant, exc, occurrence.tenant)
        return {"failed": type(exc).__name__, "reason": str(exc)}


def _open(runtime: Runtime, client, notifier: Notifier, incident: Incident, occurrence: Occurrence) -> dict[str, Any]:
    earlier: PostedAlert | None = recently_ended(runtime, occurrence.tenant, KIND, incident.category,
                                                 timedelta(days=int(notifier.settings.get("cooldown_days", 7))))
    if earlier is not None:  # the same category again soon after: continue the earlier issue
        if notifier.settings.get("reopen_state"):  # setting the same state again is harmless on a retry
            client.update_issue(earlier.target, {"stateId": notifier.settings["reopen_state"]})
        _comment(client, earlier.target, incident, occurrence, recurred=True)
        remember_posted(runtime, occurrence.tenant, KIND, incident.incident_id, incident.category, earlier.target,
                        earlier.ref, earlier.url, occurrence.key, ended_at=incident.ended_at)
        return {"reopened": earlier.ref}
    from integrations.linear.markdown import evidence, title

    issue_id = stable_id(occurrence.tenant, incident.incident_id)
    fields: dict[str, Any] = {"id": issue_id, "title": title(incident), "description": evidence(incident),
                              "teamId": notifier.settings.get("teams", {}).get(incident.area or "")
                              or notifier.settings["default_team"]}
    owner = client.user_id(incident.owner) if incident.owner else None
    if owner is not None and notifier.settings.get("owner_role") == "subscriber":
        fields["subscriberIds"] = [owner]
    elif owner is not None:
        fields["assigneeId"] = owner
    try:
        issue = client.create_issue(fields)
    except NotifierRejected:
        issue = client.issue(issue_id)  # created by an earlier try of this job whose answer was lost
        if issue is None:
            raise
    remember_posted(runtime, occurrence.tenant, KIND, incident.incident_id, incident.category, issue["id"],
                    issue.get("identifier"), issue.get("url"), occurrence.key, ended_at=incident.ended_at)
    return {"created": issue.get("identifier"), "assigned": owner is not None}


def _comment(client, issue_id: str, incident: Incident, occurrence: Occurrence, recurred: bool) -> None:
    from integrations.linear.markdown import comment

    comment_id = stable_id(occurrence.tenant, incident.incident_id, occurrence.key)
    try:
        client.create_comment(comment_id, issue_id, comment(incident, occurrence.kind, recurred))
    except NotifierRejected:
        if not client.comment_exists(comment_id):
            raise
