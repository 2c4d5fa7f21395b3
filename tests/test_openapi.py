"""The OpenAPI document is valid, complete, and matches what the API really answers."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

from core.app import create_app
from core.config import Settings


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    return create_app(Settings(home=home, database_url=f"sqlite:///{home / 'deskloop.db'}"))


@pytest.fixture(scope="module")
def document(app):
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json


def test_the_document_is_valid_openapi(document):
    validate(document)
    assert document["openapi"].startswith("3.1")


def test_every_api_route_is_documented(app, document):
    documented = {(path, method.upper()) for path, ops in document["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1") or rule.rule == "/api/v1/openapi.json":
            continue
        path = rule.rule
        for arg in rule.arguments:
            path = re.sub(rf"<(?:[a-z]+:)?{arg}>", f"{{{arg}}}", path)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in documented, f"{method} {path} is not in the OpenAPI document"
    assert len(documented) >= 8


def test_required_operations_are_there(document):
    paths = document["paths"]
    assert "get" in paths["/api/v1/health"]
    assert "get" in paths["/api/v1/tenants"]
    assert "get" in paths["/api/v1/tenants/{slug}/tickets"]
    assert "post" in paths["/api/v1/tenants/{slug}/tickets/{ticket_id}/suggestion"]
    assert "post" in paths["/api/v1/tenants/{slug}/signals"]
    assert "requestBody" in paths["/api/v1/tenants/{slug}/signals"]["post"]


def test_signal_kinds_are_enumerated(document):
    kind = document["components"]["schemas"]["SignalRequest"]["properties"]["kind"]
    assert "draft_edited" in kind["enum"] and "escalated" in kind["enum"]


def test_security_schemes_and_each_routes_scope_are_declared(app, document):
    """The document says how to prove who you are, and each operation the scope the server enforces."""
    from core.web.access import rule_for

    schemes = document["components"]["securitySchemes"]
    assert schemes["apiToken"] == {**schemes["apiToken"], "type": "http", "scheme": "bearer"}
    assert schemes["session"]["in"] == "cookie"
    by_path = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            path = rule.rule
            for arg in rule.arguments:
                path = re.sub(rf"<(?:[a-z]+:)?{arg}>", f"{{{arg}}}", path)
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                by_path[(path, method.lower())] = rule_for(app, rule.endpoint)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            enforced = by_path[(path, method)]
            if enforced.kind == "public":
                assert operation["security"] == [], f"{method} {path}"
            else:
                assert operation["x-deskloop-scope"] == enforced.scope, f"{method} {path}"
                assert {"apiToken": [enforced.scope]} in operation["security"]
                assert {"401", "403"} <= set(operation["responses"]), f"{method} {path}"


def test_numeric_ids_are_bounded_as_the_server_bounds_them(document):
    """A path id past a 64-bit row id matches no route (404), so the document says where ids end."""
    param = next(p for p in document["paths"]["/api/v1/tenants/{slug}/tickets/{ticket_id}"]["get"]["parameters"]
                 if p["name"] == "ticket_id")
    assert param["schema"] == {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}
