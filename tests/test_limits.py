"""Abuse limits on the HTTP surface (core/web/limits.py): body size, JSON depth, field lengths, the
draft-versus-sent comparison and request rates, on every kind of route a stranger can reach.

Every refusal is checked from the outside (status, a JSON reason) and by what it left behind: the
row counts of every table are the same before and after a refused request.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from difflib import SequenceMatcher
from pathlib import Path

import pytest
from flask import Flask
from pydantic import BaseModel
from sqlalchemy import func, select
from werkzeug.serving import make_server

from core.access.operators import add_operator
from core.app import create_app
from core.config import Settings
from core.dispatch import drains
from core.events import MalformedPayload
from core.helpdesk.connections import add_tenant, forget_connections
from core.helpdesk.contract import helpdesk_names
from core.learning.feedback import MAX_COMPARED_CHARS, text_similarity
from core.panel.access import PanelIdentity, issue_app_token, issue_session, update_app_settings
from core.runtime import Runtime
from core.store.db import Database
from core.store.tables import Base, SignalRow, SuggestionRow, TicketRow
from core.web import panel_api, schemas
from core.web.limits import MAX_JSON_DEPTH, json_depth, reset_limits
from integrations.intercom import canvas
from integrations.payload import Payload
from integrations.zendesk import webhooks as zendesk
from tests.access_support import STRONG_PASSWORD, csrf_token_from, token_for
from tests.conftest import IN_CI, REDIS_TEST_URL
from tests.panel_support import seed_tenant

ZENDESK_CREDENTIALS = {"email": "ops@acme.example", "api_token": "zd-token-1", "webhook_secret": "whsec-acme-42"}
INTERCOM_SECRET = "5f2c9e0b7a4d4e1f8c3b6a9d0e7f2a41"
WORKSPACE = "k3x9vq2a"
OPEN_TICKET = "4242"  # the Zendesk ticket the panel has open (tests.panel_support)
ZENDESK_FIXTURES = Path(zendesk.__file__).parent / "fixtures" / "webhooks"
#: A megabyte of text: under the default 1 MiB body cap, so only a field's own bound refuses it.
MEGABYTE_TEXT = "x" * 1_000_000


# -- a deployment: tenant acme on Zendesk (trained, with a panel app token), globex on Intercom ------

@dataclass
class World:
    settings: Settings
    db: Database
    app_token: str
    apps: list[Flask] = field(default_factory=list)
    tokens: dict[int, str] = field(default_factory=dict)

    def app(self, **changes) -> Flask:
        """An app of this deployment with ``changes`` to its settings."""
        made = create_app(dataclasses.replace(self.settings, **changes))
        self.apps.append(made)
        return made

    def token(self, app: Flask) -> str:
        """One API token with every scope, issued on first use (issuing one is a write)."""
        if id(app) not in self.tokens:
            self.tokens[id(app)] = token_for(app)
        return self.tokens[id(app)]

    def rows(self) -> dict[str, int]:
        """Rows in every table (the admin engine sees every tenant's)."""
        with self.db.engine.connect() as conn:
            return {t.name: conn.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}


@pytest.fixture
def world(settings, db) -> Iterator[World]:
    forget_connections()
    base = dataclasses.replace(settings, encoder="none")  # n-grams: the limits do not need the encoder
    runtime = Runtime(base)
    seed_tenant(runtime, "acme", "zendesk")
    add_tenant(runtime, "acme", "zendesk", "acme.zendesk.com", ZENDESK_CREDENTIALS, {"write_back_tags": False})
    app_token = issue_app_token(runtime, "acme")
    add_tenant(runtime, "globex", "intercom", "api.intercom.io",
               {"access_token": "intercom-token", "client_secret": INTERCOM_SECRET}, {})
    update_app_settings(runtime, "globex", {"intercom_workspace_id": WORKSPACE})
    add_tenant(runtime, "initech", "zendesk", "initech.zendesk.com", ZENDESK_CREDENTIALS, {"write_back_tags": False})
    runtime.close()
    made = World(base, db, app_token)
    yield made
    drains.wait_idle()  # webhooks' events are applied after the answer: let them finish first
    drains.cancel_timers()
    for app in made.apps:
        app.extensions["deskloop"].close()
    forget_connections()


def client_at(app: Flask, address: str):
    """A test client calling from another address."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def zendesk_headers(body: bytes) -> dict[str, str]:
    return zendesk.sign(body, ZENDESK_CREDENTIALS["webhook_secret"], datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))


def canvas_request(**fields) -> dict:
    return {"workspace_id": WORKSPACE, "admin": {"id": "7200001"}, "context": {"location": "conversation"},
            "conversation": {"type": "conversation", "id": "3390215577"}, **fields}


@dataclass(frozen=True)
class Route:
    """A POST route and the proof its caller sends (a token, a signature of the exact body)."""

    path: str
    proof: Callable[[Flask, World, bytes], dict[str, str]]


ROUTES = {
    "api": Route("/api/v1/tenants/acme/suggest", lambda app, w, body: bearer(w.token(app))),
    "webhook": Route("/webhooks/zendesk/acme", lambda app, w, body: zendesk_headers(body)),
    "canvas kit": Route("/apps/intercom/initialize",
                        lambda app, w, body: {canvas.SIGNATURE_HEADER: canvas.sign(body, INTERCOM_SECRET)}),
    "panel api": Route(f"/apps/api/tickets/{OPEN_TICKET}/suggestion", lambda app, w, body: bearer(w.app_token)),
}


def refusal(answer, status: int) -> str:
    """The reason of a JSON refusal with ``status``."""
    assert answer.status_code == status, answer.get_data(as_text=True)[:500]
    error = answer.get_json()["error"]
    assert error["status"] == status and error["reason"]
    return error["reason"]


class CountedStream(io.BytesIO):
    """A request body that remembers how many of its bytes the server read."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.taken = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.taken += len(data)
        return data

    def readinto(self, buffer) -> int:
        n = super().readinto(buffer)
        self.taken += n
        return n

    def readline(self, size: int | None = -1) -> bytes:
        data = super().readline(size)
        self.taken += len(data)
        return data


# -- 1. body size ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", list(ROUTES))
def test_a_body_over_the_cap_is_refused_with_413_before_a_byte_is_read(world, kind):
    app = world.app(max_body_bytes=4096)
    route = ROUTES[kind]
    body = json.dumps(canvas_request(text="y" * 5000)).encode()
    headers = route.proof(app, world, body)
    before = world.rows()
    stream = CountedStream(body)
    answer = app.test_client().post(route.path, input_stream=stream, content_length=len(body),
                                    content_type="application/json", headers=headers)
    assert "4096 bytes" in refusal(answer, 413)
    assert stream.taken == 0
    assert world.rows() == before


def test_the_default_cap_is_one_mebibyte(world):
    app = world.app()
    client = app.test_client()
    token = token_for(app)
    over = json.dumps({"text": "y" * (1024 * 1024)}).encode()
    assert "1048576 bytes" in refusal(client.post("/api/v1/tenants/acme/suggest", data=over, headers=bearer(token),
                                                  content_type="application/json"), 413)
    under = client.post("/api/v1/tenants/acme/suggest", json={"text": MEGABYTE_TEXT}, headers=bearer(token))
    assert under.get_json()["error"]["field"] == "text"  # read whole, then refused by the field's bound


def test_a_streamed_body_over_the_cap_is_refused_with_413_at_the_cap(world):
    """A chunked body has no length to refuse it by: the server reads up to the cap (and one byte
    more, to tell a body that ends there from a longer one) and answers 413. The dev server then
    discards what the client still sends, so the client sees the answer, not a reset."""
    cap = 4096
    app = world.app(max_body_bytes=cap)
    token = token_for(app)
    taken = {"bytes": 0}
    serve_app = app.wsgi_app

    def counting(environ, start_response):
        stream = environ["wsgi.input"]

        class Counted:
            def read(self, *args):
                data = stream.read(*args)
                taken["bytes"] += len(data)
                return data

            def readinto(self, buffer):
                n = stream.readinto(buffer)
                taken["bytes"] += n or 0
                return n

            def readline(self, *args):
                data = stream.readline(*args)
                taken["bytes"] += len(data)
                return data

        environ["wsgi.input"] = Counted()
        return serve_app(environ, start_response)

    app.wsgi_app = counting
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        before = world.rows()
        for path, headers in [("/webhooks/zendesk/acme", ""), ("/api/v1/tenants/acme/suggest",
                                                               f"Authorization: Bearer {token}\r\n")]:
            taken["bytes"] = 0
            status, reply = _post_chunked(server.server_port, path, headers, chunks=256, chunk_size=1024)
            assert status == 413, reply
            assert json.loads(reply.split(b"\r\n\r\n", 1)[1])["error"]["status"] == 413
            assert cap <= taken["bytes"] <= cap + 1  # 256 KiB sent; the app read the cap and one byte
        assert world.rows() == before
        taken["bytes"] = 0
        status, _ = _post_chunked(server.server_port, "/api/v1/tenants/acme/suggest",
                                  f"Authorization: Bearer {token}\r\n", chunks=1, chunk_size=cap - 100)
        assert status == 400  # at the cap, read whole: the next refusal is the JSON's (not an object)
    finally:
        server.shutdown()
        thread.join(5)


def _post_chunked(port: int, path: str, headers: str, chunks: int, chunk_size: int) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n{headers}"
                     "Transfer-Encoding: chunked\r\n\r\n".encode())
        try:
            for _ in range(chunks):
                sock.sendall(b"%x\r\n%s\r\n" % (chunk_size, b"[" + b"1" * (chunk_size - 2) + b"]"))
            sock.sendall(b"0\r\n\r\n")
            sock.shutdown(socket.SHUT_WR)
        except OSError:  # the server answered and closed while we were still sending
            pass
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    return int(reply.split(b" ", 2)[1]), reply


# -- 2. JSON depth -------------------------------------------------------------------------------------

DEEP_BODIES = {
    "arrays": b"[" * 100_000,
    "objects": b'{"a":' * 100_000,
    "after whitespace": b" \n\t" + b"[" * 100_000,
    "utf-8 with a BOM": b"\xef\xbb\xbf" + b"[" * 100_000,
    "utf-16": ("[" * 100_000).encode("utf-16"),
    "utf-16-be": ("[" * 100_000).encode("utf-16-be"),
    "utf-32-le": ("[" * 100_000).encode("utf-32-le"),
}


def test_the_adapters_parsers_would_recurse_on_such_a_body():
    """Why the depth is checked before any view: the parsers themselves cannot take it (the
    webhooks' shared reader turns that into a malformed payload; Canvas Kit's and Flask's do not)."""
    with pytest.raises(MalformedPayload, match="nested too deeply"):
        Payload.from_body(DEEP_BODIES["arrays"])
    with pytest.raises(RecursionError):
        canvas.read_body(DEEP_BODIES["objects"])
    with pytest.raises(RecursionError):
        json.loads(DEEP_BODIES["utf-16-be"])  # bytes: json.loads reads UTF-16 too, as Flask's get_json does


@pytest.mark.parametrize("kind", list(ROUTES))
def test_a_deeply_nested_body_is_a_400_with_a_reason_not_a_500(world, kind):
    app = world.app()
    route = ROUTES[kind]
    client = app.test_client()
    world.token(app)
    before = world.rows()
    for name, body in DEEP_BODIES.items():
        answer = client.post(route.path, data=body, headers=route.proof(app, world, body),
                             content_type="application/json")
        assert f"at most {MAX_JSON_DEPTH}" in refusal(answer, 400), name
    assert world.rows() == before


def test_every_helpdesk_webhook_refuses_a_deep_body_before_its_adapter_reads_it(world):
    client = world.app().test_client()
    for helpdesk in helpdesk_names():
        for tenant in ("acme", "globex", "nobody"):
            answer = client.post(f"/webhooks/{helpdesk}/{tenant}", data=DEEP_BODIES["objects"],
                                 content_type="application/json")
            assert "nests 100000 levels" in refusal(answer, 400), (helpdesk, tenant)


def test_deep_json_inside_a_signed_token_is_refused_as_a_bad_token(world):
    """Tokens carry JSON too, read before their signature is checked (a JWT's header and claims):
    PyJWT turns the parser's RecursionError into a DecodeError, so a forged one is a 401."""
    client = world.app().test_client()

    def part(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    for header, claims in [(b"[" * 100_000, b"{}"), (b'{"alg": "RS256", "typ": "JWT"}', b'{"a":' * 100_000)]:
        forged = f"{part(header)}.{part(claims)}.c2ln"
        sidebar = client.post("/apps/zendesk/sidebar", data={"token": forged})
        assert sidebar.status_code == 401
        panel = client.post(f"/apps/api/tickets/{OPEN_TICKET}/suggestion", json={}, headers=bearer(forged))
        assert refusal(panel, 401)


def test_the_panel_sent_and_signal_routes_refuse_a_deep_body(world):
    app = world.app()
    client = app.test_client()
    token = token_for(app)
    for path, headers in [("/apps/api/suggestions/1/sent", bearer(world.app_token)),
                          ("/apps/api/suggestions/1/wrong", bearer(world.app_token)),
                          ("/apps/intercom/submit", {canvas.SIGNATURE_HEADER: "0" * 64}),
                          ("/api/v1/tenants/acme/signals", bearer(token))]:
        answer = client.post(path, data=DEEP_BODIES["arrays"], headers=headers, content_type="application/json")
        refusal(answer, 400)


def _nested(depth: int, ticket: int) -> dict:
    """A signal body whose JSON nests ``depth`` levels (the body itself is the first)."""
    value: object = "deep"
    for _ in range(depth - 2):
        value = [value]
    return {"kind": "escalated", "ticket_id": ticket, "payload": {"group": "Tier 2", "trail": value}}


def test_a_body_at_the_depth_limit_is_read_and_one_past_it_is_refused(world):
    app = world.app()
    client = app.test_client()
    token = token_for(app)
    ticket = client.get("/api/v1/tenants/acme/tickets?limit=1", headers=bearer(token)).get_json()["tickets"][0]["id"]
    at_limit = json.dumps(_nested(MAX_JSON_DEPTH, ticket)).encode()
    assert json_depth(at_limit) == MAX_JSON_DEPTH
    answer = client.post("/api/v1/tenants/acme/signals", data=at_limit, headers=bearer(token),
                         content_type="application/json")
    assert answer.status_code == 201, answer.get_json()
    past = client.post("/api/v1/tenants/acme/signals", json=_nested(MAX_JSON_DEPTH + 1, ticket), headers=bearer(token))
    assert f"nests {MAX_JSON_DEPTH + 1} levels" in refusal(past, 400)


@pytest.mark.parametrize(("body", "depth"), [
    (b"", 0),
    (b"42", 0),
    (b"[]", 1),
    (b'{"a": [1, {"b": [2]}]}', 4),
    (b'["[[[[", "{{{{", "]]]]"]', 1),
    (b'{"a": "\\"[[[[\\"", "b": [[]]}', 3),  # escaped quotes do not end the string
    (b'["\\\\", [[]]]', 3),  # an escaped backslash does: the next quote closes it
    (b'[["ends unterminated [[[[[', 2),
    (b"]]]][[", 0),  # a parser stops at the first stray closer
])
def test_json_depth_counts_nesting_outside_strings(body, depth):
    assert json_depth(body) == depth


def test_json_depth_is_linear_whatever_the_body():
    """Quotes that never close (each ``\\"`` is escaped) were once rescanned from every quote:
    minutes for a megabyte."""
    for body in (b'"' + b'\\"' * 500_000, b"[" * 1_000_000, b'["x",' * 200_000, b'"' * 1_000_000):
        started = time.perf_counter()
        json_depth(body)
        assert time.perf_counter() - started < 2, body[:10]


# -- 3. field lengths ----------------------------------------------------------------------------------

BIG = MEGABYTE_TEXT
FIELD_CASES = [
    # (method, path, body, field the 400 names, who asks)
    ("post", "/api/v1/tenants/acme/suggest", {"text": BIG}, "text", "token"),
    ("post", "/api/v1/tenants/acme/suggest", {"text": "hi", "customer_name": BIG}, "customer_name", "token"),
    ("post", "/api/v1/tenants/acme/signals", {"kind": "reopened", "ticket_id": 1, "actor": BIG}, "actor", "token"),
    ("post", "/api/v1/tenants/acme/signals", {"kind": "reopened", "ticket_id": 1, "source_event": BIG},
     "source_event", "token"),
    ("post", "/api/v1/tenants/acme/signals", {"kind": "draft_sent", "suggestion_id": 1, "payload": {"sent": BIG}},
     "payload", "token"),
    ("post", "/api/v1/tenants/acme/signals", {"kind": "escalated", "ticket_id": 1, "payload": {BIG[:300]: 1}},
     "payload", "token"),
    ("post", "/api/v1/tenants/acme/signals", {"kind": "escalated", "ticket_id": 1,
                                              "payload": {"notes": ["n" * 15_000] * 3}}, "payload", "token"),
    ("post", "/api/v1/tenants/acme/signals", {"kind": "tag_changed", "ticket_id": 1,
                                              "payload": {"tags": ["t"] * 1001}}, "payload", "token"),
    ("put", "/api/v1/tenants/acme/labels/source", {"source": BIG}, "source", "token"),
    ("post", "/api/v1/tenants/acme/intents/accept", {"keys": [BIG]}, "keys.0", "token"),
    ("post", "/api/v1/tenants/acme/intents/accept", {"keys": ["k"] * 501}, "keys", "token"),
    ("post", "/api/v1/tenants/acme/intents/card/rename", {"label": BIG}, "label", "token"),
    ("post", "/api/v1/tenants/acme/intents/merge", {"keys": ["a", BIG]}, "keys.1", "token"),
    ("post", "/api/v1/tenants/acme/intents/merge", {"keys": ["a", "b"], "into": BIG}, "into", "token"),
    ("post", f"/apps/api/tickets/{OPEN_TICKET}/suggestion", {"text": BIG}, "text", "panel"),
    ("post", "/apps/api/suggestions/1/sent", {"text": BIG}, "text", "panel"),
    ("post", "/apps/api/suggestions/1/sent", {"text": "Sent.", "session": BIG}, "session", "panel"),
    ("post", "/apps/api/suggestions/1/wrong", {"intent": BIG}, "intent", "panel"),
    ("post", "/apps/api/suggestions/1/wrong", {"note": BIG}, "note", "panel"),
]


def test_a_megabyte_in_any_field_is_a_400_naming_the_field(world):
    app = world.app()
    client = app.test_client()
    proofs = {"token": bearer(token_for(app)), "panel": bearer(world.app_token)}
    before = world.rows()
    for method, path, body, named, who in FIELD_CASES:
        answer = getattr(client, method)(path, json=body, headers=proofs[who])
        refusal(answer, 400)
        assert answer.get_json()["error"]["field"] == named, (path, answer.get_json())
    assert world.rows() == before


def _request_models() -> list[type[BaseModel]]:
    bodies = [schemas._Body, panel_api._Body]
    return [m for base in bodies for m in base.__subclasses__()]


def _unbounded(schema: dict, defs: dict, where: str) -> list[str]:
    """Strings without maxLength and arrays without maxItems (free-form objects, a signal's payload,
    are bounded by their validators, tested through the API)."""
    if "$ref" in schema:
        return _unbounded(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, where)
    found = []
    for key in ("anyOf", "oneOf", "allOf"):
        for part in schema.get(key, []):
            found += _unbounded(part, defs, where)
    kind = schema.get("type")
    if kind == "string" and "maxLength" not in schema and "enum" not in schema and "const" not in schema:
        found.append(where)
    if kind == "array":
        if "maxItems" not in schema:
            found.append(where)
        found += _unbounded(schema.get("items", {}), defs, f"{where}[]")
    for name, sub in schema.get("properties", {}).items():
        found += _unbounded(sub, defs, f"{where}.{name}")
    return found


def test_every_string_and_list_of_a_request_body_is_bounded():
    models = _request_models()
    assert {"SuggestRequest", "SignalRequest", "SentRequest", "WrongRequest", "MergeRequest"} <= {
        m.__name__ for m in models}
    unbounded = []
    for model in models:
        schema = model.model_json_schema()
        unbounded += _unbounded(schema, schema.get("$defs", {}), model.__name__)
    assert unbounded == []
    limits = [getattr(m, "max_length", None) for m in panel_api.SentRequest.model_fields["text"].metadata]
    assert schemas.MAX_TEXT in limits and schemas.MAX_TEXT == 20_000


# -- 4. the draft-versus-sent comparison ---------------------------------------------------------------

def test_the_comparison_takes_a_fraction_of_a_second_at_its_cap():
    """difflib's SequenceMatcher took 13 to 28 seconds on two texts of this size."""
    pairs = [("x" * MAX_COMPARED_CHARS, "y" + "x" * (MAX_COMPARED_CHARS - 1)),
             ("refund card week " * 1200, "card refund days " * 1200)]
    for a, b in pairs:
        started = time.perf_counter()
        similarity = text_similarity(a, b)
        assert time.perf_counter() - started < 2
        assert 0 < similarity < 1


def test_the_comparison_is_the_ratio_difflib_estimates():
    draft = "Hi Ada, cards arrive within 5 working days. You can track delivery under Cards > Track."
    for sent in (draft + " Thanks for waiting.", draft.replace("5", "7").replace("track", "follow"), "ok",
                 "Hello, please use Forgot password on the login screen; the link is valid for one hour."):
        estimate = round(SequenceMatcher(None, draft, sent, autojunk=False).ratio(), 4)
        assert text_similarity(draft, sent) >= estimate  # difflib finds at most the common subsequence
    appended = draft + " Thanks for waiting."
    assert text_similarity(draft, appended) == round(SequenceMatcher(None, draft, appended).ratio(), 4)
    assert text_similarity(draft, "  " + draft.replace(" ", "\n")) == 1.0


def test_texts_that_differ_only_past_the_cap_are_never_scored_identical():
    same_start = "a" * MAX_COMPARED_CHARS
    assert text_similarity(same_start + " one", same_start + " two") == 0.9999
    assert text_similarity("b" * 30_000 + "c", "b" * 30_001) == 0.9999
    assert text_similarity("b" * 20_000, "b" * 19_999 + "c") == 0.9999  # rounding alone could say 1.0


def test_a_sent_reply_over_the_cap_is_refused_by_the_api_and_the_panel(world):
    app = world.app()
    client = app.test_client()
    token = token_for(app)
    made = client.post("/api/v1/tenants/acme/suggest", json={"text": "where is my new card"}, headers=bearer(token))
    suggestion = made.get_json()["id"]
    before = world.rows()
    too_long = "w" * (schemas.MAX_TEXT + 1)
    api = client.post("/api/v1/tenants/acme/signals", headers=bearer(token),
                      json={"kind": "draft_sent", "suggestion_id": suggestion, "payload": {"sent": too_long}})
    assert "payload.sent has 20001 characters; at most 20000" in refusal(api, 400)
    panel = client.post(f"/apps/api/suggestions/{suggestion}/sent", json={"text": too_long},
                        headers=bearer(world.app_token))
    assert "at most 20000 characters" in refusal(panel, 400)
    assert panel.get_json()["error"]["field"] == "text"
    assert world.rows() == before
    at_cap = client.post(f"/apps/api/suggestions/{suggestion}/sent", json={"text": "w" * schemas.MAX_TEXT},
                         headers=bearer(world.app_token))
    assert at_cap.status_code == 201 and at_cap.get_json()["kind"] == "draft_edited"


def test_a_long_reply_a_helpdesk_reports_is_compared_on_its_start_and_kept_whole(world):
    """A webhook reports a reply that was already sent: refusing it would only lose the lesson."""
    client = world.app().test_client()

    def deliver(payload: dict):
        body = json.dumps(payload).encode()
        answer = client.post("/webhooks/zendesk/acme", data=body, headers=zendesk_headers(body),
                             content_type="application/json")
        drains.wait_idle()  # applied by the background drain, after the answer
        return answer

    created = json.loads((ZENDESK_FIXTURES / "ticket.created.json").read_text())
    assert deliver(created).status_code == 200
    tenant_id = world.db.tenant_id("acme")
    draft = "Hi Priya, sorry about the dented bottle! I've sent a replacement; it should reach you Friday."
    with world.db.transaction(tenant_id) as session:
        ticket = session.scalar(select(TicketRow.id).where(TicketRow.external_id == created["detail"]["id"]))
        session.add(SuggestionRow(tenant_id=tenant_id, ticket_id=ticket, text="dented bottle", intent="damaged_item",
                                  confidence=0.9, abstained=False, tags=[], entities=[], draft=draft, evidence=[],
                                  model_version="v1"))
    reply = json.loads((ZENDESK_FIXTURES.parent / "webhook_variants" / "ticket.comment_added.agent_reply.json")
                       .read_text())
    reply["detail"]["id"] = created["detail"]["id"]
    reply["time"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    sent = draft + " Here is everything about our replacement policy." * 700  # 35,000 characters
    reply["event"]["comment"]["body"] = sent
    started = time.perf_counter()
    assert deliver(reply).status_code == 200
    assert time.perf_counter() - started < 10
    with world.db.engine.connect() as conn:
        signal = conn.execute(select(SignalRow.kind, SignalRow.payload)).one()
    assert signal.kind == "draft_edited" and 0 < signal.payload["similarity"] < 1
    assert len(signal.payload["sent"]) > MAX_COMPARED_CHARS


# -- 5. rates ------------------------------------------------------------------------------------------

def rate_refusal(answer) -> str:
    reason = refusal(answer, 429)
    assert int(answer.headers["Retry-After"]) > 0
    return reason


def _login_form(client) -> str:
    return csrf_token_from(client.get("/login").get_data(as_text=True))


def test_the_eleventh_sign_in_attempt_in_a_minute_gets_429(world):
    app = world.app()
    add_operator(app.extensions["deskloop"], "ops@acme.example", "admin", password=STRONG_PASSWORD)
    client = app.test_client()
    csrf = _login_form(client)
    for _ in range(10):
        wrong = client.post("/login", data={"email": "ops@acme.example", "password": "guess", "csrf_token": csrf})
        assert wrong.status_code == 401
    before = world.rows()
    right = {"email": "ops@acme.example", "password": STRONG_PASSWORD, "csrf_token": csrf}
    refused = client.post("/login", data=right)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "10 per 1 minute" in rate_refusal(client.post("/login", data=right, headers={"Accept": "application/json"}))
    assert world.rows() == before  # no session, no sign-in recorded
    assert client.get("/login").status_code == 200  # showing the form is not an attempt
    other = client_at(app, "10.1.2.3")
    assert other.post("/login", data={**right, "csrf_token": _login_form(other)}).status_code == 302


def test_the_limiters_own_hooks_run_only_on_the_routes_it_limits(world):
    """Flask-Limiter keeps a per-request context from its before-request hook on: a webhook
    delivery leaves none (its hooks did not run), a sign-in attempt does (and is still counted:
    the test above)."""
    from flask import globals as flask_globals

    app = world.app()
    body = json.dumps({"type": "zen:event-type:ticket.created"}).encode()
    with app.test_client() as client:
        client.post("/webhooks/zendesk/acme", data=body, headers=zendesk_headers(body))
        assert not hasattr(flask_globals.request_ctx._get_current_object(), "_limiter_request_context")
        client.get("/api/v1/health")
        assert not hasattr(flask_globals.request_ctx._get_current_object(), "_limiter_request_context")
        client.post("/login", data={"email": "ops@acme.example", "password": "guess"})
        assert hasattr(flask_globals.request_ctx._get_current_object(), "_limiter_request_context")


def test_single_sign_on_calls_are_sign_in_attempts_too(world):
    """Counted per route: an office behind one address signs in with passwords and with single
    sign-on (two calls each) without the one eating the other's budget."""
    app = world.app(rate_login="2/minute")
    client = app.test_client()
    assert [client.get("/login/sso").status_code for _ in range(3)] == [404, 404, 429]  # not set up; still tried
    assert [client.get("/login/sso/callback").status_code for _ in range(3)] == [404, 404, 429]
    csrf = _login_form(client)
    attempt = {"email": "x@acme.example", "password": "guess", "csrf_token": csrf}
    assert [client.post("/login", data=attempt).status_code for _ in range(3)] == [401, 401, 429]


def test_suggestions_past_the_rate_get_429_per_token(world):
    app = world.app(rate_suggest="3/minute")
    client = app.test_client()
    first, second = bearer(token_for(app, name="first")), bearer(token_for(app, name="second"))
    ticket = client.get("/api/v1/tenants/acme/tickets?limit=1", headers=first).get_json()["tickets"][0]["id"]
    assert client.post("/api/v1/tenants/acme/suggest", json={"text": "my refund"}, headers=first).status_code == 200
    assert client.post(f"/api/v1/tenants/acme/tickets/{ticket}/suggestion", headers=first).status_code == 200
    assert client.post("/api/v1/tenants/acme/suggest", json={"text": "my card"}, headers=first).status_code == 200
    before = world.rows()
    for refused in (client.post("/api/v1/tenants/acme/suggest", json={"text": "again"}, headers=first),
                    client.post(f"/api/v1/tenants/acme/tickets/{ticket}/suggestion", headers=first)):
        assert "3 per 1 minute" in rate_refusal(refused)
    assert world.rows() == before
    other = client.post("/api/v1/tenants/acme/suggest", json={"text": "my refund"}, headers=second)
    assert other.status_code == 200 and other.headers["X-RateLimit-Remaining"] == "2"


def test_panel_suggestions_past_the_rate_get_429_per_tenant_and_agent(world):
    app = world.app(rate_suggest="2/minute")
    client = app.test_client()
    path = f"/apps/api/tickets/{OPEN_TICKET}/suggestion"
    for _ in range(2):
        assert client.post(path, json={}, headers=bearer(world.app_token)).status_code == 200
    before = world.rows()
    assert "2 per 1 minute" in rate_refusal(client.post(path, json={}, headers=bearer(world.app_token)))
    assert world.rows() == before
    agent = issue_session(app.extensions["deskloop"], PanelIdentity("acme", "zendesk", "agent-7"))
    assert client.post(path, json={}, headers=bearer(agent)).status_code == 200
    api = client.post("/api/v1/tenants/acme/suggest", json={"text": "my card"}, headers=bearer(token_for(app)))
    assert api.status_code == 200


def test_failed_bearer_tokens_from_an_address_block_it_even_with_a_valid_token(world):
    app = world.app(rate_auth_failures="3/minute")
    client = app.test_client()
    token = token_for(app)
    for forged in ("dlk_not-a-token", "dlk_another", "dlk_third"):
        assert client.get("/api/v1/tenants", headers=bearer(forged)).status_code == 401
    before = world.rows()
    blocked = client.get("/api/v1/tenants", headers=bearer(token))
    assert "too many failed attempts" in refusal(blocked, 429)
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    assert refusal(client.get("/api/v1/tenants/acme/tickets", headers=bearer(token)), 429)
    assert world.rows() == before
    assert client.get("/api/v1/health").status_code == 200  # public routes stay open
    elsewhere = client_at(app, "10.1.2.3")
    assert elsewhere.get("/api/v1/tenants", headers=bearer(token)).status_code == 200


def test_bad_webhook_signatures_and_panel_proofs_from_an_address_block_that_tenant(world):
    app = world.app(rate_auth_failures="3/minute")
    client = app.test_client()
    body = (ZENDESK_FIXTURES / "ticket.created.json").read_bytes()
    assert client.post("/webhooks/zendesk/acme", data=body, content_type="application/json",
                       headers=zendesk.sign(body, "not-the-secret", "2026-01-05T10:00:00Z")).status_code == 401
    for forged in ("acme.not-the-token", "acme.another-guess"):
        assert client.post(f"/apps/api/tickets/{OPEN_TICKET}/suggestion", json={},
                           headers=bearer(forged)).status_code == 401
    before = world.rows()
    signed = client.post("/webhooks/zendesk/acme", data=body, headers=zendesk_headers(body),
                         content_type="application/json")
    assert "too many failed attempts" in refusal(signed, 429)
    assert refusal(client.post(f"/apps/api/tickets/{OPEN_TICKET}/suggestion", json={},
                               headers=bearer(world.app_token)), 429)
    assert world.rows() == before  # the delivery is not stored: Zendesk retries it later
    later = client_at(app, "10.1.2.3")
    accepted = later.post("/webhooks/zendesk/acme", data=body, headers=zendesk_headers(body),
                          content_type="application/json")
    assert accepted.status_code == 200 and accepted.get_json()["accepted"] >= 1


def test_one_tenants_wrong_secret_does_not_lock_out_the_others_behind_the_same_address(world):
    """Helpdesks send every tenant's webhooks from the same few addresses."""
    app = world.app(rate_auth_failures="3/minute")
    client = app.test_client()
    body = (ZENDESK_FIXTURES / "ticket.created.json").read_bytes()
    for _ in range(4):
        client.post("/webhooks/zendesk/initech", data=body, content_type="application/json",
                    headers=zendesk.sign(body, "not-the-secret", "2026-01-05T10:00:00Z"))
    assert refusal(client.post("/webhooks/zendesk/initech", data=body, content_type="application/json",
                               headers=zendesk_headers(body)), 429)
    accepted = client.post("/webhooks/zendesk/acme", data=body, headers=zendesk_headers(body),
                           content_type="application/json")
    assert accepted.status_code == 200 and accepted.get_json()["accepted"] >= 1


def test_a_rate_store_that_cannot_be_reached_limits_nothing(world):
    app = world.app(redis_url="redis://127.0.0.1:1/0", rate_auth_failures="1/minute")
    client = app.test_client()
    assert client.get("/api/v1/tenants", headers=bearer("dlk_forged")).status_code == 401
    assert client.get("/api/v1/tenants", headers=bearer(world.token(app))).status_code == 200


@pytest.fixture
def limits_redis() -> Iterator[tuple[str, str]]:
    """The machine's Redis and a queue name of this test's own. The counts live under
    ``deskloop-limits:<queue>:``; only those keys are removed afterwards, since other tests may be
    using the same Redis database."""
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError

    client = Redis.from_url(REDIS_TEST_URL)
    try:
        client.ping()
    except RedisConnectionError as exc:
        if IN_CI:
            pytest.fail(f"Redis unavailable at {REDIS_TEST_URL}: {exc} (CI requires it)")
        pytest.skip(f"Redis unavailable at {REDIS_TEST_URL}: {exc}")
    queue = f"limits-test-{uuid.uuid4().hex[:12]}"
    yield REDIS_TEST_URL, queue
    for key in client.scan_iter(match=f"deskloop-limits:{queue}*"):
        client.delete(key)
    client.close()


def _limit_keys(url: str, queue: str) -> list[bytes]:
    from redis import Redis

    with Redis.from_url(url) as client:
        return list(client.scan_iter(match=f"deskloop-limits:{queue}:*"))


def test_with_redis_every_machine_counts_together(world, limits_redis):
    url, queue = limits_redis
    changes = {"redis_url": url, "queue_name": queue, "rate_suggest": "2/minute", "rate_auth_failures": "2/minute"}
    one, two = world.app(**changes), world.app(**changes)
    token = bearer(token_for(one))
    for _ in range(2):
        assert one.test_client().post("/api/v1/tenants/acme/suggest", json={"text": "my card"},
                                      headers=token).status_code == 200
    assert rate_refusal(two.test_client().post("/api/v1/tenants/acme/suggest", json={"text": "my card"},
                                               headers=token))
    for _ in range(2):
        assert one.test_client().get("/api/v1/tenants", headers=bearer("dlk_forged")).status_code == 401
    assert refusal(two.test_client().get("/api/v1/tenants", headers=token), 429)
    separate = world.app(**{**changes, "queue_name": f"{queue}-other"})  # another deployment, same Redis
    assert separate.test_client().get("/api/v1/tenants", headers=token).status_code == 200
    assert _limit_keys(url, queue)
    reset_limits(two)
    assert _limit_keys(url, queue) == []
    assert one.test_client().post("/api/v1/tenants/acme/suggest", json={"text": "my card"},
                                  headers=token).status_code == 200


def test_the_embedded_default_counts_in_memory_per_app(world):
    first, second = world.app(rate_suggest="1/minute"), world.app(rate_suggest="1/minute")
    token = bearer(token_for(first))

    def suggest(app: Flask) -> int:
        return app.test_client().post("/api/v1/tenants/acme/suggest", json={"text": "hi"}, headers=token).status_code

    assert [suggest(first), suggest(first), suggest(second)] == [200, 429, 200]


def test_json_errors_on_program_paths_keep_their_headers(world):
    client = world.app().test_client()
    answer = client.get("/webhooks/zendesk/acme")
    assert refusal(answer, 405) and "POST" in answer.headers["Allow"]
    assert refusal(client.get("/apps/api/nothing-here"), 404)
