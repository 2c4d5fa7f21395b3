"""Every ``/api/v1`` operation fuzzed from the OpenAPI document (schemathesis), on SQLite and PostgreSQL.

One tenant has tickets, a trained model, discovered intents and signals; a second tenant has the
same kinds of rows. A token for the first tenant alone, with every scope, sends generated requests
(valid ones, and invalid ones in every place the document describes). Each answer must be a 4xx
with a reason or a success, never a 5xx; its status must be one the document lists for the
operation, its content type and body the documented ones. The same token sent at the second
tenant's slug, or at its ticket, signal and intent ids under the first tenant's slug, must get
403/404 and none of its rows.

The run is bounded for CI: ``DESKLOOP_FUZZ_EXAMPLES`` generated requests per operation and mode
(default 40), derandomized so every run sends the same requests; raise it locally for a deeper search.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from core.app import create_app
from core.config import Settings
from core.labelling import proposals
from core.learning.training import train_tenant
from core.store.db import Database
from core.store.tables import IntentProposalRow, SignalRow, SuggestionRow, TicketRow
from core.store.tickets import upsert_tickets
from core.web.api import PREFIX, docs
from core.web.schemas import MAX_ROW_ID
from tests.access_support import token_for
from tests.conftest import _truncate_all
from tests.factories import make_ticket, small_inbox

EXAMPLES = int(os.environ.get("DESKLOOP_FUZZ_EXAMPLES") or 40)
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck),
)
POSITIVE_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
                   response_schema_conformance]
NEGATIVE_CHECKS = [*POSITIVE_CHECKS, negative_data_rejection]

OWNER, STRANGER = "acme", "globex"
#: Text only the second tenant's tickets carry: an answer that contains it leaked that tenant's rows.
STRANGER_MARK = "zz-globex-only"

OPERATIONS = [(op.method, PREFIX + op.path) for op in docs.operations]
#: The operations with an input that can be made invalid: a body, a query parameter or a numeric id
#: (any text is a valid slug or key).
NEGATABLE = [(op.method, PREFIX + op.path) for op in docs.operations
             if op.body is not None or op.query or "<int:" in op.rule]


def _label(operation: tuple[str, str]) -> str:
    return f"{operation[0]} {operation[1].removeprefix(PREFIX)}"


@dataclass
class FuzzedApp:
    schema: schemathesis.BaseSchema
    headers: dict[str, str]
    #: Each tenant's ids, by path parameter name.
    owner_ids: dict[str, list]
    stranger_ids: dict[str, list]


def _seed(db: Database, slug: str, tickets) -> None:
    tenant_id = db.ensure_tenant(slug)
    with db.transaction(tenant_id) as session:
        upsert_tickets(session, tenant_id, tickets)


def _stranger_inbox():
    """The first tenant's kind of history, worded so the second tenant's rows are recognisable."""
    return [t.model_copy(update={"subject": STRANGER_MARK, "external_id": f"{STRANGER_MARK}-{t.external_id}"})
            for t in small_inbox()] + [make_ticket(f"{STRANGER_MARK}-open", f"{STRANGER_MARK} help me please")]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzzed(request, tmp_path_factory, encoder_dir: Path) -> Iterator[FuzzedApp]:
    home = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    url = (request.getfixturevalue("postgres_url") if request.param == "postgresql"
           else f"sqlite:///{home / 'deskloop.db'}")
    # The suggestion rate limit is for abusive callers; the fuzzer is one on purpose.
    config = Settings(home=home, database_url=url, encoder_dir=encoder_dir, rate_suggest="100000/minute",
                      secret_key="test-only-key-that-encrypts-tenant-credentials")
    db = Database.from_settings(config)
    db.migrate()
    app = create_app(config)
    runtime = app.extensions["deskloop"]
    client = app.test_client()
    try:
        for slug, inbox in ((OWNER, small_inbox()), (STRANGER, _stranger_inbox())):
            _seed(db, slug, inbox)
            train_tenant(runtime, slug)
            proposals.discover(runtime, slug, min_size=3)
            admin = {"Authorization": f"Bearer {token_for(app, tenant=slug)}"}
            ticket_id = client.get(f"{PREFIX}/tenants/{slug}/tickets?limit=1", headers=admin).json["tickets"][0]["id"]
            made = client.post(f"{PREFIX}/tenants/{slug}/tickets/{ticket_id}/suggestion", headers=admin)
            assert made.status_code == 200, made.json
            signal = client.post(f"{PREFIX}/tenants/{slug}/signals", headers=admin,
                                 json={"kind": "draft_edited", "suggestion_id": made.json["id"],
                                       "payload": {"sent": made.json["draft"] + " Thanks."}})
            assert signal.status_code == 201, signal.json
        owner_ids, stranger_ids = _ids(db, OWNER), _ids(db, STRANGER)
        # Keys both tenants have are no test of isolation: the owner's own key answers.
        stranger_ids["key"] = [k for k in stranger_ids["key"] if k not in owner_ids["key"]]
        assert all(owner_ids.values()) and all(stranger_ids.values()), (owner_ids, stranger_ids)
        schema = _fuzzable_schema(app)
        yield FuzzedApp(schema, {"Authorization": f"Bearer {token_for(app, tenant=OWNER)}"}, owner_ids,
                        stranger_ids)
    finally:
        runtime.close()
        if db.dialect == "postgresql":
            _truncate_all(db)
        db.dispose()


def _fuzzable_schema(app) -> schemathesis.BaseSchema:
    """The served document, less its security requirements: every request carries the owner's
    token (access rules have tests of their own), so the generator must not spend its invalid
    requests on an Authorization header the test then replaces."""
    document = app.test_client().get(f"{PREFIX}/openapi.json").json
    for operations in document["paths"].values():
        for operation in operations.values():
            operation.pop("security", None)
    document["components"].pop("securitySchemes")
    # A text past its maxLength can also be a body past the server's cap: 413 refuses it too.
    config = schemathesis.Config.from_dict({"checks": {"negative_data_rejection": {"expected-statuses": [
        "400", "404", "405", "409", "413", "415", "422"]}}})
    schema = schemathesis.openapi.from_dict(document, config=config)
    schema.app = app  # requests go through the app itself (WSGI), as from_wsgi would send them
    return schema


def _ids(db: Database, slug: str) -> dict[str, list]:
    tenant_id = db.tenant_id(slug)
    with db.tenant_session(tenant_id) as session:
        return {
            "ticket_id": list(session.scalars(select(TicketRow.id).where(TicketRow.tenant_id == tenant_id))),
            "signal_id": list(session.scalars(select(SignalRow.id).where(SignalRow.tenant_id == tenant_id))),
            "key": list(session.scalars(select(IntentProposalRow.key).where(IntentProposalRow.tenant_id == tenant_id))),
            "suggestion_id": list(session.scalars(select(SuggestionRow.id)
                                                  .where(SuggestionRow.tenant_id == tenant_id))),
        }


def _fuzz(fuzzed: FuzzedApp, operation: tuple[str, str], mode: schemathesis.GenerationMode, checks) -> None:
    """Generated requests under the owner's slug; a generated id is swapped for one of the owner's
    rows half the time (a valid request then reaches past the 404), never where it was made invalid."""
    method, path = operation
    strategy = fuzzed.schema[path][method].as_strategy(generation_mode=mode, path_parameters={"slug": OWNER})

    @FUZZ_SETTINGS
    @given(case=strategy, data=st.data())
    def run(case, data):
        for name, ids in fuzzed.owner_ids.items():
            if name in (case.path_parameters or {}) and _valid(case, name) and data.draw(st.booleans(), name):
                case.path_parameters[name] = data.draw(st.sampled_from(ids), name)
            # A valid body that may name a row (a signal's ticket or suggestion) names one of the
            # owner's a third of the time, and none a third of the time.
            if (mode == schemathesis.GenerationMode.POSITIVE and isinstance(case.body, dict)
                    and name in _body_properties(case)):
                choice = data.draw(st.sampled_from(["generated", "owner's", "none"]), f"body {name}")
                if choice == "owner's":
                    case.body[name] = data.draw(st.sampled_from(ids), f"body {name}")
                elif choice == "none":
                    case.body.pop(name, None)
        case.call_and_validate(headers=fuzzed.headers, checks=checks)

    run()


def _body_properties(case) -> set[str]:
    """The properties the operation's JSON body declares."""
    body = case.operation.definition.raw.get("requestBody", {})
    schema = body.get("content", {}).get("application/json", {}).get("schema", {})
    if "$ref" in schema:
        schema = case.operation.schema.raw_schema["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return set(schema.get("properties", {}))


def _valid(case, name: str) -> bool:
    """Whether the generator left path parameter ``name`` valid (always, in the positive mode)."""
    value = case.path_parameters[name]
    if name == "key":
        return isinstance(value, str)
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_ROW_ID


@pytest.mark.parametrize("operation", OPERATIONS, ids=_label)
def test_valid_requests_get_documented_answers(fuzzed, operation):
    _fuzz(fuzzed, operation, schemathesis.GenerationMode.POSITIVE, POSITIVE_CHECKS)


@pytest.mark.parametrize("operation", NEGATABLE, ids=_label)
def test_invalid_requests_get_a_4xx_with_a_reason(fuzzed, operation):
    _fuzz(fuzzed, operation, schemathesis.GenerationMode.NEGATIVE, NEGATIVE_CHECKS)


#: The operations on one tenant's rows (their path names the tenant).
TENANT_OPERATIONS = [operation for operation in OPERATIONS if "{slug}" in operation[1]]


@pytest.mark.parametrize("operation", TENANT_OPERATIONS, ids=_label)
def test_another_tenants_rows_are_out_of_reach(fuzzed, operation):
    """Valid requests aimed at the second tenant: its slug, or its ticket, signal and intent ids
    under the first tenant's slug. The first tenant's token gets 403 or 404, and none of its rows."""
    method, path = operation
    strategy = fuzzed.schema[path][method].as_strategy(generation_mode=schemathesis.GenerationMode.POSITIVE)

    @FUZZ_SETTINGS
    @given(case=strategy, data=st.data())
    def run(case, data):
        ids = [name for name in fuzzed.stranger_ids if name in case.path_parameters]
        by_slug = not ids or data.draw(st.booleans(), "the second tenant's slug")
        case.path_parameters["slug"] = STRANGER if by_slug else OWNER
        for name in ids:
            case.path_parameters[name] = data.draw(st.sampled_from(fuzzed.stranger_ids[name]), name)
        response = case.call(headers=fuzzed.headers)
        assert response.status_code in (403, 404), (case.formatted_path, response.status_code, response.text)
        assert STRANGER_MARK not in response.text

    run()


def test_the_tenant_listing_shows_only_the_tokens_tenant(fuzzed):
    case = fuzzed.schema[f"{PREFIX}/tenants"]["GET"].Case()
    response = case.call_and_validate(headers=fuzzed.headers, checks=POSITIVE_CHECKS)
    assert [t["slug"] for t in response.json()["tenants"]] == [OWNER]
