"""The ``linear-capability`` listener: one Linear issue per requested capability, opted into with
``--set feature_requests=on``, commented on when more customers ask.

Fed by ``deskloop insights feature-requests --to-linear`` (``core.insights.feature_requests.
publish_capabilities``): each capability arrives keyed ``<capability key>:<requests>``. The first
time, an issue is created with an id derived from the tenant and the capability key (so a retry
whose answer was lost finds it instead of creating a second one); later, a larger count becomes a
comment, also with a derived id. What was posted is kept as for incidents (``core.notify.store``),
under ``capability:<key>``. Only the label, counts, areas, trend, organizations and example
ticket ids go to Linear: never a requester or a customer's words beyond the label's terms.
"""

from __future__ import annotations

import logging
from typing import Any

from core.dispatch.listeners import Occurrence, listen
from core.insights.feature_requests import CAPABILITY_TOPIC, Capability
from core.notify.contract import NotifierRejected, NotifierUnauthorized
from core.notify.store import has_notifier, load_notifier, posted_alert, remember_posted
from core.runtime import Runtime
from integrations.linear.listener import KIND, stable_id
from integrations.linear.markdown import TITLE_LIMIT, escape

log = logging.getLogger(__name__)


def wanted(runtime: Runtime, occurrence: Occurrence) -> bool:
    return (has_notifier(runtime, occurrence.tenant, KIND)
            and load_notifier(runtime, occurrence.tenant, KIND).settings.get("feature_requests") == "on")


def title(capability: Capability) -> str:
    text = f"Feature request: {capability.label}"
    return text if len(text) <= TITLE_LIMIT else text[: TITLE_LIMIT - 1] + "…"


def summary(capability: Capability) -> str:
    lines = [
        f"**{capability.requests} request(s)** from {capability.accounts} account(s) "
        f"(weighted by plan: {capability.weighted_accounts:g}).",
        f"Last 4 weeks: {capability.last_4_weeks}, the 4 before: {capability.previous_4_weeks} ({capability.trend}).",
    ]
    if capability.areas:
        lines.append("Areas: " + ", ".join(f"{escape(a)} {n}" for a, n in capability.areas.items()) + ".")
    if capability.organizations:
        lines.append("Asked by: " + ", ".join(escape(o) for o in capability.organizations) + ".")
    lines.append("Example tickets: " + ", ".join(escape(e) for e in capability.example_external_ids) + ".")
    return "\n\n".join(lines)


@listen("linear-capability", CAPABILITY_TOPIC, as_job=True, wanted=wanted)
def capability_issue(runtime: Runtime, occurrence: Occurrence) -> dict[str, Any]:
    from integrations.linear.client import LinearClient

    capability = Capability.model_validate(occurrence.data)
    posted_as = f"capability:{capability.key}"
    posted = posted_alert(runtime, occurrence.tenant, KIND, posted_as)
    if posted is not None and posted.last_key == occurrence.key:
        return {"skipped": "already applied", "issue": posted.ref}
    before = int(posted.last_key.rsplit(":", 1)[1]) if posted is not None and posted.last_key else 0
    if posted is not None and capability.requests <= before:
        return {"skipped": "no new requests", "issue": posted.ref}
    notifier = load_notifier(runtime, occurrence.tenant, KIND)
    client = LinearClient(notifier)
    try:
        if posted is None:
            issue_id = stable_id(occurrence.tenant, posted_as)
            fields = {"id": issue_id, "title": title(capability), "description": summary(capability),
                      "teamId": notifier.settings["default_team"]}
            try:
                issue = client.create_issue(fields)
            except NotifierRejected:
                found = client.issue(issue_id)  # an earlier try created it; its answer was lost
                if found is None:
                    raise
                issue = found
            remember_posted(runtime, occurrence.tenant, KIND, posted_as, capability.label[:255], issue["id"],
                            issue.get("identifier"), issue.get("url"), occurrence.key)
            return {"created": issue.get("identifier")}
        comment_id = stable_id(occurrence.tenant, posted_as, occurrence.key)
        body = f"**{capability.requests - before} new request(s)**\n\n" + summary(capability)
        try:
            client.create_comment(comment_id, posted.target, body)
        except NotifierRejected:
            if not client.comment_exists(comment_id):
                raise
        remember_posted(runtime, occurrence.tenant, KIND, posted_as, posted.category, posted.target, posted.ref,
                        posted.url, occurrence.key)
        return {"commented": posted.ref}
    except (NotifierUnauthorized, NotifierRejected) as exc:  # retrying will not help: say so, once
        log.error("linear issue for capability %s of tenant %s failed for good: %s", capability.key,
                  occurrence.tenant, exc)
        return {"failed": type(exc).__name__, "reason": str(exc)}
