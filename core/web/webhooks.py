"""``POST /webhooks/<helpdesk>/<tenant>``: verify, parse, persist, enqueue, answer.

A fault of ours (credentials the server cannot decrypt) is a 503 with ``Retry-After``
(:func:`core.web.errors.misconfigured`), so the helpdesk retries once it is fixed. The tenant's
connection comes from a per-process cache stamped with the tenant row's ``config_version``, so a
rotated secret is in force at once in every worker: the insert of a verified delivery writes only
while the stamp is the one the secret was read at (no read of its own before it), and any other
answer (401, 400, ignored, duplicate) is given only once the stamp is read and found unchanged;
a moved stamp means reading the connection again and handling the delivery with it.

Nothing slow happens inside the request (no model, no helpdesk API call): the helpdesk wants an
answer within seconds and retries otherwise, so the events are stored and a worker applies them
(:mod:`core.helpdesk.webhook_events`). Answers: 200 for a stored or deliberately ignored delivery (an
ignored event must not be retried or get the webhook switched off), 401 for a signature that
does not verify, 400 with the reason for a payload that cannot be read, 404 for an unknown
helpdesk or tenant. The raw body is read once and verified as received, before any JSON parsing.
Once the events are stored they are acknowledged even if the queue cannot take the job that
applies them (Redis restarting): a helpdesk's retry would be a duplicate, which schedules nothing,
while the scheduler's sweep finds every event left pending.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import ValidationError
from sqlalchemy import Connection as DbConnection

from core.events import BadSignature
from core.helpdesk.connections import held_connection, stamped_connection
from core.helpdesk.contract import Connection, HelpdeskIntegration, integration
from core.helpdesk.webhook_events import schedule_processing, store_events_at_stamp
from core.runtime import Runtime
from core.store.tenants import config_version
from core.web.access import signed
from core.web.errors import error_response, validation_reason

log = logging.getLogger(__name__)

blueprint = Blueprint("webhooks", __name__)


@blueprint.post("/webhooks/<helpdesk>/<tenant>")
@signed
def receive(helpdesk: str, tenant: str):
    runtime = current_app.extensions["deskloop"]
    desk = integration(helpdesk)
    # One database connection for the whole delivery, in autocommit: the stamp read and the
    # insert (one statement, atomic by itself) cost one checkout and no BEGIN/COMMIT round trips.
    with runtime.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as db:
        return _receive(runtime, desk, helpdesk, tenant, db)


@dataclass(frozen=True)
class _Attempt:
    """A delivery handled with one cached connection. ``proven``: its events were stored by a
    statement that checked the connection's stamp, so the answer stands; any other answer (a
    refused signature, an ignored event) stands only once the stamp is read and found unchanged."""

    response: ResponseReturnValue
    proven: bool


def _receive(runtime: Runtime, desk: HelpdeskIntegration, helpdesk: str, tenant: str, db: DbConnection):
    held = held_connection(runtime, tenant)
    if held is not None:  # the common case: no read before the insert, which checks the stamp itself
        attempt = _deliver(runtime, desk, helpdesk, tenant, db, *held)
        if attempt is not None and (attempt.proven or config_version(db, tenant) == held[0]):
            return attempt.response
    stamp, conn = stamped_connection(runtime, tenant, db)
    attempt = _deliver(runtime, desk, helpdesk, tenant, db, stamp, conn)
    if attempt is None:  # the tenant was reconfigured twice within this delivery
        return _retry_later("the tenant's connection changed while this delivery was stored; retry")
    return attempt.response


def _retry_later(reason: str) -> ResponseReturnValue:
    response, status = error_response(503, reason)
    response.headers["Retry-After"] = "1"
    return response, status


def _deliver(runtime: Runtime, desk: HelpdeskIntegration, helpdesk: str, tenant: str, db: DbConnection,
             stamp: int, conn: Connection) -> _Attempt | None:
    """Verify, parse and store with ``conn``; ``None`` when the stamp moved before the insert
    (nothing was written)."""
    if conn.helpdesk != helpdesk:
        return _Attempt(error_response(404, f"tenant {tenant!r} is not connected to {helpdesk}"), proven=False)
    body = request.get_data(cache=True)
    try:
        # werkzeug's Headers reads like a mapping (get, items) without being typed as one.
        desk.verify(cast(Mapping[str, str], request.headers), body, conn.secrets, datetime.now(UTC))
    except BadSignature as exc:
        log.warning("%s webhook for %s rejected: %s", helpdesk, tenant, exc)
        return _Attempt(error_response(401, f"signature not accepted: {exc}"), proven=False)
    try:
        events = [event.check() for event in desk.parse(body, conn.settings)]
    except ValidationError as exc:  # an event the adapter built from values that do not fit
        reason, field = validation_reason(exc)
        return _Attempt(error_response(400, f"malformed {helpdesk} payload: {f'{field}: ' if field else ''}{reason}"),
                        proven=False)
    except ValueError as exc:  # MalformedPayload, or an event missing what its kind needs
        return _Attempt(error_response(400, f"malformed {helpdesk} payload: {exc}"), proven=False)
    if not events:
        name = desk.event_name(body)
        log.info("%s webhook for %s: event %r ignored (not used by Deskloop)", helpdesk, tenant, name)
        return _Attempt(jsonify(accepted=0, duplicates=0, ignored=name), proven=False)
    new_ids = store_events_at_stamp(runtime.db.tenant_id(tenant), helpdesk, events, stamp, db)
    if new_ids is None:
        return None
    if new_ids:
        try:
            schedule_processing(runtime, tenant)
        except Exception as exc:  # the queue is down: the events are stored, the scheduler's sweep drains them
            log.error("%s webhook for %s: events stored, but no drain could be queued (%s); the scheduler's "
                      "sweep will apply them", helpdesk, tenant, type(exc).__name__)
    return _Attempt(jsonify(accepted=len(new_ids), duplicates=len(events) - len(new_ids)), proven=True)
