"""Zendesk: ticket event webhooks in, tags and private notes out, history through the incremental export.

Registered as the ``zendesk`` entry point in the ``deskloop.integrations`` group. ``webhooks``
(inbound, pure) and ``adapter`` (translation, pure) need nothing beyond the core; ``client``
(outbound, zenpy) is imported only when a client is asked for, so answering a webhook never loads
the HTTP stack. Admin setup: ``SETUP.md`` beside this file.
"""

from __future__ import annotations

from core.helpdesk.contract import PanelPackage, SettingSpec
from core.helpdesk.page_fields import page_field_settings
from integrations.base import WebhookIntegration
from integrations.zendesk import webhooks
from integrations.zendesk.account import account_host

#: Credentials: the agent email the token belongs to (Zendesk's ``email/token`` auth needs both), the API
#: token, and the webhook's signing secret.
INTEGRATION = WebhookIntegration(
    name="zendesk",
    secret_names=("email", "api_token", "webhook_secret"),
    optional_secret_names=(),
    webhooks=webhooks,
    client_path="integrations.zendesk.client:ZendeskClient",
    app_module="integrations.zendesk.sidebar",
    ticket_url_template="https://{domain}/agent/tickets/{id}",
    panel_package=PanelPackage("zendesk", "manifests.checks:check_zendesk"),
    capabilities=frozenset({"webhooks", "backfill", "write_back_tags", "private_note", "panel", "panel_apply_tags",
                            "public_reply", "handoff", "create_ticket"}),
    account_of=account_host,
    app_settings=(SettingSpec("zendesk_app_id",  # signed_urls.APP_ID_SETTING (kept out of this import)
                              "the id Zendesk gave the uploaded sidebar app (its public key verifies "
                              "the panel's signed URL)", pattern=r"\d+"),
                  *page_field_settings("the id of the ticket field", r"\d+")),
)
