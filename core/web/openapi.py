"""API routes that document themselves: registering a route records its OpenAPI operation.

Every ``/api/v1`` route is added through :meth:`ApiDocs.route`, which takes the pydantic models of
the request and the response, so the document served at ``/api/v1/openapi.json`` is generated from
the same models that validate the traffic (pydantic writes the JSON Schemas; this module only
assembles the OpenAPI envelope around them).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema
from werkzeug.routing import IntegerConverter, Map

from core.web import access
from core.web.schemas import MAX_ROW_ID, ErrorBody

_RULE_PARAM = re.compile(r"<(?:(?P<converter>[a-z]+):)?(?P<name>\w+)>")
_CONVERTER_TYPES = {"int": "integer", "float": "number", None: "string", "string": "string"}
SECURITY_SCHEMES = {
    "apiToken": {"type": "http", "scheme": "bearer", "bearerFormat": "dlk_<id>_<secret>",
                 "description": "An API token (`deskloop token create`), sent as `Authorization: Bearer ...`. "
                                "It carries scopes (read, suggest, signals, admin) and covers one tenant "
                                "or every tenant."},
    "session": {"type": "apiKey", "in": "cookie", "name": "deskloop_session",
                "description": "A signed-in operator's session (from /login). Its role grants scopes: viewer "
                               "read; agent read, suggest, signals; admin all. State-changing requests also "
                               "send the page's CSRF token as `X-CSRFToken`."},
}
_ERROR_TEXT = {400: "Bad input: the reason names the field",
               401: "No proof: sign in, or send an API token",
               403: "The proof lacks the scope this route needs",
               429: "Too many requests, or too many failed proofs from this address",
               404: "No such tenant, or nothing of that id or key (ticket, signal, intent)",
               409: "The tenant has no trained model yet", 413: "The body is larger than the server accepts",
               415: "The body must be JSON"}


class RowIdConverter(IntegerConverter):
    """``<int:...>`` in this app's routes: a row id, so at most :data:`MAX_ROW_ID`. A larger number
    matches no route (404, as an id that names nothing) instead of reaching the database, which
    cannot bind it; :func:`core.app.create_app` installs it under the name ``int``."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ROW_ID)
        super().__init__(map, *args, **kwargs)


@dataclass(frozen=True)
class QueryParam:
    name: str
    type: str = "string"
    description: str = ""
    minimum: int | None = None
    maximum: int | None = None
    #: The only values accepted, when the parameter names one of a few things.
    choices: tuple[str, ...] = ()
    #: Longest text accepted (a stored name's column length).
    max_length: int | None = None
    required: bool = False


@dataclass(frozen=True)
class Operation:
    method: str
    rule: str
    summary: str
    response: type[BaseModel]
    status: int
    body: type[BaseModel] | None
    query: tuple[QueryParam, ...]
    errors: tuple[int, ...]
    #: Other success answers: status to a description, or to (description, model) when the body differs.
    also: dict[int, str | tuple[str, type[BaseModel]]] = field(default_factory=dict)
    #: The scope the route needs (a signed-in operator's role or an API token must grant it); None: public.
    scope: str | None = None
    #: The success body's media type; anything but JSON is documented as a string of that type.
    media_type: str = "application/json"

    def also_answers(self) -> list[tuple[int, str, type[BaseModel]]]:
        return [(status, *(given if isinstance(given, tuple) else (given, self.response)))
                for status, given in self.also.items()]

    @property
    def path(self) -> str:
        return _RULE_PARAM.sub(lambda m: "{" + m["name"] + "}", self.rule)


class ApiDocs:
    """Collects operations as routes are registered and renders the OpenAPI 3.1 document."""

    def __init__(self, blueprint: Blueprint, title: str, description: str) -> None:
        self.blueprint, self.title, self.description = blueprint, title, description
        self.operations: list[Operation] = []

    def route(self, method: str, rule: str, *, summary: str, response: type[BaseModel], status: int = 200,
              body: type[BaseModel] | None = None, query: tuple[QueryParam, ...] = (),
              errors: tuple[int, ...] = (),
              also: dict[int, str | tuple[str, type[BaseModel]]] | None = None,
              scope: str | None, media_type: str = "application/json") -> Callable:
        """Register a route. ``scope`` is required: the scope it needs, or None for a public route."""
        operation = Operation(method.upper(), rule, summary, response, status, body, query, errors, also or {},
                              scope, media_type)

        def register(view: Callable) -> Callable:
            view = (access.public if scope is None else access.operator(scope))(view)
            self.operations.append(operation)
            self.blueprint.add_url_rule(rule, view_func=view, methods=[operation.method],
                                        endpoint=f"{view.__name__}")
            return view

        return register

    def document(self, version: str, prefix: str) -> dict[str, Any]:
        schemas, refs = self._schemas()
        paths: dict[str, dict[str, Any]] = {}
        for op in self.operations:
            paths.setdefault(prefix + op.path, {})[op.method.lower()] = self._operation(op, refs)
        return {
            "openapi": "3.1.0",
            "info": {"title": self.title, "version": version, "description": self.description,
                     "license": {"name": "GPL-3.0-or-later", "identifier": "GPL-3.0-or-later"}},
            "paths": paths,
            "components": {"schemas": schemas, "securitySchemes": SECURITY_SCHEMES},
        }

    def _schemas(self) -> tuple[dict[str, Any], dict[Any, dict[str, Any]]]:
        """(the schemas by name, each (model, mode)'s reference to its schema)."""
        wanted: set[tuple[type[BaseModel], JsonSchemaMode]] = {(ErrorBody, "serialization")}
        for op in self.operations:
            if op.media_type == "application/json":
                wanted.add((op.response, "serialization"))
            wanted.update((model, "serialization") for _, _, model in op.also_answers())
            if op.body is not None:
                wanted.add((op.body, "validation"))
        ordered = sorted(wanted, key=lambda pair: (pair[0].__name__, pair[1]))
        refs, defs = models_json_schema(ordered, ref_template="#/components/schemas/{model}")
        return defs.get("$defs", {}), refs

    def _operation(self, op: Operation, refs) -> dict[str, Any]:
        parameters = [
            {"name": m["name"], "in": "path", "required": True, "schema": _path_schema(m["converter"])}
            for m in _RULE_PARAM.finditer(op.rule)
        ]
        for q in op.query:
            schema: dict[str, Any] = {"type": q.type}
            if q.minimum is not None:
                schema["minimum"] = q.minimum
            if q.maximum is not None:
                schema["maximum"] = q.maximum
            if q.choices:
                schema["enum"] = list(q.choices)
            if q.max_length is not None:
                schema["maxLength"] = q.max_length
            parameters.append({"name": q.name, "in": "query", "required": q.required, "description": q.description,
                               "schema": schema})
        error_ref = {"content": {"application/json": {"schema": refs[(ErrorBody, "serialization")]}}}
        body_schema = (refs[(op.response, "serialization")] if op.media_type == "application/json"
                       else {"type": "string"})
        responses: dict[str, Any] = {
            str(op.status): {"description": op.summary, "content": {op.media_type: {"schema": body_schema}}},
        }
        for status, text, model in op.also_answers():
            responses[str(status)] = {"description": text,
                                      "content": {"application/json": {"schema": refs[(model, "serialization")]}}}
        errors = set(op.errors) | ({400, 413, 415} if op.body is not None else set())
        if op.scope is not None:
            errors |= {401, 403, 429}
        for status in sorted(errors):
            responses[str(status)] = {"description": _ERROR_TEXT.get(status, "Error"), **error_ref}
        operation: dict[str, Any] = {"summary": op.summary, "operationId": f"{op.method.lower()}_{_op_id(op.rule)}",
                                     "parameters": parameters, "responses": responses}
        if op.scope is None:
            operation["security"] = []
        else:
            operation["security"] = [{"apiToken": [op.scope]}, {"session": [op.scope]}]
            operation["x-deskloop-scope"] = op.scope
            operation["description"] = f"Needs the `{op.scope}` scope."
        if op.body is not None:
            operation["requestBody"] = {"required": True,
                                        "content": {"application/json": {"schema": refs[(op.body, "validation")]}}}
        return operation


def _path_schema(converter: str | None) -> dict[str, Any]:
    kind = _CONVERTER_TYPES.get(converter, "string")
    return {"type": kind, "minimum": 0, "maximum": MAX_ROW_ID} if converter == "int" else {"type": kind}


def _op_id(rule: str) -> str:
    words = re.sub(r"<(?:[a-z]+:)?(\w+)>", r"by_\1", rule).strip("/").replace("/", "_").replace("-", "_")
    return words or "root"
