"""SQLAlchemy tables. Every row that belongs to a tenant carries ``tenant_id`` (see
:class:`TenantScoped`), which :mod:`core.store.scoping` uses to filter every ORM read.

Schema changes go through Alembic (``core/store/migrations``), never ``create_all``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, object_session

from core.clock import utcnow

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets 64-bit ids.
Id = BigInteger().with_variant(Integer(), "sqlite")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    if TYPE_CHECKING:  # every class here maps a plain Table (SQLAlchemy types it as any FromClause)
        __table__: ClassVar[Table]
    type_annotation_map = {datetime: DateTime(timezone=True), dict[str, Any]: JSON, list: JSON}


class TenantScoped:
    """Mixin for tables whose rows belong to one tenant; reads are filtered automatically."""

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))


class TenantRow(Base):
    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    helpdesk: Mapped[str] = mapped_column(String(32), default="none")
    domain: Mapped[str | None] = mapped_column(String(255))
    credentials: Mapped[str | None] = mapped_column(Text, doc="Encrypted at rest; never logged.")
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Bumped in the same transaction as any change to the row (credentials, domain, settings), so
    #: every process caching what it read from it (decrypted connections) sees the change on its
    #: next use: :func:`core.store.tenants.lock_tenant`, and :func:`_bump_config_version` below.
    config_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


@event.listens_for(TenantRow, "before_update")
def _bump_config_version(_mapper, _connection, target: TenantRow) -> None:
    """Any ORM change to a tenant row bumps its stamp, so no writer can forget to (an increment in
    SQL: two writers racing both count)."""
    session = object_session(target)
    if session is not None and session.is_modified(target, include_collections=False):
        target.config_version = TenantRow.config_version + 1  # a SQL expression, run in the UPDATE


class ExternalAccountRow(Base):
    """A helpdesk account, workspace or app a tenant holds: one tenant per (helpdesk, kind, value).

    Requests from a helpdesk name their account (a Zendesk token's issuer, an Intercom workspace
    id), and that name is how Deskloop finds the tenant: were two tenants to hold the same one,
    the second would capture (or break) the first one's app. The unique key makes that impossible
    even for two commands racing. ``kind`` is ``account`` for the account the connection's domain
    names, or the name of a unique app setting (:attr:`core.helpdesk.contract.SettingSpec.unique`).

    Not tenant-scoped: it is read before the tenant is known, to find it."""

    __tablename__ = "external_accounts"
    __table_args__ = (
        UniqueConstraint("helpdesk", "kind", "value", name="uq_external_accounts_helpdesk_kind_value"),
        Index("ix_external_accounts_tenant", "tenant_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    helpdesk: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(255))
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketRow(TenantScoped, Base):
    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("tenant_id", "source", "external_id", name="uq_tickets_tenant_source_external"),
        Index("ix_tickets_tenant_created", "tenant_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(128))
    subject: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="", doc="Cleaned customer text: what models read.")
    requester_name: Mapped[str | None] = mapped_column(String(255))
    requester_email: Mapped[str | None] = mapped_column(String(255))
    requester_external_id: Mapped[str | None] = mapped_column(String(128))
    organization: Mapped[str | None] = mapped_column(String(255))
    tags: Mapped[list] = mapped_column(default=list)
    intent: Mapped[str | None] = mapped_column(String(128), index=True)
    priority: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str | None] = mapped_column(String(16))
    channel: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime | None] = mapped_column()
    first_response_at: Mapped[datetime | None] = mapped_column()
    solved_at: Mapped[datetime | None] = mapped_column()
    csat_score: Mapped[int | None] = mapped_column(Integer)
    csat_comment: Mapped[str | None] = mapped_column(Text)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    page_context: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    assignee: Mapped[str | None] = mapped_column(String(255), doc="The helpdesk's assigned agent.")
    assigned_group: Mapped[str | None] = mapped_column(String(255), doc="The assigned group: Ticket.group.")
    #: How the helpdesk sorted the ticket besides its group (candidate label sources, see
    #: :class:`core.types.Ticket`): its type, its ticket form, the macros agents applied (names).
    ticket_type: Mapped[str | None] = mapped_column(String(128))
    form: Mapped[str | None] = mapped_column(String(255))
    macros: Mapped[list] = mapped_column(default=list)
    cluster_key: Mapped[int | None] = mapped_column(Integer, index=True, doc="Stable id of its cluster.")
    sentiment: Mapped[str | None] = mapped_column(String(16), doc="Tone of the latest customer message.")
    urgent: Mapped[bool | None] = mapped_column(Boolean, doc="Any customer message reads as urgent.")
    content_hash: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


class MessageRow(TenantScoped, Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("ticket_id", "position", name="uq_messages_ticket_position"),
        UniqueConstraint("ticket_id", "external_id", name="uq_messages_ticket_external"),
        Index("ix_messages_tenant", "tenant_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    author_role: Mapped[str] = mapped_column(String(16))
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    author_name: Mapped[str | None] = mapped_column(String(255))
    body_raw: Mapped[str] = mapped_column(Text, doc="Exactly as received, HTML and quotes included.")
    body: Mapped[str] = mapped_column(Text, doc="Cleaned: plain text, no quoted replies or signature.")
    sentiment: Mapped[str | None] = mapped_column(String(16), doc="frustrated, neutral or pleased (customer messages).")
    sentiment_score: Mapped[float | None] = mapped_column(Float)
    urgent: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[datetime | None] = mapped_column()
    external_id: Mapped[str | None] = mapped_column(String(128), doc="The helpdesk's id: one reply, stored once.")


class TagAliasRow(TenantScoped, Base):
    __tablename__ = "tag_aliases"
    __table_args__ = (UniqueConstraint("tenant_id", "alias", name="uq_tag_aliases_tenant_alias"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    alias: Mapped[str] = mapped_column(String(128))
    canonical: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NotifierRow(TenantScoped, Base):
    """A tenant's alert sink (``slack``, ``linear``): its credentials encrypted like a helpdesk's
    (:mod:`core.helpdesk.secrets`), its settings (channel, teams per area, cooldown) in the clear."""

    __tablename__ = "notifiers"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", name="uq_notifiers_tenant_kind"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    credentials: Mapped[str] = mapped_column(Text, doc="Encrypted at rest; never logged.")
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PostedAlertRow(TenantScoped, Base):
    """What a notifier posted for one incident (a Slack channel and ts, a Linear issue id), so the
    incident's growth and end update it instead of posting again, and a retried job posts nothing."""

    __tablename__ = "posted_alerts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "notifier", "incident_id", name="uq_posted_alerts_tenant_notifier_incident"),
        Index("ix_posted_alerts_tenant_notifier_category", "tenant_id", "notifier", "category"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    notifier: Mapped[str] = mapped_column(String(32))
    incident_id: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(255))
    target: Mapped[str] = mapped_column(String(255), doc="Slack: the channel id; Linear: the issue id.")
    ref: Mapped[str | None] = mapped_column(String(255), doc="Slack: the message ts; Linear: the identifier.")
    url: Mapped[str | None] = mapped_column(String(2000))
    last_key: Mapped[str | None] = mapped_column(String(255), doc="The last incident change applied.")
    ended_at: Mapped[datetime | None] = mapped_column()
    posted_at: Mapped[datetime] = mapped_column(default=utcnow)


class SuggestionRow(TenantScoped, Base):
    __tablename__ = "suggestions"
    __table_args__ = (Index("ix_suggestions_tenant_created", "tenant_id", "created_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"), index=True)
    text: Mapped[str] = mapped_column(Text)
    intent: Mapped[str | None] = mapped_column(String(128))
    confidence: Mapped[float] = mapped_column(Float)
    abstained: Mapped[bool] = mapped_column(Boolean)
    #: Why (see :class:`core.types.Suggestion`): what the inbox's intelligence reads to find new
    #: kinds of questions nobody has an intent for yet.
    abstain_reason: Mapped[str | None] = mapped_column(String(16))
    tags: Mapped[list] = mapped_column(default=list)
    entities: Mapped[list] = mapped_column(default=list)
    draft: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[list] = mapped_column(default=list)
    model_version: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The similarity row the suggestion was made from (float32 bytes), so a signal about it can
    #: teach the live model without encoding the text again.
    vector: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: Where the draft came from: ``ticket:<id>`` (a resolved ticket's reply) or ``signal:<id>``
    #: (an agent's edited reply); outcomes promote or demote that source.
    draft_source: Mapped[str | None] = mapped_column(String(64))
    #: Whom the suggestion was for: an agent's reply to it greets them, and that name must be
    #: replaced when the reply becomes the preferred answer for other customers.
    customer_name: Mapped[str | None] = mapped_column(String(255))
    #: Where the question was asked (``area|route``, see :mod:`core.ml.page_context`), when it
    #: came with a page context: a signal about the suggestion then says on which page the
    #: resolution worked or failed.
    context_key: Mapped[str | None] = mapped_column(String(255))


class SignalRow(TenantScoped, Base):
    __tablename__ = "signals"
    __table_args__ = (
        UniqueConstraint("tenant_id", "source_event", name="uq_signals_tenant_source_event"),
        Index("ix_signals_tenant_created", "tenant_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"), index=True)
    suggestion_id: Mapped[int | None] = mapped_column(ForeignKey("suggestions.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(255))
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    source_event: Mapped[str | None] = mapped_column(String(255), doc="Dedupes repeated deliveries.")
    model_version: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()


class ClusterRow(TenantScoped, Base):
    """A group of related tickets. ``key`` is stable across retrains (see :mod:`core.ml.clusters`)."""

    __tablename__ = "clusters"
    __table_args__ = (UniqueConstraint("tenant_id", "key", name="uq_clusters_tenant_key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    model_version: Mapped[str | None] = mapped_column(String(64))
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReplayRunRow(TenantScoped, Base):
    """One `deskloop replay`: its learning curves, shown on the learning page."""

    __tablename__ = "replay_runs"
    __table_args__ = (Index("ix_replay_runs_tenant_created", "tenant_id", "created_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    source: Mapped[str] = mapped_column(String(512))
    result: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class HelpdeskEventRow(TenantScoped, Base):
    """One common event received from a helpdesk webhook, stored before it is acknowledged.

    The unique key on (tenant, helpdesk, event id) is what makes a duplicate delivery a no-op;
    ``processed_at`` is set by the worker that applied it, ``outcome`` says what it did. An event
    that fails to apply is retried with backoff (``attempts``, ``next_attempt_at``, ``last_error``:
    the exception's class and a message without values) and, after the last attempt, quarantined
    (``quarantined_at``) so the tenant's later events go on; an operator retries it after a fix.
    ``published_at`` is set once the listeners were told of the applied event (an outbox: a
    worker killed between the commit and that moment leaves it NULL, and a later drain tells them);
    ``tags_changed`` keeps what the apply found, for that later telling.
    """

    __tablename__ = "helpdesk_events"
    __table_args__ = (
        UniqueConstraint("tenant_id", "helpdesk", "event_id", name="uq_helpdesk_events_tenant_event"),
        Index("ix_helpdesk_events_tenant_ticket", "tenant_id", "ticket_external_id"),
        Index("ix_helpdesk_events_unpublished", "processed_at",
              postgresql_where=text("processed_at IS NOT NULL AND published_at IS NULL"),
              sqlite_where=text("processed_at IS NOT NULL AND published_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    helpdesk: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))
    ticket_external_id: Mapped[str] = mapped_column(String(128))
    occurred_at: Mapped[datetime] = mapped_column()
    data: Mapped[dict[str, Any]] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column()
    outcome: Mapped[str | None] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(String(255))
    quarantined_at: Mapped[datetime | None] = mapped_column()
    published_at: Mapped[datetime | None] = mapped_column()
    tags_changed: Mapped[bool | None] = mapped_column()


class ListenerJobRow(TenantScoped, Base):
    """A listener job (:mod:`core.dispatch.listeners`) from its queueing until it has completed: the
    outbox of :mod:`core.dispatch.outbox`. Handing a job to Redis is not doing it (a Redis without
    persistence that restarts forgets what it held), so the entry stays until the job itself sets
    ``done_at``. ``job_id`` is the listener's deterministic id; ``occurrence`` what the job is
    given, so it can be queued again; ``due_at`` when the outbox next looks at it;
    ``claimed_until`` the lease of the run in progress (a second run waits for it);
    ``failed_at`` is set when RQ gave up on the job after its retries (it is listed there for an
    operator, and the outbox stops queueing it)."""

    __tablename__ = "listener_jobs"
    __table_args__ = (
        UniqueConstraint("tenant_id", "job_id", name="uq_listener_jobs_tenant_job"),
        Index("ix_listener_jobs_unfinished", "due_at",
              postgresql_where=text("done_at IS NULL AND failed_at IS NULL"),
              sqlite_where=text("done_at IS NULL AND failed_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    job_id: Mapped[str] = mapped_column(String(255))
    listener: Mapped[str] = mapped_column(String(64))
    occurrence: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    queued_times: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    due_at: Mapped[datetime] = mapped_column()
    claimed_until: Mapped[datetime | None] = mapped_column()
    done_at: Mapped[datetime | None] = mapped_column()
    outcome: Mapped[str | None] = mapped_column(String(255))
    failed_at: Mapped[datetime | None] = mapped_column()


class BackfillStateRow(TenantScoped, Base):
    """Where a tenant's `deskloop backfill` stands: saved with every page it stores, so a killed
    backfill resumes after the last page it committed."""

    __tablename__ = "backfill_state"
    __table_args__ = (UniqueConstraint("tenant_id", name="uq_backfill_state_tenant"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    since: Mapped[datetime | None] = mapped_column()
    cursor: Mapped[str | None] = mapped_column(Text)
    tickets: Mapped[int] = mapped_column(Integer, default=0)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()


class IntentProposalRow(TenantScoped, Base):
    """An intent found in the customers' words (``deskloop intents discover``) before and after an
    admin accepts it. Accepted intents are the ``discovered`` label source: their tickets are
    training labels, and the trained model assigns new tickets to them."""

    __tablename__ = "intent_proposals"
    __table_args__ = (UniqueConstraint("tenant_id", "key", name="uq_intent_proposals_tenant_key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(128))
    label: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="proposed", doc="proposed or accepted.")
    ticket_ids: Mapped[list] = mapped_column(default=list, doc="Stored ticket ids, closest to the centre first.")
    examples: Mapped[list] = mapped_column(default=list, doc="Ticket ids of representative messages.")
    reply: Mapped[str | None] = mapped_column(Text, doc="The reply that resolved most of its tickets.")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class OperatorRow(Base):
    """A person who signs in to Deskloop's own pages and API (not a helpdesk agent in a side panel).

    ``session_version`` is part of every login session's id: disabling the operator or resetting the
    password bumps it, which ends every session they have open on every machine at once."""

    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True, doc="Stored lower-cased.")
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(255), doc="Argon2id; none for single-sign-on only.")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column()


class OperatorTenantRow(Base):
    """The tenants an agent or viewer may see (admins see every tenant and have no rows here)."""

    __tablename__ = "operator_tenants"

    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id", ondelete="CASCADE"), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)


class ApiTokenRow(Base):
    """A machine's API token: only its SHA-256 is kept (the token is shown once, when issued)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    prefix: Mapped[str] = mapped_column(String(32), unique=True, doc="The token's public part, to name it.")
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    scopes: Mapped[list] = mapped_column(default=list)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"),
                                                  doc="None: every tenant (admin tokens only).")
    created_by: Mapped[str] = mapped_column(String(400))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class AuditEventRow(Base):
    """One operator action (a token issued, a user disabled, a signal revoked, a model rolled back).

    The tenant is kept by slug, not by key: the trail outlives a removed tenant."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_at", "at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(400))
    action: Mapped[str] = mapped_column(String(64))
    tenant: Mapped[str | None] = mapped_column(String(63), index=True)
    target: Mapped[str | None] = mapped_column(String(255))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class PythonJSON(TypeDecorator):
    """JSON kept as text, as Python's ``json`` writes it: model metrics can be infinite or NaN
    (``Infinity``), which PostgreSQL's json type refuses and which model metadata always held."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else json.dumps(value, sort_keys=True)

    def process_result_value(self, value, dialect):
        return None if value is None else json.loads(value)


class ModelVersionRow(TenantScoped, Base):
    """One saved model version of a tenant: what every machine needs to fetch and trust it.

    The artifact itself is in :class:`ModelChunkRow`; ``sha256`` and ``size`` describe the whole
    artifact, so a reader checks what it assembled before loading it. The row is written in the
    same transaction as every chunk, so a version is never visible half-written."""

    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("tenant_id", "name", "version", name="uq_model_versions_tenant_name_version"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    chunks: Mapped[int] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(PythonJSON, doc="Its metadata (libraries, data, metrics).")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModelChunkRow(TenantScoped, Base):
    """A slice of a model artifact, a few MiB each: no row (nor driver buffer) ever holds a whole
    large model, and a reader streams them to its cache in order."""

    __tablename__ = "model_chunks"

    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ModelCurrentRow(TenantScoped, Base):
    """The version in service for a tenant's model name: promotion and rollback update this one row."""

    __tablename__ = "model_current"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_model_current_tenant_name"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(64))
    promoted_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModelRefusalRow(TenantScoped, Base):
    """A retrain that was not put in service, and why (listed by ``deskloop models``)."""

    __tablename__ = "model_refusals"
    __table_args__ = (Index("ix_model_refusals_tenant_name", "tenant_id", "name"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    details: Mapped[dict[str, Any]] = mapped_column(PythonJSON)


class VolumeRow(TenantScoped, Base):
    """Tickets created in one hour for one category (``kind``: intent, tag, cluster, area, or
    ``unfamiliar`` for tickets the model abstained on as unlike anything it knows, by cluster).

    Counted once per ticket, at its ``created_at`` hour, by :mod:`core.insights.volumes`: the
    history the spike test compares the current hour against, kept small (one row per category
    and hour that saw a ticket) so a scan reads weeks of it in one query."""

    __tablename__ = "insight_volumes"
    __table_args__ = (
        UniqueConstraint("tenant_id", "kind", "category", "hour", name="uq_insight_volumes_tenant_kind_category_hour"),
        Index("ix_insight_volumes_tenant_hour", "tenant_id", "hour"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(255))
    hour: Mapped[datetime] = mapped_column()
    count: Mapped[int] = mapped_column(Integer)


class VolumeCursorRow(TenantScoped, Base):
    """The last stored ticket (by id: arrival order, whatever brought it) already counted, so a
    scan counts only what is new and costs one indexed query when nothing is."""

    __tablename__ = "insight_cursors"
    __table_args__ = (UniqueConstraint("tenant_id", name="uq_insight_cursors_tenant"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    last_ticket_id: Mapped[int] = mapped_column(BigInteger, default=0)
    counted_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeployMarkerRow(TenantScoped, Base):
    """A deploy the tenant told Deskloop about: an incident names the one that preceded it."""

    __tablename__ = "deploy_markers"
    __table_args__ = (Index("ix_deploy_markers_tenant_deployed", "tenant_id", "deployed_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    service: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(200))
    deployed_at: Mapped[datetime] = mapped_column()
    link: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IncidentRow(TenantScoped, Base):
    """One incident (:class:`core.insights.incidents.Incident`, kept whole in ``data``), how many
    changes of it were recorded (the next change's key, so a re-run never posts twice) and how many
    of those were published (an outbox: a change recorded and not published goes out next scan)."""

    __tablename__ = "insight_incidents"
    __table_args__ = (
        UniqueConstraint("tenant_id", "incident_id", name="uq_insight_incidents_tenant_incident_id"),
        Index("ix_insight_incidents_tenant_open", "tenant_id", "ended_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    incident_id: Mapped[str] = mapped_column(String(100))
    category_kind: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(255))
    started_at: Mapped[datetime] = mapped_column()
    last_hot_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    changes: Mapped[int] = mapped_column(Integer, default=0)
    last_change: Mapped[str | None] = mapped_column(String(16))  # "opened", "grew" or "ended"
    published: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # changes published
    data: Mapped[dict[str, Any]] = mapped_column()


class AccountOutcomeRow(TenantScoped, Base):
    """What became of an account (``deskloop import-outcomes``): churned or renewed, and when.

    ``account`` is the account as :func:`core.insights.churn.facts.account_of` names it (an
    organization or a requester): customer data, never logged. One outcome per account and date;
    importing the same file again replaces, never duplicates."""

    __tablename__ = "account_outcomes"
    __table_args__ = (
        UniqueConstraint("tenant_id", "account", "occurred_at", name="uq_account_outcomes_tenant_account_occurred"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account: Mapped[str] = mapped_column(String(255))
    churned: Mapped[bool] = mapped_column(Boolean)
    occurred_at: Mapped[datetime] = mapped_column()
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


class AutonomyModeRow(TenantScoped, Base):
    """How Deskloop may answer one intent of a tenant on its own (``off``, ``shadow`` or
    ``autonomous``), and which person chose it: an intent without a row is ``off``. What a mode
    allows is decided in one place, :func:`core.autonomy.policy.decide_mode`, which also applies the
    sensitive lists and the kill switch. Every write bumps the tenant's ``config_version`` (see
    :mod:`core.autonomy.settings`) so running processes see it."""

    __tablename__ = "autonomy_modes"
    __table_args__ = (UniqueConstraint("tenant_id", "intent", name="uq_autonomy_modes_tenant_intent"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    intent: Mapped[str] = mapped_column(String(128))
    mode: Mapped[str] = mapped_column(String(16))
    set_by: Mapped[str] = mapped_column(String(255))
    set_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The confidence a suggestion must reach for an autonomous reply (the backtest's pick for the
    #: target precision); ``None``: the tenant's default (:mod:`core.autonomy.config`).
    threshold: Mapped[float | None] = mapped_column(Float)


class AutonomySensitiveRow(TenantScoped, Base):
    """An intent (``kind`` ``intent``) or an account (``account``: an organization or requester, as
    :func:`core.insights.churn.facts.account_of` names it, kept lower-cased) that Deskloop never
    answers on its own, whatever its mode: fraud, legal, cancellations, VIP organizations."""

    __tablename__ = "autonomy_sensitive"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "value", name="uq_autonomy_sensitive_tenant_kind_value"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(255))
    added_by: Mapped[str] = mapped_column(String(255))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class AutonomyShadowRow(TenantScoped, Base):
    """The reply Deskloop would have sent to a new ticket of an intent in shadow (one row per
    ticket), and how it compared with what the agent then sent: the evidence on which an intent is
    recommended for autonomy (:mod:`core.autonomy.shadow`). The draft is customer data and stays in
    the tenant's scope like the suggestion it copies; the agent's reply is not copied (the ticket's
    messages hold it), only its similarity to the draft."""

    __tablename__ = "autonomy_shadow"
    __table_args__ = (UniqueConstraint("tenant_id", "ticket_id", name="uq_autonomy_shadow_tenant_ticket"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    suggestion_id: Mapped[int | None] = mapped_column(ForeignKey("suggestions.id", ondelete="SET NULL"))
    intent: Mapped[str | None] = mapped_column(String(128))  # the predicted intent
    mode: Mapped[str] = mapped_column(String(16))  # what decide_mode answered: shadow, or autonomous (not posted yet)
    confidence: Mapped[float] = mapped_column(Float)
    abstained: Mapped[bool] = mapped_column(Boolean)
    draft: Mapped[str | None] = mapped_column(Text)
    model_version: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    compared_at: Mapped[datetime | None]
    similarity: Mapped[float | None] = mapped_column(Float)
    intent_right: Mapped[bool | None] = mapped_column(Boolean)
    reopened: Mapped[bool] = mapped_column(Boolean, default=False)
    bad_csat: Mapped[bool] = mapped_column(Boolean, default=False)
    right: Mapped[bool | None] = mapped_column(Boolean)  # None until the agent's reply is compared

    @property
    def would_send(self) -> bool:
        return not self.abstained and bool(self.draft)


class AutonomyReplyRow(TenantScoped, Base):
    """A reply Deskloop posted to a customer on its own (:mod:`core.autonomy.responder`): the
    answer to a ticket of an autonomous intent (``kind`` ``answer``), or the holding message of a
    handoff in the customer's language (``holding``). ``answers`` names the customer message it
    answers, so the same message is never answered twice: the row is claimed (committed) before
    the helpdesk is called, and a claim that exists means "do not post". ``state``: ``claimed``,
    ``posted``, ``failed`` (the helpdesk refused: handed off) or ``unknown`` (the process died
    between claim and post: handed off, never posted again). ``outcome`` is what became of an
    answer: ``confirmed``, ``negative``, ``wants_human``, ``reopened``, ``corrected`` (an agent
    took over), ``other`` (a new question)."""

    __tablename__ = "autonomy_replies"
    __table_args__ = (
        UniqueConstraint("tenant_id", "ticket_id", "answers", name="uq_autonomy_replies_tenant_ticket_answers"),
        Index("ix_autonomy_replies_tenant_posted", "tenant_id", "posted_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    answers: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    suggestion_id: Mapped[int | None] = mapped_column(ForeignKey("suggestions.id", ondelete="SET NULL"))
    intent: Mapped[str | None] = mapped_column(String(128))
    confidence: Mapped[float | None] = mapped_column(Float)
    language: Mapped[str | None] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    external_message_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    posted_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(16))
    outcome_at: Mapped[datetime | None]
    solved_at: Mapped[datetime | None]  # when Deskloop set the ticket solved (confirmed, or no answer for N days)


class AutonomyHandoffRow(TenantScoped, Base):
    """A ticket Deskloop handed to a person (:mod:`core.autonomy.handoff`): why, the internal note
    it left (what it answered or would have, the evidence, the customer's sentiment) and the group
    it was routed to. ``trigger`` names what caused it (an event id, or the reason for a new
    ticket), so a re-delivered event hands off once. A handoff is done at least once (``state``
    ``pending`` until the helpdesk took the note, ``failed`` with the error), unlike a reply."""

    __tablename__ = "autonomy_handoffs"
    __table_args__ = (UniqueConstraint("tenant_id", "ticket_id", "trigger",
                                       name="uq_autonomy_handoffs_tenant_ticket_trigger"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    trigger: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(String(32))
    suggestion_id: Mapped[int | None] = mapped_column(ForeignKey("suggestions.id", ondelete="SET NULL"))
    intent: Mapped[str | None] = mapped_column(String(128))
    confidence: Mapped[float | None] = mapped_column(Float)
    language: Mapped[str | None] = mapped_column(String(16))
    sentiment: Mapped[float | None] = mapped_column(Float)
    group_name: Mapped[str | None] = mapped_column(String(255))
    note: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]


class WidgetConfigRow(Base):
    """A tenant's in-app widget (:mod:`core.widget`): its public key, the encrypted identity secret
    that signs customer ids (``None``: identities are taken as given), and which host app-state
    keys Deskloop keeps (``app_state_allow`` ``None``: any key not denied). One per tenant.

    Not tenant-scoped: every widget request names its key, and the key is how the tenant is found,
    so the key is unique (an index lookup)."""

    __tablename__ = "widget_configs"
    __table_args__ = (
        UniqueConstraint("public_key", name="uq_widget_configs_public_key"),
        UniqueConstraint("tenant_id", name="uq_widget_configs_tenant_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    public_key: Mapped[str] = mapped_column(String(64))
    identity_secret: Mapped[str | None] = mapped_column(Text, doc="Encrypted at rest; never logged.")
    app_state_allow: Mapped[list | None] = mapped_column(JSON)
    app_state_deny: Mapped[list] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    key_rotated_at: Mapped[datetime | None] = mapped_column()


class WidgetOriginRow(Base):
    """An origin (``scheme://host[:port]``) a tenant's widget may be called from. Indexed by origin:
    a CORS preflight names its origin but carries no key, so it is answered for an origin some
    tenant allows (the request itself is then checked against its key's own origins).

    Not tenant-scoped, for the same reason as :class:`WidgetConfigRow`."""

    __tablename__ = "widget_origins"
    __table_args__ = (
        UniqueConstraint("tenant_id", "origin", name="uq_widget_origins_tenant_origin"),
        Index("ix_widget_origins_origin", "origin"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    origin: Mapped[str] = mapped_column(String(255))


class WidgetSessionRow(TenantScoped, Base):
    """One customer's conversation in the widget: the page they were on, their latest question and
    Deskloop's answer (the stored suggestion it came from), earlier questions of the same session,
    what they said of the answer, and the ticket it became. The session token is kept as its
    SHA-256 only; ``user_id`` binds the session to the customer who opened it."""

    __tablename__ = "widget_sessions"
    __table_args__ = (
        UniqueConstraint("token_hash", name="uq_widget_sessions_token_hash"),
        Index("ix_widget_sessions_tenant_created", "tenant_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str | None] = mapped_column(String(255))
    identity_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    page_context: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(Text)
    abstained: Mapped[bool] = mapped_column(Boolean)
    suggestion_id: Mapped[int | None] = mapped_column(ForeignKey("suggestions.id", ondelete="SET NULL"))
    earlier: Mapped[list] = mapped_column(default=list)
    helpful: Mapped[bool | None] = mapped_column(Boolean)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    ticket_external_id: Mapped[str | None] = mapped_column(String(128))
    ticket_filed_in: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AutonomyBacktestRow(TenantScoped, Base):
    """One ``deskloop autonomy backtest`` and its report (:func:`core.autonomy.backtest.report`),
    kept so the autonomy page and ``GET .../autonomy/backtest`` show the latest without replaying
    the history again (a replay takes minutes). The report's examples quote a draft and an agent's
    reply: customer data, in the tenant's scope like the tickets they come from."""

    __tablename__ = "autonomy_backtests"
    __table_args__ = (Index("ix_autonomy_backtests_tenant_created", "tenant_id", "created_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    since: Mapped[datetime | None]
    run_by: Mapped[str] = mapped_column(String(255))
    result: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CapabilityMemberRow(TenantScoped, Base):
    """Which requested capability a feature-request ticket was published under
    (:mod:`core.insights.capability_keys`): a capability keeps its key, and so its one Linear
    issue, when its oldest request leaves the report's window or the grouping shifts a little.
    Written when capabilities are published, never by a report (a report only reads)."""

    __tablename__ = "capability_members"
    __table_args__ = (UniqueConstraint("tenant_id", "ticket_id", name="uq_capability_members_tenant_ticket"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(40))
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
