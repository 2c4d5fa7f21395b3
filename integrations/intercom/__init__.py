"""Intercom: webhook notifications in, conversations backfilled, tags and notes written back, and
the Canvas Kit inbox app (:mod:`.inbox_app`) that shows teammates Deskloop's suggestion.

Registered as the ``intercom`` entry point in the ``deskloop.integrations`` group. Setup for an
Intercom admin is in ``SETUP.md``; the vendor facts this relies on are cited in each module.
"""

from __future__ import annotations

from core.helpdesk.contract import PanelPackage, SettingSpec
from core.helpdesk.page_fields import page_field_settings
from integrations.base import WebhookIntegration
from integrations.intercom import webhooks

#: Credentials: ``access_token`` calls the REST API; ``client_secret`` signs webhooks and Canvas Kit
#: requests. ``admin_id`` is the teammate Deskloop tags and writes notes as: without it
#: the client asks ``GET /me`` who owns the token.
INTEGRATION = WebhookIntegration(
    name="intercom",
    secret_names=("access_token", "client_secret"),
    optional_secret_names=("admin_id",),
    webhooks=webhooks,
    client_path="integrations.intercom.client:IntercomClient",
    app_module="integrations.intercom.inbox_app",
    # Intercom's app is settings typed into its Developer Hub, not an upload.
    panel_package=PanelPackage("intercom", "manifests.checks:check_intercom", zipped=False),
    app_settings=(SettingSpec("intercom_workspace_id", "the Intercom workspace id (app id) whose Canvas Kit "
                              "requests belong to this tenant", pattern=r"[A-Za-z0-9_-]{1,64}", unique=True),
                  *page_field_settings("the name of the conversation custom attribute", r"[^\n]{1,190}")),
)
