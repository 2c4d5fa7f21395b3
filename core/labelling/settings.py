"""Choosing a tenant's label source and excluded tags: the reports, the checks and the writes.

Reading and scoring is :mod:`core.labelling.sources`; this module reads the tenant's tickets, and writes the
tenant's settings in one transaction, after every check has passed, so a bad choice changes
nothing. The next training reads the new source and relabels the whole history.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from core.errors import BadInput
from core.labelling.label_rows import label_settings, label_source_of, load_label_rows
from core.labelling.sources import LabelSource, SourceReport, check_source, rank_sources
from core.ml.tags import automation_tags
from core.runtime import Runtime
from core.store.tables import TicketRow
from core.store.tenants import locked_tenant
from core.types import normalize_tags

#: Candidates kept in a stored report; rejected sources rank last, so these are the usable ones.
REPORT_CANDIDATES = 10


def suggest_sources(runtime: Runtime, tenant: str) -> tuple[str, list[SourceReport]]:
    """(the source in use, every candidate scored, best first)."""
    tenant_id = runtime.db.tenant_id(tenant)
    with runtime.db.tenant_session(tenant_id) as session:
        settings = label_settings(session, tenant_id)
        _, rows, texts = load_label_rows(session)
        channels = list(session.scalars(select(TicketRow.channel).order_by(TicketRow.id)))
    if not rows:
        raise BadInput(f"tenant {tenant!r} has no tickets yet: import or backfill its history first")
    excluded = set(settings.get("excluded_tags") or ()) | automation_tags([list(r.tags) for r in rows], channels)
    reports = rank_sources(rows, texts, excluded, settings.get("field_names") or {})
    return label_source_of(settings).spec, reports


def rank_and_keep(runtime: Runtime, tenant: str) -> dict:
    """Rank the tenant's label sources and keep the report in its settings as ``label_report``
    (``{"at", "current", "candidates"}``, the best :data:`REPORT_CANDIDATES`), which the admin page
    shows until the next ranking; returns it. Ranking reads every ticket: seconds on a large history."""
    current, reports = suggest_sources(runtime, tenant)
    report = {"at": datetime.now(UTC).isoformat(), "current": current,
              "candidates": [r.as_dict() for r in reports[:REPORT_CANDIDATES]]}
    tenant_id = runtime.db.tenant_id(tenant)
    with runtime.db.transaction(tenant_id) as session:
        row = locked_tenant(session, tenant_id)
        row.settings = {**(row.settings or {}), "label_report": report}
    return report


def label_state(runtime: Runtime, tenant: str) -> tuple[str, dict | None]:
    """(the source in use, the kept ``label_report`` or ``None`` before the first ranking)."""
    tenant_id = runtime.db.tenant_id(tenant)
    with runtime.db.tenant_session(tenant_id) as session:
        settings = label_settings(session, tenant_id)
    return label_source_of(settings).spec, settings.get("label_report")


def use_source(runtime: Runtime, tenant: str, spec: str) -> dict:
    """Make ``spec`` the tenant's label source after checking it on the stored tickets; returns
    what the next training will learn (labelled tickets, classes)."""
    source = LabelSource.parse(spec)
    tenant_id = runtime.db.tenant_id(tenant)
    with runtime.db.transaction(tenant_id) as session:
        _, rows, _ = load_label_rows(session)
        labels = check_source(source, rows)
        tenant_row = locked_tenant(session, tenant_id)
        previous = (tenant_row.settings or {}).get("label_source") or "intent"
        tenant_row.settings = {**(tenant_row.settings or {}), "label_source": source.spec}
    present = [x for x in labels if x is not None]
    return {"tenant": tenant, "source": source.spec, "previous": previous, "labelled": len(present),
            "tickets": len(rows), "classes": len(set(present))}


def exclude_tags(runtime: Runtime, tenant: str, tags: list[str], include: bool = False) -> list[str]:
    """Add tags to (or with ``include``, remove them from) the tenant's ``excluded_tags``; returns
    the new list. Excluding a tag no ticket carries is bad input (likely a typo)."""
    wanted = normalize_tags(tags)
    if not wanted:
        raise BadInput("name at least one tag", field="tags")
    tenant_id = runtime.db.tenant_id(tenant)
    with runtime.db.transaction(tenant_id) as session:
        tenant_row = locked_tenant(session, tenant_id)
        current = list((tenant_row.settings or {}).get("excluded_tags") or [])
        if include:
            missing = [t for t in wanted if t not in current]
            if missing:
                raise BadInput(f"not excluded: {', '.join(missing)}", field="tags")
            updated = [t for t in current if t not in wanted]
        else:
            known = {t for tag_list in session.scalars(select(TicketRow.tags)) for t in (tag_list or ())}
            unknown = [t for t in wanted if t not in known]
            if unknown:
                raise BadInput(f"no ticket carries {', '.join(map(repr, unknown))}", field="tags")
            updated = current + [t for t in wanted if t not in current]
        tenant_row.settings = {**(tenant_row.settings or {}), "excluded_tags": updated}
    return updated


#: What ``deskloop abstention`` may set, with the range a value must fall in (exclusive). Outside
#: these the rule stops meaning anything: a precision of 0.5 answers every coin toss, a budget of
#: 0.5 flags half the questions a tenant already knows.
ABSTENTION_SETTINGS = {"target_precision": (0.5, 1.0), "novelty_budget": (0.0, 0.5)}


def set_abstention(runtime: Runtime, tenant: str, values: dict[str, float]) -> dict[str, float | None]:
    """Store the tenant's abstention settings (read at the next training: see
    :mod:`core.ml.abstention`); returns every setting's value now (``None``: the default)."""
    for name, value in values.items():
        low, high = ABSTENTION_SETTINGS[name]
        if not low < value < high:
            raise BadInput(f"{name} must be above {low} and below {high}, got {value}", field=name)
    tenant_id = runtime.db.tenant_id(tenant)
    with runtime.db.transaction(tenant_id) as session:
        tenant_row = locked_tenant(session, tenant_id)
        tenant_row.settings = {**(tenant_row.settings or {}), **values}
        current = dict(tenant_row.settings)
    return {name: current.get(name) for name in ABSTENTION_SETTINGS}
