"""Slack: one Block Kit message per incident, posted when it opens and updated in place as it
grows and when it ends (``chat.update`` with the stored channel and ts), never posted twice; and,
with ``digest=on``, one message per weekly digest (:mod:`integrations.slack.digest_listener`).

Registered as the ``slack`` entry point in ``deskloop.integrations`` with kind ``notifier``;
importing the package registers the ``slack-alert`` listener. ``slack_sdk`` is imported only
when a job builds a client. Setup: ``deskloop notifier add slack --tenant T --credentials FILE
--set channel=C0123456789 [--set digest=on]`` (the file holds ``bot_token=xoxb-…``; scope ``chat:write``, and optionally
``users:read.email`` to mention the area's owner and ``channels:history`` so a retried job finds a
message it posted but could not record).
"""

from __future__ import annotations

import re
from typing import Any

from core.errors import BadInput
from core.notify.contract import NotifierIntegration
from integrations.slack import digest_listener, listener  # noqa: F401  (register the slack-alert and slack-digest listeners)

#: A conversation id: C (public), G (private), D (direct) and upper-case letters and digits.
CHANNEL = re.compile(r"[CGD][A-Z0-9]{4,}")


def parse_settings(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for key, value in pairs:
        value = value.strip()
        if key == "channel":
            if not CHANNEL.fullmatch(value):
                raise BadInput("must be a Slack channel id such as C0123456789 (not a #name)", field="channel")
            settings["channel"] = value
        elif key == "digest":
            if value not in ("on", "off"):
                raise BadInput("must be on or off (post the weekly digest to the channel)", field="digest")
            settings["digest"] = value
        elif key == "api_url":
            if not value.startswith(("https://", "http://")):
                raise BadInput("must be an http(s) URL", field="api_url")
            settings["api_url"] = value.rstrip("/") + "/"
        else:
            raise BadInput(f"slack has no setting {key!r} (its settings: channel, digest, api_url)", field=key)
    if "channel" not in settings:
        raise BadInput("slack needs --set channel=<channel id>", field="channel")
    return settings


INTEGRATION = NotifierIntegration(
    name="slack",
    secret_names=("bot_token",),
    parse_settings=parse_settings,
    settings_help="channel=<channel id, e.g. C0123456789> (required); digest=on|off (the weekly digest, default "
                  "off); api_url=<Slack API base, for a proxy>",
)
