"""A fault of ours is a 5xx a helpdesk retries, with one error line in the log naming the problem
(never a secret); a 4xx is kept for what the caller did wrong. Before this, a server without the
credentials key answered webhooks 400, which a helpdesk reads as "never send this again"."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.app import create_app
from core.helpdesk.connections import add_tenant, forget_connections
from core.panel.access import PanelIdentity, issue_app_token, issue_session, update_app_settings
from core.runtime import Runtime
from integrations.intercom import canvas
from integrations.zendesk import webhooks as zendesk
from integrations.zendesk.signed_urls import forget_keys
from tests.integrations.zendesk.test_key_fetch import key_server
from tests.panel_support import new_key, public_pem, zendesk_token

FIXTURE = Path(zendesk.__file__).parent / "fixtures" / "webhooks" / "ticket.created.json"
ZENDESK = {"email": "ops@acme.example", "api_token": "zd-token-1", "webhook_secret": "whsec-acme-42"}
INTERCOM = {"access_token": "ic-token-1", "client_secret": "ic-secret-1"}
OTHER_KEY = "a-different-but-strong-key-QfW9xk2LmZp7Rt4v"
SIDEBAR = "/apps/zendesk/sidebar?origin=https%3A%2F%2Facme.zendesk.com&app_guid=guid-1"


@pytest.fixture
def runtime(settings, db):
    forget_connections()
    forget_keys()
    runtime = Runtime(settings)
    yield runtime
    runtime.close()
    forget_connections()
    forget_keys()


def serve(settings, secret_key: str | None):
    """A server started with ``secret_key`` while no tenant held credentials yet (so it started)."""
    return create_app(replace(settings, secret_key=secret_key))


def deliver(client):
    body = FIXTURE.read_bytes()
    headers = {**zendesk.sign(body, ZENDESK["webhook_secret"], datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")),
               "Content-Type": "application/json"}
    return client.post("/webhooks/zendesk/acme", data=body, headers=headers)


def assert_misconfigured(answer, caplog, problem: str) -> None:
    assert answer.status_code == 503, answer.get_data(as_text=True)
    assert int(answer.headers["Retry-After"]) > 0
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and problem in errors[0], errors
    logged = caplog.text + answer.get_data(as_text=True)
    for secret in (*ZENDESK.values(), *INTERCOM.values(), OTHER_KEY):
        if secret != ZENDESK["email"]:
            assert secret not in logged
    assert problem not in answer.get_data(as_text=True)  # the caller is not told how the server is set up


@pytest.mark.parametrize(("server_key", "problem"), [
    (None, "DESKLOOP_SECRET_KEY is not set"),
    (OTHER_KEY, "cannot be decrypted with DESKLOOP_SECRET_KEY"),
])
def test_a_webhook_the_server_cannot_verify_for_want_of_its_key_is_a_503_to_retry(runtime, settings, caplog,
                                                                                  server_key, problem):
    app = serve(settings, server_key)
    add_tenant(runtime, "acme", "zendesk", "acme.zendesk.com", ZENDESK, {"write_back_tags": False})
    try:
        with caplog.at_level(logging.INFO):
            answer = deliver(app.test_client())
        assert_misconfigured(answer, caplog, problem)
    finally:
        app.extensions["deskloop"].close()
    # With its key the same server answers the same delivery.
    fixed = serve(settings, settings.secret_key)
    try:
        assert deliver(fixed.test_client()).status_code == 200
    finally:
        fixed.extensions["deskloop"].close()


def test_an_intercom_inbox_request_the_server_cannot_verify_is_a_503(runtime, settings, caplog):
    app = serve(settings, OTHER_KEY)
    add_tenant(runtime, "acme", "intercom", "api.intercom.io", INTERCOM)
    update_app_settings(runtime, "acme", {"intercom_workspace_id": "ws42"})
    body = json.dumps({"workspace_id": "ws42", "context": {"location": "conversation"}}).encode()
    try:
        with caplog.at_level(logging.INFO):
            answer = app.test_client().post("/apps/intercom/initialize", data=body, headers={
                canvas.SIGNATURE_HEADER: canvas.sign(body, INTERCOM["client_secret"]),
                "Content-Type": "application/json"})
        assert_misconfigured(answer, caplog, "cannot be decrypted")
    finally:
        app.extensions["deskloop"].close()


def test_a_panel_session_on_a_server_without_its_key_is_a_503(runtime, settings, caplog):
    session = issue_session(runtime, PanelIdentity("acme", "zendesk", "555"))
    app = serve(settings, None)
    try:
        with caplog.at_level(logging.INFO):
            answer = app.test_client().post("/apps/api/tickets/1/suggestion", json={},
                                            headers={"Authorization": f"Bearer {session}"})
        assert_misconfigured(answer, caplog, "DESKLOOP_SECRET_KEY is not set")
    finally:
        app.extensions["deskloop"].close()


def test_a_zendesk_sidebar_without_its_app_id_is_a_503_page_and_an_error_line(runtime, settings, caplog):
    add_tenant(runtime, "acme", "zendesk", "acme.zendesk.com", ZENDESK)
    app = create_app(settings)
    try:
        with caplog.at_level(logging.INFO):
            answer = app.test_client().post(SIDEBAR, data={"token": zendesk_token(new_key())})
        assert answer.status_code == 503 and int(answer.headers["Retry-After"]) > 0
        assert "not set up completely" in answer.get_data(as_text=True)
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1 and "has no Zendesk app id" in errors[0]
    finally:
        app.extensions["deskloop"].close()


def test_a_zendesk_sidebar_whose_key_cannot_be_fetched_is_a_503_then_a_forged_token_a_401(runtime, settings):
    key = new_key()
    with key_server(public_pem(key)) as (server, url):
        add_tenant(runtime, "acme", "zendesk", "acme.zendesk.com", ZENDESK, {"api_url": url})
        update_app_settings(runtime, "acme", {"zendesk_app_id": "7"})
        app = create_app(settings)
        client = app.test_client()
        try:
            server.mode = "fail"
            unavailable = client.post(SIDEBAR, data={"token": zendesk_token(key)})
            assert unavailable.status_code == 503 and int(unavailable.headers["Retry-After"]) > 0
            forget_keys()  # the failure window passed
            server.mode = "ok"
            assert client.post(SIDEBAR, data={"token": zendesk_token(key)}).status_code == 200
            assert client.post(SIDEBAR, data={"token": zendesk_token(new_key())}).status_code == 401
        finally:
            app.extensions["deskloop"].close()


def test_a_tampered_model_in_service_is_a_503_not_a_409(runtime, settings, caplog):
    """A model that fails its checksum is the operator's to fix: the panel is told to retry, the
    log says which model and why, and the answer names no path on the server."""
    from core.learning.training import registry_for

    add_tenant(runtime, "acme", "zendesk", "acme.zendesk.com", ZENDESK)
    token = issue_app_token(runtime, "acme")
    stored = registry_for(runtime, "acme").save({"weights": [1]}, {})
    (stored.path / "model.joblib").write_bytes(b"not the model")
    app = create_app(settings)
    try:
        with caplog.at_level(logging.INFO):
            answer = app.test_client().post("/apps/api/tickets/4242/suggestion", json={"text": "Where is my card?"},
                                            headers={"Authorization": f"Bearer {token}"})
        assert_misconfigured(answer, caplog, "failed its checksum")
        assert str(stored.path) not in answer.get_data(as_text=True)
    finally:
        app.extensions["deskloop"].close()
