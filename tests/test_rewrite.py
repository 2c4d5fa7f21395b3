"""The optional LLM rewrite, against a local server that speaks the OpenAI chat-completions protocol.

The server records every request, so the tests can check that nothing personal was sent, and can
answer well, badly or not at all.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from core.app import create_app
from core.config import Settings
from core.learning.training import train_tenant
from core.store.tickets import upsert_tickets
from core.suggesting.rewrite import rewrite_draft
from tests.access_support import authorized_client
from tests.factories import make_ticket, small_inbox


class ChatServer:
    """A minimal OpenAI-compatible endpoint: POST /v1/chat/completions."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.answer = lambda draft: "Thanks for your patience! " + draft
        self.status = 200
        self.delay = 0.0
        self.server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @Request.application
    def _app(self, request: Request) -> Response:
        if request.path != "/v1/chat/completions" or request.method != "POST":
            return Response("not found", 404)
        body = request.get_json()
        self.requests.append({"body": body, "authorization": request.headers.get("Authorization")})
        time.sleep(self.delay)
        if self.status != 200:
            return Response(json.dumps({"error": {"message": "overloaded"}}), self.status, mimetype="application/json")
        draft = body["messages"][-1]["content"].split("Draft to improve:\n", 1)[1]
        return Response(json.dumps({
            "id": "chatcmpl-1", "object": "chat.completion", "created": int(time.time()), "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": self.answer(draft)}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
        }), 200, mimetype="application/json")

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def chat():
    server = ChatServer()
    yield server
    server.close()


def _settings(tmp_path, url=None) -> Settings:
    return Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'deskloop.db'}", llm_url=url,
                    llm_model="local-model", llm_api_key="sk-secret-key")


DRAFT = "Hi Zelda, your refund of $42.10 for order NW123456 is on its way; we will email zelda@mail.example."
CUSTOMER = "Where is my refund for order NW123456? It was $42.10. Zelda Quinn, +44 20 7946 0000"
EVIDENCE = ["Hi Grace, your refund of $20.00 for order NW999999 is on its way to grace@mail.example."]
SECRETS = ["Zelda", "Quinn", "$42.10", "NW123456", "zelda@mail.example", "7946", "Grace", "$20.00", "NW999999",
           "grace@mail.example"]


def test_off_by_default(tmp_path, chat):
    assert rewrite_draft(_settings(tmp_path), DRAFT, CUSTOMER, EVIDENCE, ("Zelda", "Quinn", "Grace")) is None
    assert chat.requests == []


def test_only_redacted_text_is_sent_and_details_come_back(tmp_path, chat):
    out = rewrite_draft(_settings(tmp_path, chat.url), DRAFT, CUSTOMER, EVIDENCE, ("Zelda", "Quinn", "Grace"))
    assert out == "Thanks for your patience! " + DRAFT
    (request,) = chat.requests
    sent = json.dumps(request["body"])
    assert [s for s in SECRETS if s in sent] == []
    assert request["body"]["model"] == "local-model"
    assert request["authorization"] == "Bearer sk-secret-key"
    assert "never invent" in request["body"]["messages"][0]["content"]


@pytest.mark.parametrize("answer", [
    lambda draft: draft.replace("[order id 2]", "your order"),  # dropped this customer's order id
    lambda draft: draft + " Grace said [name 5] was helpful.",  # an evidence placeholder: another customer
    lambda draft: draft + " Call us on +1 415 555 0134.",  # an invented phone number
    lambda draft: "",
])
def test_an_untrustworthy_answer_keeps_the_original(tmp_path, chat, answer):
    chat.answer = answer
    assert rewrite_draft(_settings(tmp_path, chat.url), DRAFT, CUSTOMER, EVIDENCE, ("Zelda", "Quinn", "Grace")) is None


def test_server_errors_keep_the_original_and_no_secret_is_logged(tmp_path, chat, caplog):
    chat.status = 503
    assert rewrite_draft(_settings(tmp_path, chat.url), DRAFT, CUSTOMER, EVIDENCE, ("Zelda",)) is None
    assert "sk-secret-key" not in caplog.text and "sk-secret-key" not in repr(_settings(tmp_path, chat.url))


def test_suggestions_use_the_rewrite_when_configured(tmp_path, chat, monkeypatch):
    settings = _settings(tmp_path, chat.url)
    app = create_app(settings)
    runtime = app.extensions["deskloop"]
    tenant_id = runtime.db.ensure_tenant("acme")
    with runtime.db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, small_inbox() + [make_ticket("x", "where is my refund", "refund_status",
                                                                       "Hi Ada, refunds take 3 days.", "Ada Lovelace")])
    train_tenant(runtime, "acme")
    body = {"text": "where is my refund?", "customer_name": "Zelda Quinn"}
    suggestion = authorized_client(app).post("/api/v1/tenants/acme/suggest", json=body).json
    assert suggestion["rewritten"] is True
    assert suggestion["draft"].startswith("Thanks for your patience! Hi Zelda,")
    assert "Zelda" not in json.dumps(chat.requests[-1]["body"])
    runtime.close()
