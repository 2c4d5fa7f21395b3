"""The JSON API under ``/api/v1``: health, tenants, tickets, suggestions, signals, label sources and
discovered intents.

Views are thin: they validate with the models in :mod:`core.web.schemas`, call the same core
functions the CLI uses, and let :mod:`core.web.errors` turn bad input into a 4xx with a reason.
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib.metadata import version as package_version
from typing import Any, cast

from flask import Blueprint, current_app, jsonify, request
from pydantic import BaseModel
from sqlalchemy import select, text

from core.access import audit
from core.autonomy.backtest_runs import StoredBacktest, latest_backtest
from core.autonomy.measures import DEFAULT_DAYS, MAX_DAYS, AutonomyMeasures, autonomy_measures
from core.autonomy.settings import set_paused
from core.autonomy.shadow_report import ShadowReport, shadow_report
from core.autonomy.status_view import AutonomyStatus, autonomy_status
from core.background import tasks
from core.dispatch.queue import enqueue
from core.insights import overview as insight_views
from core.insights.churn.export import ranking_csv
from core.insights.churn.ranking import account_timeline, rank_accounts
from core.insights.deploys import mark as mark_deploy
from core.insights.digest import WeeklyDigest, weekly_digest
from core.insights.feature_requests import FeatureRequestReport, feature_request_report, report_csv
from core.insights.gap_export import file_name as gap_file_name
from core.insights.gap_export import markdown as gap_markdown
from core.insights.incidents import DeployMarker, Incident
from core.insights.knowledge_gaps import KnowledgeGap, KnowledgeGapReport, knowledge_gap_report
from core.insights.knowledge_gaps import report_csv as gaps_csv
from core.insights.run import recent_incidents
from core.insights.weeks import last_complete_week, parse_week
from core.labelling import proposals as intent_proposals
from core.labelling.settings import label_state, rank_and_keep, use_source
from core.learning.audit import audited_signals
from core.learning.feedback import record_signal, revoke_signal
from core.learning.training import registry_for
from core.ml.cluster_store import list_clusters
from core.runtime import Runtime
from core.store.tables import TenantRow
from core.store.tickets import StoredTicket, count_tickets, get_ticket, list_tickets
from core.suggesting.replay import latest_replay_run
from core.suggesting.suggest import similar_tickets, suggest, suggest_for_ticket
from core.text.limits import MESSAGE_MODEL_CHARS, truncated
from core.types import Signal
from core.web.access import actor, current_principal, public
from core.web.errors import ApiError
from core.web.limits import rate_limited
from core.web.openapi import ApiDocs, QueryParam
from core.web.schemas import (
    AcceptRequest,
    AcceptResult,
    AccountRisk,
    AccountRiskList,
    AccountTicket,
    AccountTimeline,
    AuditedSignal,
    ChurnEvaluation,
    ChurnReason,
    ClusterList,
    ClusterSummary,
    Health,
    IntentList,
    JobQueued,
    LabelSourceChange,
    LabelSourceRequest,
    LabelState,
    MergeRequest,
    MergeResult,
    RenameRequest,
    RenameResult,
    ReplayRun,
    SignalList,
    SignalRequest,
    SimilarList,
    SimilarTicket,
    SplitRequest,
    SplitResult,
    Suggestion,
    SuggestRequest,
    TenantList,
    TenantSummary,
    TicketDetail,
    TicketList,
    TicketMessage,
    TicketSummary,
)

PREFIX = "/api/v1"
PREVIEW_CHARS = 160

blueprint = Blueprint("api", __name__, url_prefix=PREFIX)
docs = ApiDocs(blueprint, "Deskloop API",
               "Tickets in the common shape, the suggestions Deskloop makes for them, and the signals "
               "agents and customers send back.")


def runtime() -> Runtime:
    return current_app.extensions["deskloop"]


def _json_body(model):
    if not request.is_json:
        raise ApiError(415, "send the body as application/json")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "the body is not a JSON object")
    return model.model_validate(data)


def _int_arg(name: str, default: int, minimum: int, maximum: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer, got {raw!r}", field=name) from None
    if not minimum <= value <= maximum:
        raise ApiError(400, f"{name} must be between {minimum} and {maximum}", field=name)
    return value


def _text_arg(name: str) -> str | None:
    """A text filter (None when absent or empty); no stored value holds a NUL character, and
    PostgreSQL refuses one in a query, so it is refused here for both databases."""
    value = request.args.get(name) or None
    if value is not None and "\x00" in value:
        raise ApiError(400, f"{name} contains a NUL character", field=name)
    return value


def _summary(stored: StoredTicket) -> dict[str, Any]:
    t = stored.ticket
    return {
        "id": stored.id, "external_id": t.external_id, "source": t.source, "subject": t.subject,
        "preview": stored.text[:PREVIEW_CHARS], "intent": t.intent, "tags": t.tags, "status": t.status,
        "priority": t.priority, "requester": t.requester, "organization": t.organization,
        "created_at": t.created_at, "cluster": stored.cluster_key, "sentiment": stored.sentiment,
        "urgent": stored.urgent,
    }


def _detail(stored: StoredTicket) -> TicketDetail:
    t = stored.ticket
    tones = cast(list, stored.message_tones)  # set on every ticket read back from the store
    messages = [TicketMessage(**m.model_dump(), body_clean=clean, sentiment=tone[0], urgent=tone[1])
                for m, clean, tone in zip(t.messages, stored.clean_bodies, tones, strict=True)]
    return TicketDetail(
        **_summary(stored), text=stored.text, messages=messages, channel=t.channel, updated_at=t.updated_at,
        first_response_at=t.first_response_at, solved_at=t.solved_at, csat=t.csat, reopen_count=t.reopen_count,
        custom_fields=t.custom_fields, page_context=t.page_context,
    )


def _send(model, status: int = 200):
    return current_app.response_class(model.model_dump_json(), status=status, mimetype="application/json")


@docs.route("GET", "/health", scope=None, summary="Liveness: the database answers", response=Health)
def health():
    rt = runtime()
    with rt.db.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return _send(Health(status="ok", database=rt.db.dialect, jobs="rq" if rt.settings.redis_url else "inline",
                        version=package_version("deskloop")))


@docs.route("GET", "/tenants", scope="read", summary="Installed helpdesk accounts", response=TenantList)
def tenants():
    rt = runtime()
    principal = current_principal()
    with rt.db.admin_session() as session:
        rows = session.execute(select(TenantRow.id, TenantRow.slug, TenantRow.helpdesk, TenantRow.domain)
                               .order_by(TenantRow.slug)).all()
    found = []
    for row in (r for r in rows if principal.covers(r.slug)):
        with rt.db.tenant_session(row.id) as session:
            count = count_tickets(session)
        found.append(TenantSummary(slug=row.slug, helpdesk=row.helpdesk, domain=row.domain, tickets=count,
                                   model_version=registry_for(rt, row.slug).current_version()))
    return _send(TenantList(tenants=found))


@docs.route("GET", "/tenants/<slug>/tickets", scope="read",
            summary="A tenant's tickets, newest first", response=TicketList,
            query=(QueryParam("limit", "integer", "Page size (1-200, default 50)", 1, 200),
                   QueryParam("offset", "integer", "Tickets to skip", 0),
                   QueryParam("status", description="Only this status"),
                   QueryParam("intent", description="Only this intent"),
                   QueryParam("tag", description="Only tickets carrying this tag")),
            errors=(400, 404))
def tickets(slug: str):
    rt = runtime()
    tenant_id = rt.db.tenant_id(slug)
    limit = _int_arg("limit", 50, 1, 200)
    offset = _int_arg("offset", 0, 0, 10**9)
    filters = {k: _text_arg(k) for k in ("status", "intent", "tag")}
    with rt.db.tenant_session(tenant_id) as session:
        page = list_tickets(session, limit=limit, offset=offset, **filters)
        total = count_tickets(session, **filters)
    return _send(TicketList(tickets=[TicketSummary(**_summary(s)) for s in page], total=total, limit=limit,
                            offset=offset))


@docs.route("GET", "/tenants/<slug>/tickets/<int:ticket_id>", scope="read", summary="One ticket with its messages",
            response=TicketDetail, errors=(404,))
def ticket(slug: str, ticket_id: int):
    rt = runtime()
    with rt.db.tenant_session(rt.db.tenant_id(slug)) as session:
        stored = get_ticket(session, ticket_id)
    if stored is None:
        raise ApiError(404, f"no ticket {ticket_id} for tenant {slug}")
    return _send(_detail(stored))


@docs.route("POST", "/tenants/<slug>/tickets/<int:ticket_id>/suggestion", scope="suggest",
            summary="A fresh suggestion for a stored ticket (stored, so signals can refer to it)",
            response=Suggestion, errors=(404, 409))
@rate_limited("suggest")
def ticket_suggestion(slug: str, ticket_id: int):
    made = suggest_for_ticket(runtime(), slug, ticket_id)
    if made is None:
        raise ApiError(404, f"no ticket {ticket_id} for tenant {slug}")
    return _send(made)


@docs.route("POST", "/tenants/<slug>/suggest", scope="suggest",
            summary="A suggestion for raw text", response=Suggestion,
            body=SuggestRequest, errors=(404, 409))
@rate_limited("suggest")
def suggest_text(slug: str):
    body = _json_body(SuggestRequest)
    rt = runtime()
    rt.db.tenant_id(slug)
    text = truncated(body.text, MESSAGE_MODEL_CHARS)  # one message's cap, marked (core.text.limits)
    return _send(suggest(rt, slug, text, customer_name=body.customer_name))


@docs.route("POST", "/tenants/<slug>/signals", scope="signals",
            summary="Record a signal (created)", response=Signal, status=201,
            body=SignalRequest, errors=(404,), also={200: "The same source_event was already recorded"})
def post_signal(slug: str):
    body = _json_body(SignalRequest)
    if body.ticket_id is None and body.suggestion_id is None:
        raise ApiError(400, "a signal needs a ticket_id or a suggestion_id", field="ticket_id")
    stored, created = record_signal(runtime(), slug, Signal(**body.model_dump()))
    return _send(stored, 201 if created else 200)


@docs.route("GET", "/tenants/<slug>/signals", scope="read",
            summary="The tenant's signals, newest first", response=SignalList,
            query=(QueryParam("limit", "integer", "How many (1-500, default 50)", 1, 500),), errors=(400, 404))
def signals(slug: str):
    limit = _int_arg("limit", 50, 1, 500)
    return _send(SignalList(signals=[
        AuditedSignal(**a.signal.model_dump(), change=a.change, trained_in=a.trained_in)
        for a in audited_signals(runtime(), slug, limit=limit)
    ]))


@docs.route("POST", "/tenants/<slug>/signals/<int:signal_id>/revoke", scope="admin",
            summary="Revoke a signal: it stops influencing suggestions and later model versions", response=Signal,
            errors=(400, 404))
def revoke(slug: str, signal_id: int):
    revoked = revoke_signal(runtime(), slug, signal_id)
    audit.record(runtime(), actor(), "signal.revoke", tenant=slug, target=f"signal:{signal_id}")
    return _send(revoked)


@docs.route("GET", "/tenants/<slug>/replays/latest", scope="read",
            summary="The learning curves of the latest `deskloop replay`",
            response=ReplayRun, errors=(404,))
def latest_replay(slug: str):
    run = latest_replay_run(runtime(), slug)
    if run is None:
        raise ApiError(404, f"tenant {slug} has no replay yet; run `deskloop replay FILE --tenant {slug}`")
    return _send(ReplayRun(**run))


@docs.route("GET", "/tenants/<slug>/tickets/<int:ticket_id>/similar", scope="read",
            summary="The nearest resolved tickets of any intent, with scores", response=SimilarList,
            query=(QueryParam("limit", "integer", "How many (1-50, default 10)", 1, 50),), errors=(400, 404, 409))
def similar(slug: str, ticket_id: int):
    limit = _int_arg("limit", 10, 1, 50)
    found = similar_tickets(runtime(), slug, ticket_id, limit)
    if found is None:
        raise ApiError(404, f"no ticket {ticket_id} for tenant {slug}")
    return _send(SimilarList(ticket_id=ticket_id, similar=[SimilarTicket(**f) for f in found]))


@docs.route("GET", "/tenants/<slug>/clusters", scope="read", summary="Clusters of related tickets, largest first",
            response=ClusterList, errors=(404,))
def clusters(slug: str):
    rows = list_clusters(runtime(), slug)
    return _send(ClusterList(clusters=[ClusterSummary.model_validate(r, from_attributes=True) for r in rows]))


@docs.route("GET", "/tenants/<slug>/labels", scope="read",
            summary="The label source in use and the latest ranking of candidates",
            response=LabelState, errors=(404,))
def labels(slug: str):
    current, report = label_state(runtime(), slug)
    return _send(LabelState.model_validate({"current": current, "report": report}))


@docs.route("POST", "/tenants/<slug>/labels/suggest", scope="admin",
            summary="Rank the tenant's label sources afresh on its stored tickets (kept as the latest ranking)",
            response=LabelState, errors=(400, 404))
def suggest_labels(slug: str):
    report = rank_and_keep(runtime(), slug)
    return _send(LabelState.model_validate({"current": report["current"], "report": report}))


@docs.route("PUT", "/tenants/<slug>/labels/source", scope="admin",
            summary="Learn intents from this source, checked on the stored tickets first (the next training relabels)",
            response=LabelSourceChange, body=LabelSourceRequest, errors=(404,))
def put_label_source(slug: str):
    body = _json_body(LabelSourceRequest)
    changed = LabelSourceChange(**use_source(runtime(), slug, body.source))
    audit.record(runtime(), actor(), "labels.use", tenant=slug, target=body.source)
    return _send(changed)


@docs.route("GET", "/tenants/<slug>/intents", scope="read",
            summary="Intents discovered from the customers' words, largest first",
            response=IntentList, errors=(404,))
def intents(slug: str):
    return _send(IntentList(**intent_proposals.listing(runtime(), slug)))


@docs.route("POST", "/tenants/<slug>/intents/discover", scope="admin",
            summary="Propose intents from the tickets no accepted intent holds (replaces earlier proposals)",
            response=IntentList, errors=(400, 404),
            also={202: ("Queued for a worker (with Redis): the listing changes when it has run", JobQueued)})
def discover(slug: str):
    rt = runtime()
    rt.db.tenant_id(slug)
    outcome = enqueue(tasks.discover_intents, slug, job_id=f"intents-discover:{slug}", settings=rt.settings)
    if outcome.mode == "inline":
        return _send(IntentList(**outcome.result))
    return _send(JobQueued(job_id=outcome.job_id, status=outcome.mode), 202)


@docs.route("POST", "/tenants/<slug>/intents/accept", scope="admin",
            summary="Accept intents: their tickets become training labels (label source `discovered`)",
            response=AcceptResult, body=AcceptRequest, errors=(404,))
def accept_intents(slug: str):
    body = _json_body(AcceptRequest)
    if body.all == bool(body.keys):
        raise ApiError(400, 'name the intents to accept in "keys", or send "all": true (not both)', field="keys")
    accepted = AcceptResult(**intent_proposals.accept(runtime(), slug, body.keys, every=body.all))
    audit.record(runtime(), actor(), "intents.accept", tenant=slug, detail={"keys": body.keys, "all": body.all})
    return _send(accepted)


@docs.route("POST", "/tenants/<slug>/intents/<key>/rename", scope="admin",
            summary="Rename an intent; its key follows the name",
            response=RenameResult, body=RenameRequest, errors=(404,))
def rename_intent(slug: str, key: str):
    body = _json_body(RenameRequest)
    renamed = RenameResult(**intent_proposals.rename(runtime(), slug, key, body.label))
    audit.record(runtime(), actor(), "intents.rename", tenant=slug, target=key, detail={"label": body.label})
    return _send(renamed)


@docs.route("POST", "/tenants/<slug>/intents/merge", scope="admin", summary="Merge two or more intents into one",
            response=MergeResult, body=MergeRequest, errors=(404,))
def merge_intents(slug: str):
    body = _json_body(MergeRequest)
    merged = MergeResult(**intent_proposals.merge(runtime(), slug, body.keys, into=body.into))
    audit.record(runtime(), actor(), "intents.merge", tenant=slug, target=body.into,
                 detail={"keys": body.keys})
    return _send(merged)


@docs.route("POST", "/tenants/<slug>/intents/<key>/split", scope="admin",
            summary="Split an intent into new proposed intents by the wording of its tickets",
            response=SplitResult, body=SplitRequest, errors=(404,))
def split_intent(slug: str, key: str):
    body = _json_body(SplitRequest)
    split = SplitResult(**intent_proposals.split(runtime(), slug, key, body.parts))
    audit.record(runtime(), actor(), "intents.split", tenant=slug, target=key, detail={"parts": body.parts})
    return _send(split)


@docs.route("POST", "/tenants/<slug>/deploys", scope="signals",
            summary="Mark a deploy (service, version, deployed_at, link): incidents name the one before them",
            response=DeployMarker, status=201, body=DeployMarker, errors=(400, 404))
def post_deploy(slug: str):
    """The ``signals`` scope: a deploy pipeline reports what it did, as an agent tool reports a
    signal, without holding an admin token."""
    if not request.is_json:
        raise ApiError(415, "send the body as application/json")
    raw = request.get_json(silent=True)
    if not isinstance(raw, dict):
        raise ApiError(400, "the body is not a JSON object")
    runtime().db.tenant_id(slug)
    return _send(mark_deploy(runtime(), slug, raw), 201)


class IncidentList(BaseModel):
    incidents: list[Incident]


@docs.route("GET", "/tenants/<slug>/incidents", scope="read",
            summary="The tenant's spike incidents, open ones first, then the latest",
            response=IncidentList, query=(QueryParam("limit", "integer", "How many (1-200, default 50)", 1, 200),),
            errors=(400, 404))
def incidents(slug: str):
    limit = _int_arg("limit", 50, 1, 200)
    return _send(IncidentList(incidents=recent_incidents(runtime(), slug, limit)))


HOURS_PARAM = QueryParam("hours", "integer", f"Hours ending with the current one (1-{insight_views.MAX_HOURS}, "
                         "default 168)", 1, insight_views.MAX_HOURS)


def _hours_arg() -> int:
    return _int_arg("hours", 168, 1, insight_views.MAX_HOURS)


@docs.route("GET", "/tenants/<slug>/volumes", scope="read",
            summary="One category's tickets per hour, with what the spike test expected of each hour, its usual "
                    "range and the count that opens an incident",
            response=insight_views.VolumeSeries,
            query=(QueryParam("kind", description="The category's kind", choices=insight_views.CATEGORY_KINDS,
                              required=True),
                   QueryParam("category", description="The category's name (an intent, tag, cluster or area)",
                              max_length=255, required=True),
                   HOURS_PARAM),
            errors=(400, 404))
def volumes(slug: str):
    kind = insight_views.checked_kind(request.args.get("kind"))
    category = _text_arg("category")
    if category is None or len(category) > 255:
        raise ApiError(400, "name the category (1-255 characters)", field="category")
    hours = _hours_arg()
    return _send(insight_views.volume_series(runtime(), slug, kind, category, hours))


@docs.route("GET", "/tenants/<slug>/insights/categories", scope="read",
            summary="The categories that counted tickets in the hours asked for, the busiest first, with their "
                    "incidents", response=insight_views.CategoryList,
            query=(HOURS_PARAM, QueryParam("limit", "integer", "How many (1-500, default 100)", 1, 500)),
            errors=(400, 404))
def insight_categories(slug: str):
    hours, limit = _hours_arg(), _int_arg("limit", 100, 1, 500)
    return _send(insight_views.busiest_categories(runtime(), slug, hours, limit))


@docs.route("GET", "/tenants/<slug>/deploys", scope="read",
            summary="The deploy markers of the hours asked for, oldest first", response=insight_views.DeployList,
            query=(HOURS_PARAM,), errors=(400, 404))
def deploys(slug: str):
    return _send(insight_views.deploys(runtime(), slug, _hours_arg()))


@docs.route("GET", "/tenants/<slug>/insights/emerging", scope="read",
            summary="Groups of tickets unlike anything the model knows, the busiest first, with example tickets "
                    "(subject and link only)", response=insight_views.EmergingList,
            query=(HOURS_PARAM, QueryParam("limit", "integer", "How many groups (1-50, default 10)", 1, 50)),
            errors=(400, 404))
def emerging(slug: str):
    hours, limit = _hours_arg(), _int_arg("limit", 10, 1, 50)
    return _send(insight_views.emerging_groups(runtime(), slug, hours, limit))
_DAYS = QueryParam("days", "integer", "Tickets created this many days back (28-3650, default 180)", 28, 3650)


@docs.route("GET", "/tenants/<slug>/insights/feature-requests", scope="read",
            summary="Feature requests grouped into requested capabilities, with accounts, trend and examples",
            response=FeatureRequestReport, query=(_DAYS,), errors=(400, 404))
def feature_requests(slug: str):
    return _send(feature_request_report(runtime(), slug, days=_int_arg("days", 180, 28, 3650)))


@docs.route("GET", "/tenants/<slug>/insights/feature-requests.csv", scope="read",
            summary="The same capabilities as CSV (text/csv; cells that would run as spreadsheet formulas are escaped)",
            response=FeatureRequestReport, media_type="text/csv", query=(_DAYS,), errors=(400, 404))
def feature_requests_csv(slug: str):
    report = feature_request_report(runtime(), slug, days=_int_arg("days", 180, 28, 3650))
    return current_app.response_class(report_csv(report), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{slug}-feature-requests.csv"'})
#: The longest account name a URL may carry (the stored columns' width).
ACCOUNT_CHARS = 255


def _reasons(found) -> list[ChurnReason]:
    return [ChurnReason(feature=r.feature, description=r.description, value=r.value, contribution=r.contribution,
                        ticket_ids=r.ticket_ids) for r in found]


@docs.route("GET", "/tenants/<slug>/insights/accounts", scope="read",
            summary="Accounts ranked by churn risk, each with its strongest reasons and the tickets behind them",
            response=AccountRiskList,
            query=(QueryParam("limit", "integer", "How many (1-500, default 50)", 1, 500),), errors=(400, 404))
def churn_accounts(slug: str):
    limit = _int_arg("limit", 50, 1, 500)
    ranking = rank_accounts(runtime(), slug, top=limit)
    evaluation = None if ranking.evaluation is None else ChurnEvaluation(**vars(ranking.evaluation))
    return _send(AccountRiskList(
        as_of=ranking.as_of, method=ranking.method, note=ranking.note, evaluation=evaluation, total=ranking.total,
        accounts=[AccountRisk(account=a.account, score=a.score, tickets=a.tickets, reasons=_reasons(a.reasons))
                  for a in ranking.accounts]))


#: How many ranked accounts the CSV holds at most; the default is all of them, as the CLI writes.
CSV_ACCOUNTS = 10_000


@docs.route("GET", "/tenants/<slug>/insights/accounts.csv", scope="read",
            summary="The ranked accounts as CSV, the columns of `deskloop insights churn --csv` (text/csv; cells "
                    "that would run as spreadsheet formulas are escaped)",
            response=AccountRiskList, media_type="text/csv",
            query=(QueryParam("limit", "integer", f"How many (1-{CSV_ACCOUNTS}, default all)", 1, CSV_ACCOUNTS),),
            errors=(400, 404))
def churn_accounts_csv(slug: str):
    """Declared before the ``<path:account>`` route, and a distinct path anyway (no slash after
    ``accounts``): an account named ``accounts.csv`` is still reached at ``.../accounts/accounts.csv``."""
    ranking = rank_accounts(runtime(), slug, top=_int_arg("limit", CSV_ACCOUNTS, 1, CSV_ACCOUNTS))
    return current_app.response_class(ranking_csv(ranking), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{slug}-accounts-at-risk.csv"'})


@docs.route("GET", "/tenants/<slug>/insights/accounts/<path:account>", scope="read",
            summary="One account's churn risk: its score, reasons and tickets over the last 18 weeks",
            response=AccountTimeline, errors=(400, 404))
def churn_account(slug: str, account: str):
    """The account is named in the path (URL-encoded; a slash in an organization's name is kept);
    the request log names the route, never it."""
    if len(account) > ACCOUNT_CHARS or "\x00" in account:
        raise ApiError(400, f"an account name has at most {ACCOUNT_CHARS} characters and no NUL", field="account")
    rt = runtime()
    rt.db.tenant_id(slug)
    timeline = account_timeline(rt, slug, account)
    if timeline is None:
        raise ApiError(404, f"no account of that name has tickets in the last 18 weeks for tenant {slug}")
    return _send(AccountTimeline(
        account=timeline.account, as_of=timeline.as_of, method=timeline.method, score=timeline.score,
        reasons=_reasons(timeline.reasons),
        tickets=[AccountTicket(id=t.ticket_id, **{k: v for k, v in vars(t).items() if k != "ticket_id"})
                 for t in timeline.tickets]))


_GAP_QUERY = (
    QueryParam("days", "integer", "Tickets created this many days back (7-3650, default 90)", 7, 3650),
    QueryParam("top", "integer", "How many gaps, the highest score first (1-200, default 20)", 1, 200),
    QueryParam("min_score", "integer", "Leave out groups scoring under this (0-100, default 5)", 0, 100),
)


def _gap_report(slug: str) -> KnowledgeGapReport:
    return knowledge_gap_report(runtime(), slug, days=_int_arg("days", 90, 7, 3650), top=_int_arg("top", 20, 1, 200),
                                min_score=_int_arg("min_score", 5, 0, 100))


@docs.route("GET", "/tenants/<slug>/insights/knowledge-gaps", scope="read",
            summary="Intents and clusters where answers are missing (abstentions, edited drafts, reopens, bad CSAT, "
                    "long unique replies), ranked, each with a proposed article drafted from the best-rated replies",
            response=KnowledgeGapReport, query=_GAP_QUERY, errors=(400, 404))
def knowledge_gaps(slug: str):
    return _send(_gap_report(slug))


@docs.route("GET", "/tenants/<slug>/insights/knowledge-gaps.csv", scope="read",
            summary="The same gaps as CSV (text/csv; cells that would run as spreadsheet formulas are escaped)",
            response=KnowledgeGapReport, media_type="text/csv", query=_GAP_QUERY, errors=(400, 404))
def knowledge_gaps_csv(slug: str):
    return current_app.response_class(gaps_csv(_gap_report(slug)), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{slug}-knowledge-gaps.csv"'})


@docs.route("GET", "/tenants/<slug>/insights/knowledge-gaps/<path:key>.md", scope="read",
            summary="One gap's proposed article as the Markdown the export writes (text/markdown: front matter, "
                    "the answer, other answers, the questions it answers); the key as listed, e.g. intent:refund",
            response=KnowledgeGap, media_type="text/markdown", query=_GAP_QUERY, errors=(400, 404))
def knowledge_gap_article(slug: str, key: str):
    """The gap is looked up in the report the same arguments give, so the article matches the list
    a person chose it from; a key not among those gaps is a 404 that says so."""
    report = _gap_report(slug)
    for rank, gap in enumerate(report.gaps, 1):
        if gap.key == key:
            text = gap_markdown(gap, report.generated_at.date().isoformat())
            return current_app.response_class(text, mimetype="text/markdown", headers={
                "Content-Disposition": f'inline; filename="{gap_file_name(rank, gap)}"'})
    raise ApiError(404, "no knowledge gap with that key among these gaps (check days, top and min_score)",
                   field="key")


@docs.route("GET", "/tenants/<slug>/autonomy/shadow", scope="read",
            summary="Shadow mode's evidence per intent: the replies Deskloop would have sent to new tickets, how many "
                    "were compared with the agent's and right, the precision with its Wilson lower bound, and whether "
                    "the intent is recommended for autonomy",
            response=ShadowReport, errors=(404,))
def autonomy_shadow(slug: str):
    return _send(shadow_report(runtime(), slug))


@docs.route("GET", "/tenants/<slug>/autonomy/measures", scope="read",
            summary="What autonomous resolution did for the tickets created in the period, overall and per intent: "
                    "the auto-resolution rate (also week by week), the wrong-reply rate, first response times and "
                    "CSAT of autonomous against human answers, and handoffs by reason",
            response=AutonomyMeasures,
            query=(QueryParam("days", "integer", f"Tickets created this many days back (7-{MAX_DAYS}, default "
                              f"{DEFAULT_DAYS})", 7, MAX_DAYS),),
            errors=(400, 404))
def autonomy_measures_report(slug: str):
    return _send(autonomy_measures(runtime(), slug, days=_int_arg("days", DEFAULT_DAYS, 7, MAX_DAYS)))


@docs.route("GET", "/tenants/<slug>/autonomy/status", scope="read",
            summary="The autonomy policy now: the kill switch, the target precision, the configuration, each "
                    "intent's chosen mode and threshold with the mode that applies, and the sensitive lists",
            response=AutonomyStatus, errors=(404,))
def autonomy_status_report(slug: str):
    return _send(autonomy_status(runtime(), slug))


@docs.route("GET", "/tenants/<slug>/autonomy/backtest", scope="read",
            summary="The latest kept `deskloop autonomy backtest` (a replay takes minutes, so a request never runs "
                    "one): per intent the threshold for the target precision, and the estimated auto-resolution rate "
                    "and share of wrong replies", response=StoredBacktest, errors=(404,))
def autonomy_backtest(slug: str):
    found = latest_backtest(runtime(), slug)
    if found is None:
        raise ApiError(404, f"tenant {slug} has no backtest yet; run `deskloop autonomy backtest --tenant {slug}`")
    return _send(found)


@docs.route("POST", "/tenants/<slug>/autonomy/pause", scope="admin",
            summary="The kill switch: no autonomous reply from now on, in every process within seconds (shadow goes "
                    "on recording); audited", response=AutonomyStatus, errors=(404,))
def autonomy_pause(slug: str):
    set_paused(runtime(), slug, True, actor())
    return _send(autonomy_status(runtime(), slug))


@docs.route("POST", "/tenants/<slug>/autonomy/resume", scope="admin",
            summary="Lift the kill switch: the intents' modes apply again; audited", response=AutonomyStatus,
            errors=(404,))
def autonomy_resume(slug: str):
    set_paused(runtime(), slug, False, actor())
    return _send(autonomy_status(runtime(), slug))


@docs.route("GET", "/tenants/<slug>/insights/digest", scope="read",
            summary="The weekly digest: churn risks, rising feature requests, knowledge gaps, the week's spikes and "
                    "what the learning loop did (a section that could not be computed is left out with a note)",
            response=WeeklyDigest,
            query=(QueryParam("week", "string", "An ISO week such as 2026-W49 (default: last week)", max_length=8),),
            errors=(400, 404))
def weekly_digest_report(slug: str):
    raw = request.args.get("week")
    week = parse_week(raw) if raw is not None else last_complete_week(datetime.now(UTC))
    return _send(weekly_digest(runtime(), slug, week))


@blueprint.get("/openapi.json")
@public
def openapi():
    """The OpenAPI document (not itself listed in it)."""
    return jsonify(docs.document(package_version("deskloop"), PREFIX))
