"""Freshdesk: automation-rule webhooks in (:mod:`.webhooks`), REST API v2 out through
python-freshdesk (:mod:`.client`), translation in between (:mod:`.adapter`).

Registered as the ``freshdesk`` entry point of ``deskloop.integrations`` (see ``pyproject.toml``);
the admin's side of the setup is ``SETUP.md`` beside this file.
"""

from __future__ import annotations

from core.helpdesk.contract import PanelPackage
from core.helpdesk.page_fields import page_field_settings
from integrations.base import WebhookIntegration
from integrations.freshdesk import webhooks
from integrations.freshdesk.account import account_host

#: Credentials: ``api_key``: the Deskloop agent's API key (Profile settings); ``webhook_secret``: the value
#: of the secret header every automation rule sends.
INTEGRATION = WebhookIntegration(
    name="freshdesk",
    secret_names=("api_key", "webhook_secret"),
    optional_secret_names=(),
    webhooks=webhooks,
    client_path="integrations.freshdesk.client:FreshdeskClient",
    ticket_url_template="https://{domain}/a/tickets/{id}",
    account_of=account_host,
    app_settings=page_field_settings("the name of the custom ticket field", r"cf_[A-Za-z0-9_]{1,60}"),
    # The shared panel script and style, where the Freshworks app loads them.
    panel_package=PanelPackage("freshdesk", "manifests.checks:check_freshdesk", shared_files={
        "panel/panel.js": "app/scripts/panel.js", "panel/panel.css": "app/styles/panel.css"}),
)
