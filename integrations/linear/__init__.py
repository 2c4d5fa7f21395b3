"""Linear: one issue per incident in the team its product area maps to, assigned to (or
subscribing) the area's owner; growth and the end become comments on it, and a recurrence of the
same category within the cooldown comments on the earlier issue instead of opening another. Opted
in with ``--set feature_requests=on``, also one issue per requested capability
(:mod:`integrations.linear.capabilities`), commented on as more customers ask.

Registered as the ``linear`` entry point in ``deskloop.integrations`` with kind ``notifier``;
importing the package registers the ``linear-alert`` listener. Linear has no official Python SDK,
so :mod:`integrations.linear.client` speaks GraphQL over ``requests``. Setup: ``deskloop notifier
add linear --tenant T --credentials FILE --set default_team=<team id> --set team.billing=<team id>``
(the file holds ``api_key=lin_api_…``).
"""

from __future__ import annotations

import re
from typing import Any

from core.errors import BadInput
from core.notify.contract import NotifierIntegration

# Importing them registers the linear-alert and linear-capability listeners.
from integrations.linear import capabilities, listener  # noqa: F401

#: Linear ids are UUIDs; a team may also be named by its key (``ENG``) in the API.
TEAM = re.compile(r"[0-9a-fA-F-]{36}|[A-Z][A-Z0-9]{0,9}")
DEFAULT_COOLDOWN_DAYS = 7
HELP = ("default_team=<team id> (required); team.<area>=<team id> (repeatable); cooldown_days=<0-90, default 7>; "
        "owner_role=assignee|subscriber (default assignee); reopen_state=<workflow state id a recurrence moves the "
        "earlier issue to>; api_url=<GraphQL endpoint, for a proxy>; feature_requests=on|off (default off: one "
        "issue per requested capability, from `deskloop insights feature-requests --to-linear`)")


def _team(key: str, value: str) -> str:
    if not TEAM.fullmatch(value):
        raise BadInput("must be a Linear team id (a UUID) or key", field=key)
    return value


def parse_settings(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    settings: dict[str, Any] = {"teams": {}, "cooldown_days": DEFAULT_COOLDOWN_DAYS, "owner_role": "assignee"}
    for key, value in pairs:
        value = value.strip()
        if key == "default_team":
            settings["default_team"] = _team(key, value)
        elif key.startswith("team.") and key[5:].strip():
            settings["teams"][key[5:].strip()] = _team(key, value)
        elif key == "cooldown_days":
            if not value.isdigit() or not 0 <= int(value) <= 90:
                raise BadInput("must be a whole number of days from 0 to 90", field=key)
            settings["cooldown_days"] = int(value)
        elif key == "owner_role":
            if value not in ("assignee", "subscriber"):
                raise BadInput("must be assignee or subscriber", field=key)
            settings["owner_role"] = value
        elif key == "reopen_state":
            if not re.fullmatch(r"[0-9a-fA-F-]{36}", value):
                raise BadInput("must be a Linear workflow state id (a UUID)", field=key)
            settings["reopen_state"] = value
        elif key == "feature_requests":
            if value not in ("on", "off"):
                raise BadInput("must be on or off", field=key)
            settings["feature_requests"] = value
        elif key == "api_url":
            if not value.startswith(("https://", "http://")):
                raise BadInput("must be an http(s) URL", field=key)
            settings["api_url"] = value
        else:
            raise BadInput(f"linear has no setting {key!r} (its settings: {HELP})", field=key)
    if "default_team" not in settings:
        raise BadInput("linear needs --set default_team=<team id>", field="default_team")
    return settings


INTEGRATION = NotifierIntegration(name="linear", secret_names=("api_key",), parse_settings=parse_settings,
                                  settings_help=HELP)
